"""Checkpoints of the inspection items (检查要点, SPEC §10): what to look at, the standard, the legal basis.

`flask items import FILE.csv` loads them (header agency,item_code,item_name,basis,checkpoint,standard, one row per
checkpoint), all or nothing like the enterprise import: a file replaces the checkpoints of the items it names
(the old rows are retired, not deleted, since inspections keep the checkpoints they started with) and adds the
items it does not know.
"""

import csv
import io

from . import inspections, rules
from .db import immediate, rows, value
from .errors import ImportFailed, Invalid, NotOpen, Problem

COLUMNS = ["agency", "item_code", "item_name", "basis", "checkpoint", "standard"]
REQUIRED = ["agency", "item_code", "item_name", "checkpoint"]
LIMITS = {"agency": 32, "item_code": 64, "item_name": 200, "basis": 500, "checkpoint": 500, "standard": 1000}


def _line(number, reason):
    return Problem("import_line", "line {line}: {reason}", line=number, reason=reason)


def parse_csv(db, text):
    """The checkpoint rows of a CSV text (BOM removed), grouped by item in file order, or ImportFailed listing every
    bad line: [{agency, code, name, basis, checkpoints: [(text, standard)]}]."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing, unknown = [c for c in REQUIRED if c not in header], [c for c in header if c not in COLUMNS]
    if missing or unknown:
        raise ImportFailed([_line(1, Problem("bad_checkpoint_header", "the header must be {expected}",
                                             expected=",".join(COLUMNS)))])
    known = {r["code"]: r["id"] for r in rows(db, "SELECT id, code FROM agencies")}
    owners = {}
    items, problems, line = {}, [], reader.line_num
    for values in reader:
        start, line = line + 1, reader.line_num
        if not values:
            continue
        if len(values) > len(header):
            problems.append(_line(start, Problem("too_many_fields", "more fields than the header has")))
            continue
        record = {k: (v or "").strip() for k, v in zip(header, values)}
        problem = _row_problem(db, record, known, owners)
        if problem:
            problems.append(_line(start, problem))
            continue
        item = items.setdefault(record["item_code"], {
            "agency": record["agency"].upper(), "code": record["item_code"], "name": record["item_name"],
            "basis": record.get("basis") or None, "checkpoints": [], "line": start})
        if item["agency"] != record["agency"].upper() or item["name"] != record["item_name"]:
            problems.append(_line(start, Problem("item_changes", "item {item} has another agency or name on line "
                                                 "{first}", item=record["item_code"], first=item["line"])))
            continue
        item["checkpoints"].append((record["checkpoint"], record.get("standard") or None))
    if problems:
        raise ImportFailed(problems)
    if not items:
        raise ImportFailed([_line(2, Problem("no_checkpoints", "the file has no checkpoints"))])
    return list(items.values())


def _row_problem(db, record, known, owners):
    """Why one row cannot be imported, or None."""
    for column in REQUIRED:
        if not record.get(column):
            return Problem("empty_field", "{column} is empty", column=column)
    for column, most in LIMITS.items():
        if len(record.get(column) or "") > most:
            return Problem("long_field", "{column} is longer than {most} characters", column=column, most=most)
    agency = record["agency"].upper()
    if agency not in known:
        return Problem("no_such_agency", "unknown agency {agency}", agency=record["agency"])
    code = record["item_code"]
    if code not in owners:
        owners[code] = value(db, "SELECT agency_id FROM items WHERE code = ?", [code])
    if owners[code] is not None and owners[code] != known[agency]:
        return Problem("item_taken", "item code {item} already belongs to another agency", item=code)
    return None


def import_checkpoints(db, items):
    """Write parsed items and their checkpoints in one transaction; returns (items, checkpoints) written."""
    count = 0
    with immediate(db):
        for item in items:
            db.execute("""INSERT INTO items (agency_id, code, name, basis) SELECT id, ?, ?, ? FROM agencies WHERE code = ?
                          ON CONFLICT(code) DO UPDATE SET name = excluded.name, basis = excluded.basis, active = 1""",
                       [item["code"], item["name"], item["basis"], item["agency"]])
            item_id = value(db, "SELECT id FROM items WHERE code = ?", [item["code"]])
            db.execute("UPDATE checkpoints SET active = 0 WHERE item_id = ? AND active = 1", [item_id])
            db.conn.executemany("INSERT INTO checkpoints (item_id, position, text, standard) VALUES (?, ?, ?, ?)",
                                [(item_id, n, text, standard) for n, (text, standard) in enumerate(item["checkpoints"], 1)])
            count += len(item["checkpoints"])
    return len(items), count


def checkpoints_of(db, item_ids):
    """The active checkpoints of these items, by item and position."""
    item_ids = list(item_ids)
    if not item_ids:
        return []
    return rows(db, f"""SELECT c.id, c.item_id, i.code AS item, c.position, c.text, c.standard, i.basis
        FROM checkpoints c JOIN items i ON i.id = c.item_id WHERE c.active = 1
        AND c.item_id IN ({','.join('?' * len(item_ids))}) ORDER BY i.code, c.position""", item_ids)


def answer_checkpoint(db, inspection_id, caller, checkpoint_id, outcome, note):
    """Save one answer of an open inspection's checklist as it is given (outcome None clears it), so that nothing is
    lost if the inspector's page reloads; closing records the answers for good, in the journal."""
    found = inspections.inspection_for(db, inspection_id, caller, "act")
    if checkpoint_id not in {c["id"] for c in found["checkpoints"]}:
        raise Invalid({"checkpoint": rules.unknown_checkpoint(checkpoint_id)})
    if outcome is not None and outcome not in rules.OUTCOMES:
        raise Invalid({"outcome": Problem("bad_outcome", "an outcome is one of {outcomes}",
                                          outcomes=", ".join(rules.OUTCOMES))})
    note = (note or "").strip()[:rules.NOTE_MAX] or None
    with immediate(db):
        status = value(db, "SELECT status FROM inspections WHERE id = ?", [inspection_id])
        if status != "open":
            raise NotOpen.because(status)
        db.execute("UPDATE inspection_checkpoints SET outcome = ?, note = ? WHERE inspection_id = ? AND checkpoint_id = ?",
                   [outcome, note, inspection_id, checkpoint_id])
