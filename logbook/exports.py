"""CSV exports of inspections: the firm's own records, and every inspection of a year for the supervisor.

Rows are streamed in batches, so a year of a large city (millions of rows) never sits in memory. The file
starts with a UTF-8 byte-order mark so that spreadsheet programs open the Chinese text correctly.
"""

import csv
import io

from . import inspections
from .db import now_text, rows

COLUMNS = ["id", "enterprise_usci", "enterprise_name", "kind", "counted", "status", "entry", "late", "started_at",
           "closed_at", "agencies", "inspectors", "certificates", "items", "reference", "result", "findings",
           "rectify_by", "confirmed_at", "void_reason", "journal_hash"]
BATCH = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may read as the start of a formula


def inert(cell):
    """A cell a spreadsheet shows as text: one that could start a formula gets a leading apostrophe (OWASP)."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def _flat(found):
    return [inert(cell) for cell in _cells(found)]


def _cells(found):
    return [found["id"], found["enterprise"]["usci"], found["enterprise"]["name"], found["kind"], int(found["counted"]),
            found["status"], found["entry"], int(found["late"]), found["started_at"], found["closed_at"] or "",
            " ".join(found["agencies"]), " ".join(i["name"] for i in found["inspectors"]),
            " ".join(i["cert_no"] or "" for i in found["inspectors"]), " ".join(found["items"]),
            found["reference"] or "", found["result"] or "", found["findings"] or "", found["rectify_by"] or "",
            found["confirmed_at"] or "", found["void_reason"] or "", found["journal_hash"] or ""]


def inspections_csv(db, start, end, enterprise_id=None):
    """Yield CSV text chunks of every inspection started in [start, end), oldest first (one enterprise, or all)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(COLUMNS)
    # each batch continues from the last (started_at, id): a seek in an index, however far into the table the
    # period lies (ordering by id alone made every batch walk the years before it)
    if enterprise_id is None:
        sql = """SELECT id, started_at FROM inspections INDEXED BY inspections_started
                 WHERE (started_at, id) > (?, ?) AND started_at < ? ORDER BY started_at, id LIMIT ?"""
    else:
        sql = f"""SELECT id, started_at FROM inspections WHERE enterprise_id = {int(enterprise_id)}
                  AND (started_at, id) > (?, ?) AND started_at < ? ORDER BY started_at, id LIMIT ?"""
    last = (now_text(start), 0)
    while True:
        found = rows(db, sql, [*last, now_text(end), BATCH])
        for inspection in inspections.inspections_by_ids(db, [r["id"] for r in found]):
            writer.writerow(_flat(inspection))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(found) < BATCH:
            return
        last = (found[-1]["started_at"], found[-1]["id"])
