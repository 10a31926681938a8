"""The supervisor's warnings (预警, SPEC §11), each with its reason and the records behind it.

Two sources, so that listing them never reads a year of inspections. Warnings about single events are found as
they happen, in the transaction of the scan or close that causes them, and kept in `warnings` with their
inspections: `frequent` (Chengdu's thresholds), `far_from_site` and `repeated_no_issue`. Warnings about states
and shares are read when asked from the counters and from small partial indexes: `high_exempt_share`,
`late_entries`, `unconfirmed`, `open_too_long`, `complaints_waiting`, `approval_overdue` and
`followup_overdue`. Every warning has a key, by which a supervisor dismisses it with a reason.
"""

from datetime import datetime, timedelta

from . import rules, thresholds
from .db import immediate, now_text, parse_time, row, rows, value
from .errors import Invalid, NotFound, Problem

STORED = ("frequent", "far_from_site", "repeated_no_issue")
KINDS = STORED + ("high_exempt_share", "late_entries", "unconfirmed", "open_too_long", "complaints_waiting",
                  "approval_overdue", "followup_overdue")
SHOWN_IDS = 50  # inspections listed per warning; its count says how many there are
PAGE = 20       # stored warnings of a kind listed at once, newest first


# ---- found as they happen (inside the writer's transaction) -----------------------------------------------

def note_start(db, inspection_id, enterprise, started, agency_ids, location, limits, tz):
    """After recording an inspection: an enterprise inspected too often, or a scan far from the site."""
    starts = _live_starts(db, enterprise["id"], started, started)
    if inspection_id in starts:  # a service visit is never an inspection
        for period, count, since in thresholds.frequency_breaches(list(starts.values()), started, tz, limits):
            days = {"day": 1, "week": 7, "month": 30}[period]
            ids = [i for i, at in starts.items() if since <= at < since + timedelta(days=days)]
            _record(db, "frequent", period, None, enterprise["id"], count, since, max(starts[i] for i in ids), ids, tz)
    metres = thresholds.far_from_site(location, (enterprise.get("lat"), enterprise.get("lon")), limits)
    if metres is not None:
        for agency_id in agency_ids[:1]:  # the scanning inspector's agency comes first
            _record(db, "far_from_site", None, agency_id, enterprise["id"], metres, started, started, [inspection_id],
                    tz, merge=False)


def note_void(db, inspection_id, tz, limits):
    """After voiding an inspection: the `frequent` warnings it was part of stop counting it (voided inspections are
    not counted, SPEC §11); one that no longer goes over its threshold without it is gone."""
    for warning in rows(db, """SELECT w.id, w.period, w.enterprise_id, w.since, w.until FROM warnings w
            JOIN warning_inspections wi ON wi.warning_id = w.id WHERE wi.inspection_id = ? AND w.kind = 'frequent'""",
                        [inspection_id]):
        db.execute("DELETE FROM warning_inspections WHERE warning_id = ? AND inspection_id = ?",
                   [warning["id"], inspection_id])
        live = _live_starts(db, warning["enterprise_id"], parse_time(warning["since"]), parse_time(warning["until"]))
        linked = [i for (i,) in db.execute("SELECT inspection_id FROM warning_inspections WHERE warning_id = ?",
                                            [warning["id"]]) if i in live]
        breaches = [(count, since) for i in linked
                    for period, count, since in thresholds.frequency_breaches(list(live.values()), live[i], tz, limits)
                    if period == warning["period"]]
        if breaches:
            db.execute("UPDATE warnings SET count = ?, since = ?, until = ? WHERE id = ?", [
                max(count for count, _ in breaches), now_text(min(since for _, since in breaches)),
                now_text(max(live[i] for i in linked)), warning["id"]])
        else:
            db.execute("DELETE FROM warning_inspections WHERE warning_id = ?", [warning["id"]])
            db.execute("DELETE FROM warnings WHERE id = ?", [warning["id"]])


def _live_starts(db, enterprise_id, first, last):
    """{id: start} of the enterprise's inspections that count for frequency (not voided, not visits) within 30 days
    before `first` or after `last`: every one that can share a window of the thresholds with those in between."""
    span = timedelta(days=30)
    return {r["id"]: parse_time(r["started_at"]) for r in rows(db, """SELECT id, started_at FROM inspections
        WHERE enterprise_id = ? AND started_at > ? AND started_at < ? AND status != 'voided' AND kind != 'visit'""",
        [enterprise_id, now_text(first - span), now_text(last + span)])}


def note_close(db, inspection_id, enterprise_id, result, tz):
    """After closing with no_issue: an agency that has now found nothing here CLEAN_STREAK times in a row."""
    if result != "no_issue":
        return
    for (agency_id,) in db.execute("SELECT agency_id FROM inspection_agencies WHERE inspection_id = ?", [inspection_id]):
        last = rows(db, """SELECT i.id, i.started_at, i.result FROM inspections i
            JOIN inspection_agencies ia ON ia.inspection_id = i.id WHERE i.enterprise_id = ? AND ia.agency_id = ?
            AND i.status = 'closed' AND i.kind != 'visit' ORDER BY i.started_at DESC LIMIT ?""",
                    [enterprise_id, agency_id, rules.CLEAN_STREAK])
        if rules.clean_streak([r["result"] for r in last]):
            times = [parse_time(r["started_at"]) for r in last]
            _record(db, "repeated_no_issue", None, agency_id, enterprise_id, len(last), min(times), max(times),
                    [r["id"] for r in last], tz)


def _record(db, kind, period, agency_id, enterprise_id, count, since, until, ids, tz, merge=True):
    """Keep one warning per kind, period, agency and enterprise while its spells overlap: a new breach within one
    already recorded widens it instead of adding another."""
    existing = row(db, """SELECT id, count, since, until FROM warnings WHERE enterprise_id = ? AND kind = ?
        AND until >= ? AND period IS ? AND agency_id IS ? ORDER BY id DESC LIMIT 1""",
                   [enterprise_id, kind, now_text(since), period, agency_id]) if merge else None
    if existing:
        warning_id = existing["id"]
        db.execute("UPDATE warnings SET count = max(count, ?), since = min(since, ?), until = max(until, ?) WHERE id = ?",
                   [count, now_text(since), now_text(until), warning_id])
    else:
        warning_id = db.execute("""INSERT INTO warnings (kind, period, agency_id, enterprise_id, count, since, until,
            year, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""", [
            kind, period, agency_id, enterprise_id, count, now_text(since), now_text(until),
            until.astimezone(tz).year, now_text(datetime.now(until.tzinfo))]).lastrowid
    db.conn.executemany("INSERT OR IGNORE INTO warning_inspections (warning_id, inspection_id) VALUES (?, ?)",
                        [(warning_id, i) for i in ids])


# ---- the list -----------------------------------------------------------------------------------------------

def warnings_of(db, year, now, tz, limits, dismissed=False, kind=None, limit=PAGE, before=None):
    """The year's warnings: [{key, kind, period, agency, enterprise, count, since, until, inspections, dismissal}].

    Those found as they happened come newest first, at most `limit` of each kind (all with limit=None, for an
    export), after the cursor `before` = (until, id) of the last one shown; with `kind`, that kind only. Those read
    from the counters are few (one per agency at most); those about the present (open, waiting, overdue) are only
    for the current year. Dismissed warnings are left out unless `dismissed`."""
    found = []
    for stored_kind in [k for k in STORED if kind in (None, k)]:
        found += _stored(db, year, stored_kind, dismissed, limit, before)
    if kind not in STORED:
        computed = _from_counters(db, year, now, tz, limits)
        if year == now.astimezone(tz).year:
            computed += _present(db, now, tz, limits)
        found += [w for w in computed if kind in (None, w["kind"])]
    gone = _dismissals(db, [w["key"] for w in found])
    for warning in found:
        warning["dismissal"] = gone.get(warning["key"])
    return [w for w in found if dismissed or w["dismissal"] is None]


def counts_of(db, year, dismissed=False):
    """How many warnings of each stored kind the year has ({kind: n}), dismissed ones left out unless `dismissed`."""
    return {r["kind"]: r["n"] for r in rows(db, f"""SELECT w.kind, count(*) AS n FROM warnings w WHERE w.year = ?
        {'' if dismissed else UNDISMISSED} GROUP BY w.kind""", [year])}


def warning_by_key(db, key, year, now, tz, limits):
    """One warning of the year by its key (for a follow-up about it), or None."""
    if key.startswith("w") and key[1:].isdigit() and len(key) < 19:
        found = _stored(db, year, None, True, 1, None, warning_id=int(key[1:]))
    elif key.split(":", 1)[0] in KINDS:
        found = [w for w in warnings_of(db, year, now, tz, limits, dismissed=True, kind=key.split(":", 1)[0])
                 if w["key"] == key]
    else:
        found = []
    for warning in found:
        warning["dismissal"] = _dismissals(db, [warning["key"]]).get(warning["key"])
    return found[0] if found else None


UNDISMISSED = "AND NOT EXISTS (SELECT 1 FROM warning_dismissals d WHERE d.key = 'w' || w.id)"
CHUNK = 500  # values bound in one IN (...)


def _dismissals(db, keys):
    """{key: {reason, dismissed_at, by_name}} of those of `keys` that were dismissed."""
    gone = {}
    for at in range(0, len(keys), CHUNK):
        part = keys[at:at + CHUNK]
        gone.update({r["key"]: r for r in rows(db, f"""SELECT d.key, d.reason, d.dismissed_at, u.name AS by_name
            FROM warning_dismissals d JOIN users u ON u.id = d.user_id WHERE d.key IN ({','.join('?' * len(part))})""",
                                                    part)})
    return gone


def _stored(db, year, kind, dismissed, limit, before, warning_id=None):
    """A page of one kind's stored warnings, newest first (or the one with warning_id), with their inspections."""
    where, values = ["w.year = ?"], [year]
    if warning_id is not None:
        where.append("w.id = ?")
        values.append(warning_id)
    else:
        where.append("w.kind = ?")
        values.append(kind)
    if before:
        where.append("(w.until, w.id) < (?, ?)")
        values += list(before)
    found = rows(db, f"""SELECT w.id, w.kind, w.period, w.count, w.since, w.until, a.code AS agency,
        a.name AS agency_name, e.id AS enterprise_id, e.usci, e.name AS enterprise_name
        FROM warnings w LEFT JOIN agencies a ON a.id = w.agency_id LEFT JOIN enterprises e ON e.id = w.enterprise_id
        WHERE {' AND '.join(where)} {'' if dismissed else UNDISMISSED} ORDER BY w.until DESC, w.id DESC LIMIT ?""",
                 values + [-1 if limit is None else limit])
    ids = {}
    for at in range(0, len(found), CHUNK):
        part = [w["id"] for w in found[at:at + CHUNK]]
        for r in rows(db, f"""SELECT warning_id, inspection_id FROM warning_inspections
                             WHERE warning_id IN ({','.join('?' * len(part))}) ORDER BY warning_id, inspection_id""", part):
            ids.setdefault(r["warning_id"], []).append(r["inspection_id"])
    return [_warning(f"w{w['id']}", w["kind"], w["count"], w["since"], ids.get(w["id"], [])[-SHOWN_IDS:], w["until"],
                     period=w["period"], agency=w["agency"], agency_name=w["agency_name"],
                     enterprise=w["enterprise_id"] and {"id": w["enterprise_id"], "usci": w["usci"],
                                                        "name": w["enterprise_name"]}) | {"id": w["id"]}
            for w in found]


def _warning(key, kind, count, since, inspections, until=None, period=None, agency=None, agency_name=None,
             enterprise=None):
    return {"key": key, "kind": kind, "period": period, "agency": agency, "agency_name": agency_name,
            "enterprise": enterprise, "count": count, "since": since, "until": until or since,
            "inspections": inspections}


def _from_counters(db, year, now, tz, limits):
    """Per agency from the year's counters: an exempt share that stands out, late and manual entries, visits the
    firms have not confirmed within confirm_days."""
    first, after = f"{year:04d}-01-01", f"{year + 1:04d}-01-01"
    cutoff = min(after, (now.astimezone(tz).date() - timedelta(days=limits.confirm_days)).isoformat())
    agencies = rows(db, """SELECT a.id, a.code, a.name, coalesce(sum(c.inspections), 0) AS total,
        coalesce(sum(c.inspections - c.counted), 0) AS exempt, coalesce(sum(c.late + c.manual), 0) AS flagged,
        coalesce(sum(CASE WHEN c.day < ? THEN c.inspections - c.confirmed END), 0) AS unconfirmed,
        min(CASE WHEN c.late + c.manual > 0 THEN c.day END) AS first_flagged,
        min(CASE WHEN c.day < ? AND c.inspections > c.confirmed THEN c.day END) AS first_unconfirmed
        FROM agencies a JOIN inspection_counts c ON c.agency_id = a.id
        WHERE c.day >= ? AND c.day < ? AND c.kind != 'visit' GROUP BY a.id ORDER BY a.code""",
                    [cutoff, cutoff, first, after])
    found = []
    outliers = {a for a, _, _ in thresholds.exempt_outliers([(a["code"], a["total"], a["exempt"]) for a in agencies],
                                                             limits)}
    for a in agencies:
        named = {"agency": a["code"], "agency_name": a["name"]}
        if a["code"] in outliers:
            found.append(_warning(f"high_exempt_share:{a['code']}:{year}", "high_exempt_share", a["exempt"], first, [],
                                  **named) | {"total": a["total"]})
        if a["flagged"]:
            found.append(_warning(f"late_entries:{a['code']}:{year}", "late_entries", a["flagged"], a["first_flagged"],
                                  _flagged_ids(db, a["id"], first, after), **named))
        if a["unconfirmed"] > 0:
            found.append(_warning(f"unconfirmed:{a['code']}:{year}", "unconfirmed", a["unconfirmed"],
                                  a["first_unconfirmed"], [], **named))
    return found


def _flagged_ids(db, agency_id, first, after):
    """The newest late or manual entries of an agency in [first, after) (local dates, widened by a day for UTC)."""
    since = (datetime.fromisoformat(first) - timedelta(days=1)).isoformat()
    return [r["id"] for r in rows(db, """SELECT i.id FROM inspections i INDEXED BY inspections_flagged
        WHERE (i.late = 1 OR i.entry = 'manual') AND i.started_at >= ? AND i.started_at < ? AND i.status != 'voided'
        AND EXISTS (SELECT 1 FROM inspection_agencies ia WHERE ia.inspection_id = i.id AND ia.agency_id = ?)
        ORDER BY i.started_at DESC LIMIT ?""", [since, after, agency_id, SHOWN_IDS])]


def _present(db, now, tz, limits):
    """What is waiting now: inspections open too long, complaints unanswered, approvals and follow-ups overdue."""
    year = now.astimezone(tz).year
    found, by_agency = [], {}
    for r in rows(db, """SELECT i.id, i.started_at, a.code, a.name FROM inspections i INDEXED BY inspections_open
        JOIN inspection_agencies ia ON ia.inspection_id = i.id JOIN agencies a ON a.id = ia.agency_id
        WHERE i.status = 'open' AND i.started_at < ? ORDER BY i.started_at""",
                  [now_text(now - timedelta(days=limits.open_days))]):
        by_agency.setdefault((r["code"], r["name"]), []).append(r)
    for (code, name), found_open in by_agency.items():
        found.append(_warning(f"open_too_long:{code}:{year}", "open_too_long", len(found_open),
                              found_open[0]["started_at"], [r["id"] for r in found_open][:SHOWN_IDS], agency=code,
                              agency_name=name))
    waiting = rows(db, """SELECT id, inspection_id, created_at FROM complaints WHERE status = 'open' AND created_at < ?
        ORDER BY created_at""", [now_text(now - timedelta(days=limits.complaint_days))])
    if waiting:
        found.append(_warning(f"complaints_waiting:-:{year}", "complaints_waiting", len(waiting),
                              waiting[0]["created_at"], [w["inspection_id"] for w in waiting if w["inspection_id"]][
                                  :SHOWN_IDS]) | {"complaints": [w["id"] for w in waiting][:SHOWN_IDS]})
    for a in rows(db, "SELECT id, code, name FROM agencies ORDER BY code"):
        named = {"agency": a["code"], "agency_name": a["name"]}
        late = rows(db, """SELECT id, drafted_at FROM tasks WHERE agency_id = ? AND status = 'submitted'
            AND drafted_at < ? ORDER BY id""", [a["id"], now_text(now - timedelta(days=limits.approval_days))])
        if late:
            found.append(_warning(f"approval_overdue:{a['code']}:{year}", "approval_overdue", len(late),
                                  late[0]["drafted_at"], [], **named) | {"tasks": [t["id"] for t in late][:SHOWN_IDS]})
    for r in rows(db, """SELECT a.code, a.name, count(*) AS n, min(f.due_on) AS since, group_concat(f.id) AS ids
        FROM followups f JOIN agencies a ON a.id = f.agency_id WHERE f.status IN ('open', 'returned')
        AND f.due_on < ? GROUP BY a.id ORDER BY a.code""", [now.astimezone(tz).date().isoformat()]):
        found.append(_warning(f"followup_overdue:{r['code']}:{year}", "followup_overdue", r["n"], r["since"], [],
                              agency=r["code"], agency_name=r["name"])
                     | {"followups": [int(i) for i in r["ids"].split(",")][:SHOWN_IDS]})
    return found


# ---- dismissing ----------------------------------------------------------------------------------------------

def dismiss(db, key, year, user, reason, now):
    """Dismiss a warning of the year with the supervisor's reason (it stays listed among the dismissed)."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid({"reason": Problem("no_dismiss_reason", "say why the warning is dismissed")})
    if not isinstance(key, str) or len(key) > 100 or not (key.startswith("w") and key[1:].isdigit() and len(key) < 19
                                                          or key.split(":", 1)[0] in KINDS):
        raise NotFound()
    if key.startswith("w") and value(db, "SELECT 1 FROM warnings WHERE id = ? AND year = ?", [int(key[1:]), year]) is None:
        raise NotFound()
    with immediate(db):
        db.execute("""INSERT INTO warning_dismissals (key, year, reason, user_id, dismissed_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (key) DO UPDATE SET reason = excluded.reason, user_id = excluded.user_id,
            dismissed_at = excluded.dismissed_at""", [key, year, reason[:1000], user["id"], now_text(now)])
