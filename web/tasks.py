"""Tasks before the door (SPEC §9): inspectors draft them, their agency's head approves or rejects them, and the
inspection starts from one at the firm's door (the scan page offers the tasks that cover today)."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from logbook import accounts, agencies, draws, enterprises, errors, notices, rules, tasks

from . import database, now, role_required, today
from .forms import PROPOSAL_LABELS, AnswerProposalForm, DecisionForm, DrawForm, JoinForm, SearchForm, TaskForm
from .problems import problem_text

bp = Blueprint("tasks", __name__, url_prefix="/tasks")
PAGE_SIZE = 30
STATUSES = ("submitted", "approved", "done", "rejected", "cancelled", "expired")



@bp.route("/")
@role_required("inspector", "head", "supervisor")
def home():
    """The tasks one deals with, newest first: an inspector's drafted or named ones, the head's agency's (submitted
    ones first: the approvals waiting), all for the supervisor; by status."""
    status = request.args.get("status")
    status = status if status in STATUSES else None
    if status is None and current_user.role == "head":
        status = "submitted"
    db = database()
    found = tasks.tasks_for_user(db, current_user.row, today(), status, PAGE_SIZE + 1,
                                 request.args.get("before", type=int))
    for t in found:
        t["overdue"] = tasks.overdue(t, today(), current_app.config["LOGBOOK_BACKFILL_DAYS"])
    return render_template("tasks/home.html", tasks=found[:PAGE_SIZE], status=status, statuses=STATUSES,
                           older=found[PAGE_SIZE - 1]["id"] if len(found) > PAGE_SIZE else None,
                           matches=tasks.matches(db, current_user.row, today(), limit=20),
                           draw_form=DrawForm() if current_user.role == "head" else None)


@bp.route("/<int:task_id>/join", methods=["POST"])
@role_required("head")
def join(task_id):
    """Join the agency's task with another agency's for the same firm into one visit (拼团)."""
    form = JoinForm()
    if not form.validate():
        abort(400)
    try:
        tasks.join_tasks(database(), task_id, form.other.data, current_user.row, now(), today())
    except errors.NotFound:
        abort(404)
    except errors.NotMatchable as e:
        flash(problem_text(e.problem), "error")
        return redirect(url_for("tasks.home"))
    flash(_("Joined: one visit, one scan, one joint inspection."), "success")
    return redirect(url_for("tasks.task", task_id=task_id))


@bp.route("/draw", methods=["POST"])
@role_required("head")
def draw():
    """Draw firms and pairs of the agency's inspectors at random (双随机); the result is public at once."""
    form = DrawForm()
    if not form.validate():
        if "csrf_token" in form.errors:
            abort(400)
        flash("; ".join(" ".join(v) for v in form.errors.values()), "error")
        return redirect(url_for("tasks.home"))
    try:
        draw_id = draws.draw(database(), current_user.row, form.count.data, now(), today(),
                             current_app.config["LOGBOOK_NOTICE_DAYS"], risk_level=form.risk_level.data or None,
                             industry=form.industry.data or None)
    except errors.Invalid as e:
        flash("; ".join(problem_text(p) for p in e.fields.values()), "error")
        return redirect(url_for("tasks.home"))
    flash(_("Drawn: the tasks wait for your approval, and the draw is public."), "success")
    return redirect(url_for("public.draw", draw_id=draw_id))


@bp.route("/new", methods=["GET", "POST"])
@role_required("inspector")
def new():
    """Plan an inspection: find the enterprise, then the task's kind, window, items, co-inspectors and basis."""
    db = database()
    usci = (request.values.get("usci") or "")[:40]
    enterprise = enterprises.by_usci(db, usci) if usci else None
    if enterprise is None:
        search = SearchForm(request.args)
        found = enterprises.search(db, search.q.data) if search.validate() else []
        return render_template("tasks/find.html", form=search, found=found)
    form = TaskForm()
    mine = agencies.items(db, [current_user.agency])
    form.items.choices = [(i["code"], i["name"]) for i in mine]
    colleagues = [u for u in accounts.colleagues(db, current_user.row, 12)  # whose certificate still runs
                  if rules.certificate_valid(u["cert_no"], u["cert_expires_on"], today())]
    form.inspectors.choices = [(u["username"], f"{u['name']} · {u['cert_no'] or '-'}") for u in colleagues]
    problems = {}
    if request.method == "POST":
        if not form.validate():
            if "csrf_token" in form.errors:
                abort(400)
            problems = {k: " ".join(v) for k, v in form.errors.items()}
        else:
            try:
                task_id = tasks.draft_task(db, current_user.row, tasks.TaskRequest(
                    kind=form.kind.data, window_start=form.window_start.data, window_end=form.window_end.data,
                    usci=enterprise["usci"], items=form.items.data or [], inspectors=form.inspectors.data or [],
                    reason=form.reason.data, notice=form.notice.data), now(), today(),
                    notice_days=current_app.config["LOGBOOK_NOTICE_DAYS"])
            except errors.Invalid as e:
                problems = {k: problem_text(v) for k, v in e.fields.items()}
            else:
                flash(_("Task submitted to your agency's head for approval."), "success")
                return redirect(url_for("tasks.task", task_id=task_id))
    return render_template("tasks/new.html", form=form, enterprise=enterprise, problems=problems), \
        422 if problems else 200


@bp.route("/<int:task_id>")
@role_required("inspector", "head", "supervisor")
def task(task_id):
    """A task: its facts, its steps, and what the reader may do with it (approve, reject, cancel)."""
    return render_task(task_or_404(task_id))


def task_or_404(task_id, may="see"):
    try:
        return tasks.task_for(database(), task_id, current_user.row, today(), may)
    except errors.NotFound:
        abort(404)


def render_task(found, form=None, status=200):
    return render_template("tasks/task.html", task=found, form=form or DecisionForm(), answer_form=AnswerProposalForm(),
                           steps=tasks.steps_of(database(), found["id"]),
                           may_decide=tasks.allowed(found, current_user.row, "decide") and found["status"] == "submitted",
                           may_cancel=tasks.allowed(found, current_user.row, "cancel")
                           and found["status"] in ("submitted", "approved")), status


@bp.route("/<int:task_id>/proposal", methods=["POST"])
@role_required("inspector")
def answer(task_id):
    """One of the task's inspectors accepts or declines the day the firm proposed."""
    task_or_404(task_id, "start")
    form = AnswerProposalForm()
    if not form.validate():
        abort(400)
    try:
        notices.answer_proposal(database(), task_id, current_user.row, form.answer.data, now(), today())
    except errors.Invalid as e:
        flash("; ".join(problem_text(p) for p in e.fields.values()), "error")
    else:
        flash(PROPOSAL_LABELS[form.answer.data], "success")
    return redirect(url_for("tasks.task", task_id=task_id))


@bp.route("/<int:task_id>/<any(approve, reject, cancel):action>", methods=["POST"])
@role_required("inspector", "head")
def decide(task_id, action):
    """Approve, reject or cancel the task, with a note."""
    found = task_or_404(task_id, "cancel" if action == "cancel" else "decide")
    form = DecisionForm()
    if not form.validate():
        abort(400)
    db, note = database(), form.note.data
    try:
        if action == "approve":
            tasks.approve_task(db, task_id, current_user.row, note, now(), today(),
                               current_app.config["LOGBOOK_NOTICE_DAYS"])
        elif action == "reject":
            tasks.reject_task(db, task_id, current_user.row, note, now(), today())
        else:
            tasks.cancel_task(db, task_id, current_user.row, note, now(), today())
    except errors.Invalid as e:
        form.note.errors = [problem_text(p) for p in e.fields.values()]
        return render_task(found, form, 422)
    except (errors.NotSubmitted, errors.TaskClosed) as e:
        flash(problem_text(e.problem), "error")
    else:
        flash({"approve": _("Task approved."), "reject": _("Task rejected."), "cancel": _("Task cancelled.")}[action],
              "success")
    return redirect(url_for("tasks.task", task_id=task_id))
