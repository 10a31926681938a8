"""The supervisor's numbers: inspections by kind and agency, refusals, and the year before for comparison."""

from . import rules
from .db import now_text, rows, value


def year_stats(db, year, tz):
    """SPEC §5 stats for a calendar year: totals, refusals, by agency, and the previous year's totals."""
    start, end = (now_text(t) for t in rules.year_bounds(year, tz))
    totals = _totals(db, start, end)
    refused = value(db, "SELECT count(*) FROM refusals WHERE attempted_at >= ? AND attempted_at < ?", [start, end])
    # the year's inspections first, then their agencies: joining from agencies read every year's rows (5 s at 10M)
    by_agency = rows(db, """SELECT a.code AS agency, coalesce(y.total, 0) AS total, coalesce(y.counted, 0) AS counted,
          coalesce(y.exempt, 0) AS exempt
        FROM agencies a LEFT JOIN (
          SELECT ia.agency_id, count(*) AS total, sum(i.counted) AS counted, sum(1 - i.counted) AS exempt
          FROM inspections i JOIN inspection_agencies ia ON ia.inspection_id = i.id
          WHERE i.status != 'voided' AND i.kind != 'visit' AND i.started_at >= ? AND i.started_at < ?
          GROUP BY ia.agency_id) y ON y.agency_id = a.id
        ORDER BY a.code""", [start, end])
    refusals = {r["agency"]: r["n"] for r in rows(db, """SELECT a.code AS agency, count(*) AS n FROM refusals r
        JOIN agencies a ON a.id = r.agency_id WHERE r.attempted_at >= ? AND r.attempted_at < ? GROUP BY a.code""",
                                                     [start, end])}
    for agency in by_agency:
        agency["refused"] = refusals.get(agency["agency"], 0)
    previous = _totals(db, *(now_text(t) for t in rules.year_bounds(year - 1, tz)))
    return {"year": year, "inspections": totals, "refused": refused, "by_agency": by_agency,
            "previous_year": {"total": previous["total"], "counted": previous["counted"]}}


def _totals(db, start, end):
    """Inspections of a period by outcome; service visits are never inspections and are counted apart."""
    found = rows(db, """SELECT
          coalesce(sum(CASE WHEN kind != 'visit' AND status != 'voided' THEN 1 ELSE 0 END), 0) AS total,
          coalesce(sum(CASE WHEN kind != 'visit' AND status != 'voided' AND counted = 1 THEN 1 ELSE 0 END), 0) AS counted,
          coalesce(sum(CASE WHEN kind != 'visit' AND status != 'voided' AND counted = 0 THEN 1 ELSE 0 END), 0) AS exempt,
          coalesce(sum(CASE WHEN kind != 'visit' AND status = 'voided' THEN 1 ELSE 0 END), 0) AS voided,
          coalesce(sum(CASE WHEN kind = 'visit' AND status != 'voided' THEN 1 ELSE 0 END), 0) AS visits
        FROM inspections WHERE started_at >= ? AND started_at < ?""", [start, end])
    return found[0]


def frequent_targets(db, year, tz, at_least=3, limit=20):
    """Enterprises with the most inspections this year (the high-frequency warning of the anchors)."""
    start, end = (now_text(t) for t in rules.year_bounds(year, tz))
    return rows(db, """SELECT e.id, e.name, e.usci, count(*) AS total, sum(i.counted) AS counted
        FROM inspections i JOIN enterprises e ON e.id = i.enterprise_id
        WHERE i.status != 'voided' AND i.kind != 'visit' AND i.started_at >= ? AND i.started_at < ?
        GROUP BY e.id HAVING count(*) >= ? ORDER BY total DESC LIMIT ?""", [start, end, at_least, limit])


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
    start, end = (now_text(t) for t in rules.year_bounds(year, tz))
    return rows(db, """SELECT a.code AS agency, sum(i.entry = 'manual') AS manual, sum(i.late) AS late
                       FROM inspections i JOIN inspection_agencies ia ON ia.inspection_id = i.id
                       JOIN agencies a ON a.id = ia.agency_id
                       WHERE i.status != 'voided' AND i.started_at >= ? AND i.started_at < ?
                       GROUP BY a.code HAVING sum(i.entry = 'manual') + sum(i.late) > 0 ORDER BY a.code""",
                [start, end])
