"""Enterprises: the CSV import, QR tokens (create, rotate, resolve) and lookups."""

import csv
import io
import secrets

from . import usci
from .db import immediate, now_text, row, rows, value

CSV_COLUMNS = ("usci", "name", "address", "industry", "risk_level", "lat", "lon")
REQUIRED_COLUMNS = ("usci", "name")
COLUMNS = "id, usci, name, address, industry, risk_level, lat, lon, qr_token"


class ImportFailed(Exception):
    """A CSV import was refused; `problems` lists every bad line as "line N: reason"."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("\n".join(problems))


def new_qr_token():
    """An opaque, unguessable token of 128 random bits (22 URL-safe characters)."""
    return secrets.token_urlsafe(16)


def _number(text, low, high, what):
    if text in (None, ""):
        return None
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number, not {text!r}") from None
    if not low <= number <= high:
        raise ValueError(f"{what} must be between {low} and {high}")
    return number


def parse_row(record):
    """Validate one CSV record (a dict) into an enterprise dict, or raise ValueError with the reason."""
    try:
        code = usci.validate(record.get("usci"))
    except usci.InvalidUSCI as e:
        raise ValueError(f"usci {record.get('usci')!r}: {e}") from None
    name = (record.get("name") or "").strip()
    if not name:
        raise ValueError("name is empty")
    if len(name) > 200:
        raise ValueError("name is longer than 200 characters")
    risk = (record.get("risk_level") or "").strip().upper() or None
    if risk is not None and risk not in ("A", "B", "C", "D"):
        raise ValueError(f"risk_level must be A, B, C or D, not {record.get('risk_level')!r}")
    lat = _number(record.get("lat"), -90, 90, "lat")
    lon = _number(record.get("lon"), -180, 180, "lon")
    if (lat is None) != (lon is None):
        raise ValueError("give both lat and lon, or neither")
    return {"usci": code, "name": name, "address": (record.get("address") or "").strip() or None,
            "industry": (record.get("industry") or "").strip() or None, "risk_level": risk,
            "lat": lat, "lon": lon}


def parse_csv(text):
    """Parse CSV text (BOM already removed) into enterprise dicts, or raise ImportFailed listing every bad line."""
    # csv.reader, not DictReader: DictReader skips blank lines silently, which shifts the line numbers
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if missing or unknown:
        reasons = ([f"missing column {c}" for c in missing] + [f"unknown column {c}" for c in unknown])
        raise ImportFailed([f"line 1: {'; '.join(reasons)} (expected {','.join(CSV_COLUMNS)})"])
    parsed, problems, seen = [], [], {}
    line = reader.line_num
    for values in reader:
        line_start = line + 1
        line = reader.line_num
        if not values:
            continue
        if len(values) > len(header):
            problems.append(f"line {line_start}: more fields than the header has")
            continue
        record = dict(zip(header, values))
        try:
            enterprise = parse_row(record)
        except ValueError as e:
            problems.append(f"line {line_start}: {e}")
            continue
        if enterprise["usci"] in seen:
            problems.append(f"line {line_start}: usci {enterprise['usci']} already on line {seen[enterprise['usci']]}")
            continue
        seen[enterprise["usci"]] = line_start
        parsed.append(enterprise)
    if problems:
        raise ImportFailed(problems)
    if not parsed:
        raise ImportFailed(["line 2: the file has no enterprises"])
    return parsed


def import_enterprises(db, enterprises, progress=None, batch=5000):
    """Insert or update enterprises by USCI in one transaction, keeping existing QR tokens; return (added, updated)."""
    created = now_text()
    added = 0
    with immediate(db):
        for start in range(0, len(enterprises), batch):
            chunk = enterprises[start:start + batch]
            before = value(db, "SELECT count(*) FROM enterprises")
            db.conn.executemany(
                """INSERT INTO enterprises (usci, name, address, industry, risk_level, lat, lon, qr_token, created_at)
                   VALUES (:usci, :name, :address, :industry, :risk_level, :lat, :lon, :qr_token, :created_at)
                   ON CONFLICT(usci) DO UPDATE SET name = excluded.name, address = excluded.address,
                   industry = excluded.industry, risk_level = excluded.risk_level,
                   lat = excluded.lat, lon = excluded.lon""",
                [dict(e, qr_token=new_qr_token(), created_at=created) for e in chunk])
            added += value(db, "SELECT count(*) FROM enterprises") - before
            if progress:
                progress(len(chunk))
    return added, len(enterprises) - added


def add_enterprise(db, usci_code, name, **fields):
    """Add (or update) one enterprise and return it."""
    enterprise = parse_row(dict(fields, usci=usci_code, name=name))
    import_enterprises(db, [enterprise])
    return by_usci(db, enterprise["usci"])


def by_usci(db, code):
    """The enterprise with this USCI (normalised first), or None."""
    return row(db, f"SELECT {COLUMNS} FROM enterprises WHERE usci = ?", [usci.normalise(code)])


def by_id(db, enterprise_id):
    """The enterprise with this id, or None."""
    return row(db, f"SELECT {COLUMNS} FROM enterprises WHERE id = ?", [enterprise_id])


def by_qr_token(db, token):
    """(enterprise, replaced): the enterprise a token names, and whether that token has been replaced."""
    found = row(db, f"SELECT {COLUMNS} FROM enterprises WHERE qr_token = ?", [token])
    if found:
        return found, False
    old = value(db, "SELECT enterprise_id FROM replaced_qr_tokens WHERE qr_token = ?", [token])
    return (by_id(db, old), True) if old else (None, False)


def rotate_qr_token(db, enterprise_id):
    """Give the enterprise a new QR token; old posters then answer "this code has been replaced"."""
    with immediate(db):
        old = value(db, "SELECT qr_token FROM enterprises WHERE id = ?", [enterprise_id])
        db.execute("INSERT INTO replaced_qr_tokens (qr_token, enterprise_id, replaced_at) VALUES (?, ?, ?)",
                   [old, enterprise_id, now_text()])
        token = new_qr_token()
        db.execute("UPDATE enterprises SET qr_token = ? WHERE id = ?", [token, enterprise_id])
    return token


def search(db, text, limit=20):
    """Enterprises whose USCI starts with, or whose name contains, the text (for manual entry).

    Text that looks like the start of a USCI (a digit, then 5+ more of its alphabet) uses the USCI index
    alone; a name search reads every name, which takes about 0.4 s at 4 million enterprises.
    """
    text = (text or "").strip()
    if not text:
        return []
    code = usci.normalise(text)
    if len(code) >= 6 and code[0].isdigit() and all(c in usci.ALPHABET for c in code):
        return rows(db, f"SELECT {COLUMNS} FROM enterprises WHERE usci >= ? AND usci < ? || 'Z' ORDER BY usci LIMIT ?",
                    [code, code, limit])
    like = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return rows(db, f"""SELECT {COLUMNS} FROM enterprises WHERE name LIKE ? ESCAPE '\\'
                        ORDER BY name LIMIT ?""", [f"%{like}%", limit])


def scan_url(base_url, token):
    """The URL a poster's QR code carries."""
    return f"{base_url.rstrip('/')}/q/{token}"
