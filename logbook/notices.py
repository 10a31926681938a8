"""Advance notice to the firm (检查预告, SPEC §9): an approved task with notice reaches the firm's inbox with the
agency, the window, the items and their legal basis, the inspectors and their certificate numbers and the firm's
rights; the firm may propose a day inside the window, which the task's inspectors accept or decline."""

from datetime import date

from . import rules, tasks
from .db import immediate, now_text, rows
from .errors import Invalid, NotFound, Problem

RIGHTS = ("statement", "recusal", "identification", "complaint")  # 陈述申辩, 申请回避, 要求出示证件, 投诉
ANSWERS = ("accepted", "declined")


def notice_of(task):
    """The notice a task gives (SPEC §9): {task_id, agency, window_start, window_end, items, inspectors, rights,
    proposed_day}, with the proposal's answer."""
    return {"task_id": task["id"], "agency": task["agency_name"], "agency_code": task["agency"],
            "enterprise": {"id": task["enterprise_id"], "usci": task["usci"], "name": task["enterprise_name"]},
            "kind": task["kind"], "window_start": task["window_start"], "window_end": task["window_end"],
            "items": [{"code": i["code"], "name": i["name"], "basis": i["basis"]} for i in task["item_details"]],
            "inspectors": [{"name": p["name"], "cert_no": p["cert_no"]} for p in task["inspectors"]],
            "reason": task["reason"], "rights": list(RIGHTS), "proposed_day": task["proposed_day"],
            "proposal_answer": task["proposal_answer"], "status": task["status"]}


def notices_for(db, enterprise_id, today, limit=50):
    """The firm's notices of approved tasks whose window has not passed, soonest first."""
    ids = [r["id"] for r in rows(db, """SELECT id FROM tasks WHERE enterprise_id = ? AND notice = 1
        AND status = 'approved' AND window_end >= ? ORDER BY window_start, id LIMIT ?""",
                                 [enterprise_id, today.isoformat(), limit])]
    return [notice_of(t) for t in tasks.tasks_by_ids(db, ids, today)]


def notice_for(db, task_id, firm_user, today):
    """One notice for the firm it is addressed to (approved, done or expired tasks with notice); NotFound else."""
    found = tasks.task_by_id(db, task_id, today)
    if (found is None or not found["notice"] or firm_user["role"] != "firm"
            or found["enterprise_id"] != firm_user["enterprise_id"] or found["status"] in ("submitted", "rejected")):
        raise NotFound(Problem("not_found", "no such notice"))
    return notice_of(found)


def propose_day(db, task_id, firm_user, day, now, today):
    """The firm proposes a day inside the window (today or later) for the visit; a new proposal replaces the last."""
    notice = notice_for(db, task_id, firm_user, today)
    start, end = date.fromisoformat(notice["window_start"]), date.fromisoformat(notice["window_end"])
    if day is None or not rules.covers(max(start, today), end, day) or notice["status"] != "approved":
        raise Invalid({"day": Problem("day_outside_window", "propose a day from {start} to {end}",
                                      start=max(start, today).isoformat(), end=end.isoformat())})
    at = now_text(now)
    with immediate(db):
        db.execute("UPDATE tasks SET proposed_day = ?, proposal_answer = NULL WHERE id = ?", [day.isoformat(), task_id])
        tasks.record_step(db, task_id, "proposed", firm_user, at, day.isoformat())


def answer_proposal(db, task_id, inspector, answer, now, today):
    """One of the task's inspectors accepts or declines the day the firm proposed."""
    found = tasks.task_for(db, task_id, inspector, today, "start")
    if answer not in ANSWERS or not found["proposed_day"]:
        raise Invalid({"answer": Problem("no_proposal", "there is no proposed day to answer")})
    at = now_text(now)
    with immediate(db):
        db.execute("UPDATE tasks SET proposal_answer = ? WHERE id = ?", [answer, task_id])
        tasks.record_step(db, task_id, answer, inspector, at, found["proposed_day"])
