"""Pure rules of the logbook: kinds, limit windows, which limit rules apply, and the decisions.

Nothing here reads the clock, the database or Flask; time, rules and facts arrive as arguments,
so every decision can be tested as a table.
"""

import hashlib
import heapq
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

COUNTED_KINDS = ("routine", "special")
EXEMPT_KINDS = ("complaint", "referral", "monitoring", "firm_request", "emergency", "licensing", "recheck")
VISIT = "visit"
KINDS = COUNTED_KINDS + EXEMPT_KINDS + (VISIT,)
RESULTS = ("no_issue", "rectify", "case_filed")
OUTCOMES = ("pass", "fail", "na")      # SPEC §10: a checkpoint passed, failed or did not apply
RISK_LEVELS = ("A", "B", "C", "D")
TARGETS = ("all", "risk", "industry", "enterprise")

MAX_LATE = timedelta(days=10)          # SPEC §4: late entries up to 10 days back
LATE_AFTER = timedelta(minutes=10)     # a start further back than this is a late entry
FUTURE_SKEW = timedelta(minutes=5)     # tolerated clock difference of the inspector's phone
VOID_WITHIN = timedelta(minutes=30)    # SPEC §5: void only within 30 minutes of recording
MIN_INSPECTORS = 2                     # 两人以上执法
MAX_WINDOW_DAYS = 3660                 # a rolling window of at most about ten years (a longer one is a typo)
CLEAN_STREAK = 3                       # SPEC §9: three clean inspections in a row by one agency need a reason
MAX_TASK_DAYS = 366                    # a task's window is at most a year
NOTE_MAX = 1000                        # characters of a checkpoint's note
STATEMENT_DAYS = 5                     # SPEC §10: the firm answers the findings within this many days of closing

SPECIFICITY = {"enterprise": 3, "risk": 2, "industry": 2, "all": 1}


@dataclass(frozen=True)
class LimitRule:
    """At most `max` counted inspections per window, for one scope (agency or all) and one target."""

    id: int
    max: int
    agency: str | None = None          # None: all agencies together
    target: str = "all"                # all | risk | industry | enterprise
    value: str | None = None           # the risk level, industry or USCI the target names
    window: str = "year"               # year | days:N

    @property
    def scope(self):
        """The agency code, or "all"."""
        return self.agency or "all"

    def matches(self, enterprise):
        """True when this rule limits the enterprise (a mapping with usci, risk_level, industry)."""
        if self.target == "all":
            return True
        key = {"risk": "risk_level", "industry": "industry", "enterprise": "usci"}[self.target]
        return enterprise.get(key) == self.value

    def describe(self):
        """A short English description, e.g. "max 2 per calendar year, all agencies, risk level A"."""
        window = "calendar year" if self.window == "year" else f"{parse_window(self.window)[1]} days"
        target = "all enterprises" if self.target == "all" else f"{self.target} {self.value}"
        return f"rule {self.id}: max {self.max} per {window}, {self.agency or 'all agencies'}, {target}"


class Problem(str):
    """An English message that also carries a code and its parameters, so a page can show it translated."""

    def __new__(cls, code, template, **params):
        self = super().__new__(cls, template.format(**params))
        self.code, self.params = code, params
        return self

    def __reduce__(self):  # pickled as its text, code and parameters (the writer process answers with pickles)
        return _unpickled_problem, (str(self), self.code, self.params)


def _unpickled_problem(text, code, params):
    problem = str.__new__(Problem, text)
    problem.code, problem.params = code, params
    return problem


class CapReached(Exception):
    """A counted inspection would exceed a limit rule."""

    def __init__(self, rule, used):
        self.rule, self.used, self.max = rule, used, rule.max
        super().__init__(
            f"cap reached: {used} of {rule.max} counted inspections already used under {rule.describe()}"
        )

    def __reduce__(self):
        return restored, (type(self), self.args, self.__dict__)


def restored(cls, args, state):
    """An exception as it was pickled, whatever its __init__ takes (the writer process answers with pickles)."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


def is_counted(kind, counted_kinds=COUNTED_KINDS):
    """Counted kinds count against caps; exempt kinds and visits do not."""
    return kind in counted_kinds


def is_exempt(kind, counted_kinds=COUNTED_KINDS):
    """Exempt kinds are inspections that need a reference and count against no rule."""
    return kind != VISIT and kind not in counted_kinds


def parse_window(text):
    """"year" -> ("year", None); "days:N" -> ("days", N); anything else raises ValueError."""
    if text == "year":
        return ("year", None)
    digits = text[5:] if isinstance(text, str) and text.startswith("days:") else ""
    if digits.isascii() and digits.isdigit() and len(digits) <= 5 and 0 < int(digits) <= MAX_WINDOW_DAYS:
        return ("days", int(digits))
    raise ValueError(f"window must be 'year' or 'days:N' with N from 1 to {MAX_WINDOW_DAYS}, not {text!r}")


def year_bounds(year, tz):
    """The calendar year in the time zone, as aware UTC datetimes [start, end)."""
    start = datetime(year, 1, 1, tzinfo=tz).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=tz).astimezone(UTC)
    return start, end


def month_bounds(year, month, tz):
    """A calendar month in the time zone, as aware UTC datetimes [start, end)."""
    start = datetime(year, month, 1, tzinfo=tz).astimezone(UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz).astimezone(UTC)
    return start, end


def window_bounds(window, at, tz):
    """The window of a rule that contains the instant `at`, as UTC datetimes [start, end)."""
    kind, days = parse_window(window)
    if kind == "year":
        return year_bounds(at.astimezone(tz).year, tz)
    at = at.astimezone(UTC)
    return at - timedelta(days=days) + timedelta(microseconds=1), at + timedelta(microseconds=1)


def busiest_window(times, at, days):
    """The most of `times` inside one rolling window of `days` that contains `at`; a window holds (end - days, end].

    With nothing after `at` this is the count in (at - days, at]. A late entry must also respect the windows that
    reach forward over inspections started after it, so every window end from `at` up to `at + days` is tried.
    """
    span = timedelta(days=days)
    ends = [at] + [t for t in times if at < t < at + span]
    return max(sum(1 for t in times if end - span < t <= end) for end in ends)


def applicable_rules(rules, enterprise, agencies=None):
    """The rules that limit this enterprise: per (scope, window) the most specific match, ties to the lower max.

    With `agencies`, only the all-agency scope and those agencies' scopes are kept.
    """
    chosen = {}
    for rule in rules:
        if not rule.matches(enterprise):
            continue
        if agencies is not None and rule.agency is not None and rule.agency not in agencies:
            continue
        key = (rule.scope, rule.window)
        best = chosen.get(key)
        rank = (SPECIFICITY[rule.target], -rule.max)
        if best is None or rank > (SPECIFICITY[best.target], -best.max):
            chosen[key] = rule
    return sorted(chosen.values(), key=lambda r: (r.agency is not None, r.agency or "", r.window, r.id))


def check_caps(usages):
    """Raise CapReached for the first (rule, used) pair where one more inspection would exceed the max."""
    for rule, used in usages:
        if used + 1 > rule.max:
            raise CapReached(rule, used)


def certificate_valid(cert_no, cert_expires_on, on_day):
    """A certificate is valid on a day when it has a number and expires on or after that day."""
    if not cert_no or not cert_expires_on:
        return False
    expires = cert_expires_on if isinstance(cert_expires_on, date) else date.fromisoformat(cert_expires_on)
    return on_day <= expires


def lateness(started_at, now):
    """(late, problem): a start too far back or in the future is a problem; one well past is late."""
    if started_at > now + FUTURE_SKEW:
        return False, Problem("future_start", "the start time is in the future")
    if started_at < now - MAX_LATE:
        return False, Problem("too_late", "a late entry may go back at most 10 days")
    return started_at < now - LATE_AFTER, None


@dataclass
class Facts:
    """What the database knows about a proposed inspection, gathered before the rules decide."""

    kind: str
    agencies: list                      # requested agency codes
    known_agencies: set                 # codes of agencies that exist and are active
    caller_agency: str | None
    inspectors: list                    # [{username, agency, cert_no, cert_expires_on}] incl. the caller
    unknown_inspectors: list            # requested usernames that are not active inspectors
    items: list                         # requested item codes
    item_agencies: dict                 # item code -> agency code, for active items only
    reference: str | None
    reason: str | None
    late: bool
    recheck_target: dict | None = None  # {enterprise_id, status, result, rechecked} of recheck_of, or None
    enterprise_id: int | None = None
    recheck_of: int | None = None
    day: date | None = None
    counted_kinds: tuple = COUNTED_KINDS
    clean_streaks: list = field(default_factory=list)  # agencies whose last three here found nothing (12 months)
    problems: dict = field(default_factory=dict)


def inspection_problems(f):
    """Per-field messages for everything wrong with a proposed inspection (SPEC §4, rule 3); empty if fine."""
    problems = dict(f.problems)
    unknown = [a for a in f.agencies if a not in f.known_agencies]
    if unknown:
        problems["agencies"] = Problem("unknown_agency", "unknown agency: {names}", names=", ".join(unknown))
    elif f.caller_agency not in f.agencies:
        problems["agencies"] = Problem("own_agency", "your own agency must take part")
    if f.unknown_inspectors:
        problems["inspectors"] = Problem("unknown_inspector", "not an active inspector: {names}",
                                          names=", ".join(f.unknown_inspectors))
    elif f.kind != VISIT:
        outsiders = [i["username"] for i in f.inspectors if i["agency"] not in f.agencies]
        certified = [i for i in f.inspectors
                     if certificate_valid(i["cert_no"], i["cert_expires_on"], f.day)]
        unmanned = [a for a in f.agencies if not any(i["agency"] == a for i in f.inspectors)]
        if outsiders:
            problems["inspectors"] = Problem("outsider", "not of a participating agency: {names}",
                                              names=", ".join(outsiders))
        elif unmanned and "agencies" not in problems:  # else one agency could spend another's quota without it ever coming along
            problems["agencies"] = Problem("agency_without_inspector",
                                           "a participating agency has none of its inspectors here: {names}",
                                           names=", ".join(unmanned))
        elif len(certified) < MIN_INSPECTORS:
            problems["inspectors"] = Problem(
                "too_few_inspectors", "at least {needed} inspectors with a valid certificate must take part; {count} do",
                needed=MIN_INSPECTORS, count=len(certified))
    if f.kind != VISIT:
        if not f.items:
            problems["items"] = Problem("no_items", "name at least one item of the inspection list (清单之外无检查)")
        else:
            outside = [c for c in f.items if f.item_agencies.get(c) not in f.agencies]
            if outside:
                problems["items"] = Problem("item_outside", "not on a participating agency's active list: {codes}",
                                            codes=", ".join(outside))
    if is_exempt(f.kind, f.counted_kinds) and not (f.reference or "").strip():
        problems["reference"] = Problem("no_reference", "a {kind} inspection needs a reference (complaint or document number)",
                                        kind=f.kind)
    if f.kind == "recheck":
        t = f.recheck_target
        if f.recheck_of is None:
            problems["recheck_of"] = Problem("no_recheck_target", "a recheck must name the inspection it rechecks")
        elif not t or t["enterprise_id"] != f.enterprise_id or t["result"] != "rectify":
            problems["recheck_of"] = Problem("bad_recheck_target",
                                             "no earlier inspection of this enterprise ended in rectify with that id")
        elif t.get("rechecked"):  # each rectification is rechecked once; a new rectify starts a new link
            problems["recheck_of"] = Problem("already_rechecked", "inspection {id} has already been rechecked",
                                             id=f.recheck_of)
    if f.late and not (f.reason or "").strip():
        problems["reason"] = Problem("no_late_reason", "a late entry needs a reason")
    elif f.clean_streaks and is_counted(f.kind, f.counted_kinds) and not (f.reason or "").strip():
        problems["reason"] = Problem("clean_streak", "{agencies} found nothing here three times in a row within "
                                     "12 months: say why another inspection is needed", agencies=", ".join(f.clean_streaks))
    return problems


def clean_streak(results):
    """True when an agency's last three inspections of a firm within 12 months (newest first, voided ones and visits
    left out) all ended `no_issue` (Chengdu's 低效检查阻断)."""
    return len(results) >= CLEAN_STREAK and all(r == "no_issue" for r in results[:CLEAN_STREAK])


# ---- tasks (SPEC §9) ------------------------------------------------------------------------------------

def task_status(status, window_end, today):
    """A task's status as of today: an approved task whose window has passed unused is `expired`."""
    return "expired" if status == "approved" and window_end < today else status


def covers(window_start, window_end, day):
    """True when the day is inside the window (both ends included)."""
    return window_start <= day <= window_end


def task_problems(kind, window_start, window_end, today, certified, items, notice_days=0, notice=False):
    """Per-field messages for a drafted task: a kind, a window that has not passed and is at most a year long,
    at least two inspectors certified through its end (`certified`: how many are), at least one item."""
    problems = {}
    if kind not in KINDS or kind == VISIT:
        problems["kind"] = Problem("bad_kind", "kind must be one of {kinds}", kinds=", ".join(KINDS[:-1]))
    if window_start is None or window_end is None or window_end < window_start:
        problems["window_end"] = Problem("bad_task_window", "the window must end on or after its first day")
    elif window_end < today:
        problems["window_end"] = Problem("window_passed", "the window has already passed")
    elif (window_end - window_start).days >= MAX_TASK_DAYS:
        problems["window_end"] = Problem("window_too_long", "a task's window is at most {days} days",
                                         days=MAX_TASK_DAYS)
    if certified < MIN_INSPECTORS:
        problems["inspectors"] = Problem(
            "too_few_inspectors", "at least {needed} inspectors with a valid certificate must take part; {count} do",
            needed=MIN_INSPECTORS, count=certified)
    if not items:
        problems["items"] = Problem("no_items", "name at least one item of the inspection list (清单之外无检查)")
    return problems


def notice_problem(window_start, today, notice_days):
    """Why a task with notice cannot be approved today (the firm must hear of it notice_days before), or None."""
    if (window_start - today).days < notice_days:
        return Problem("notice_too_late", "with notice, the window must open at least {days} days from today",
                       days=notice_days)
    return None


def match_problem(a, b, today):
    """Why two tasks cannot be joined into one visit (each {agency, enterprise_id, status, window_start,
    window_end}), or None: different agencies, the same firm, both approved and not expired, windows overlapping."""
    statuses = {task_status(t["status"], t["window_end"], today) for t in (a, b)}
    if a["agency"] == b["agency"]:
        return Problem("same_agency_tasks", "tasks of the same agency are not joined")
    if a["enterprise_id"] != b["enterprise_id"]:
        return Problem("other_enterprise_tasks", "the tasks are for different enterprises")
    if statuses != {"approved"}:
        return Problem("tasks_not_approved", "only approved tasks are joined")
    if a["window_start"] > b["window_end"] or b["window_start"] > a["window_end"]:
        return Problem("windows_apart", "the tasks' windows do not overlap")
    return None


# ---- random draws (双随机一公开) -------------------------------------------------------------------------

def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


RISK_SHARES = {"A": 0.05, "B": 0.15, "C": 0.30, "D": 1.0}  # at most this share of a risk level is drawn (越秀's 5-50%)


def draw_limit(risk_level, candidates):
    """How many firms of this many candidates of a risk level one draw may take (all of them without a level)."""
    if risk_level not in RISK_SHARES:
        return candidates
    return max(1, math.ceil(RISK_SHARES[risk_level] * candidates))


def candidates_hash(uscis):
    """SHA-256 of the candidates' USCIs, sorted, joined by newlines: what a draw publishes about whom it drew from."""
    return sha256("\n".join(sorted(uscis)))


def drawn(seed, uscis, count):
    """The `count` candidates with the smallest SHA-256 of seed|usci (all of them when there are fewer), in that order."""
    return heapq.nsmallest(max(count, 0), uscis, key=lambda u: sha256(f"{seed}|{u}"))  # = sorted(...)[:count]


def pair(seed, usci, usernames):
    """The two inspectors for a drawn firm: the smallest SHA-256 of seed|usci|username."""
    return heapq.nsmallest(MIN_INSPECTORS, usernames, key=lambda n: sha256(f"{seed}|{usci}|{n}"))


def close_problems(result, findings, rectify_by, today):
    """Per-field messages for closing an inspection; empty if fine."""
    problems = {}
    if result not in RESULTS:
        problems["result"] = Problem("bad_result", "result must be one of {results}", results=", ".join(RESULTS))
    if result != "no_issue" and not (findings or "").strip():
        problems["findings"] = Problem("no_findings", "findings are required unless the result is no_issue")
    if result == "rectify":
        if rectify_by is None:
            problems["rectify_by"] = Problem("no_deadline", "a rectification deadline is required")
        elif rectify_by < today:
            problems["rectify_by"] = Problem("past_deadline", "the rectification deadline cannot be in the past")
    return problems


def void_problem(status, recorded_at, now, confirmed=False):
    """Why an inspection cannot be voided now, or None; a visit the firm has confirmed happened and stays."""
    if status != "open":
        return Problem("void_not_open", "only an open inspection can be voided")
    if confirmed:
        return Problem("void_confirmed", "the enterprise has confirmed this visit, so it cannot be voided")
    if now - recorded_at > VOID_WITHIN:
        return Problem("void_too_late", "an inspection can be voided only within 30 minutes of being recorded")
    return None


# ---- the inspection form (一张表单) ------------------------------------------------------------------

def unknown_checkpoint(checkpoint):
    """The problem of a checkpoint id that is not on the inspection's checklist."""
    return Problem("unknown_checkpoint", "checkpoint {checkpoint} is not on this inspection's checklist",
                   checkpoint=checkpoint)


def check_problems(checkpoint_ids, checks, result):
    """Per-field problems of a close's checklist answers (SPEC §10): every checkpoint of the inspection answered once,
    a note for each fail, and no `no_issue` after a fail. `checks` is [{checkpoint, outcome, note}] or None."""
    if checks is None:
        return {"checks": Problem("checks_missing", "answer the {count} checkpoints of this inspection",
                                  count=len(checkpoint_ids))} if checkpoint_ids else {}
    problems, seen = {}, set()
    for check in checks:
        checkpoint = check["checkpoint"]
        if checkpoint not in checkpoint_ids:
            problems["checks"] = unknown_checkpoint(checkpoint)
        elif checkpoint in seen:
            problems["checks"] = Problem("checkpoint_twice", "checkpoint {checkpoint} is answered twice",
                                         checkpoint=checkpoint)
        elif check["outcome"] not in OUTCOMES:
            problems["checks"] = Problem("bad_outcome", "an outcome is one of {outcomes}", outcomes=", ".join(OUTCOMES))
        elif len(check.get("note") or "") > NOTE_MAX:
            problems["checks"] = Problem("long_note", "the note of checkpoint {checkpoint} is longer than {most} "
                                         "characters", checkpoint=checkpoint, most=NOTE_MAX)
        elif check["outcome"] == "fail" and not (check.get("note") or "").strip():
            problems["checks"] = Problem("fail_without_note", "say what failed at checkpoint {checkpoint}",
                                         checkpoint=checkpoint)
        seen.add(checkpoint)
    missing = [c for c in checkpoint_ids if c not in seen]
    if missing and "checks" not in problems:
        problems["checks"] = Problem("checkpoint_unanswered", "{count} checkpoints are not answered (first: {first})",
                                     count=len(missing), first=missing[0])
    if result == "no_issue" and any(c["outcome"] == "fail" for c in checks):
        problems["result"] = Problem("fail_but_no_issue", "a failed checkpoint rules out the result no_issue")
    return problems


def statement_until(closed_at, days):
    """The last instant the firm may answer the findings of an inspection closed at `closed_at`."""
    return closed_at + timedelta(days=days)


def statement_problem(status, closed_at, now, days, stated):
    """Why the firm cannot answer the findings now (陈述申辩, once, after closing, within `days`), or None."""
    if stated:
        return Problem("already_stated", "the enterprise has already answered this inspection's findings")
    if status != "closed" or now > statement_until(closed_at, days):
        return Problem("statement_closed", "the findings can be answered within {days} days of closing", days=days)
    return None


def rectification_problem(status, result, reported):
    """Why the firm cannot report its rectification, or None: only for an inspection closed with `rectify`, once."""
    if status != "closed" or result != "rectify":
        return Problem("not_rectifiable", "only an inspection closed with rectify can have a rectification report")
    if reported:
        return Problem("already_reported", "the rectification has already been reported")
    return None
