"""The supervisor's numbers: inspections by kind and agency, refusals, and the year before for comparison.

The numbers come from counters (inspection_counts per agency, local day and kind, agency 0 standing for all
agencies together; enterprise_counts per local year and enterprise) that record_inspection and void_inspection
keep in their own transactions, so a dashboard reads a few thousand rows whatever the size of the city.
`recount` rebuilds them from the inspections, after an upgrade or a change of time zone.
"""

from datetime import datetime, timedelta

from . import rules
from .db import immediate, now_text, parse_time, rows, value

ALL_AGENCIES = 0  # the agency_id of the counters for all agencies together (a joint inspection counts once)


FILTERS = ("agency", "district", "industry", "risk_level")  # what the dashboard narrows the numbers by
MIN_RATINGS = 5  # an agency's average rating is shown only with at least this many ratings behind it


def year_stats(db, year, tz, today=None, filters=None):
    """SPEC §5 and §11 stats for a calendar year: totals, refusals, by month, the change against the same period of
    the previous year, shares, and by agency (by name); optionally narrowed by agency code, district, industry and
    risk level. `today` (local) ends the current year's period; past years compare whole years."""
    filters = {k: v for k, v in (filters or {}).items() if k in FILTERS and v}
    agency_id = (value(db, "SELECT id FROM agencies WHERE code = ?", [filters["agency"]]) or -1) \
        if "agency" in filters else 0  # an unknown agency has no inspections (-1 is no agency's id)
    segment = {k: v for k, v in filters.items() if k != "agency"}
    start, end = (now_text(t) for t in rules.year_bounds(year, tz))
    months = _months(db, year, agency_id, segment)
    by_month = [{"month": f"{year:04d}-{m:02d}", "total": months.get(m, {}).get("total", 0),
                 "counted": months.get(m, {}).get("counted", 0)} for m in range(1, 13)]
    totals = {k: sum(m.get(k, 0) for m in months.values()) for k in ("total", "counted", "voided", "visits", "joint",
                                                                       "confirmed", "late", "manual")}
    totals["exempt"] = totals["total"] - totals["counted"]
    previous = _months(db, year - 1, agency_id, segment)
    refusals = {r["agency_id"]: r["n"] for r in rows(db, """SELECT agency_id, count(*) AS n FROM refusals
        WHERE attempted_at >= ? AND attempted_at < ? GROUP BY agency_id""", [start, end])}
    merged = merged_tasks(db, year)
    return {"year": year, "filters": filters,
            "inspections": {k: totals[k] for k in ("total", "counted", "exempt", "voided", "visits", "joint")},
            "refused": sum(refusals.values()) if not filters else sum(
                n for a, n in refusals.items() if a == agency_id) if not segment else None,
            "by_month": by_month, "change": _change(db, year, today, agency_id, segment, months, previous),
            "joint_share": _share(totals["joint"], totals["total"]),
            "confirmed_share": _share(totals["confirmed"], totals["total"]),
            "merged_tasks": merged["joined"],
            "by_agency": _by_agency(db, year, agency_id, segment, refusals, merged),
            "previous_year": {"total": sum(m.get("total", 0) for m in previous.values()),
                              "counted": sum(m.get("counted", 0) for m in previous.values()),
                              "by_month": [{"month": f"{year - 1:04d}-{m:02d}", "total": previous.get(m, {}).get(
                                  "total", 0), "counted": previous.get(m, {}).get("counted", 0)} for m in range(1, 13)]}}


def _share(part, whole):
    return round(part / whole, 4) if whole else None


SUMS = """coalesce(sum(CASE WHEN kind != 'visit' THEN inspections END), 0) AS total,
          coalesce(sum(CASE WHEN kind != 'visit' THEN counted END), 0) AS counted,
          coalesce(sum(CASE WHEN kind != 'visit' THEN voided END), 0) AS voided,
          coalesce(sum(CASE WHEN kind = 'visit' THEN inspections END), 0) AS visits,
          coalesce(sum(CASE WHEN kind != 'visit' THEN joint END), 0) AS joint,
          coalesce(sum(CASE WHEN kind != 'visit' THEN confirmed END), 0) AS confirmed,
          coalesce(sum(CASE WHEN kind != 'visit' THEN late END), 0) AS late,
          coalesce(sum(CASE WHEN kind != 'visit' THEN manual END), 0) AS manual"""


def _segment_where(segment):
    """The WHERE terms and values of a district, industry and risk-level filter on segment_counts."""
    return "".join(f" AND {k} = ?" for k in segment), list(segment.values())


def _months(db, year, agency_id, segment):
    """{month number: sums} of a year for one agency (0: all together), narrowed by the segment if given."""
    if not segment:
        found = rows(db, f"""SELECT CAST(substr(day, 6, 2) AS INTEGER) AS m, {SUMS} FROM inspection_counts
            WHERE agency_id = ? AND day >= ? AND day < ? GROUP BY m""", [agency_id, *_days(year)])
    else:
        where, values = _segment_where(segment)
        found = rows(db, f"""SELECT CAST(substr(month, 6, 2) AS INTEGER) AS m, {SUMS} FROM segment_counts
            WHERE month >= ? AND month <= ? AND agency_id = ?{where} GROUP BY m""",
                     [f"{year:04d}-01", f"{year:04d}-12", agency_id, *values])
    return {r.pop("m"): r for r in found}


def _change(db, year, today, agency_id, segment, months, previous):
    """This year's counted inspections against the previous year's same period, as a fraction (-0.42: down 42%);
    the whole year for past years; None when the previous period had none. Counted by day, or with a district,
    industry or risk filter by whole months (those before today's month)."""
    if today is None or today.year != year:
        now, before = sum(m["counted"] for m in months.values()), sum(m["counted"] for m in previous.values())
    elif not segment:
        same = today.replace(year=year - 1) if not (today.month == 2 and today.day == 29) else today.replace(
            year=year - 1, day=28)
        span = [f"{year:04d}-01-01", (today + timedelta(days=1)).isoformat()]
        last = [f"{year - 1:04d}-01-01", (same + timedelta(days=1)).isoformat()]
        query = "SELECT coalesce(sum(counted), 0) FROM inspection_counts WHERE agency_id = ? AND day >= ? AND day < ? " \
                "AND kind != 'visit'"
        now, before = value(db, query, [agency_id, *span]), value(db, query, [agency_id, *last])
    else:
        now = sum(m["counted"] for n, m in months.items() if n < today.month)
        before = sum(m["counted"] for n, m in previous.items() if n < today.month)
    return round((now - before) / before, 4) if before else None


def _by_agency(db, year, agency_id, segment, refusals, merged):
    """Per agency (by name): totals, exempt share, refusals, late and manual entries, confirmation share, average
    rating (with at least MIN_RATINGS behind it) and tasks merged with another agency's."""
    if not segment:
        sums = {r.pop("agency_id"): r for r in rows(db, f"""SELECT agency_id, {SUMS} FROM inspection_counts
            WHERE agency_id IN (SELECT id FROM agencies) AND day >= ? AND day < ? GROUP BY agency_id""", _days(year))}
    else:
        where, values = _segment_where(segment)
        sums = {r.pop("agency_id"): r for r in rows(db, f"""SELECT agency_id, {SUMS} FROM segment_counts
            WHERE month >= ? AND month <= ? AND agency_id IN (SELECT id FROM agencies){where} GROUP BY agency_id""",
                                                        [f"{year:04d}-01", f"{year:04d}-12", *values])}
    ratings = {r["agency_id"]: r for r in rows(db, "SELECT agency_id, ratings, total FROM agency_ratings")}
    found = []
    for agency in rows(db, "SELECT id, code, name FROM agencies ORDER BY code"):
        if agency_id and agency["id"] != agency_id:
            continue
        s = sums.get(agency["id"]) or {"total": 0, "counted": 0, "late": 0, "manual": 0, "confirmed": 0, "joint": 0}
        rated = ratings.get(agency["id"]) or {"ratings": 0, "total": 0}
        found.append({"agency": agency["code"], "name": agency["name"], "total": s["total"], "counted": s["counted"],
                      "exempt": s["total"] - s["counted"], "exempt_share": _share(s["total"] - s["counted"], s["total"]),
                      "refused": refusals.get(agency["id"], 0), "late": s["late"], "manual": s["manual"],
                      "joint": s["joint"], "confirmed_share": _share(s["confirmed"], s["total"]),
                      "rating": round(rated["total"] / rated["ratings"], 2) if rated["ratings"] >= MIN_RATINGS else None,
                      "merged_tasks": merged["by_agency"].get(agency["id"], 0)})
    return found


def _days(year):
    """The counters' keys of a local calendar year: [1 January, next 1 January)."""
    return [f"{year:04d}-01-01", f"{year + 1:04d}-01-01"]


def _totals(db, year):
    """Inspections of a year by outcome; service visits are never inspections and are counted apart."""
    found = rows(db, """SELECT
          coalesce(sum(CASE WHEN kind != 'visit' THEN inspections END), 0) AS total,
          coalesce(sum(CASE WHEN kind != 'visit' THEN counted END), 0) AS counted,
          coalesce(sum(CASE WHEN kind != 'visit' THEN inspections - counted END), 0) AS exempt,
          coalesce(sum(CASE WHEN kind != 'visit' THEN voided END), 0) AS voided,
          coalesce(sum(CASE WHEN kind = 'visit' THEN inspections END), 0) AS visits
        FROM inspection_counts WHERE agency_id = ? AND day >= ? AND day < ?""", [ALL_AGENCIES, *_days(year)])
    return found[0]


def recorded_in(db, year):
    """How many inspections (voided ones and service visits included) started in the local calendar year."""
    return value(db, """SELECT coalesce(sum(inspections + voided), 0) FROM inspection_counts
                        WHERE agency_id = ? AND day >= ? AND day < ?""", [ALL_AGENCIES, *_days(year)])


def merged_tasks(db, year):
    """The year's tasks (by the first day of their window) and how many were joined with another agency's into one
    visit (拼团), in all and per agency: {tasks, joined, by_agency: {agency_id: joined}}."""
    found = rows(db, """SELECT count(*) AS tasks, coalesce(sum(joint_id IS NOT NULL), 0) AS joined FROM tasks
                        WHERE window_start >= ? AND window_start < ?""", _days(year))[0]
    found["by_agency"] = {r["agency_id"]: r["n"] for r in rows(db, """SELECT agency_id, count(*) AS n FROM tasks
        INDEXED BY tasks_joint WHERE joint_id IS NOT NULL AND window_start >= ? AND window_start < ?
        GROUP BY agency_id""", _days(year))}
    return found


def frequent_targets(db, year, tz, at_least=3, limit=20):
    """Enterprises with the most inspections this year (the high-frequency warning of the anchors)."""
    return rows(db, """SELECT e.id, e.name, e.usci, c.inspections AS total, c.counted
        FROM enterprise_counts c JOIN enterprises e ON e.id = c.enterprise_id
        WHERE c.year = ? AND c.inspections >= ? ORDER BY c.inspections DESC, c.enterprise_id LIMIT ?""",
                [year, at_least, limit])


def refusals(db, year, tz, limit=50):
    """The year's refused attempts, newest first: who tried to inspect which firm over which rule."""
    start, end = (now_text(t) for t in rules.year_bounds(year, tz))
    return rows(db, """SELECT r.attempted_at, r.kind, r.rule_id, r.used, r.max, e.id AS enterprise_id,
                              e.name AS enterprise, e.usci, u.name AS inspector, a.code AS agency
                       FROM refusals r JOIN enterprises e ON e.id = r.enterprise_id JOIN users u ON u.id = r.user_id
                       LEFT JOIN agencies a ON a.id = r.agency_id
                       WHERE r.attempted_at >= ? AND r.attempted_at < ? ORDER BY r.attempted_at DESC, r.id DESC
                       LIMIT ?""", [start, end, limit])


def flagged(db, year, tz):
    """Per agency, the year's inspections entered by hand (no scan) and entered late: worth a supervisor's look."""
    return rows(db, """SELECT a.code AS agency, sum(c.manual) AS manual, sum(c.late) AS late
                       FROM inspection_counts c JOIN agencies a ON a.id = c.agency_id
                       WHERE c.agency_id IN (SELECT id FROM agencies) AND c.day >= ? AND c.day < ?
                       GROUP BY a.code HAVING sum(c.manual) + sum(c.late) > 0 ORDER BY a.code""", _days(year))


# ---- the counters --------------------------------------------------------------------------------------

def count_inspection(db, day, inspection, agency_ids, sign=1):
    """Count a new inspection (sign=1), or take back one being voided (sign=-1), inside the caller's transaction.
    `day` is its local start date; `inspection` has kind, counted, entry, late, enterprise_id and the enterprise's
    district, industry and risk_level (the segment the dashboard filters by)."""
    counted, manual, late = int(inspection["counted"]), int(inspection["entry"] == "manual"), int(inspection["late"])
    joint = int(len(agency_ids) > 1)
    values = (sign, sign * counted, int(sign < 0), sign * manual, sign * late, sign * joint)
    db.conn.executemany("""INSERT INTO inspection_counts (agency_id, day, kind, inspections, counted, voided, manual, late,
        joint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agency_id, day, kind) DO UPDATE SET
          inspections = inspections + excluded.inspections, counted = counted + excluded.counted,
          voided = voided + excluded.voided, manual = manual + excluded.manual, late = late + excluded.late,
          joint = joint + excluded.joint""",
                        [(a, day.isoformat(), inspection["kind"], *values) for a in [ALL_AGENCIES, *agency_ids]])
    db.conn.executemany(f"""INSERT INTO segment_counts ({SEGMENT}, kind, inspections, counted, voided, manual, late,
        joint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT ({SEGMENT}, kind) DO UPDATE SET
          inspections = inspections + excluded.inspections, counted = counted + excluded.counted,
          voided = voided + excluded.voided, manual = manual + excluded.manual, late = late + excluded.late,
          joint = joint + excluded.joint""",
                        [(day.isoformat()[:7], a, *segment_of(inspection), inspection["kind"], *values)
                         for a in [ALL_AGENCIES, *agency_ids]])
    if inspection["kind"] != "visit":
        db.execute("""INSERT INTO enterprise_counts (year, enterprise_id, inspections, counted) VALUES (?, ?, ?, ?)
            ON CONFLICT (year, enterprise_id) DO UPDATE SET inspections = inspections + excluded.inspections,
              counted = counted + excluded.counted""", [day.year, inspection["enterprise_id"], sign, sign * counted])


SEGMENT = "month, agency_id, district, industry, risk_level"


def segment_of(enterprise):
    """The district, industry and risk level an inspection is counted under ('' for what the firm's record lacks)."""
    return enterprise.get("district") or "", enterprise.get("industry") or "", enterprise.get("risk_level") or ""


def count_confirmation(db, inspection_id, tz):
    """Count the firm's confirmation of an inspection on its start day (inside the caller's transaction)."""
    found = db.execute("""SELECT i.started_at, i.kind, e.district, e.industry, e.risk_level FROM inspections i
        JOIN enterprises e ON e.id = i.enterprise_id WHERE i.id = ?""", [inspection_id]).fetchone()
    day = parse_time(found[0]).astimezone(tz).date().isoformat()
    agency_ids = [ALL_AGENCIES] + [r[0] for r in db.execute(
        "SELECT agency_id FROM inspection_agencies WHERE inspection_id = ?", [inspection_id])]
    db.conn.executemany("""UPDATE inspection_counts SET confirmed = confirmed + 1 WHERE agency_id = ? AND day = ?
                           AND kind = ?""", [(a, day, found[1]) for a in agency_ids])
    segment = segment_of({"district": found[2], "industry": found[3], "risk_level": found[4]})
    db.conn.executemany(f"""UPDATE segment_counts SET confirmed = confirmed + 1 WHERE ({SEGMENT}, kind) =
                            (?, ?, ?, ?, ?, ?)""", [(day[:7], a, *segment, found[1]) for a in agency_ids])


def counted_in(db):
    """The time zone the counters were kept in, or None if they were never filled (a database from before them)."""
    return value(db, "SELECT tz FROM counts_state WHERE id = 1")


def recount(db, tz):
    """Rebuild the counters from the inspections in the time zone `tz` (an IANA name's ZoneInfo); returns the
    number of inspections counted. Local days are found through a table of quarter hours, since SQLite knows no
    time zones and every zone's offset is a multiple of 15 minutes."""
    with immediate(db):
        first, last = (value(db, f"SELECT {f}(started_at) FROM inspections") for f in ("min", "max"))
        db.execute("DELETE FROM inspection_counts")
        db.execute("DELETE FROM enterprise_counts")
        db.execute("DELETE FROM segment_counts")
        db.execute("CREATE TEMP TABLE IF NOT EXISTS quarter_days (quarter TEXT PRIMARY KEY, day TEXT NOT NULL)")
        db.execute("DELETE FROM temp.quarter_days")
        if first:
            at = datetime.fromisoformat(first[:13] + ":00:00+00:00")
            end = datetime.fromisoformat(last[:13] + ":00:00+00:00") + timedelta(hours=1)
            quarters = []
            while at < end:
                quarters.append((at.strftime("%Y-%m-%dT%H:") + str(at.minute // 15), at.astimezone(tz).date().isoformat()))
                at += timedelta(minutes=15)
            db.conn.executemany("INSERT INTO temp.quarter_days VALUES (?, ?)", quarters)
            quarter = "substr(i.started_at, 1, 14) || (CAST(substr(i.started_at, 15, 2) AS INTEGER) / 15)"
            live = "i.status != 'voided'"
            joint = "(SELECT count(*) FROM inspection_agencies x WHERE x.inspection_id = i.id) > 1"
            sums = f"""sum({live}), sum({live} AND i.counted), sum(NOT {live}), sum({live} AND i.entry = 'manual'),
                       sum({live} AND i.late), sum({live} AND {joint}), sum({live} AND i.confirmed_at IS NOT NULL)"""
            columns = "inspections, counted, voided, manual, late, joint, confirmed"
            segment = "coalesce(e.district, ''), coalesce(e.industry, ''), coalesce(e.risk_level, '')"
            every = f"FROM inspections i JOIN temp.quarter_days q ON q.quarter = {quarter}"
            by_agency = f"{every} JOIN inspection_agencies ia ON ia.inspection_id = i.id"
            db.execute(f"""INSERT INTO inspection_counts (agency_id, day, kind, {columns})
                SELECT {ALL_AGENCIES}, q.day, i.kind, {sums} {every} GROUP BY q.day, i.kind""")
            db.execute(f"""INSERT INTO inspection_counts (agency_id, day, kind, {columns})
                SELECT ia.agency_id, q.day, i.kind, {sums} {by_agency} GROUP BY ia.agency_id, q.day, i.kind""")
            db.execute(f"""INSERT INTO segment_counts ({SEGMENT}, kind, {columns})
                SELECT substr(q.day, 1, 7), {ALL_AGENCIES}, {segment}, i.kind, {sums}
                {every} JOIN enterprises e ON e.id = i.enterprise_id GROUP BY 1, 3, 4, 5, i.kind""")
            db.execute(f"""INSERT INTO segment_counts ({SEGMENT}, kind, {columns})
                SELECT substr(q.day, 1, 7), ia.agency_id, {segment}, i.kind, {sums}
                {by_agency} JOIN enterprises e ON e.id = i.enterprise_id GROUP BY 1, 2, 3, 4, 5, i.kind""")
            db.execute(f"""INSERT INTO enterprise_counts (year, enterprise_id, inspections, counted)
                SELECT CAST(substr(q.day, 1, 4) AS INTEGER), i.enterprise_id, count(*), sum(i.counted)
                {every} WHERE {live} AND i.kind != 'visit' GROUP BY 1, 2""")
        db.execute("UPDATE counts_state SET tz = ? WHERE id = 1", [str(tz)])
        return value(db, "SELECT count(*) FROM inspections")
