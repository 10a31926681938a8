"""Agencies (执法主体) and their inspection item lists (检查事项清单)."""

from .db import rows, value
from .errors import DirectoryError, Problem


def add_agency(db, code, name):
    """Add an agency, or rename it if the code exists; return its id."""
    code, name = (code or "").strip().upper(), (name or "").strip()
    if not code or not name:
        raise DirectoryError(Problem("agency_fields", "an agency needs a code and a name"))
    db.execute("INSERT INTO agencies (code, name) VALUES (?, ?) "
               "ON CONFLICT(code) DO UPDATE SET name = excluded.name", [code, name])
    return value(db, "SELECT id FROM agencies WHERE code = ?", [code])


def add_item(db, agency_code, code, name, basis=None):
    """Add an item to an agency's list (or update it); item codes are unique across agencies."""
    agency_id = value(db, "SELECT id FROM agencies WHERE code = ?", [(agency_code or "").strip().upper()])
    if agency_id is None:
        raise DirectoryError(Problem("no_such_agency", "unknown agency {agency}", agency=agency_code))
    code, name = (code or "").strip(), (name or "").strip()
    if not code or not name:
        raise DirectoryError(Problem("item_fields", "an item needs a code and a name"))
    owner = value(db, "SELECT agency_id FROM items WHERE code = ?", [code])
    if owner is not None and owner != agency_id:
        raise DirectoryError(Problem("item_taken", "item code {item} already belongs to another agency", item=code))
    db.execute("INSERT INTO items (agency_id, code, name, basis) VALUES (?, ?, ?, ?) "
               "ON CONFLICT(code) DO UPDATE SET name = excluded.name, basis = excluded.basis",
               [agency_id, code, name, basis])


def agencies(db):
    """All active agencies, by code."""
    return rows(db, "SELECT id, code, name FROM agencies WHERE active = 1 ORDER BY code")


def items(db, agency_codes=None):
    """Active items with their agency code, optionally only those of some agencies."""
    sql = ("SELECT i.id, i.code, i.name, i.basis, a.code AS agency FROM items i "
           "JOIN agencies a ON a.id = i.agency_id WHERE i.active = 1 AND a.active = 1")
    params = []
    if agency_codes is not None:
        sql += f" AND a.code IN ({','.join('?' * len(agency_codes))})"
        params = list(agency_codes)
    return rows(db, sql + " ORDER BY a.code, i.code", params)


def item_counts(db):
    """How many active items each agency has, by agency code."""
    return {r["code"]: r["n"] for r in rows(db, """SELECT a.code, count(*) AS n FROM items i
        JOIN agencies a ON a.id = i.agency_id WHERE i.active = 1 GROUP BY a.code""")}


def item_suggestions(db, user_id, agency_codes, limit=6):
    """Items of the agencies for the start form: those the user checked lately first, then by code."""
    if not agency_codes:
        return []
    recent = [r["item_id"] for r in rows(db, """SELECT it.item_id FROM (SELECT inspection_id FROM inspection_inspectors
          WHERE user_id = ? ORDER BY inspection_id DESC LIMIT 100) mine
        JOIN inspection_items it ON it.inspection_id = mine.inspection_id
        GROUP BY it.item_id ORDER BY max(it.inspection_id) DESC LIMIT 50""", [user_id])]
    listed = items(db, agency_codes)
    by_id = {i["id"]: i for i in listed}
    chosen = [by_id[i] for i in recent if i in by_id][:limit]
    return chosen + [i for i in listed if i not in chosen][:limit - len(chosen)]


def find_items(db, agency_codes, text, limit=20):
    """Active items of the agencies whose name or code contains the text."""
    text = (text or "").strip().lower()
    if not agency_codes or not text:
        return []
    return [i for i in items(db, agency_codes) if text in i["name"].lower() or text in i["code"].lower()][:limit]


def items_coded(db, codes):
    """The active items with these codes (unknown ones are left out), in the order given."""
    codes = list(dict.fromkeys(codes))[:100]
    if not codes:
        return []
    found = {i["code"]: i for i in rows(db, f"""SELECT i.id, i.code, i.name, i.basis, a.code AS agency FROM items i
        JOIN agencies a ON a.id = i.agency_id WHERE i.active = 1 AND a.active = 1
        AND i.code IN ({','.join('?' * len(codes))})""", codes)}
    return [found[c] for c in codes if c in found]

