"""The firm's side of an inspection: activation, confirmation, evaluations, complaints and the inbox.

Ratings are for supervisors: nothing here gives an inspector or an agency an individual rating, and
agency aggregates exist only with at least MIN_RATINGS behind them.
"""

import hashlib
import secrets
from datetime import timedelta

from . import accounts, audit, enterprises, inspections
from .db import immediate, now_text, row, rows, value

CATEGORIES = ("no_scan", "too_frequent", "misconduct", "fees_demanded", "other")
COMPLAINT_STATUSES = ("open", "in_progress", "resolved", "rejected")
MIN_RATINGS = 5                      # agency aggregates only with at least this many ratings behind them
CONFIRM_ATTEMPTS = 5                 # wrong confirmation codes per user per window before refusing
CONFIRM_WINDOW = timedelta(minutes=15)
ACTIVATION_DAYS = 30


class BadCode(ValueError):
    """The confirmation or activation code is wrong, used or expired."""


class TooManyAttempts(Exception):
    """Too many wrong codes recently; try again later."""


class NotConfirmable(Exception):
    """A voided inspection cannot be confirmed."""


class NotClosed(Exception):
    """Only a closed inspection can be evaluated."""


class AlreadyEvaluated(Exception):
    """The firm has already rated this inspection."""


def _digest(code):
    return hashlib.sha256(code.encode()).hexdigest()


def _firm_inspection(db, inspection_id, user):
    found = inspections.inspection(db, inspection_id)
    if not found or user["role"] != "firm" or found["enterprise_id"] != user["enterprise_id"]:
        raise inspections.NotFound(inspection_id)
    return found


# ---- activation -------------------------------------------------------------------------------------

def issue_activation_code(db, enterprise_id, now):
    """A new one-time activation code for the enterprise (older unused ones stop working); return (code, expires_at)."""
    code = "-".join(secrets.token_hex(2).upper() for _ in range(4))
    expires_at = now_text(now + timedelta(days=ACTIVATION_DAYS))
    with immediate(db):
        db.execute("UPDATE activation_codes SET revoked_at = ? WHERE enterprise_id = ? AND used_at IS NULL "
                   "AND revoked_at IS NULL", [now_text(now), enterprise_id])
        db.execute("INSERT INTO activation_codes (enterprise_id, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?)",
                   [enterprise_id, _digest(code), now_text(now), expires_at])
    return code, expires_at


def activate(db, usci_code, code, username, password, name, now, hash_method="scrypt"):
    """Create the firm user an activation code allows; the code then stops working. Returns the user id."""
    enterprise = enterprises.by_usci(db, usci_code or "")
    normalised = (code or "").strip().upper().replace(" ", "")
    with immediate(db):
        found = enterprise and row(db, """SELECT id FROM activation_codes WHERE enterprise_id = ? AND code_hash = ?
            AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?""",
                                   [enterprise["id"], _digest(normalised), now_text(now)])
        if not found:
            raise BadCode("the activation code is wrong, used or expired")
        user_id = accounts.add_user(db, username, password, "firm", name=name, usci_code=enterprise["usci"],
                                    hash_method=hash_method)
        db.execute("UPDATE activation_codes SET used_at = ?, used_by = ? WHERE id = ?", [now_text(now), user_id, found["id"]])
    return user_id


# ---- confirmation and evaluation ----------------------------------------------------------------------

def confirm_inspection(db, inspection_id, user, code, now):
    """The firm attests the visit with the one-time code the inspector shows; wrong guesses are rate-limited."""
    found = _firm_inspection(db, inspection_id, user)
    since = now_text(now - CONFIRM_WINDOW)
    with immediate(db):
        failures = value(db, "SELECT count(*) FROM confirm_failures WHERE user_id = ? AND failed_at > ?",
                         [user["id"], since])
        if failures >= CONFIRM_ATTEMPTS:
            raise TooManyAttempts()
        if found["status"] == "voided":
            raise NotConfirmable("a voided inspection cannot be confirmed")
        # bytes: compare_digest refuses str with non-ASCII characters (a TypeError, i.e. a 500)
        if not secrets.compare_digest(str(code or "").strip().encode(), found["confirm_code"].encode()):
            db.execute("INSERT INTO confirm_failures (user_id, inspection_id, failed_at) VALUES (?, ?, ?)",
                       [user["id"], inspection_id, now_text(now)])
            bad = BadCode("the confirmation code is wrong")
        elif found["confirmed_at"]:  # the right code again: already done, nothing to change
            return
        else:
            bad = None
            at = now_text(now)
            db.execute("UPDATE inspections SET confirmed_at = ?, confirmed_by = ? WHERE id = ?", [at, user["id"], inspection_id])
            audit.append_journal(db, inspection_id, "confirm", at, {"by": user["username"]})
    if bad:
        raise bad


def evaluate(db, inspection_id, user, rating, comment, now):
    """Rate a closed inspection once (1-5, optional comment); only supervisors ever see individual ratings."""
    found = _firm_inspection(db, inspection_id, user)
    if found["status"] != "closed":
        raise NotClosed("only a closed inspection can be rated")
    with immediate(db):
        if value(db, "SELECT 1 FROM evaluations WHERE inspection_id = ?", [inspection_id]):
            raise AlreadyEvaluated("this inspection has already been rated")
        cursor = db.execute("INSERT INTO evaluations (inspection_id, user_id, rating, comment, created_at) "
                            "VALUES (?, ?, ?, ?, ?)",
                            [inspection_id, user["id"], rating, (comment or "").strip() or None, now_text(now)])
    return cursor.lastrowid


def evaluation_of(db, inspection_id):
    """The firm's rating of an inspection, or None (for the firm and supervisors only)."""
    return row(db, "SELECT rating, comment, created_at FROM evaluations WHERE inspection_id = ?", [inspection_id])


def evaluations(db, limit=200, offset=0):
    """The latest individual ratings with their inspection and agencies, for supervisors."""
    return rows(db, """SELECT ev.inspection_id, ev.rating, ev.comment, ev.created_at, e.name AS enterprise,
        (SELECT group_concat(a.code, ', ') FROM inspection_agencies ia JOIN agencies a ON a.id = ia.agency_id
         WHERE ia.inspection_id = ev.inspection_id) AS agencies
        FROM evaluations ev JOIN inspections i ON i.id = ev.inspection_id JOIN enterprises e ON e.id = i.enterprise_id
        ORDER BY ev.created_at DESC, ev.id DESC LIMIT ? OFFSET ?""", [limit, offset])


def agency_rating(db, agency_code):
    """(average, count) of an agency's ratings, or (None, count) while fewer than MIN_RATINGS exist."""
    found = row(db, """SELECT avg(ev.rating) AS average, count(*) AS n FROM evaluations ev
        JOIN inspection_agencies ia ON ia.inspection_id = ev.inspection_id
        JOIN agencies a ON a.id = ia.agency_id WHERE a.code = ?""", [agency_code])
    if found["n"] < MIN_RATINGS:
        return None, found["n"]
    return round(found["average"], 1), found["n"]


# ---- complaints --------------------------------------------------------------------------------------

def file_complaint(db, user, category, text, inspection_id, now):
    """File a complaint for the firm's enterprise, optionally about one of its inspections; return its id."""
    problems = {}
    if category not in CATEGORIES:
        problems["category"] = f"category must be one of {', '.join(CATEGORIES)}"
    if not (text or "").strip():
        problems["text"] = "describe what happened"
    if inspection_id is not None:
        try:
            _firm_inspection(db, inspection_id, user)
        except inspections.NotFound:
            problems["inspection_id"] = "no inspection of your enterprise has this id"
    if problems:
        raise inspections.Invalid(problems)
    cursor = db.execute("INSERT INTO complaints (enterprise_id, user_id, inspection_id, category, text, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [user["enterprise_id"], user["id"], inspection_id, category, text.strip(), now_text(now)])
    return cursor.lastrowid


def complaints_of(db, enterprise_id):
    """The enterprise's complaints, newest first, with the supervisor's answers."""
    return rows(db, "SELECT * FROM complaints WHERE enterprise_id = ? ORDER BY created_at DESC, id DESC", [enterprise_id])


def complaints(db, status=None, limit=200, offset=0):
    """Complaints for the supervisor, optionally of one status, newest first."""
    sql = """SELECT c.*, e.name AS enterprise, e.usci FROM complaints c JOIN enterprises e ON e.id = c.enterprise_id"""
    params = []
    if status:
        sql += " WHERE c.status = ?"
        params.append(status)
    return rows(db, sql + " ORDER BY c.created_at DESC, c.id DESC LIMIT ? OFFSET ?", params + [limit, offset])


def complaint_count(db, status=None):
    """How many complaints there are, optionally of one status."""
    if status:
        return value(db, "SELECT count(*) FROM complaints WHERE status = ?", [status])
    return value(db, "SELECT count(*) FROM complaints")


def complaint(db, complaint_id):
    """One complaint, or None."""
    return row(db, """SELECT c.*, e.name AS enterprise, e.usci FROM complaints c
                      JOIN enterprises e ON e.id = c.enterprise_id WHERE c.id = ?""", [complaint_id])


def answer_complaint(db, complaint_id, supervisor, status, answer, now):
    """The supervisor's answer and the complaint's new status."""
    problems = {}
    if status not in COMPLAINT_STATUSES:
        problems["status"] = f"status must be one of {', '.join(COMPLAINT_STATUSES)}"
    if not (answer or "").strip():
        problems["answer"] = "write an answer the firm will read"
    if problems:
        raise inspections.Invalid(problems)
    db.execute("UPDATE complaints SET status = ?, answer = ?, answered_by = ?, answered_at = ? WHERE id = ?",
               [status, answer.strip(), supervisor["id"], now_text(now), complaint_id])


def rated_ids(db, inspection_ids):
    """Which of these inspections the firm has rated."""
    if not inspection_ids:
        return set()
    marks = ",".join("?" * len(inspection_ids))
    return {r["inspection_id"] for r in rows(db, f"SELECT inspection_id FROM evaluations WHERE inspection_id IN ({marks})",
                                             list(inspection_ids))}
