"""Tasks before the door in the JSON API (SPEC §9): an inspector drafts, the agency's head approves or rejects, either
cancels, and heads join two agencies' tasks into one visit. Routes are added to the same /api/v1 blueprint as
web/api.py; who may do what with a task is decided in logbook.tasks (`allowed`), never here."""

from flask import current_app

from logbook import tasks

from . import database, now, schemas, today
from .api import AUTH, blp, caller, documented

DECIDED = ("approved", "done", "expired", "cancelled")  # statuses a task decided by a head can have after approval



def tasks_json(db, found):
    """Tasks as the contract shows them; approved_by and approved_at once a head has approved."""
    names = tasks.usernames(db, [t["decided_by"] for t in found])
    return [task_json(t, names) for t in found]


def task_json(task, names):
    """One task as the contract shows it, given {user id: username} of the heads who decided."""
    shown = {key: task[key] for key in ("id", "agency", "kind", "items", "window_start", "window_end", "status",
                                        "source", "reason", "note", "inspection_id", "joint_with")}
    shown["enterprise"] = {"id": task["enterprise_id"], "usci": task["usci"], "name": task["enterprise_name"]}
    shown["inspectors"] = [{"username": p["username"], "name": p["name"], "cert_no": p["cert_no"]}
                           for p in task["inspectors"]]
    shown["notice"] = bool(task["notice"])
    if task["decided_by"] is not None and task["status"] in DECIDED:  # a cancelled task was approved if decided
        shown["approved_by"], shown["approved_at"] = names.get(task["decided_by"]), task["decided_at"]
    return shown


def one(db, task_id):
    """The task as it is now, as the contract shows it."""
    return tasks_json(db, [tasks.task_by_id(db, task_id, today())])[0]


@blp.route("/tasks", methods=["POST"])
@blp.arguments(schemas.TaskRequest())
@blp.response(201, schemas.Task)
@documented(401, 404, 413, 422)
@blp.doc(security=AUTH)
def draft_task(body):
    """Draft a task for the caller's agency: its head approves or rejects it before anyone goes to the door; with
    notice, the window opens LOGBOOK_NOTICE_DAYS ahead at least."""
    user = caller("inspector")
    db = database()
    notice_days = current_app.config["LOGBOOK_NOTICE_DAYS"]
    task_id = tasks.draft_task(db, user, tasks.TaskRequest(**body), now(), today(), notice_days)
    return one(db, task_id)


@blp.route("/tasks", methods=["GET"])
@blp.arguments(schemas.TaskQuery(), location="query")
@blp.response(200, schemas.TaskList)
@documented(401, 404, 422)
@blp.doc(security=AUTH)
def list_tasks(query):
    """The caller's tasks, newest first (50): an inspector's drafted or named ones, a head's agency's, all for a
    supervisor; optionally of one status as of today."""
    user = caller("inspector", "head", "supervisor")
    db = database()
    return {"tasks": tasks_json(db, tasks.tasks_for_user(db, user, today(), query.get("status"),
                                                         before=query.get("before")))}


@blp.route("/tasks/matches", methods=["GET"])
@blp.response(200, schemas.TaskMatches)
@documented(401, 404)
@blp.doc(security=AUTH)
def task_matches():
    """Joint visits on offer (拼团): per enterprise, the caller's approved tasks and other agencies' whose windows
    overlap them, not yet joined."""
    user = caller("inspector", "head")
    db = database()
    return {"matches": [dict(m, tasks=tasks_json(db, m["tasks"])) for m in tasks.matches(db, user, today())]}


@blp.route("/tasks/<int:task_id>/cancel", methods=["POST"])
@blp.arguments(schemas.CancelTaskRequest())
@blp.response(200, schemas.Task)
@documented(401, 404, 409, 413, 422)
@blp.doc(security=AUTH)
def cancel_task(body, task_id):
    """Its drafter or the agency's head cancels a task that is not done, rejected or cancelled yet."""
    user = caller("inspector", "head")
    db = database()
    tasks.cancel_task(db, task_id, user, body["reason"], now(), today())
    return one(db, task_id)


@blp.route("/tasks/<int:task_id>/approve", methods=["POST"])
@blp.arguments(schemas.ApproveTaskRequest())
@blp.response(200, schemas.Task)
@documented(401, 404, 409, 413, 422)
@blp.doc(security=AUTH)
def approve_task(body, task_id):
    """The agency's head approves a submitted task; with notice, its window must open LOGBOOK_NOTICE_DAYS ahead."""
    user = caller("head")
    db = database()
    notice_days = current_app.config["LOGBOOK_NOTICE_DAYS"]
    tasks.approve_task(db, task_id, user, body.get("note"), now(), today(), notice_days)
    return one(db, task_id)


@blp.route("/tasks/<int:task_id>/reject", methods=["POST"])
@blp.arguments(schemas.RejectTaskRequest())
@blp.response(200, schemas.Task)
@documented(401, 404, 409, 413, 422)
@blp.doc(security=AUTH)
def reject_task(body, task_id):
    """The agency's head rejects a submitted task, saying why."""
    user = caller("head")
    db = database()
    tasks.reject_task(db, task_id, user, body["reason"], now(), today())
    return one(db, task_id)


@blp.route("/tasks/<int:task_id>/join", methods=["POST"])
@blp.arguments(schemas.JoinTaskRequest())
@blp.response(200, schemas.Task)
@documented(401, 404, 409, 413, 422)
@blp.doc(security=AUTH)
def join_task(body, task_id):
    """The head of either agency joins two approved tasks for one enterprise whose windows overlap into one visit."""
    user = caller("head")
    db = database()
    tasks.join_tasks(db, task_id, body["task_id"], user, now(), today())
    return one(db, task_id)
