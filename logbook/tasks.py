"""Tasks before the door (SPEC §9, 凡检查必审批): an inspector drafts a task for a firm, the agency's head approves
or rejects it, and the inspection is started from it at the door, which marks it done.

A task's window is a pair of local dates, both included. An approved task whose window has passed is `expired`:
that status is worked out when read (rules.task_status), never written, so no clock has to sweep the table.
Every step is a row of task_steps (who, when, what, the note given) and an entry of the journal's hash chain with
the task's state after it (audit.append_task_step), so `flask journal verify` catches a task edited behind the app.
"""

from dataclasses import dataclass, field
from datetime import date

from . import audit, enterprises, inbox, rules
from .db import immediate, now_text, rows, value
from .errors import Invalid, NotFound, NotMatchable, NotSubmitted, Problem, TaskClosed, TaskRequired

COLUMNS = """t.id, t.agency_id, a.code AS agency, a.name AS agency_name, t.enterprise_id, e.usci, e.name AS enterprise_name,
  t.kind, t.window_start, t.window_end, t.reason, t.notice, t.source, t.draw_id, t.status, t.drafted_by, t.drafted_at,
  t.decided_by, t.decided_at, t.note, t.inspection_id, t.joint_id, t.proposed_day, t.proposal_answer"""
FROM = "FROM tasks t JOIN agencies a ON a.id = t.agency_id JOIN enterprises e ON e.id = t.enterprise_id"


@dataclass
class TaskRequest:
    """What an inspector drafts (SPEC §9, POST /api/v1/tasks)."""

    kind: str
    window_start: date | None
    window_end: date | None
    qr_token: str | None = None
    usci: str | None = None
    items: list = field(default_factory=list)
    inspectors: list = field(default_factory=list)
    reason: str | None = None
    notice: bool = False


# ---- reads -----------------------------------------------------------------------------------------------

def tasks_by_ids(db, ids, today):
    """Full tasks (inspectors, items, status as of today), in the order given."""
    ids = list(ids)
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    found = {t["id"]: t for t in rows(db, f"SELECT {COLUMNS} {FROM} WHERE t.id IN ({marks})", ids)}
    people, things = {}, {}
    for r in rows(db, f"""SELECT ti.task_id, u.id, u.username, u.name, u.cert_no, u.cert_expires_on FROM task_inspectors ti
                          JOIN users u ON u.id = ti.user_id WHERE ti.task_id IN ({marks}) ORDER BY u.username""", ids):
        people.setdefault(r.pop("task_id"), []).append(r)
    for r in rows(db, f"""SELECT ti.task_id, it.id, it.code, it.name, it.basis FROM task_items ti
                          JOIN items it ON it.id = ti.item_id WHERE ti.task_id IN ({marks}) ORDER BY it.code""", ids):
        things.setdefault(r.pop("task_id"), []).append(r)
    joined = {}
    joints = {t["joint_id"] for t in found.values() if t["joint_id"]}
    if joints:
        for r in rows(db, f"SELECT id, joint_id FROM tasks WHERE joint_id IN ({','.join('?' * len(joints))})",
                      list(joints)):
            joined.setdefault(r["joint_id"], []).append(r["id"])
    tasks = []
    for task_id in ids:
        if task_id not in found:
            continue
        t = found[task_id]
        t["status"] = rules.task_status(t["status"], date.fromisoformat(t["window_end"]), today)
        t["inspectors"], t["item_details"] = people.get(task_id, []), things.get(task_id, [])
        t["items"] = [i["code"] for i in t["item_details"]]
        t["joint_with"] = sorted(i for i in joined.get(t["joint_id"], []) if i != task_id)
        tasks.append(t)
    return tasks


def task_by_id(db, task_id, today):
    """One task, or None (also for ids no table can hold)."""
    if not 0 < task_id < 2**63:
        return None
    found = tasks_by_ids(db, [task_id], today)
    return found[0] if found else None


def allowed(task, user, may="see"):
    """Whether the user may see a task, decide on it (its agency's head), cancel it (its drafter or that head) or
    start it (one of its inspectors); one rule per verb, in one place."""
    head = user["role"] == "head" and user["agency_id"] == task["agency_id"]
    named = any(p["id"] == user["id"] for p in task["inspectors"])
    if may == "decide":
        return head
    if may == "cancel":
        return head or task["drafted_by"] == user["id"]
    if may == "start":
        return user["role"] == "inspector" and named
    return head or named or task["drafted_by"] == user["id"] or user["role"] == "supervisor"


def task_for(db, task_id, user, today, may="see"):
    """The task if the user may do `may` with it; NotFound otherwise (not yours answers 404)."""
    found = task_by_id(db, task_id, today)
    if found is None or not allowed(found, user, may):
        raise NotFound(Problem("not_found", "no such task"))
    return found


def tasks_for_user(db, user, today, status=None, limit=50, before=None):
    """The tasks a user deals with, newest first: an inspector's own (drafted or named), a head's agency's, all of
    them for a supervisor; optionally of one status as of today (expired: approved, window passed)."""
    params = {"before": min(before or 2**63 - 1, 2**63 - 1), "limit": limit, "user": user["id"],
              "agency": user["agency_id"], "status": status, "today": today.isoformat()}
    if user["role"] == "head":
        where = "t.agency_id = :agency"
    elif user["role"] == "supervisor":
        where = "1"
    else:  # the drafter is always one of the task's inspectors
        where = "t.id IN (SELECT task_id FROM task_inspectors WHERE user_id = :user AND task_id < :before)"
    if status == "approved":
        where += " AND t.status = 'approved' AND t.window_end >= :today"
    elif status == "expired":
        where += " AND t.status = 'approved' AND t.window_end < :today"
    elif status is not None:
        where += " AND t.status = :status"
    ids = [r["id"] for r in rows(db, f"""SELECT t.id FROM tasks t WHERE {where} AND t.id < :before
                                         ORDER BY t.id DESC LIMIT :limit""", params)]
    return tasks_by_ids(db, ids, today)


def task_ids_of_inspection(db, inspection_id):
    """The tasks an inspection was started from (two for a joint visit), or approved afterwards."""
    return [r["id"] for r in rows(db, "SELECT id FROM tasks WHERE inspection_id = ? ORDER BY id", [inspection_id])]


def steps_of(db, task_id):
    """Every step of a task, oldest first, with who took it."""
    return rows(db, """SELECT s.action, s.at, s.note, u.name AS by_name, u.role AS by_role FROM task_steps s
        LEFT JOIN users u ON u.id = s.by_user WHERE s.task_id = ? ORDER BY s.id""", [task_id])


def startable(db, user, enterprise_id, today):
    """Approved tasks for this enterprise the user is named in and whose window contains today, oldest first: what
    the scan page offers to start."""
    ids = [r["task_id"] for r in rows(db, """SELECT ti.task_id FROM task_inspectors ti JOIN tasks t ON t.id = ti.task_id
        WHERE ti.user_id = ? AND t.enterprise_id = ? AND t.status = 'approved' AND t.window_start <= ?
        AND t.window_end >= ? ORDER BY t.window_start, t.id""", [user["id"], enterprise_id, today.isoformat(),
                                                                  today.isoformat()])]
    return tasks_by_ids(db, ids, today)


# ---- writes ----------------------------------------------------------------------------------------------

def draft_task(db, caller, request, now, today, notice_days=0):
    """Draft a task for the caller's agency (status submitted); return its id. The caller is always one of its
    inspectors; every inspector must be of the agency and certified through the window's end; with notice, the
    window opens notice_days ahead at least (checked again on approval)."""
    if caller["role"] != "inspector" or caller["agency_id"] is None:
        raise NotFound(Problem("not_found", "only an agency's inspectors draft tasks"))
    enterprise = _enterprise(db, request)
    usernames = list(dict.fromkeys([caller["username"], *request.inspectors]))[:20]
    people = rows(db, f"""SELECT id, username, cert_no, cert_expires_on FROM users WHERE role = 'inspector' AND active = 1
        AND agency_id = ? AND username IN ({','.join('?' * len(usernames))})""", [caller["agency_id"], *usernames])
    codes = list(dict.fromkeys(request.items))[:100]
    things = rows(db, f"""SELECT id, code FROM items WHERE active = 1 AND agency_id = ?
        AND code IN ({','.join('?' * len(codes))})""", [caller["agency_id"], *codes]) if codes else []
    certified = sum(1 for p in people if request.window_end
                    and rules.certificate_valid(p["cert_no"], p["cert_expires_on"], request.window_end))
    problems = rules.task_problems(request.kind, request.window_start, request.window_end, today, certified, codes)
    if request.notice and request.window_start and "window_end" not in problems:
        late = rules.notice_problem(request.window_start, today, notice_days)
        if late:
            problems["window_start"] = late
    strangers = [u for u in usernames if u not in {p["username"] for p in people}]
    if strangers:
        problems["inspectors"] = Problem("outsider", "not an active inspector of your agency: {names}",
                                         names=", ".join(strangers))
    unknown = [c for c in codes if c not in {t["code"] for t in things}]
    if unknown:
        problems["items"] = Problem("item_outside", "not on your agency's active list: {codes}", codes=", ".join(unknown))
    if problems:
        raise Invalid(problems)
    with immediate(db):
        return insert_task(db, caller, caller["agency_id"], enterprise["id"], request.kind, request.window_start,
                           request.window_end, [p["id"] for p in people], [t["id"] for t in things], now,
                           reason=request.reason, notice=request.notice)


def insert_task(db, by, agency_id, enterprise_id, kind, window_start, window_end, user_ids, item_ids, now, reason=None,
                notice=False, source="manual", draw_id=None, inspection_id=None):
    """Write a submitted task, its inspectors and items and its first step, inside the caller's transaction (a draft
    checked by draft_task, or a firm drawn by draws); return its id."""
    at = now_text(now)
    task_id = db.execute("""INSERT INTO tasks (agency_id, enterprise_id, kind, window_start, window_end, reason, notice,
        source, draw_id, drafted_by, drafted_at, inspection_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", [
        agency_id, enterprise_id, kind, window_start.isoformat(), window_end.isoformat(), (reason or "").strip() or None,
        int(bool(notice)), source, draw_id, by["id"], at, inspection_id]).lastrowid
    _link(db, task_id, user_ids, item_ids)
    record_step(db, task_id, source if source in ("draw", "backfill") else "draft", by, at)
    return task_id


def _enterprise(db, request):
    if request.qr_token:
        return enterprises.enterprise_for_code(db, request.qr_token[:64])
    found = enterprises.by_usci(db, (request.usci or "")[:40])
    if not found:
        raise Invalid({"usci": Problem("unknown_usci", "no enterprise has this USCI")})
    return found


def _link(db, task_id, user_ids, item_ids):
    db.conn.executemany("INSERT INTO task_inspectors (task_id, user_id) VALUES (?, ?)", [(task_id, u) for u in user_ids])
    db.conn.executemany("INSERT INTO task_items (task_id, item_id) VALUES (?, ?)", [(task_id, i) for i in item_ids])


def record_step(db, task_id, action, user, at, note=None):
    """A step of a task, after its change, inside the caller's transaction: listed on the task's page and chained
    into the journal with the task's state, so an edit behind the app's back is caught by `flask journal verify`."""
    db.execute("INSERT INTO task_steps (task_id, action, by_user, at, note) VALUES (?, ?, ?, ?, ?)",
               [task_id, action, user["id"] if user else None, at, note])
    audit.append_task_step(db, task_id, action, user["username"] if user else None, at, note)



def approve_task(db, task_id, head, note, now, today, notice_days):
    """The head approves a submitted task of the agency; with notice, its window must open notice_days ahead. An
    exempt inspection's approval recorded afterwards (source backfill) is done at once."""
    found = task_for(db, task_id, head, today, "decide")
    if found["status"] != "submitted":  # the state first: a second approval is a conflict, not a bad window
        raise NotSubmitted(Problem("not_submitted", "the task is {status}, not submitted", status=found["status"]))
    if found["source"] == "backfill":
        return _decide(db, found["id"], head, "done", note, now, today, step="approved")
    if date.fromisoformat(found["window_end"]) < today:
        raise Invalid({"window_end": Problem("window_passed", "the window has already passed")})
    if found["notice"]:
        problem = rules.notice_problem(date.fromisoformat(found["window_start"]), today, notice_days)
        if problem:
            raise Invalid({"window_start": problem})
    _decide(db, found["id"], head, "approved", note, now, today)


def reject_task(db, task_id, head, reason, now, today):
    """The head rejects a submitted task of the agency, saying why."""
    task_for(db, task_id, head, today, "decide")
    if not (reason or "").strip():
        raise Invalid({"reason": Problem("no_reject_reason", "say why the task is rejected")})
    _decide(db, task_id, head, "rejected", reason, now, today)


def _decide(db, task_id, head, status, note, now, today, step=None):
    at = now_text(now)
    with immediate(db):  # the status is read under the lock: two heads deciding at once, one wins
        current = value(db, "SELECT status FROM tasks WHERE id = ?", [task_id])
        if current != "submitted":
            raise NotSubmitted(Problem("not_submitted", "the task is {status}, not submitted", status=current))
        db.execute("UPDATE tasks SET status = ?, decided_by = ?, decided_at = ?, note = ? WHERE id = ?",
                   [status, head["id"], at, (note or "").strip() or None, task_id])
        record_step(db, task_id, step or status, head, at, note)
        if status == "approved":
            inbox.notify_notice(db, task_id, at)  # when the task gives notice: the firm hears of it now


def cancel_task(db, task_id, user, reason, now, today):
    """Its drafter or the agency's head cancels a task that is not done yet."""
    found = task_for(db, task_id, user, today, "cancel")
    if found["status"] == "expired":
        raise TaskClosed(Problem("task_closed", "the task is {status}", status="expired"))
    if not (reason or "").strip():
        raise Invalid({"reason": Problem("no_cancel_reason", "say why the task is cancelled")})
    at = now_text(now)
    with immediate(db):
        current = value(db, "SELECT status FROM tasks WHERE id = ?", [task_id])
        if current in ("done", "cancelled", "rejected"):
            raise TaskClosed(Problem("task_closed", "the task is {status}", status=current))
        db.execute("UPDATE tasks SET status = 'cancelled', joint_id = NULL WHERE id = ?", [task_id])
        record_step(db, task_id, "cancelled", user, at, reason.strip())
        # a joint visit of two is no longer joint: the partner goes on alone
        alone = [r[0] for r in db.execute("""SELECT id FROM tasks WHERE joint_id = ? AND
                                             (SELECT count(*) FROM tasks WHERE joint_id = ?) < 2""",
                                          [found["joint_id"], found["joint_id"]]).fetchall()]
        for partner in alone:
            db.execute("UPDATE tasks SET joint_id = NULL WHERE id = ?", [partner])
            record_step(db, partner, "unjoined", user, at, f"task {task_id} cancelled")


def insert_backfill(db, caller, inspection_id, agency_id, enterprise_id, kind, day, user_ids, item_ids, now):
    """Inside an exempt inspection's start (when approval is required for some kinds): the approval it did not need
    beforehand, waiting for the head as a submitted task that is done once approved (SPEC §9, backfill)."""
    insert_task(db, caller, agency_id, enterprise_id, kind, day, day, user_ids, item_ids, now,
                reason=f"inspection {inspection_id}", source="backfill", inspection_id=inspection_id)


def overdue(task, today, backfill_days):
    """True for an approval recorded afterwards that is still missing after backfill_days (a warning)."""
    return (task["source"] == "backfill" and task["status"] == "submitted"
            and (today - date.fromisoformat(task["window_start"])).days > backfill_days)


# ---- the door --------------------------------------------------------------------------------------------

def task_for_start(db, caller, task_id, kind, enterprise_id, day, task_required):
    """The task an inspection starts from (the tasks joined to it as `partners`), or None when it needs none. With
    a task_id: that task, which must be approved, of this enterprise, cover the day and name the caller. Without
    one, for a kind in task_required: the oldest approved task of the caller's agency that covers this enterprise
    on that day. Else TaskRequired."""
    if task_id is not None:
        found = task_by_id(db, task_id, day)
        if found is None or not allowed(found, caller, "start"):
            raise NotFound(Problem("not_found", "no such task"))
        partners = tasks_by_ids(db, found["joint_with"], day)
        for task in [found, *partners]:  # a joint visit happens on a day inside every joined task's window
            if (task["status"] != "approved" or task["enterprise_id"] != enterprise_id
                    or not rules.covers(date.fromisoformat(task["window_start"]), date.fromisoformat(task["window_end"]),
                                        day)):
                raise TaskRequired(Problem("task_not_startable", "task {id} is {status}, or not for this enterprise and "
                                           "day", id=task["id"], status=task["status"]))
        if kind and kind != found["kind"]:  # else a routine task could start an exempt, uncounted inspection
            raise Invalid({"kind": Problem("not_the_tasks_kind", "task {id} is a {kind} inspection", id=task_id,
                                           kind=found["kind"])})
        return found | {"partners": partners}
    if kind not in task_required:
        return None
    # a joint visit starts from its task on the scan page, where every joined agency's inspectors are named
    oldest = value(db, """SELECT id FROM tasks WHERE enterprise_id = ? AND agency_id = ? AND status = 'approved'
        AND kind = ? AND joint_id IS NULL AND window_start <= ? AND window_end >= ? ORDER BY window_start, id LIMIT 1""",
                   [enterprise_id, caller["agency_id"], kind, day.isoformat(), day.isoformat()])
    if oldest is None:
        raise TaskRequired(Problem("task_required", "a {kind} inspection needs a task approved by your agency's head "
                                   "for this enterprise, covering today", kind=kind))
    return task_by_id(db, oldest, day) | {"partners": []}  # never a joined task (see the query)


def mark_done(db, task, inspection_id, caller, at):
    """Inside the start's transaction: the task (and any joined with it) is done by this inspection; a task another
    start took first answers TaskRequired, which rolls the start back."""
    ids = [task["id"], *task["joint_with"]]
    marks = ",".join("?" * len(ids))
    done = db.execute(f"UPDATE tasks SET status = 'done', inspection_id = ? WHERE id IN ({marks}) AND status = 'approved'",
                      [inspection_id, *ids]).rowcount
    if done != len(ids):
        raise TaskRequired(Problem("task_taken", "task {id} was started already", id=task["id"]))
    for task_id in ids:
        record_step(db, task_id, "done", caller, at, f"inspection {inspection_id}")


# ---- joint visits (拼团) ----------------------------------------------------------------------------------

def usernames(db, user_ids):
    """{user id: username} for the ids (inactive users too: who approved a task stays on record)."""
    ids = [i for i in set(user_ids) if i is not None]
    if not ids:
        return {}
    return {r["id"]: r["username"] for r in rows(db, f"SELECT id, username FROM users WHERE id IN "
                                                     f"({','.join('?' * len(ids))})", ids)}


def _matchable(task):
    """What rules.match_problem looks at, the window as dates."""
    return {"agency": task["agency"], "enterprise_id": task["enterprise_id"], "status": task["status"],
            "window_start": date.fromisoformat(task["window_start"]), "window_end": date.fromisoformat(task["window_end"])}


def matches(db, user, today, limit=200):
    """The joint visits on offer to a head (tasks of the agency) or an inspector (tasks they are named in), grouped by
    enterprise: [{enterprise, tasks}], each group the caller's approved, unexpired, not yet joined tasks there and the
    other agencies' such tasks whose windows overlap theirs."""
    if user["role"] == "head":
        mine = "a.agency_id = :agency"
    elif user["role"] == "inspector":
        mine = "a.id IN (SELECT task_id FROM task_inspectors WHERE user_id = :user)"
    else:
        return []
    pairs = rows(db, f"""SELECT a.id AS mine, b.id AS other FROM tasks a JOIN tasks b ON b.enterprise_id = a.enterprise_id
        AND b.agency_id != a.agency_id AND b.status = 'approved' AND b.joint_id IS NULL AND b.window_end >= :today
        AND b.window_start <= a.window_end AND a.window_start <= b.window_end
        WHERE {mine} AND a.status = 'approved' AND a.joint_id IS NULL AND a.window_end >= :today
        ORDER BY a.enterprise_id, a.id, b.id LIMIT :limit""",
                 {"agency": user["agency_id"], "user": user["id"], "today": today.isoformat(), "limit": limit})
    found = {t["id"]: t for t in tasks_by_ids(db, {i for p in pairs for i in (p["mine"], p["other"])}, today)}
    groups = {}
    for p in pairs:  # the pure rule has the last word on every pair the query offers
        a, b = found[p["mine"]], found[p["other"]]
        if rules.match_problem(_matchable(a), _matchable(b), today) is None:
            group = groups.setdefault(a["enterprise_id"], {
                "enterprise": {"id": a["enterprise_id"], "usci": a["usci"], "name": a["enterprise_name"]}, "tasks": {}})
            group["tasks"].update({a["id"]: a, b["id"]: b})
    return [dict(g, tasks=[g["tasks"][i] for i in sorted(g["tasks"])]) for g in groups.values()]


def join_tasks(db, task_id, other_id, head, now, today):
    """The head of either task's agency joins two tasks into one visit: both get the same joint_id (the smaller id),
    and starting either then records one joint inspection that marks both done. NotFound unless the caller heads
    one of the agencies (and, heading one only, the other task is for the same enterprise, so nothing else leaks);
    NotMatchable unless rules.match_problem finds nothing and neither is joined already."""
    a, b = task_by_id(db, task_id, today), task_by_id(db, other_id, today)
    if a is None or b is None:
        raise NotFound(Problem("not_found", "no such task"))
    own = [t for t in (a, b) if allowed(t, head, "decide")]
    if not own or (len(own) == 1 and a["enterprise_id"] != b["enterprise_id"]):
        raise NotFound(Problem("not_found", "no such task"))
    problem = rules.match_problem(_matchable(a), _matchable(b), today) or _joined_problem(a, b)
    if problem:
        raise NotMatchable(problem)
    at = now_text(now)
    with immediate(db):  # read again under the lock: a start, a cancel or another join may have come first
        current = rows(db, "SELECT id, status, joint_id FROM tasks WHERE id IN (?, ?)", [a["id"], b["id"]])
        problem = _joined_problem(*current) or next((
            Problem("tasks_not_approved", "only approved tasks are joined") for r in current if r["status"] != "approved"),
            None)
        if problem:
            raise NotMatchable(problem)
        db.execute("UPDATE tasks SET joint_id = ? WHERE id IN (?, ?)", [min(a["id"], b["id"]), a["id"], b["id"]])
        for task, other in ((a, b), (b, a)):
            record_step(db, task["id"], "joined", head, at, f"task {other['id']}")


def _joined_problem(*found):
    """A task already joined with another agency's is not joined again (a visit pairs two tasks)."""
    joined = next((t for t in found if t["joint_id"] is not None), None)
    if joined:
        return Problem("already_joined", "task {id} is already joined with another agency's task", id=joined["id"])
    return None
