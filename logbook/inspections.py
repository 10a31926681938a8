"""Inspections: the one atomic step that decides and records, closing, voiding, reads and the quota meter.

Decisions come from logbook.rules; this module gathers the facts, holds the write lock and writes.
"""

import hashlib
import json
import secrets
from dataclasses import asdict, astuple, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from . import alerts, enterprises, inbox, journal, limits, rules, stats, tasks, thresholds, usci
from .audit import append_journal
from .db import immediate, now_text, parse_time, row, rows, value
from .errors import CertificateInvalid, IdempotencyConflict, Invalid, NotFound, NotOpen, NotVoidable, Problem, UnknownCode


@dataclass
class StartRequest:
    """What an inspector asks for when starting an inspection (SPEC §5, POST /api/v1/inspections)."""

    kind: str
    qr_token: str | None = None
    usci: str | None = None
    agencies: list = field(default_factory=list)
    inspectors: list = field(default_factory=list)
    items: list = field(default_factory=list)
    reference: str | None = None
    reason: str | None = None
    recheck_of: int | None = None
    started_at: datetime | None = None
    location: dict | None = None
    idempotency_key: str | None = None
    task_id: int | None = None  # start from this approved task: kind, items and inspectors default to its own


# ---- reads -------------------------------------------------------------------------------------

def _grouped(db, sql, ids):
    marks = ",".join("?" * len(ids))
    grouped = {}
    for found in rows(db, sql.format(marks=marks), ids):
        grouped.setdefault(found.pop("inspection_id"), []).append(found)
    return grouped


def inspections_by_ids(db, ids):
    """Full inspections (agencies, inspectors, items, enterprise) for the ids, in the order given."""
    ids = list(ids)
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    found = {r["id"]: r for r in rows(db, f"""
        SELECT i.*, e.usci, e.name AS enterprise_name FROM inspections i
        JOIN enterprises e ON e.id = i.enterprise_id WHERE i.id IN ({marks})""", ids)}
    agencies = _grouped(db, """SELECT ia.inspection_id, a.code, a.name FROM inspection_agencies ia
        JOIN agencies a ON a.id = ia.agency_id WHERE ia.inspection_id IN ({marks}) ORDER BY a.code""", ids)
    inspectors = _grouped(db, """SELECT ii.inspection_id, u.id AS user_id, u.username, u.name, ii.cert_no,
        a.code AS agency FROM inspection_inspectors ii JOIN users u ON u.id = ii.user_id
        LEFT JOIN agencies a ON a.id = u.agency_id WHERE ii.inspection_id IN ({marks}) ORDER BY u.username""", ids)
    items = _grouped(db, """SELECT ii.inspection_id, it.code, it.name, it.basis, a.code AS agency
        FROM inspection_items ii JOIN items it ON it.id = ii.item_id JOIN agencies a ON a.id = it.agency_id
        WHERE ii.inspection_id IN ({marks}) ORDER BY it.code""", ids)
    checklists = _grouped(db, """SELECT ic.inspection_id, c.id, it.code AS item, c.text, c.standard, it.basis,
        ic.outcome, ic.note FROM inspection_checkpoints ic JOIN checkpoints c ON c.id = ic.checkpoint_id
        JOIN items it ON it.id = c.item_id WHERE ic.inspection_id IN ({marks}) ORDER BY it.code, c.position""", ids)
    photos = _grouped(db, """SELECT inspection_id, id, sha256, checkpoint_id AS checkpoint, purpose, media_type
        FROM photos WHERE inspection_id IN ({marks}) ORDER BY inspection_id, id""", ids)
    answers = {name: {r.pop("inspection_id"): r for r in rows(db, f"""SELECT inspection_id, text, created_at FROM {name}
        WHERE inspection_id IN ({marks})""", ids)} for name in ("statements", "rectifications")}
    result = []
    for inspection_id in ids:
        r = found.get(inspection_id)
        if r is None:
            continue
        r["enterprise"] = {"id": r["enterprise_id"], "usci": r.pop("usci"), "name": r.pop("enterprise_name")}
        r["agency_details"] = agencies.get(inspection_id, [])
        r["agencies"] = [a["code"] for a in r["agency_details"]]
        r["inspectors"] = inspectors.get(inspection_id, [])
        r["item_details"] = items.get(inspection_id, [])
        r["items"] = [i["code"] for i in r["item_details"]]
        r["checkpoints"] = checklists.get(inspection_id, [])
        r["photos"] = photos.get(inspection_id, [])
        r["statement"] = answers["statements"].get(inspection_id)
        r["rectification"] = answers["rectifications"].get(inspection_id)
        r["counted"] = bool(r["counted"])
        r["late"] = bool(r["late"])
        result.append(r)
    return result


def inspection(db, inspection_id):
    """One full inspection, or None (also for an id no SQLite integer can hold, e.g. from a URL)."""
    if not 0 < inspection_id < 2**63:
        return None
    found = inspections_by_ids(db, [inspection_id])
    return found[0] if found else None


def participates(found, user):
    """True when the user is one of the inspection's inspectors."""
    return any(i["user_id"] == user["id"] for i in found["inspectors"])


def allowed(found, user, may="see"):
    """Who may do what with an inspection (SPEC §2), decided here only.

    "see": its participating inspectors, the enterprise's firm users and supervisors; "act" (close, void):
    its participating inspectors; "answer" (confirm, rate, complain): the enterprise's firm users.
    """
    if found is None or user is None:
        return False
    inspector = user["role"] == "inspector" and participates(found, user)
    firm = user["role"] == "firm" and user["enterprise_id"] == found["enterprise_id"]
    return {"see": inspector or firm or user["role"] == "supervisor", "act": inspector, "answer": firm}[may]


def inspection_for(db, inspection_id, user, may="see"):
    """The inspection if the user may `may` it (see allowed); otherwise NotFound, so existence does not leak."""
    found = inspection(db, inspection_id)
    if not allowed(found, user, may):
        raise NotFound()
    return found


def year_of_records(db, enterprise, year, now, tz, counted_kinds=rules.COUNTED_KINDS, limit=-1, offset=0):
    """An enterprise's calendar year: its quota meter (as of now, or the year's last second), how many inspections
    were recorded, and those inspections, newest first (all of them, or a page of `limit` after `offset`)."""
    start, end = rules.year_bounds(year, tz)
    span = [enterprise["id"], now_text(start), now_text(end)]
    return {"enterprise": enterprise, "year": year,
            "quota": quota(db, enterprise, min(now, end - timedelta(seconds=1)), tz, counted_kinds),
            "recorded": value(db, "SELECT count(*) FROM inspections WHERE enterprise_id = ? AND started_at >= ? "
                                  "AND started_at < ?", span),
            "inspections": inspections_between(db, enterprise["id"], start, end, limit, offset)}


def inspections_between(db, enterprise_id, start, end, limit=-1, offset=0):
    """The inspections of an enterprise started in [start, end), newest first, voided included (all, or a page)."""
    ids = [r["id"] for r in rows(db, """SELECT id FROM inspections WHERE enterprise_id = ?
        AND started_at >= ? AND started_at < ? ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?""",
        [enterprise_id, now_text(start), now_text(end), limit, offset])]
    return inspections_by_ids(db, ids)


def inspections_of_inspector(db, user_id, status, limit=20):
    """The inspections of one status a user took part in, newest first."""
    ids = [r["inspection_id"] for r in rows(db, """SELECT ii.inspection_id FROM inspection_inspectors ii
        JOIN inspections i ON i.id = ii.inspection_id WHERE ii.user_id = ? AND i.status = ?
        ORDER BY i.started_at DESC LIMIT ?""", [user_id, status, limit])]
    return inspections_by_ids(db, ids)


# ---- the cap ------------------------------------------------------------------------------------

def usage(db, enterprise_id, rule, at, tz):
    """How many counted, unvoided inspections of the enterprise the rule sees around `at`: those of the calendar
    year, or for a rolling window the busiest window containing `at`."""
    where = """FROM inspections i WHERE i.enterprise_id = ? AND i.counted = 1 AND i.status != 'voided'
               AND i.started_at >= ? AND i.started_at < ?"""
    agency = []
    if rule.agency is not None:  # a joint inspection counts once for each participating agency
        where += """ AND EXISTS (SELECT 1 FROM inspection_agencies ia JOIN agencies a ON a.id = ia.agency_id
                     WHERE ia.inspection_id = i.id AND a.code = ?)"""
        agency = [rule.agency]
    kind, days = rules.parse_window(rule.window)
    if kind == "year":
        start, end = rules.window_bounds(rule.window, at, tz)
        return value(db, f"SELECT count(*) {where}", [enterprise_id, now_text(start), now_text(end)] + agency)
    at = at.astimezone(UTC).replace(microsecond=0)  # stored start times have whole seconds
    span = timedelta(days=days)
    times = [parse_time(r["started_at"]) for r in rows(db, f"SELECT i.started_at {where}",
                                                          [enterprise_id, now_text(at - span), now_text(at + span)] + agency)]
    return rules.busiest_window(times, at, days)


def quota(db, enterprise, at, tz, counted_kinds=rules.COUNTED_KINDS):
    """The firm's meter for the calendar year containing `at`: counted of max, exempt, total inspections (visits
    apart), and every applicable rule with its use."""
    start, end = rules.year_bounds(at.astimezone(tz).year, tz)
    counts = rows(db, """SELECT kind, counted, count(*) AS n FROM inspections WHERE enterprise_id = ?
        AND status != 'voided' AND started_at >= ? AND started_at < ? GROUP BY kind, counted""",
        [enterprise["id"], now_text(start), now_text(end)])
    applicable = rules.applicable_rules(limits.active_rules(db), enterprise)
    default = next((r for r in applicable if r.agency is None and r.window == "year"), None)
    return {
        "window_start": start.astimezone(tz).isoformat(),
        "window_end": end.astimezone(tz).isoformat(),
        "counted": sum(c["n"] for c in counts if c["counted"]),
        "max": default.max if default else None,
        "exempt": sum(c["n"] for c in counts if not c["counted"] and c["kind"] != rules.VISIT),
        "total": sum(c["n"] for c in counts if c["kind"] != rules.VISIT),  # a service visit is never an inspection
        "visits": sum(c["n"] for c in counts if c["kind"] == rules.VISIT),
        "rules": [{"rule_id": r.id, "scope": r.scope, "window": r.window, "used": usage(db, enterprise["id"], r, at, tz),
                   "max": r.max} for r in applicable],
    }


# ---- writes -------------------------------------------------------------------------------------

def _resolve_enterprise(db, qr_token, usci_code):
    if qr_token:
        return enterprises.enterprise_for_code(db, qr_token), "scan"
    if usci_code:
        try:
            code = usci.validate(usci_code)
        except usci.InvalidUSCI as e:
            raise Invalid({"usci": e.problem}) from None
        found = enterprises.by_usci(db, code)
        if not found:
            raise UnknownCode(Problem("unknown_usci", "no enterprise has this USCI"))
        return found, "manual"
    raise Invalid({"qr_token": Problem("no_code", "give the scanned qr_token, or a usci for manual entry")})


def _recheck_target(db, inspection_id):
    """The inspection a recheck names, with whether an unvoided recheck of it already exists."""
    return row(db, """SELECT enterprise_id, status, result, EXISTS (SELECT 1 FROM inspections r WHERE r.recheck_of = i.id
                      AND r.status != 'voided') AS rechecked FROM inspections i WHERE i.id = ?""", [inspection_id])


def _facts(db, caller, request, enterprise, day, late, counted_kinds):
    agencies = list(dict.fromkeys(request.agencies or [caller["agency"]]))
    usernames = list(dict.fromkeys(u for u in request.inspectors if u != caller["username"]))
    marks = ",".join("?" * len(usernames))
    others = rows(db, f"""SELECT u.id, u.username, u.name, u.cert_no, u.cert_expires_on, a.code AS agency FROM users u
        LEFT JOIN agencies a ON a.id = u.agency_id WHERE u.username IN ({marks}) AND u.role = 'inspector'
        AND u.active = 1""", usernames) if usernames else []
    found = {o["username"] for o in others}
    item_codes = list(dict.fromkeys(request.items))
    marks = ",".join("?" * len(item_codes))
    item_rows = rows(db, f"""SELECT it.id, it.code, it.name, it.basis, a.code AS agency FROM items it
        JOIN agencies a ON a.id = it.agency_id
        WHERE it.code IN ({marks}) AND it.active = 1 AND a.active = 1""", item_codes) if item_codes else []
    recheck = _recheck_target(db, request.recheck_of) if request.recheck_of is not None else None
    known = {a["code"]: a for a in rows(db, "SELECT id, code, name FROM agencies WHERE active = 1")}
    since = now_text(datetime.combine(day, datetime.min.time(), UTC) - timedelta(days=365))
    streaks = [a for a in agencies if a in known and rules.clean_streak([r[0] for r in db.execute("""SELECT i.result
        FROM inspections i JOIN inspection_agencies ia ON ia.inspection_id = i.id
        WHERE i.enterprise_id = ? AND ia.agency_id = ? AND i.status != 'voided'
        AND i.kind != 'visit' AND i.started_at >= ? ORDER BY i.started_at DESC LIMIT ?""",
        [enterprise["id"], known[a]["id"], since, rules.CLEAN_STREAK])])] \
        if rules.is_counted(request.kind, counted_kinds) else []
    facts = rules.Facts(
        kind=request.kind, agencies=agencies,
        known_agencies=set(known),
        caller_agency=caller["agency"], inspectors=[dict(caller, id=caller["id"])] + others,
        unknown_inspectors=[u for u in usernames if u not in found], items=item_codes,
        item_agencies={i["code"]: i["agency"] for i in item_rows}, reference=request.reference,
        reason=request.reason, late=late, recheck_target=recheck, enterprise_id=enterprise["id"],
        recheck_of=request.recheck_of, day=day, counted_kinds=counted_kinds, clean_streaks=streaks)
    return facts, others, item_rows, [known[a] for a in agencies if a in known]


def _request_digest(request):
    """A fingerprint of a start request, so a reused idempotency key with another body is told apart."""
    fields = asdict(request) | {"started_at": request.started_at.isoformat() if request.started_at else None,
                                "idempotency_key": None}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _replayed(db, caller, request):
    """The inspection an earlier request with the same idempotency key recorded, or None; a different body is refused."""
    if not request.idempotency_key:
        return None
    earlier = row(db, "SELECT request_hash, inspection_id FROM idempotency_keys WHERE user_id = ? AND key = ?",
                  [caller["id"], request.idempotency_key])
    if earlier is None:
        return None
    if earlier["request_hash"] != _request_digest(request):
        raise IdempotencyConflict(Problem("idempotency_conflict", "this Idempotency-Key was used for another request"))
    return earlier["inspection_id"]


def record_inspection(db, caller, request, now, tz, counted_kinds=rules.COUNTED_KINDS, task_required=(),
                      alert_limits=thresholds.DEFAULTS):
    """Decide and record one inspection (a StartRequest) in a single atomic step; return its id.

    Raises UnknownCode, Invalid, CertificateInvalid, TaskRequired (a kind in task_required without an approved task,
    or a task_id that cannot be started), or rules.CapReached (after recording the refusal). With an idempotency key
    already used by this caller for the same request, returns the inspection it recorded. The web serves the same
    two halves apart: prepare_start on the request's connection, write_start in the write queue's next batch.
    """
    start = prepare_start(db, caller, request, now, tz, counted_kinds, task_required, alert_limits)
    if isinstance(start, int):
        return start
    with immediate(db):
        recorded = write_start(db, start)
    if recorded.refused:
        raise recorded.refused
    return recorded.id


def prepare_start(db, caller, request, now, tz, counted_kinds=rules.COUNTED_KINDS, task_required=(),
                  alert_limits=thresholds.DEFAULTS):
    """The half of a start that needs no lock: resolve the enterprise and the task, read the facts and check the
    request against the rules. Returns the _Start that write_start decides and writes, or the id of the inspection
    an earlier request with the same idempotency key recorded; raises what record_inspection raises, but CapReached
    (write_start's answer).
    Nothing read here decides the cap: write_start counts under the write lock."""
    replayed = _replayed(db, caller, request)
    if replayed:
        return replayed
    enterprise, entry = _resolve_enterprise(db, request.qr_token, request.usci)
    started = request.started_at or now
    started = started.astimezone(UTC) if started.tzinfo else started.replace(tzinfo=tz).astimezone(UTC)
    late, problem = rules.lateness(started, now)
    day = started.astimezone(tz).date()
    task = tasks.task_for_start(db, caller, request.task_id, request.kind, enterprise["id"], day, task_required)
    if task:
        request = _from_task(request, task)
    if request.kind != rules.VISIT and not rules.certificate_valid(caller["cert_no"], caller["cert_expires_on"], day):
        raise CertificateInvalid(Problem("certificate_invalid",
                                         "your enforcement certificate is missing or expired on {day}", day=day.isoformat()))
    facts, others, item_rows, agencies = _facts(db, caller, request, enterprise, day, late, counted_kinds)
    problems = rules.inspection_problems(facts)
    if problem:
        problems["started_at"] = problem
    if problems:
        raise Invalid(problems)
    counted = rules.is_counted(request.kind, counted_kinds)
    applicable = rules.applicable_rules(limits.active_rules(db), enterprise, facts.agencies) if counted else []
    marks = ",".join("?" * len(item_rows))
    checklist = rows(db, f"""SELECT c.id, it.code AS item, c.text, c.standard, it.basis FROM checkpoints c
        JOIN items it ON it.id = c.item_id WHERE c.active = 1 AND c.item_id IN ({marks}) ORDER BY it.code, c.position""",
                     [i["id"] for i in item_rows]) if item_rows else []
    return _Start(caller, request, enterprise, entry, counted, late, started, now_text(now), day, others, item_rows,
                  agencies, tz, alert_limits, task, task_required, counted_kinds, applicable, checklist, now)


@dataclass
class Recorded:
    """What write_start answers: the inspection's id and, when this request wrote it, its journal hash (None: an
    earlier request with the same idempotency key recorded it); or, for a start a limit rule refused, the refusal
    (its attempt recorded), which the caller raises once it is committed."""

    id: int | None
    journal_hash: str | None = None
    refused: rules.CapReached | None = None


def write_start(db, s):
    """The half of a start under the write lock (inside the caller's transaction, e.g. the write queue's batch, which
    rolls it back if it raises): decide the cap and write the inspection, or the refused attempt. Returns a
    Recorded."""
    request, caller = s.request, s.caller
    replayed = _replayed(db, caller, request)  # a retry that raced its original: the original won
    if replayed:
        return Recorded(replayed)
    if request.kind == "recheck" and _recheck_target(db, request.recheck_of)["rechecked"]:
        raise Invalid({"recheck_of": Problem("already_rechecked", "inspection {id} has already been rechecked",
                                             id=request.recheck_of)})
    try:
        rules.check_caps([(r, usage(db, s.enterprise["id"], r, s.started, s.tz)) for r in s.applicable])
    except rules.CapReached as e:
        db.execute("""INSERT INTO refusals (enterprise_id, user_id, agency_id, kind, rule_id, used, max, attempted_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)""", [s.enterprise["id"], caller["id"], caller["agency_id"], request.kind,
                                                  e.rule.id, e.used, e.max, s.recorded_at])
        return Recorded(None, refused=e)
    inspection_id, journal_hash = _insert(db, s)
    if s.task:  # a task another start took first raises TaskRequired, and the caller rolls this start back
        tasks.mark_done(db, s.task, inspection_id, caller, s.recorded_at)
    elif s.task_required and rules.is_exempt(request.kind, s.counted_kinds):  # its approval comes afterwards
        tasks.insert_backfill(db, caller, inspection_id, caller["agency_id"], s.enterprise["id"], request.kind,
                              s.day, [caller["id"]] + [o["id"] for o in s.others],
                              [i["id"] for i in s.item_rows if i["agency"] == caller["agency"]], s.now)
    return Recorded(inspection_id, journal_hash)


def recorded_inspection(s, recorded):
    """The inspection write_start has just written, as inspection() would read it back, built from what was written."""
    request, location = s.request, s.request.location or {}
    people = sorted([dict(s.caller, user_id=s.caller["id"])] + [dict(o, user_id=o["id"]) for o in s.others],
                    key=lambda p: p["username"])
    agencies = sorted(s.agencies, key=lambda a: a["code"])
    items = sorted(s.item_rows, key=lambda i: i["code"])
    return {
        "id": recorded.id, "enterprise_id": s.enterprise["id"],
        "enterprise": {"id": s.enterprise["id"], "usci": s.enterprise["usci"], "name": s.enterprise["name"]},
        "kind": request.kind, "counted": s.counted, "status": "open", "entry": s.entry, "late": s.late,
        "agencies": [a["code"] for a in agencies], "agency_details": [{"code": a["code"], "name": a["name"]}
                                                                      for a in agencies],
        "inspectors": [{k: p[k] for k in ("user_id", "username", "name", "cert_no", "agency")} for p in people],
        "items": [i["code"] for i in items], "item_details": [{k: i[k] for k in ("code", "name", "basis", "agency")}
                                                              for i in items],
        "reference": request.reference, "reason": request.reason,
        "recheck_of": request.recheck_of if request.kind == "recheck" else None,
        "started_at": now_text(s.started), "recorded_at": s.recorded_at, "recorded_by": s.caller["id"],
        "lat": location.get("lat"), "lon": location.get("lon"), "closed_at": None, "result": None, "findings": None,
        "rectify_by": None, "voided_at": None, "void_reason": None, "confirmed_at": None, "confirmed_by": None,
        "journal_hash": recorded.journal_hash, "confirm_code": s.confirm_code,
        "checkpoints": [dict(c, outcome=None, note=None) for c in s.checklist], "photos": [], "statement": None,
        "rectification": None}


def _from_task(request, task):
    """The start request with what it leaves out taken from its task (and the tasks joined with it)."""
    every = [task, *task["partners"]]
    return replace(request, kind=request.kind or task["kind"],
                   items=request.items or [i for t in every for i in t["items"]],
                   inspectors=request.inspectors or [p["username"] for t in every for p in t["inspectors"]],
                   agencies=request.agencies or list(dict.fromkeys(t["agency"] for t in every)))


@dataclass
class _Start:
    """Everything decided about an admitted start, handed to the insert."""

    caller: dict
    request: StartRequest
    enterprise: dict
    entry: str
    counted: bool
    late: bool
    started: datetime
    recorded_at: str
    day: date  # the local date it started on
    others: list
    item_rows: list
    agencies: list  # {id, code, name} of the agencies taking part, which the rules have checked are known and active
    tz: object
    alert_limits: thresholds.Thresholds
    task: dict | None
    task_required: tuple
    counted_kinds: tuple
    applicable: list  # the limit rules write_start counts under the lock
    checklist: list  # the checkpoints of its items as they stand today
    now: datetime
    confirm_code: str = field(default_factory=lambda: new_confirm_code())

    @property
    def agency_ids(self):
        return [a["id"] for a in self.agencies]

    def __getstate__(self):  # what crosses to the writer process, compactly: times as text, the zone by its name
        state = dict(self.__dict__)
        state["started"], state["now"] = self.started.isoformat(), self.now.isoformat()
        state["tz"] = getattr(self.tz, "key", self.tz)
        state["alert_limits"] = astuple(self.alert_limits)
        return state

    def __setstate__(self, state):
        state["started"], state["now"] = datetime.fromisoformat(state["started"]), datetime.fromisoformat(state["now"])
        state["tz"] = ZoneInfo(state["tz"]) if isinstance(state["tz"], str) else state["tz"]
        state["alert_limits"] = thresholds.Thresholds(*state["alert_limits"])
        self.__dict__.update(state)


def new_confirm_code():
    """A fresh one-time confirmation code: six random digits the firm types or scans from the inspector's screen."""
    return f"{secrets.randbelow(10**6):06d}"


def _insert(db, s):
    request, people = s.request, [s.caller] + s.others
    location = request.location or {}
    code = s.confirm_code
    recheck_of = request.recheck_of if request.kind == "recheck" else None
    cursor = db.execute(
        """INSERT INTO inspections (enterprise_id, kind, counted, entry, late, reference, reason, recheck_of,
           started_at, recorded_at, recorded_by, lat, lon, confirm_code) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        [s.enterprise["id"], request.kind, int(s.counted), s.entry, int(s.late), request.reference, request.reason,
         recheck_of, now_text(s.started), s.recorded_at, s.caller["id"], location.get("lat"), location.get("lon"), code])
    inspection_id = cursor.lastrowid
    db.conn.executemany("INSERT INTO inspection_agencies (inspection_id, agency_id) VALUES (?, ?)",
                        [(inspection_id, a) for a in s.agency_ids])
    stats.count_inspection(db, s.day, {"kind": request.kind, "counted": s.counted, "entry": s.entry,
                                             "late": s.late, "enterprise_id": s.enterprise["id"],
                                             "district": s.enterprise.get("district"),
                                             "industry": s.enterprise.get("industry"),
                                             "risk_level": s.enterprise.get("risk_level")}, s.agency_ids)
    db.conn.executemany("INSERT INTO inspection_inspectors (inspection_id, user_id, cert_no) VALUES (?, ?, ?)",
                        [(inspection_id, p["id"], p["cert_no"]) for p in people])
    db.conn.executemany("INSERT INTO inspection_items (inspection_id, item_id) VALUES (?, ?)",
                        [(inspection_id, i["id"]) for i in s.item_rows])
    # the checklist as it stands today: a later import of checkpoints does not change it
    db.conn.executemany("INSERT INTO inspection_checkpoints (inspection_id, checkpoint_id) VALUES (?, ?)",
                        [(inspection_id, c["id"]) for c in s.checklist])
    if request.idempotency_key:
        db.execute("INSERT INTO idempotency_keys (user_id, key, request_hash, inspection_id, created_at) "
                   "VALUES (?, ?, ?, ?, ?)", [s.caller["id"], request.idempotency_key, _request_digest(request),
                                             inspection_id, s.recorded_at])
    # every fact of the inspection, links included, so that editing any of them later breaks the journal's replay
    journal_hash = append_journal(db, inspection_id, "start", s.recorded_at, {
        "enterprise": s.enterprise["usci"], "kind": request.kind, "counted": s.counted, "entry": s.entry,
        "late": s.late, "started_at": now_text(s.started), "agencies": sorted(a["code"] for a in s.agencies),
        "inspectors": sorted(f"{p['username']}/{p['cert_no'] or ''}" for p in people),
        "items": sorted(i["code"] for i in s.item_rows), "reference": request.reference, "reason": request.reason,
        "recheck_of": recheck_of, "lat": location.get("lat"), "lon": location.get("lon"),
        "recorded_by": s.caller["username"], "confirm_code_sha256": journal.digest(code)})
    inbox.notify(db, s.enterprise["id"], inspection_id, "started", s.recorded_at)
    alerts.note_start(db, inspection_id, s.enterprise, s.started, s.agency_ids, request.location, s.alert_limits, s.tz)
    return inspection_id, journal_hash


def close_inspection(db, inspection_id, caller, result, findings, rectify_by, now, tz, checks=None):
    """Close an open inspection the caller takes part in, with its result and every checkpoint answered (`checks`:
    [{checkpoint, outcome, note}], left out only when it has no checkpoints). A closed inspection is NotOpen
    whatever else is wrong."""
    found = inspection_for(db, inspection_id, caller, "act")
    if found["status"] != "open":
        raise NotOpen.because(found["status"])
    problems = rules.close_problems(result, findings, rectify_by, now.astimezone(tz).date())
    problems = rules.check_problems([c["id"] for c in found["checkpoints"]], checks, result) | problems
    if problems:
        raise Invalid(problems)
    at = now_text(now)
    rectify_text = rectify_by.isoformat() if rectify_by and result == "rectify" else None
    findings = (findings or "").strip() or None
    answered = sorted(({"checkpoint": c["checkpoint"], "outcome": c["outcome"], "note": (c.get("note") or "").strip()
                        or None} for c in checks or []), key=lambda c: c["checkpoint"])
    with immediate(db):
        status = value(db, "SELECT status FROM inspections WHERE id = ?", [inspection_id])
        if status != "open":
            raise NotOpen.because(status)
        db.execute("UPDATE inspections SET status = 'closed', closed_at = ?, result = ?, findings = ?, rectify_by = ? "
                   "WHERE id = ?", [at, result, findings, rectify_text, inspection_id])
        db.conn.executemany("UPDATE inspection_checkpoints SET outcome = ?, note = ? WHERE inspection_id = ? "
                            "AND checkpoint_id = ?", [(c["outcome"], c["note"], inspection_id, c["checkpoint"])
                                                      for c in answered])
        append_journal(db, inspection_id, "close", at, {"result": result, "findings": findings, "checks": answered,
                                                         "rectify_by": rectify_text, "by": caller["username"]})
        inbox.notify(db, found["enterprise_id"], inspection_id, "closed", at)
        alerts.note_close(db, inspection_id, found["enterprise_id"], result, tz)


def void_inspection(db, inspection_id, caller, reason, now, tz, alert_limits=thresholds.DEFAULTS):
    """Void an open inspection within 30 minutes of recording it (a wrong scan, a wrong firm), unless confirmed; a
    frequency warning it was part of no longer counts it."""
    inspection_for(db, inspection_id, caller, "act")
    if not (reason or "").strip():
        raise Invalid({"reason": Problem("no_void_reason", "say why the inspection is voided")})
    at = now_text(now)
    with immediate(db):  # status and confirmation are read under the lock: a confirmation racing this void wins or loses
        current = row(db, "SELECT status, recorded_at, confirmed_at FROM inspections WHERE id = ?", [inspection_id])
        problem = rules.void_problem(current["status"], parse_time(current["recorded_at"]), now,
                                     confirmed=current["confirmed_at"] is not None)
        if problem:
            raise NotVoidable(problem)
        db.execute("UPDATE inspections SET status = 'voided', voided_at = ?, void_reason = ? WHERE id = ?",
                   [at, reason.strip(), inspection_id])
        gone = row(db, """SELECT i.started_at, i.kind, i.counted, i.entry, i.late, i.enterprise_id, e.district, e.industry,
                          e.risk_level FROM inspections i JOIN enterprises e ON e.id = i.enterprise_id WHERE i.id = ?""",
                   [inspection_id])
        stats.count_inspection(db, parse_time(gone["started_at"]).astimezone(tz).date(), gone, [
            r[0] for r in db.execute("SELECT agency_id FROM inspection_agencies WHERE inspection_id = ?", [inspection_id])],
                               sign=-1)
        alerts.note_void(db, inspection_id, tz, alert_limits)
        append_journal(db, inspection_id, "void", at, {"reason": reason.strip(), "by": caller["username"]})


def utcnow():
    """The current instant, aware, in UTC (the only clock read of the domain; callers pass it on)."""
    return datetime.now(UTC)
