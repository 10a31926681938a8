"""Photo evidence (SPEC §10): decoded, cleaned and resized with Pillow, stored outside the database.

A stored photo is re-encoded from its pixels alone, so nothing of the camera's metadata (EXIF with the GPS
position, XMP, comments) survives; its file is named by the SHA-256 of the stored bytes, which the journal
records, so a replaced file is found by `flask journal verify`. The file is written and synced before the row
is committed: an acknowledged photo is never missing.
"""

import hashlib
import io
import os

from PIL import Image, ImageOps, UnidentifiedImageError

from . import inspections, rules
from .audit import append_journal
from .db import immediate, now_text, row, value
from .errors import Invalid, NotFound, NotOpen, PhotoTooLarge, UnsupportedPhoto

MAX_BYTES = 10 * 1024 * 1024     # SPEC §10: up to 10 MB each
MAX_PIXELS = 50_000_000          # a phone takes 12-50 megapixels; more is a decompression bomb
MAX_SIDE = 2048                  # stored size: sharp on any screen and in print, a tenth of a phone's original
FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png")}
EXTENSIONS = dict(FORMATS.values())
# Pillow's own bomb check warns (and our tests fail on warnings) between its limit and twice it; ours comes first
Image.MAX_IMAGE_PIXELS = None


def prepare(data):
    """The photo to store for uploaded bytes: (bytes, media_type, width, height), upright, at most MAX_SIDE pixels
    a side, with no metadata; PhotoTooLarge or UnsupportedPhoto otherwise."""
    if len(data) > MAX_BYTES:
        raise PhotoTooLarge()
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in FORMATS:
                raise UnsupportedPhoto()
            if image.width * image.height > MAX_PIXELS:
                raise PhotoTooLarge()
            media_type = FORMATS[image.format][0]
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise UnsupportedPhoto() from None
    if upright.mode not in ("RGB", "L", "RGBA", "P", "LA") or (media_type == "image/jpeg" and upright.mode != "L"):
        upright = upright.convert("RGBA" if media_type == "image/png" else "RGB")
    upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())  # pixels only: no info, no EXIF
    if upright.mode == "P":
        clean.putpalette(upright.getpalette())
    out = io.BytesIO()
    if media_type == "image/jpeg":
        clean.save(out, "JPEG", quality=85, optimize=True)
    else:
        clean.save(out, "PNG", optimize=True)
    return out.getvalue(), media_type, clean.width, clean.height


def photo_path(store, sha256, media_type):
    """Where a stored photo lives: STORE/ab/abcdef….jpg."""
    return os.path.join(store, sha256[:2], sha256 + EXTENSIONS[media_type])


def save_file(store, data, media_type):
    """Write the stored bytes durably under their SHA-256 (the same photo twice is one file); return the hash."""
    sha256 = hashlib.sha256(data).hexdigest()
    path = photo_path(store, sha256, media_type)
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power loss
    finally:
        os.close(directory)
    return sha256


def insert_photo(db, inspection_id, checkpoint_id, purpose, stored, sha256, caller, at):
    """Record a stored photo and journal its hash (the caller holds the write lock); return its id."""
    data, media_type, width, height = stored
    photo_id = db.execute("""INSERT INTO photos (inspection_id, checkpoint_id, purpose, sha256, media_type, size, width,
        height, user_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", [
        inspection_id, checkpoint_id, purpose, sha256, media_type, len(data), width, height, caller["id"], at]).lastrowid
    append_journal(db, inspection_id, "photo", at, {"photo": photo_id, "sha256": sha256, "checkpoint": checkpoint_id,
                                                    "purpose": purpose, "by": caller["username"]})
    return photo_id


def add_photo(db, store, inspection_id, caller, data, checkpoint_id, now):
    """Attach a photo to an open inspection the caller takes part in, optionally to one of its checkpoints; return
    {id, sha256}. NotFound, NotOpen, Invalid (a checkpoint not on its checklist), PhotoTooLarge, UnsupportedPhoto."""
    found = inspections.inspection_for(db, inspection_id, caller, "act")
    if found["status"] != "open":
        raise NotOpen.because(found["status"])
    if checkpoint_id is not None and checkpoint_id not in {c["id"] for c in found["checkpoints"]}:
        raise Invalid({"checkpoint": rules.unknown_checkpoint(checkpoint_id)})
    stored = prepare(data)  # the slow part, before the write lock
    sha256 = save_file(store, stored[0], stored[1])
    at = now_text(now)
    with immediate(db):
        status = value(db, "SELECT status FROM inspections WHERE id = ?", [inspection_id])
        if status != "open":
            raise NotOpen.because(status)
        photo_id = insert_photo(db, inspection_id, checkpoint_id, "evidence", stored, sha256, caller, at)
    return {"id": photo_id, "sha256": sha256}


def photo_for(db, inspection_id, photo_id, user):
    """A photo of an inspection the user may see (its inspectors, its firm, supervisors); NotFound otherwise."""
    inspections.inspection_for(db, inspection_id, user)
    found = row(db, "SELECT * FROM photos WHERE id = ? AND inspection_id = ?", [photo_id, inspection_id]) \
        if 0 < photo_id < 2**63 else None
    if found is None:
        raise NotFound()
    return found


def read_photo(store, photo):
    """The stored bytes of a photo."""
    with open(photo_path(store, photo["sha256"], photo["media_type"]), "rb") as f:
        return f.read()


def file_problem(store, photo):
    """Why a photo's file does not hold what the journal recorded (missing, or its bytes changed), or None."""
    try:
        data = read_photo(store, photo)
    except OSError:
        return f"photo {photo['id']} of inspection {photo['inspection_id']}: its file is missing"
    if hashlib.sha256(data).hexdigest() != photo["sha256"]:
        return f"photo {photo['id']} of inspection {photo['inspection_id']}: its file was replaced or changed"
    return None
