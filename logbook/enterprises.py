"""Enterprises: the CSV import, QR tokens (create, rotate, resolve) and lookups."""

import csv
import functools
import io
import secrets

from . import usci
from .db import immediate, name_grams, now_text, row, rows, value
from .errors import ImportFailed, NotFound, Problem, UnknownCode

CSV_COLUMNS = ("usci", "name", "address", "industry", "risk_level", "lat", "lon", "district")
REQUIRED_COLUMNS = ("usci", "name")
COLUMNS = "id, usci, name, address, industry, risk_level, lat, lon, qr_token, district"


def new_qr_token():
    """An opaque, unguessable token of 128 random bits (22 URL-safe characters)."""
    return secrets.token_urlsafe(16)


class InvalidRecord(ValueError):
    """One CSV record is not a valid enterprise; str(error) says why in English, `problem` translatably."""

    def __init__(self, problem):
        self.problem = problem
        super().__init__(str(problem))


def _number(text, low, high, column):
    if text in (None, ""):
        return None
    try:
        number = float(text)
    except ValueError:
        raise InvalidRecord(Problem("not_a_number", "{column} must be a number, not {value}",
                                    column=column, value=repr(text))) from None
    if not low <= number <= high:
        raise InvalidRecord(Problem("out_of_range", "{column} must be between {low} and {high}",
                                    column=column, low=low, high=high))
    return number


def parse_row(record):
    """Validate one CSV record (a dict) into an enterprise dict, or raise InvalidRecord (a ValueError) saying why."""
    try:
        code = usci.validate(record.get("usci"))
    except usci.InvalidUSCI as e:
        raise InvalidRecord(Problem("bad_record_usci", "usci {value}: {problem}",
                                    value=repr(record.get("usci")), problem=e.problem)) from None
    name = (record.get("name") or "").strip()
    if not name:
        raise InvalidRecord(Problem("no_name", "name is empty"))
    if len(name) > 200:
        raise InvalidRecord(Problem("long_name", "name is longer than 200 characters"))
    risk = (record.get("risk_level") or "").strip().upper() or None
    if risk is not None and risk not in ("A", "B", "C", "D"):
        raise InvalidRecord(Problem("bad_record_risk", "risk_level must be A, B, C or D, not {value}",
                                    value=repr(record.get("risk_level"))))
    lat = _number(record.get("lat"), -90, 90, "lat")
    lon = _number(record.get("lon"), -180, 180, "lon")
    if (lat is None) != (lon is None):
        raise InvalidRecord(Problem("lat_without_lon", "give both lat and lon, or neither"))
    district = (record.get("district") or "").strip() or None  # else characters 3-8 of the USCI (GB 32100)
    if district is not None and not (len(district) == 6 and district.isascii() and district.isdigit()):
        raise InvalidRecord(Problem("bad_district", "district must be a 6-digit division code, not {value}",
                                    value=repr(record.get("district"))))
    return {"usci": code, "name": name, "address": (record.get("address") or "").strip() or None,
            "industry": (record.get("industry") or "").strip() or None, "risk_level": risk,
            "lat": lat, "lon": lon, "district_code": district}


def _line(number, reason):
    """A bad line of an import, as the CLI prints it ("line N: reason") and a page translates it."""
    return Problem("import_line", "line {line}: {reason}", line=number, reason=reason)


def _header_problem(missing, unknown):
    reasons = ([Problem("missing_column", "missing column {column}", column=c) for c in missing]
               + [Problem("unknown_column", "unknown column {column}", column=c) for c in unknown])
    # "a; b; c" as nested pairs, so each reason and each separator is translated
    joined = functools.reduce(lambda first, then: Problem("and_then", "{first}; {then}", first=first, then=then), reasons)
    return _line(1, Problem("bad_header", "{reasons} (expected {expected})", reasons=joined, expected=",".join(CSV_COLUMNS)))


def parse_csv(text):
    """Parse CSV text (BOM already removed) into enterprise dicts, or raise ImportFailed listing every bad line."""
    # csv.reader, not DictReader: DictReader skips blank lines silently, which shifts the line numbers
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if missing or unknown:
        raise ImportFailed([_header_problem(missing, unknown)])
    parsed, problems, seen = [], [], {}
    line = reader.line_num
    for values in reader:
        line_start = line + 1
        line = reader.line_num
        if not values:
            continue
        if len(values) > len(header):
            problems.append(_line(line_start, Problem("too_many_fields", "more fields than the header has")))
            continue
        record = dict(zip(header, values))
        try:
            enterprise = parse_row(record)
        except InvalidRecord as e:
            problems.append(_line(line_start, e.problem))
            continue
        if enterprise["usci"] in seen:
            problems.append(_line(line_start, Problem("duplicate_usci", "usci {usci} already on line {first}",
                                                      usci=enterprise["usci"], first=seen[enterprise["usci"]])))
            continue
        seen[enterprise["usci"]] = line_start
        parsed.append(enterprise)
    if problems:
        raise ImportFailed(problems)
    if not parsed:
        raise ImportFailed([_line(2, Problem("no_enterprises", "the file has no enterprises"))])
    return parsed


def import_enterprises(db, enterprises, progress=None, batch=1000):
    """Insert or update validated enterprises by USCI, keeping existing QR tokens; return (added, updated).

    Every row was validated before (parse_csv), so no write is refused: all or nothing holds for what a file
    says. Each batch is its own short transaction, so scans go on between batches instead of waiting behind
    a whole city's import; an import cut off by a crash is finished by running it again (it only upserts).
    """
    created = now_text()
    added = 0
    for start in range(0, len(enterprises), batch):
        chunk = enterprises[start:start + batch]
        with immediate(db):
            known = value(db, f"SELECT count(*) FROM enterprises WHERE usci IN ({','.join('?' * len(chunk))})",
                          [e["usci"] for e in chunk])
            db.conn.executemany(
                """INSERT INTO enterprises (usci, name, address, industry, risk_level, lat, lon, district_code, qr_token,
                   created_at) VALUES (:usci, :name, :address, :industry, :risk_level, :lat, :lon, :district_code,
                   :qr_token, :created_at)
                   ON CONFLICT(usci) DO UPDATE SET name = excluded.name, address = excluded.address,
                   industry = excluded.industry, risk_level = excluded.risk_level,
                   lat = excluded.lat, lon = excluded.lon, district_code = excluded.district_code""",
                [{"district_code": None} | e | {"qr_token": new_qr_token(), "created_at": created} for e in chunk])
        added += len(chunk) - known
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


def enterprise_for_code(db, token):
    """The enterprise a scanned token names; UnknownCode when none does or the token has been replaced."""
    found, replaced = by_qr_token(db, token)
    if replaced:
        raise UnknownCode(Problem("replaced_code", "this code has been replaced; scan the enterprise's current poster"),
                          replaced=True)
    if not found:
        raise UnknownCode()
    return found


def enterprise_for(db, enterprise_id, user, may="see"):
    """The enterprise if the user may `may` it: "see" (supervisors, admins, its own firm users) or "print" its
    poster and QR code (admins, its own firm users); otherwise NotFound."""
    found = by_id(db, enterprise_id) if 0 < enterprise_id < 2**63 else None
    own = found is not None and user["role"] == "firm" and user["enterprise_id"] == found["id"]
    roles = {"see": ("supervisor", "admin"), "print": ("admin",)}[may]
    if found is None or not (own or user["role"] in roles):
        raise NotFound()
    return found


def rotate_qr_token(db, enterprise_id):
    """Give the enterprise a new QR token; old posters then answer "this code has been replaced"."""
    with immediate(db):
        old = value(db, "SELECT qr_token FROM enterprises WHERE id = ?", [enterprise_id])
        db.execute("INSERT INTO replaced_qr_tokens (qr_token, enterprise_id, replaced_at) VALUES (?, ?, ?)",
                   [old, enterprise_id, now_text()])
        token = new_qr_token()
        db.execute("UPDATE enterprises SET qr_token = ? WHERE id = ?", [token, enterprise_id])
    return token


CANDIDATES = 2000  # names a search reads at most before it stops looking


def search(db, text, limit=20):
    """Enterprises whose USCI starts with, or whose name contains, the text (manual entry, the supervisor's lookup).

    Text that looks like the start of a USCI (a digit, then 5+ more of its alphabet) uses the USCI index; anything
    else (or such text that starts no USCI) the full-text index of names by runs of characters (db.name_grams):
    every triple (or, for two characters, the pair) of the text must be in the name, and the name must then really
    contain the text. Found in index order, shown by name. One character finds the names that start with it.
    """
    text = (text or "").strip()
    if not text:
        return []
    code = usci.normalise(text)
    if len(code) >= 6 and code[0].isdigit() and all(c in usci.ALPHABET for c in code):
        found = rows(db, f"SELECT {COLUMNS} FROM enterprises WHERE usci >= ? AND usci < ? || 'Z' ORDER BY usci LIMIT ?",
                     [code, code, limit])
        if found:
            return found  # digits that start no USCI may still be part of a name
    if len(text) == 1:  # one character is in too many names to search for: the names that start with it
        return rows(db, f"SELECT {COLUMNS} FROM enterprises WHERE name >= ? AND name < ? ORDER BY name LIMIT ?",
                    [text, text + "\U0010ffff", limit])
    words = text.split()  # each word must be in the name, in any order ("规模 测试")
    grams = []
    for word in words:
        found_grams = [g for g in name_grams(word).split() if len(g) >= 2]
        grams += [g for g in found_grams if len(g) == 3] or found_grams  # triples when it has them: rarer, so faster
    grams = list(dict.fromkeys(grams))
    if not grams:  # signs or single letters alone: nothing the index can find
        return []
    match = " AND ".join('"{}"'.format(g.replace('"', '""')) for g in grams)  # each an FTS5 string
    likes = ["%{}%".format(w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")) for w in words]
    # at most CANDIDATES names whose runs match are read: text in most names (a common word) cannot read millions
    contains = " AND ".join(["e.name LIKE ? ESCAPE '\\'"] * len(words))
    found = rows(db, f"""SELECT {COLUMNS} FROM (SELECT rowid FROM enterprise_names WHERE enterprise_names MATCH ?
                        LIMIT {CANDIDATES}) m CROSS JOIN enterprises e ON e.id = m.rowid WHERE {contains} LIMIT ?""",
                 [match, *likes, limit])
    return sorted(found, key=lambda e: e["name"])


def scan_url(base_url, token):
    """The URL a poster's QR code carries."""
    return f"{base_url.rstrip('/')}/q/{token}"
