"""The supervisor's exports (SPEC §11): inspections, statistics and warnings as CSV and XLSX, formula-safe.

A CSV has one header row of English snake_case names, the same in every language, for programs; an XLSX, which
people open, adds a second row naming the columns in the reader's language. An XLSX is written whole to a temporary
file before it is sent (a zip is not streamed the way CSV is), and openpyxl takes about 0.3 ms of CPU per inspection
(100,000 in 29-33 s, a CSV 6 s, on a 2-core machine): a period of more than XLSX_ROWS inspections is offered in
parts, whole months where they fit, runs of days where they don't.
"""

import tempfile
from datetime import date, datetime, time, timedelta

from flask import abort, render_template, request, send_file
from flask_babel import lazy_gettext as _l

from logbook import alerts, exports, stats

from . import alert_limits, chosen_year, csv_download, database, now, role_required, today, tz
from .supervisor import bp, dashboard_filters

XLSX_ROWS = 30_000  # about 10 s of CPU, 18 s on a loaded machine: inside a worker's 30 s timeout
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_DAYS = 366  # the longest ?from=&to= period

INSPECTION_LABELS = {
    "id": _l("Inspection no."), "enterprise_usci": _l("USCI"), "enterprise_name": _l("Enterprise"), "kind": _l("Kind"),
    "counted": _l("Counted"), "status": _l("Status"), "entry": _l("Entry"), "late": _l("Late entry"),
    "started_at": _l("Started"), "closed_at": _l("Closed"), "agencies": _l("Agencies"), "inspectors": _l("Inspectors"),
    "certificates": _l("Certificates"), "items": _l("Items"), "reference": _l("Reference"), "result": _l("Result"),
    "findings": _l("Findings"), "rectify_by": _l("Rectify by"), "confirmed_at": _l("Confirmed by the firm at"),
    "void_reason": _l("Void reason"), "journal_hash": _l("Journal hash")}
STATS_LABELS = {
    "scope": _l("Scope"), "key": _l("Code or period"), "name": _l("Name"), "total": _l("Inspections"),
    "counted": _l("Counted"), "exempt": _l("Exempt"), "exempt_share": _l("Exempt share"), "voided": _l("Voided"),
    "visits": _l("Service visits"), "refused": _l("Refused"), "late": _l("Late entry"), "manual": _l("Manual entry"),
    "joint": _l("Joint inspections"), "joint_share": _l("Joint share"), "confirmed_share": _l("Confirmed share"),
    "rating": _l("Rating"), "merged_tasks": _l("Merged tasks"), "change": _l("Change against last year"),
    "previous_total": _l("Inspections last year"), "previous_counted": _l("Counted last year")}
WARNING_LABELS = {
    "key": _l("Warning no."), "kind": _l("Kind of warning"), "period": _l("Period"), "agency": _l("Agency"),
    "agency_name": _l("Agency name"), "enterprise_id": _l("Enterprise no."), "enterprise_usci": _l("USCI"),
    "enterprise_name": _l("Enterprise"), "count": _l("Count"), "total": _l("Inspections"), "since": _l("Since"),
    "until": _l("Until"), "inspections": _l("Inspection nos."), "complaints": _l("Complaints"), "tasks": _l("Tasks"),
    "followups": _l("Follow-ups"), "dismissed_at": _l("Dismissed at"), "dismissed_by": _l("Dismissed by"),
    "dismiss_reason": _l("Why dismissed")}


@bp.route("/inspections.xlsx")
@role_required("supervisor")
def inspections_xlsx():
    """Every inspection of a year (?year=), a month (&month=1-12) or a run of days (?from=&to=, ISO dates) as an XLSX
    file; a period with more than XLSX_ROWS inspections answers a page of its parts instead."""
    first, last = days_asked()
    db, name = database(), period_name(first, last)
    parts = exports.parts(db, first, last, XLSX_ROWS)
    if len(parts) > 1:
        whole = "-to-" not in name  # a year or a month, which the CSV download also serves
        return render_template("supervisor/xlsx_parts.html", first=first, last=last, parts=parts,
                               recorded=sum(p["rows"] for p in parts), csv_year=whole and first.year,
                               csv_month=first.month if len(name) == 7 else None)
    start, end = (datetime.combine(d, time(), tzinfo=tz()) for d in (first, last + timedelta(days=1)))
    return xlsx_download(lambda out: exports.inspections_xlsx(db, start, end, out, labels(INSPECTION_LABELS)),
                         f"inspections-{name}.xlsx")


@bp.route("/stats.<any(csv, xlsx):ext>")
@role_required("supervisor")
def stats_export(ext):
    """The year's statistics (?year=), narrowed by the dashboard's filters (agency, district, industry, risk_level),
    as one table: the filters, the year, each month, each agency."""
    db = database()
    year = chosen_year()
    table = exports.stats_rows(stats.year_stats(db, year, tz(), today(), dashboard_filters(db)))
    return table_download(ext, f"stats-{year}", exports.STATS_COLUMNS, table, STATS_LABELS)


@bp.route("/warnings.<any(csv, xlsx):ext>")
@role_required("supervisor")
def warnings_export(ext):
    """The year's warnings (?year=), the dismissed ones too, with who dismissed them, when and why."""
    year = chosen_year()
    table = exports.warning_rows(alerts.warnings_of(database(), year, now(), tz(), alert_limits(), dismissed=True,
                                                       limit=None))
    return table_download(ext, f"warnings-{year}", exports.WARNING_COLUMNS, table, WARNING_LABELS)


def days_asked():
    """The local days [first, last] of ?from=&to=, or of ?year= and ?month= (absent: the whole year); 400 when the
    month is not 1-12 or the days are not dates in order, at most MAX_DAYS apart, from 2000 on."""
    args = request.args
    if "from" in args or "to" in args:
        try:
            first, last = date.fromisoformat(args.get("from", "")), date.fromisoformat(args.get("to", ""))
        except ValueError:
            abort(400)
        if not date(2000, 1, 1) <= first <= last < first + timedelta(days=MAX_DAYS):
            abort(400)
        return first, last
    year, month = chosen_year(), args.get("month", type=int)
    if not args.get("month"):
        return date(year, 1, 1), date(year, 12, 31)
    if month not in range(1, 13):
        abort(400)
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def period_name(first, last):
    """2026 for a whole year, 2026-03 for a whole month, 2026-03-01-to-2026-03-10 otherwise."""
    if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31) and first.year == last.year:
        return f"{first.year}"
    if first.day == 1 and (last + timedelta(days=1)).day == 1 and (first.year, first.month) == (last.year, last.month):
        return f"{first:%Y-%m}"
    return f"{first}-to-{last}"


def labels(names):
    """The column labels in the reader's language (gettext, resolved now)."""
    return {column: str(label) for column, label in names.items()}


def table_download(ext, stem, columns, table, names):
    """A small table as a CSV or XLSX attachment named stem.ext."""
    if ext == "csv":
        return csv_download(exports.csv_chunks(columns, [table]), f"{stem}.csv")
    return xlsx_download(lambda out: exports.write_xlsx(out, stem.split("-")[0], columns, [table], labels(names)),
                         f"{stem}.xlsx")


def xlsx_download(write, filename):
    """An XLSX attachment: `write(out)` fills a temporary file, which is sent and then deleted."""
    out = tempfile.TemporaryFile()
    try:
        write(out)
        size = out.tell()
        out.seek(0)
    except BaseException:
        out.close()
        raise
    response = send_file(out, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=filename, conditional=False)
    response.content_length = size
    return response
