"""The firm's side of an inspection: activation, confirmation, evaluations, complaints and the inbox.

Ratings are for supervisors: nothing here gives an inspector or an agency an individual rating, and
agency aggregates exist only with at least MIN_RATINGS behind them.
"""

import hashlib
import secrets
from datetime import timedelta

from werkzeug.security import check_password_hash, generate_password_hash

from . import accounts, audit, enterprises, inspections, photos, rules, stats
from .db import immediate, now_text, parse_time, row, rows, value
from .errors import (
    AlreadyEvaluated,
    AlreadyReported,
    AlreadyStated,
    BadCode,
    Invalid,
    NotClosed,
    NotConfirmable,
    NotFound,
    NotRectifiable,
    Problem,
    StatementClosed,
    TooManyAttempts,
)

ANSWER_MAX = 5000                    # characters of a statement or a rectification report
RECTIFICATION_PHOTOS = 6             # photos one rectification report may carry
CATEGORIES = ("no_scan", "too_frequent", "misconduct", "fees_demanded", "other")
COMPLAINT_STATUSES = ("open", "in_progress", "resolved", "rejected")
MIN_RATINGS = 5                      # agency aggregates only with at least this many ratings behind them
CONFIRM_ATTEMPTS = 5                 # wrong confirmation codes per user per window before refusing
CONFIRM_WINDOW = timedelta(minutes=15)
ACTIVATION_DAYS = 30


ACTIVATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols, none that read alike (0/O, 1/I)
ACTIVATION_HASH = "pbkdf2:sha256:60000"  # salted and slow: a stolen table does not give the codes away
ACTIVATION_ATTEMPTS = 10             # wrong activation codes per client address per window before refusing
ACTIVATION_ENTERPRISE_ATTEMPTS = 30  # ... and per enterprise, from anywhere


# ---- activation -------------------------------------------------------------------------------------

def _code_matches(stored, code):
    """Check an activation code against its stored hash (salted; letters printed before were plain SHA-256)."""
    if ":" in stored:
        return check_password_hash(stored, code)
    return secrets.compare_digest(stored, hashlib.sha256(code.encode()).hexdigest())


def issue_activation_code(db, enterprise_id, now):
    """A new one-time activation code of 80 random bits for the enterprise (older unused ones stop working);
    return (code, expires_at)."""
    symbols = "".join(secrets.choice(ACTIVATION_ALPHABET) for _ in range(16))
    code = "-".join(symbols[i:i + 4] for i in range(0, 16, 4))
    stored = generate_password_hash(symbols, method=ACTIVATION_HASH)
    expires_at = now_text(now + timedelta(days=ACTIVATION_DAYS))
    with immediate(db):
        db.execute("UPDATE activation_codes SET revoked_at = ? WHERE enterprise_id = ? AND used_at IS NULL "
                   "AND revoked_at IS NULL", [now_text(now), enterprise_id])
        db.execute("INSERT INTO activation_codes (enterprise_id, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?)",
                   [enterprise_id, stored, now_text(now), expires_at])
    return code, expires_at


def _activation_throttled(db, address, enterprise_id, now):
    since = now_text(now - CONFIRM_WINDOW)
    here = value(db, "SELECT count(*) FROM activation_failures WHERE address = ? AND failed_at > ?", [address, since])
    there = value(db, "SELECT count(*) FROM activation_failures WHERE enterprise_id = ? AND failed_at > ?",
                  [enterprise_id, since]) if enterprise_id else 0
    return here >= ACTIVATION_ATTEMPTS or there >= ACTIVATION_ENTERPRISE_ATTEMPTS


def activate(db, usci_code, code, username, password, name, now, hash_method="scrypt", address=""):
    """Create the firm user an activation code allows; the code then stops working. Returns the user id.

    Wrong codes are counted per client address and per enterprise, and refused with TooManyAttempts after
    ACTIVATION_ATTEMPTS; the codes are checked and the password hashed before the short write.
    """
    enterprise = enterprises.by_usci(db, usci_code or "")
    enterprise_id = enterprise["id"] if enterprise else None
    if _activation_throttled(db, address or "", enterprise_id, now):
        raise TooManyAttempts(Problem("activation_throttled", "too many wrong activation codes; try again in 15 minutes"))
    normalised = (code or "").strip().upper().replace(" ", "").replace("-", "")[:64]
    candidates = rows(db, """SELECT id, code_hash FROM activation_codes WHERE enterprise_id = ? AND used_at IS NULL
        AND revoked_at IS NULL AND expires_at > ?""", [enterprise_id, now_text(now)]) if enterprise else []
    found = next((c for c in candidates if _code_matches(c["code_hash"], normalised)), None)
    if not found:
        with immediate(db):
            db.execute("INSERT INTO activation_failures (address, enterprise_id, failed_at) VALUES (?, ?, ?)",
                       [address or "", enterprise_id, now_text(now)])
            db.execute("DELETE FROM activation_failures WHERE failed_at < ?", [now_text(now - CONFIRM_WINDOW)])
        raise BadCode(Problem("bad_activation_code", "the activation code is wrong, used or expired"))
    user = accounts.prepare_user(username, password, "firm", name=name, usci_code=enterprise["usci"],
                                 hash_method=hash_method)
    with immediate(db):
        if not db.execute("UPDATE activation_codes SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL",
                          [now_text(now), found["id"]]).rowcount:
            raise BadCode(Problem("bad_activation_code", "the activation code is wrong, used or expired"))
        user_id = accounts.insert_user(db, user)
        db.execute("UPDATE activation_codes SET used_by = ? WHERE id = ?", [user_id, found["id"]])
    return user_id


# ---- confirmation and evaluation ----------------------------------------------------------------------

def confirm_inspection(db, inspection_id, user, code, now, tz):
    """The firm attests the visit with the one-time code the inspector shows; wrong guesses are rate-limited."""
    inspections.inspection_for(db, inspection_id, user, "answer")
    since = now_text(now - CONFIRM_WINDOW)
    bad = None
    with immediate(db):  # status read under the lock: a void racing this confirmation wins or loses, never both
        failures = value(db, "SELECT count(*) FROM confirm_failures WHERE user_id = ? AND failed_at > ?",
                         [user["id"], since])
        if failures >= CONFIRM_ATTEMPTS:
            raise TooManyAttempts(Problem("confirm_throttled", "too many wrong codes; try again in 15 minutes"))
        current = row(db, "SELECT status, confirm_code, confirmed_at FROM inspections WHERE id = ?", [inspection_id])
        if current["status"] == "voided":
            raise NotConfirmable(Problem("not_confirmable", "a voided inspection cannot be confirmed"))
        # bytes: compare_digest refuses str with non-ASCII characters (a TypeError, i.e. a 500)
        if not secrets.compare_digest(str(code or "").strip().encode(), current["confirm_code"].encode()):
            db.execute("INSERT INTO confirm_failures (user_id, inspection_id, failed_at) VALUES (?, ?, ?)",
                       [user["id"], inspection_id, now_text(now)])
            db.execute("DELETE FROM confirm_failures WHERE failed_at < ?", [since])
            bad = BadCode(Problem("bad_code", "the confirmation code is wrong"))
        elif not current["confirmed_at"]:  # the right code again: already done, nothing to change
            at = now_text(now)
            db.execute("UPDATE inspections SET confirmed_at = ?, confirmed_by = ? WHERE id = ?", [at, user["id"], inspection_id])
            audit.append_journal(db, inspection_id, "confirm", at, {"by": user["username"]})
            stats.count_confirmation(db, inspection_id, tz)
    if bad:
        raise bad


def evaluate(db, inspection_id, user, rating, comment, now):
    """Rate a closed inspection once (1-5, optional comment); only supervisors ever see individual ratings."""
    inspections.inspection_for(db, inspection_id, user, "answer")
    with immediate(db):
        if value(db, "SELECT status FROM inspections WHERE id = ?", [inspection_id]) != "closed":
            raise NotClosed(Problem("not_closed", "only a closed inspection can be rated"))
        if value(db, "SELECT 1 FROM evaluations WHERE inspection_id = ?", [inspection_id]):
            raise AlreadyEvaluated(Problem("already_evaluated", "this inspection has already been rated"))
        cursor = db.execute("INSERT INTO evaluations (inspection_id, user_id, rating, comment, created_at) "
                            "VALUES (?, ?, ?, ?, ?)",
                            [inspection_id, user["id"], rating, (comment or "").strip() or None, now_text(now)])
        db.execute("""INSERT INTO agency_ratings (agency_id, ratings, total)
            SELECT agency_id, 1, ? FROM inspection_agencies WHERE inspection_id = ? ON CONFLICT (agency_id)
            DO UPDATE SET ratings = ratings + 1, total = total + excluded.total""", [rating, inspection_id])
    return cursor.lastrowid


def evaluation_of(db, inspection_id):
    """The firm's rating of an inspection, or None (for the firm and supervisors only)."""
    return row(db, "SELECT rating, comment, created_at FROM evaluations WHERE inspection_id = ?", [inspection_id])


def evaluations(db, limit=200, offset=0):
    """The latest individual ratings with their inspection and agencies, for supervisors."""
    return rows(db, """SELECT ev.inspection_id, ev.rating, ev.comment, ev.created_at, e.name AS enterprise,
        (SELECT group_concat(a.code, ', ') FROM inspection_agencies ia JOIN agencies a ON a.id = ia.agency_id
         WHERE ia.inspection_id = ev.inspection_id) AS agencies
        FROM evaluations ev CROSS JOIN inspections i ON i.id = ev.inspection_id CROSS JOIN enterprises e ON e.id = i.enterprise_id
        ORDER BY ev.id DESC LIMIT ? OFFSET ?""", [limit, offset])  # the newest ratings first, then their inspections


def agency_rating(db, agency_code):
    """(average, count) of an agency's ratings, or (None, count) while fewer than MIN_RATINGS exist."""
    # a counter kept by evaluate: averaging every rating of the agency would read every inspection it ever made
    found = row(db, """SELECT 1.0 * coalesce(sum(r.total), 0) / max(sum(r.ratings), 1) AS average,
        coalesce(sum(r.ratings), 0) AS n FROM agency_ratings r JOIN agencies a ON a.id = r.agency_id
        WHERE a.code = ?""", [agency_code])
    if found["n"] < MIN_RATINGS:
        return None, found["n"]
    return round(found["average"], 1), found["n"]


# ---- complaints --------------------------------------------------------------------------------------

def file_complaint(db, user, category, text, inspection_id, now):
    """File a complaint for the firm's enterprise, optionally about one of its inspections; return its id."""
    problems = {}
    if category not in CATEGORIES:
        problems["category"] = Problem("bad_category", "category must be one of {names}", names=", ".join(CATEGORIES))
    if not (text or "").strip():
        problems["text"] = Problem("no_text", "describe what happened")
    if inspection_id is not None:
        try:
            inspections.inspection_for(db, inspection_id, user, "answer")
        except NotFound:
            problems["inspection_id"] = Problem("not_your_inspection", "no inspection of your enterprise has this id")
    if problems:
        raise Invalid(problems)
    cursor = db.execute("INSERT INTO complaints (enterprise_id, user_id, inspection_id, category, text, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [user["enterprise_id"], user["id"], inspection_id, category, text.strip(), now_text(now)])
    return cursor.lastrowid


def complaints_of(db, enterprise_id):
    """The enterprise's complaints, newest first, with the supervisor's answers."""
    return rows(db, "SELECT * FROM complaints WHERE enterprise_id = ? ORDER BY created_at DESC, id DESC", [enterprise_id])


def complaints(db, status=None, limit=200, offset=0):
    """Complaints for the supervisor, optionally of one status, newest first."""
    # CROSS JOIN keeps complaints the outer loop whatever the planner's statistics say: a page of complaints, then
    # their enterprises by key (never the other way round, over millions of enterprises)
    sql = """SELECT c.*, e.name AS enterprise, e.usci FROM complaints c CROSS JOIN enterprises e ON e.id = c.enterprise_id"""
    if status:  # complaints_status holds (status, created_at) in order
        return rows(db, sql + " WHERE c.status = ? ORDER BY c.created_at DESC, c.id DESC LIMIT ? OFFSET ?",
                    [status, limit, offset])
    return rows(db, sql + " ORDER BY c.id DESC LIMIT ? OFFSET ?", [limit, offset])  # ids grow with created_at


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
        problems["status"] = Problem("bad_status", "status must be one of {names}", names=", ".join(COMPLAINT_STATUSES))
    if not (answer or "").strip():
        problems["answer"] = Problem("no_answer", "write an answer the firm will read")
    if problems:
        raise Invalid(problems)
    db.execute("UPDATE complaints SET status = ?, answer = ?, answered_by = ?, answered_at = ? WHERE id = ?",
               [status, answer.strip(), supervisor["id"], now_text(now), complaint_id])


def rated_ids(db, inspection_ids):
    """Which of these inspections the firm has rated."""
    if not inspection_ids:
        return set()
    marks = ",".join("?" * len(inspection_ids))
    return {r["inspection_id"] for r in rows(db, f"SELECT inspection_id FROM evaluations WHERE inspection_id IN ({marks})",
                                             list(inspection_ids))}


# ---- the firm's answers to the findings (SPEC §10) ------------------------------------------------------------

def _answer_text(text):
    text = (text or "").strip()
    if not text:
        raise Invalid({"text": Problem("no_text", "write the answer")})
    if len(text) > ANSWER_MAX:
        raise Invalid({"text": Problem("long_text", "at most {most} characters", most=ANSWER_MAX)})
    return text


def make_statement(db, inspection_id, user, text, now, days=rules.STATEMENT_DAYS):
    """The firm's one written answer to the findings (陈述申辩), after closing and within `days`; journaled. Returns
    {text, created_at}; StatementClosed or AlreadyStated otherwise."""
    inspections.inspection_for(db, inspection_id, user, "answer")
    text, at = _answer_text(text), now_text(now)
    with immediate(db):
        found = row(db, """SELECT status, closed_at, EXISTS (SELECT 1 FROM statements s WHERE s.inspection_id = i.id)
                           AS stated FROM inspections i WHERE id = ?""", [inspection_id])
        problem = rules.statement_problem(found["status"], found["closed_at"] and parse_time(found["closed_at"]), now,
                                          days, found["stated"])
        if problem:
            raise {"already_stated": AlreadyStated, "statement_closed": StatementClosed}[problem.code](problem)
        db.execute("INSERT INTO statements (inspection_id, text, user_id, created_at) VALUES (?, ?, ?, ?)",
                   [inspection_id, text, user["id"], at])
        audit.append_journal(db, inspection_id, "statement", at, {"text": text, "by": user["username"]})
    return {"text": text, "created_at": at}


def report_rectification(db, store, inspection_id, user, text, uploads, now):
    """The firm's report that it has rectified (text and up to RECTIFICATION_PHOTOS photos), once, for an inspection
    closed with `rectify`; journaled, and the recheck is then offered to its inspectors."""
    inspections.inspection_for(db, inspection_id, user, "answer")
    text, at = _answer_text(text), now_text(now)
    if len(uploads) > RECTIFICATION_PHOTOS:
        raise Invalid({"photos": Problem("too_many_photos", "at most {most} photos", most=RECTIFICATION_PHOTOS)})
    _rectifiable(db, inspection_id)  # before any file is written; checked again under the lock
    prepared = [photos.prepare(data) for data in uploads]  # the slow part, before the write lock
    hashes = [photos.save_file(store, p[0], p[1]) for p in prepared]
    with immediate(db):
        _rectifiable(db, inspection_id)
        for stored, sha256 in zip(prepared, hashes):
            photos.insert_photo(db, inspection_id, None, "rectification", stored, sha256, user, at)
        db.execute("INSERT INTO rectifications (inspection_id, text, user_id, created_at) VALUES (?, ?, ?, ?)",
                   [inspection_id, text, user["id"], at])
        audit.append_journal(db, inspection_id, "rectification", at, {"text": text, "by": user["username"]})
    return {"text": text, "created_at": at}


def _rectifiable(db, inspection_id):
    """NotRectifiable or AlreadyReported unless the inspection may have its rectification reported now."""
    found = row(db, """SELECT status, result, EXISTS (SELECT 1 FROM rectifications r WHERE r.inspection_id = i.id)
                       AS reported FROM inspections i WHERE id = ?""", [inspection_id])
    problem = rules.rectification_problem(found["status"], found["result"], found["reported"])
    if problem:
        raise {"already_reported": AlreadyReported, "not_rectifiable": NotRectifiable}[problem.code](problem)


RECHECK_PENDING = """NOT EXISTS (SELECT 1 FROM inspections c WHERE c.recheck_of = r.inspection_id
    AND c.status != 'voided')"""


def rechecks_offered(db, user_id, limit=20):
    """Inspections the inspector took part in whose firm has reported its rectification and which nobody has
    rechecked yet, newest report first: [{inspection_id, enterprise, created_at, text}]."""
    return rows(db, f"""SELECT r.inspection_id, e.name AS enterprise, e.usci, r.created_at, r.text
        FROM inspection_inspectors ii JOIN rectifications r ON r.inspection_id = ii.inspection_id
        JOIN inspections i ON i.id = r.inspection_id JOIN enterprises e ON e.id = i.enterprise_id
        WHERE ii.user_id = ? AND {RECHECK_PENDING} ORDER BY r.created_at DESC LIMIT ?""", [user_id, limit])


def rechecks_due_at(db, enterprise_id):
    """The enterprise's inspections with a reported rectification and no recheck yet (offered on the scan page)."""
    return rows(db, f"""SELECT r.inspection_id, r.created_at, r.text, i.rectify_by FROM inspections i
        JOIN rectifications r ON r.inspection_id = i.id WHERE i.enterprise_id = ? AND i.result = 'rectify'
        AND {RECHECK_PENDING} ORDER BY r.created_at DESC LIMIT 5""", [enterprise_id])
