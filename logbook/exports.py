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
    sql = "SELECT id FROM inspections WHERE started_at >= ? AND started_at < ? AND id > ?"
    params = [now_text(start), now_text(end)]
    if enterprise_id is not None:
        sql += " AND enterprise_id = ?"
    sql += " ORDER BY id LIMIT ?"
    last = 0
    while True:
        ids = [r["id"] for r in rows(db, sql, params + [last] + ([enterprise_id] if enterprise_id is not None else [])
                                     + [BATCH])]
        for found in inspections.inspections_by_ids(db, ids):
            writer.writerow(_flat(found))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(ids) < BATCH:
            return
        last = ids[-1]
