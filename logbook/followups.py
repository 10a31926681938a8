"""Follow-ups (督办, SPEC §11): the supervisor turns a warning or a complaint into a follow-up addressed to an agency,
with a deadline; the agency's head answers; the supervisor accepts the answer or returns it; every step is kept.

A follow-up goes open → answered → accepted, or answered → returned → answered again. One past its deadline
while waiting for the agency (open or returned) is itself a warning (alerts.py).
"""

from datetime import date, timedelta

from .db import immediate, now_text, row, rows, value
from .errors import FollowupState, Invalid, NotFound, Problem

STATUSES = ("open", "answered", "returned", "accepted")
STEPS = {"answer": ("open", "returned"), "accept": ("answered",), "return": ("answered",)}  # step: from which status
AFTER = {"answer": "answered", "accept": "accepted", "return": "returned"}
WAITING = STEPS["answer"]  # the statuses in which a follow-up waits for the agency
TEXT_MAX = 2000
MAX_DAYS = 366


def overdue(followup, today):
    """True when the follow-up waits for the agency past its deadline (alerts' followup_overdue counts these)."""
    return followup["status"] in WAITING and followup["due_on"] < today.isoformat()


def _text(text, field="text"):
    text = (text or "").strip()
    if not text:
        raise Invalid({field: Problem("no_text", "write the answer")})
    if len(text) > TEXT_MAX:
        raise Invalid({field: Problem("long_text", "at most {most} characters", most=TEXT_MAX)})
    return text


def create_followup(db, supervisor, agency, text, due_on, today, now, warning_key=None, complaint_id=None):
    """Address a follow-up to an agency (its code) about a warning (its key) or a complaint; return its id."""
    text = _text(text)
    problems = {}
    agency_id = value(db, "SELECT id FROM agencies WHERE code = ? AND active = 1", [agency or ""])
    if agency_id is None:
        problems["agency"] = Problem("unknown_agency", "Unknown agency: {names}.", names=agency or "")
    if not isinstance(due_on, date) or not today <= due_on <= today + timedelta(days=MAX_DAYS):
        problems["due_on"] = Problem("bad_due_on", "the deadline is a day from today to a year ahead")
    if (warning_key is None) == (complaint_id is None):
        problems["source"] = Problem("no_followup_source", "a follow-up is about one warning or one complaint")
    enterprise_id = None
    if complaint_id is not None:
        enterprise_id = value(db, "SELECT enterprise_id FROM complaints WHERE id = ?", [complaint_id]) \
            if 0 < complaint_id < 2**63 else None
        if enterprise_id is None:
            problems["source"] = Problem("no_such_complaint", "no complaint has this number")
    if warning_key is not None and not (isinstance(warning_key, str) and 0 < len(warning_key) <= 100):
        problems["source"] = Problem("no_followup_source", "a follow-up is about one warning or one complaint")
    if problems:
        raise Invalid(problems)
    at = now_text(now)
    with immediate(db):
        followup_id = db.execute("""INSERT INTO followups (agency_id, warning_key, complaint_id, enterprise_id, text,
            due_on, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""", [
            agency_id, warning_key, complaint_id, enterprise_id, text, due_on.isoformat(), supervisor["id"], at,
            at]).lastrowid
        db.execute("INSERT INTO followup_steps (followup_id, action, text, user_id, at) VALUES (?, 'open', ?, ?, ?)",
                   [followup_id, text, supervisor["id"], at])
    return followup_id


def step_followup(db, followup_id, user, action, text, now):
    """Take a step: the agency's head answers (answer); the supervisor accepts or returns the answer (accept,
    return). FollowupState when the follow-up is not waiting for that step."""
    found = followup_for(db, followup_id, user)
    if action not in STEPS or (action == "answer") != (user["role"] == "head"):
        raise NotFound()
    text = _text(text) if action != "accept" else (text or "").strip()[:TEXT_MAX] or None
    at = now_text(now)
    with immediate(db):
        status = value(db, "SELECT status FROM followups WHERE id = ?", [found["id"]])
        if status not in STEPS[action]:
            raise FollowupState(Problem("followup_state", "the follow-up is {status}", status=status))
        db.execute("UPDATE followups SET status = ?, updated_at = ? WHERE id = ?", [AFTER[action], at, found["id"]])
        db.execute("INSERT INTO followup_steps (followup_id, action, text, user_id, at) VALUES (?, ?, ?, ?, ?)",
                   [found["id"], action, text, user["id"], at])


COLUMNS = """f.id, f.status, f.text, f.due_on, f.warning_key, f.complaint_id, f.created_at, f.updated_at,
    a.code AS agency, a.name AS agency_name, e.id AS enterprise_id, e.name AS enterprise_name, e.usci"""
JOINS = """FROM followups f JOIN agencies a ON a.id = f.agency_id LEFT JOIN enterprises e ON e.id = f.enterprise_id"""


def followup_for(db, followup_id, user):
    """A follow-up with its steps, for supervisors, the head of its agency and the firm whose complaint it follows;
    NotFound for anyone else (existence does not leak)."""
    found = row(db, f"SELECT {COLUMNS}, f.agency_id {JOINS} WHERE f.id = ?", [followup_id]) \
        if 0 < followup_id < 2**63 else None
    allowed = found is not None and (
        user["role"] == "supervisor"
        or user["role"] == "head" and user["agency_id"] == found["agency_id"]
        or user["role"] == "firm" and found["complaint_id"] is not None and user["enterprise_id"] == found["enterprise_id"])
    if not allowed:
        raise NotFound()
    found["steps"] = rows(db, """SELECT s.action, s.text, s.at, u.name AS by_name, u.role AS by_role
        FROM followup_steps s JOIN users u ON u.id = s.user_id WHERE s.followup_id = ? ORDER BY s.id""", [followup_id])
    return found


def followups_for(db, user, status=None, limit=50, before=None):
    """A page of follow-ups newest first (ids below `before`): every one for supervisors, their agency's for a head."""
    where, params = ["f.id < ?"], [before or 2**62]
    if status in STATUSES:
        where.append("f.status = ?")
        params.append(status)
    if user["role"] == "head":
        where.append("f.agency_id = ?")
        params.append(user["agency_id"])
    elif user["role"] != "supervisor":
        return []
    return rows(db, f"SELECT {COLUMNS} {JOINS} WHERE {' AND '.join(where)} ORDER BY f.id DESC LIMIT ?",
                params + [limit])


def followups_of_complaint(db, complaint_id):
    """The follow-ups of a complaint with their last step, for the firm that complained."""
    found = rows(db, f"SELECT {COLUMNS} {JOINS} WHERE f.complaint_id = ? ORDER BY f.id", [complaint_id])
    for f in found:
        f["last_step"] = row(db, """SELECT action, text, at FROM followup_steps WHERE followup_id = ?
                                    ORDER BY id DESC LIMIT 1""", [f["id"]])
    return found
