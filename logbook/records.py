"""The inspections behind a number of the supervisor's dashboard, newest first, fifty at a time.

A page never counts or skips its way through a year. The daily counters (stats) say which local days hold matching
inspections and how many; only those days are read, newest first, through the inspections_started index (the
inspections_flagged index for late and manual entries), until the page is full, and the next page starts below the
last record shown (its start time and id). A page so reads at most the inspections of the days that hold its own
records, however large the year; an agency is matched by its row in inspection_agencies (its primary key).
"""

from datetime import date, datetime, time, timedelta

from .db import now_text, parse_time, rows, value
from .inspections import inspections_by_ids

ALL_AGENCIES = 0  # the counters' agency for all agencies together (stats.ALL_AGENCIES)
LIVE = "i.status != 'voided' AND i.kind != 'visit'"  # an inspection (not a service visit) that stands
FLAGGED = "(i.late = 1 OR i.entry = 'manual')"  # the condition of the inspections_flagged index, spelt as it is
# What a list shows: the condition on an inspection `i`, the counters' sum that counts the same inspections, and the
# kinds of counters that sum is taken over (service visits are never inspections).
SHOWN = {
    "all": (LIVE, "inspections", "kind != 'visit'"),
    "counted": (f"{LIVE} AND i.counted = 1", "counted", "kind != 'visit'"),
    "exempt": (f"{LIVE} AND i.counted = 0", "inspections - counted", "kind != 'visit'"),
    "voided": ("i.status = 'voided' AND i.kind != 'visit'", "voided", "kind != 'visit'"),
    "joint": (f"{LIVE} AND (SELECT count(*) FROM inspection_agencies x WHERE x.inspection_id = i.id) > 1", "joint",
              "kind != 'visit'"),
    "late": (f"{FLAGGED} AND {LIVE} AND i.late = 1", "late", "kind != 'visit'"),
    "manual": (f"{FLAGGED} AND {LIVE} AND i.entry = 'manual'", "manual", "kind != 'visit'"),
    "confirmed": (f"{LIVE} AND i.confirmed_at IS NOT NULL", "confirmed", "kind != 'visit'"),
    "visits": ("i.status != 'voided' AND i.kind = 'visit'", "inspections", "kind = 'visit'"),
}
PAGE = 50


def records(db, year, tz, month=None, agency=None, shown="all", before=None, limit=PAGE):
    """One page of a year's (or a month's) inspections of one class (SHOWN), optionally of one agency (by code),
    newest first, below `before` = (started_at, id) if given: {inspections, matching (how many the whole list holds),
    before (where the next page starts, or None)}."""
    condition, counted_as, kinds = SHOWN[shown]
    agency_id = ALL_AGENCIES if not agency else value(db, "SELECT id FROM agencies WHERE code = ?", [agency])
    if agency_id is None:
        return {"inspections": [], "matching": 0, "before": None}
    first, last = _days(year, month)
    days = rows(db, f"""SELECT day, sum({counted_as}) AS n FROM inspection_counts
        WHERE agency_id = ? AND day >= ? AND day < ? AND {kinds} GROUP BY day HAVING n > 0 ORDER BY day DESC""",
                [agency_id, first.isoformat(), last.isoformat()])
    matching = sum(d["n"] for d in days)
    below = parse_time(before[0]).astimezone(tz).date().isoformat() if before else None
    found = []
    for day in days:
        if below and day["day"] > below:
            continue
        found += _read_day(db, date.fromisoformat(day["day"]), tz, condition, agency_id, before, limit + 1 - len(found))
        if len(found) > limit:
            break
    shown_rows = found[:limit]
    return {"inspections": inspections_by_ids(db, [r["id"] for r in shown_rows]), "matching": matching,
            "before": (shown_rows[-1]["started_at"], shown_rows[-1]["id"]) if len(found) > limit else None}


def _days(year, month):
    """The first and the day after the last local day of a year, or of one month of it."""
    if not month:
        return date(year, 1, 1), date(year + 1, 1, 1)
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)


def _read_day(db, day, tz, condition, agency_id, before, limit):
    """Up to `limit` matching inspections started on a local day (below `before`), newest first."""
    start, end = datetime.combine(day, time(), tz), datetime.combine(day + timedelta(days=1), time(), tz)
    terms, values = [condition], [now_text(start), now_text(end)]
    if before:
        terms.append("i.started_at <= ? AND (i.started_at < ? OR i.id < ?)")
        values += [before[0], before[0], before[1]]
    if agency_id != ALL_AGENCIES:
        terms.append("EXISTS (SELECT 1 FROM inspection_agencies ia WHERE ia.inspection_id = i.id AND ia.agency_id = ?)")
        values.append(agency_id)
    return rows(db, f"""SELECT i.id, i.started_at FROM inspections i WHERE i.started_at >= ? AND i.started_at < ?
        AND {' AND '.join(terms)} ORDER BY i.started_at DESC, i.id DESC LIMIT ?""", [*values, limit])


def segments(db, year):
    """The districts and industries the year's inspections were counted under, for the dashboard's filters."""
    months = [f"{year:04d}-{m:02d}" for m in range(1, 13)]
    marks = ",".join("?" * 12)
    found = {}
    for column in ("district", "industry"):
        found[column] = [r[column] for r in rows(db, f"""SELECT DISTINCT {column} FROM segment_counts
            WHERE month IN ({marks}) AND agency_id = {ALL_AGENCIES} AND {column} != '' ORDER BY {column}""", months)]
    return found
