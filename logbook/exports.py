"""Exports for publication and audit (SPEC §11): inspections, the year's statistics and its warnings, as CSV and XLSX.

Inspections are read in batches by key (started_at, id), so a year of a large city (millions of rows) never sits in
memory: the CSV is streamed as it is written, the XLSX goes row by row through openpyxl's write-only workbook, which
keeps its rows in a temporary file until it zips them. The writers neutralise every text cell a spreadsheet could
read as a formula (`inert`), and in XLSX also type it as text, since openpyxl writes any string starting with "="
as a formula. A CSV starts with a UTF-8 byte-order mark so that spreadsheet programs open the Chinese text correctly.
"""

import csv
import io
from datetime import timedelta

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

from . import inspections
from .db import now_text, rows

COLUMNS = ["id", "enterprise_usci", "enterprise_name", "kind", "counted", "status", "entry", "late", "started_at",
           "closed_at", "agencies", "inspectors", "certificates", "items", "reference", "result", "findings",
           "rectify_by", "confirmed_at", "void_reason", "journal_hash"]
STATS_COLUMNS = ["scope", "key", "name", "total", "counted", "exempt", "exempt_share", "voided", "visits", "refused",
                 "late", "manual", "joint", "joint_share", "confirmed_share", "rating", "merged_tasks", "change",
                 "previous_total", "previous_counted"]
WARNING_COLUMNS = ["key", "kind", "period", "agency", "agency_name", "enterprise_id", "enterprise_usci",
                   "enterprise_name", "count", "total", "since", "until", "inspections", "complaints", "tasks",
                   "followups", "dismissed_at", "dismissed_by", "dismiss_reason"]
BATCH = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may read as the start of a formula


def inert(cell):
    """A cell a spreadsheet shows as text: one that could start a formula gets a leading apostrophe (OWASP)."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


# ---- the tables -----------------------------------------------------------------------------------------------

def inspection_batches(db, start, end, enterprise_id=None):
    """Lists of rows (COLUMNS) of every inspection started in [start, end), oldest first, BATCH at a time (one
    enterprise's, or all)."""
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
        yield [_cells(i) for i in inspections.inspections_by_ids(db, [r["id"] for r in found])]
        if len(found) < BATCH:
            return
        last = (found[-1]["started_at"], found[-1]["id"])


def _cells(found):
    return [found["id"], found["enterprise"]["usci"], found["enterprise"]["name"], found["kind"], int(found["counted"]),
            found["status"], found["entry"], int(found["late"]), found["started_at"], found["closed_at"] or "",
            " ".join(found["agencies"]), " ".join(i["name"] for i in found["inspectors"]),
            " ".join(i["cert_no"] or "" for i in found["inspectors"]), " ".join(found["items"]),
            found["reference"] or "", found["result"] or "", found["findings"] or "", found["rectify_by"] or "",
            found["confirmed_at"] or "", found["void_reason"] or "", found["journal_hash"] or ""]


def stats_rows(found):
    """The year's statistics (stats.year_stats) as one table of STATS_COLUMNS, told apart by `scope`: the filters
    applied (key and value), the year, each month, each agency."""
    totals = found["inspections"]
    table = [{"scope": "filter", "key": k, "name": v} for k, v in sorted(found["filters"].items())]
    table.append(totals | {"scope": "year", "key": str(found["year"]), "refused": found["refused"],
                           "joint_share": found["joint_share"], "confirmed_share": found["confirmed_share"],
                           "merged_tasks": found["merged_tasks"], "change": found["change"],
                           "previous_total": found["previous_year"]["total"],
                           "previous_counted": found["previous_year"]["counted"]})
    table += [{"scope": "month", "key": m["month"], "total": m["total"], "counted": m["counted"]}
              for m in found["by_month"]]
    table += [a | {"scope": "agency", "key": a["agency"]} for a in found["by_agency"]]
    return [[r.get(c) for c in STATS_COLUMNS] for r in table]


def warning_rows(found):
    """Warnings (alerts.warnings_of) as rows of WARNING_COLUMNS; lists of ids are joined by spaces."""
    table = []
    for w in found:
        enterprise, dismissal = w["enterprise"] or {}, w.get("dismissal") or {}
        table.append([w["key"], w["kind"], w["period"], w["agency"], w["agency_name"], enterprise.get("id"),
                      enterprise.get("usci"), enterprise.get("name"), w["count"], w.get("total"), w["since"], w["until"],
                      *(" ".join(str(i) for i in w.get(name) or []) for name in ("inspections", "complaints", "tasks",
                                                                                 "followups")),
                      dismissal.get("dismissed_at"), dismissal.get("by_name"), dismissal.get("reason")])
    return table


def parts(db, first, last, most):
    """The local days [first, last] cut into downloads of at most `most` inspections, by the counters:
    [{first, last, rows}]: the whole period when it fits, else its months, a month that does not fit in runs of days
    (a day busier than `most` alone)."""
    by_day = {r["day"]: r["n"] for r in rows(db, """SELECT day, sum(inspections + voided) AS n FROM inspection_counts
        WHERE agency_id = 0 AND day >= ? AND day <= ? GROUP BY day""", [first.isoformat(), last.isoformat()])}
    if sum(by_day.values()) <= most:
        return [{"first": first, "last": last, "rows": sum(by_day.values())}]
    found, day = [], first
    while day <= last:
        n = by_day.get(day.isoformat(), 0)
        if not found or day.day == 1 or n and found[-1]["rows"] and found[-1]["rows"] + n > most:
            found.append({"first": day, "last": day, "rows": 0})
        found[-1]["last"] = day
        found[-1]["rows"] += n
        day += timedelta(days=1)
    return found


# ---- the writers ----------------------------------------------------------------------------------------------

def csv_chunks(columns, batches):
    """Yield CSV text: a byte-order mark and the header row, then one chunk per batch of rows, every cell inert."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(columns)
    for batch in batches:
        writer.writerows([inert(cell) for cell in r] for r in batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no batch at all: the header alone
        yield buffer.getvalue()


def inspections_csv(db, start, end, enterprise_id=None):
    """Yield CSV text chunks of every inspection started in [start, end), oldest first (one enterprise, or all)."""
    return csv_chunks(COLUMNS, inspection_batches(db, start, end, enterprise_id))


def write_xlsx(out, title, columns, batches, labels=None):
    """Write one sheet of rows as an XLSX workbook to the binary file `out`: the header row of `columns`, a row of
    their `labels` (in the reader's language) when given, then every batch of rows; no cell is a formula."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    header = [columns] + ([[labels.get(c, c) for c in columns]] if labels else [])
    sheet.freeze_panes = f"A{len(header) + 1}"  # the header stays in view while scrolling
    for r in header:
        sheet.append([_text(sheet, str(c)) for c in r])
    for batch in batches:
        for r in batch:
            sheet.append([_text(sheet, c) if isinstance(c, str) else c for c in r])
    book.save(out)


def _text(sheet, text):
    """`text` as an XLSX cell value: characters XML cannot carry dropped, made inert, and typed as a string where
    openpyxl would not (it writes a leading "=" as a formula, and "#N/A" as an error)."""
    text = inert(ILLEGAL_CHARACTERS_RE.sub("", text))
    if not (text.startswith("=") or text in ERROR_CODES):
        return text  # openpyxl types it as a string itself; a cell object for every string costs a third more time
    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"
    return cell


def inspections_xlsx(db, start, end, out, labels=None):
    """Write every inspection started in [start, end), oldest first, as an XLSX workbook to the binary file `out`."""
    write_xlsx(out, "inspections", COLUMNS, inspection_batches(db, start, end), labels)
