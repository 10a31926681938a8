"""The checklist at the door (SPEC §10): each answer saved as it is given, photos taken at a checkpoint, and the
close form's checklist read into the domain's `checks`.

The views join the inspector's blueprint. static/checklist.js calls them as the inspector works; without
JavaScript the close form carries the answers and each photo form posts and comes back with a message.
"""

from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from logbook import checkpoints, errors, photos, rules

from . import database, now, role_required
from .errors import api_error, handle_http_exception
from .inspector import bp
from .problems import problem_text

OUTCOME_LABELS = {"pass": _l("Pass"), "fail": _l("Fail"), "na": _l("Not applicable")}
# how each refusal of a photo answers: (status, code)
PHOTO_REFUSALS = {errors.NotOpen: (409, "not_open"), errors.Invalid: (422, "invalid"),
                  errors.PhotoTooLarge: (413, "photo_too_large"), errors.UnsupportedPhoto: (415, "unsupported_photo")}


def entered_checks(found, form):
    """The answers a close form carries (`outcome-<id>`, `note-<id>` per checkpoint) as the domain's `checks`, the
    unanswered left out so that the domain names them; None when the inspection has no checklist."""
    if not found["checkpoints"]:
        return None
    return [{"checkpoint": c["id"], "outcome": form[f"outcome-{c['id']}"], "note": form.get(f"note-{c['id']}", "")}
            for c in found["checkpoints"] if form.get(f"outcome-{c['id']}")]


def shown_answers(found, form=None):
    """What the checklist shows per checkpoint id, {outcome, note}: as saved, or as entered in a refused close."""
    if form is None:
        return {c["id"]: {"outcome": c["outcome"], "note": c["note"] or ""} for c in found["checkpoints"]}
    return {c["id"]: {"outcome": form.get(f"outcome-{c['id']}"), "note": form.get(f"note-{c['id']}", "")}
            for c in found["checkpoints"]}


def named_checkpoint(problem):
    """The checkpoint a checklist problem is about (the failed one without a note, the first unanswered), if any."""
    params = getattr(problem, "params", {})
    return params.get("checkpoint", params.get("first"))


@bp.route("/inspections/<int:inspection_id>/answers", methods=["POST"])
@role_required("inspector")
def answer(inspection_id):
    """Save one answer of an open inspection's checklist as it is given: JSON {checkpoint, outcome, note} with the
    page's CSRF token in X-CSRFToken; 204, or a JSON error (422, 409 not open, 404)."""
    body = request.get_json(silent=True)
    if not (isinstance(body, dict) and type(body.get("checkpoint")) is int
            and all(body.get(k) is None or isinstance(body[k], str) for k in ("outcome", "note"))):
        return api_error(422, "invalid", "send {checkpoint: id, outcome: pass|fail|na|null, note: text|null}")
    try:
        checkpoints.answer_checkpoint(database(), inspection_id, current_user.row, body["checkpoint"],
                                      body.get("outcome"), body.get("note"))
    except errors.NotFound as e:
        return api_error(404, "not_found", problem_text(e.problem))
    except errors.Invalid as e:
        fields = {name: problem_text(p) for name, p in e.fields.items()}
        return api_error(422, "invalid", " ".join(fields.values()), fields=fields)
    except errors.NotOpen as e:
        return api_error(409, "not_open", problem_text(e.problem))
    return "", 204


def wants_json():
    """True for the page's script (Accept: application/json), false for a browser posting the form itself."""
    return request.accept_mimetypes.accept_json and not request.accept_mimetypes.accept_html


def back_to_checkpoint(inspection_id, checkpoint_id):
    """The inspection's page, scrolled to the checkpoint (or to the photos of the whole inspection)."""
    return url_for("inspector.inspection", inspection_id=inspection_id,
                   _anchor=f"checkpoint-{checkpoint_id}" if checkpoint_id else "photos")


def photo_refused(status, code, message, back):
    """A refused photo: a JSON error for the script, or back to the page with the message."""
    if wants_json():
        return api_error(status, code, message)
    flash(message, "error")
    return redirect(back)


@bp.route("/inspections/<int:inspection_id>/photos", methods=["POST"])
@role_required("inspector")
def add_photo(inspection_id):
    """Attach a photo (multipart `file`, optional `checkpoint`) to an open inspection: 201 {id, sha256, url} for the
    page's script, otherwise back to the page with a message."""
    raw = request.form.get("checkpoint", "").strip()
    checkpoint_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None
    back = back_to_checkpoint(inspection_id, checkpoint_id)
    upload = request.files.get("file")
    if raw and checkpoint_id is None:
        return photo_refused(422, "invalid", problem_text(rules.unknown_checkpoint(raw)), back)
    if upload is None or not upload.filename:
        return photo_refused(422, "invalid", _("Take or choose a photo first."), back)
    try:
        added = photos.add_photo(database(), current_app.config["LOGBOOK_PHOTOS"], inspection_id, current_user.row,
                                 upload.read(photos.MAX_BYTES + 1), checkpoint_id, now())
    except errors.NotFound as e:
        if wants_json():
            return api_error(404, "not_found", problem_text(e.problem))
        abort(404)
    except tuple(PHOTO_REFUSALS) as e:
        status, code = next(v for k, v in PHOTO_REFUSALS.items() if isinstance(e, k))
        problem = next(iter(e.fields.values())) if isinstance(e, errors.Invalid) else e.problem
        return photo_refused(status, code, problem_text(problem), back)
    url = url_for("documents.photo", inspection_id=inspection_id, photo_id=added["id"])
    if wants_json():
        return jsonify(id=added["id"], sha256=added["sha256"], url=url), 201
    flash(_("Photo saved."), "success")
    return redirect(back)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    """A photo past the body limit is refused like one the domain finds too large; other forms get the error page."""
    if request.endpoint != "inspector.add_photo":
        return handle_http_exception(error)
    inspection_id = request.view_args["inspection_id"]
    return photo_refused(413, "photo_too_large", problem_text(errors.PhotoTooLarge().problem),
                         url_for("inspector.inspection", inspection_id=inspection_id, _anchor="photos"))
