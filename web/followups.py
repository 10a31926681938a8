"""Follow-ups (督办, SPEC §11) on the web: the supervisor turns a warning or a complaint into a follow-up addressed to
an agency, the agency's head answers, the supervisor accepts the answer or returns it with a note; every step is
listed. Who may see or take a step is decided in logbook.followups (`followup_for`, `step_followup`), never here."""

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from logbook import agencies, alerts, errors, feedback, followups, inspections

from . import alert_limits, chosen_year, database, form_status, now, role_required, submitted, today, tz
from .alerts import warning_reason
from .problems import problem_text

bp = Blueprint("followups", __name__, url_prefix="/followups")
PAGE_SIZE = 30
DUE_IN_DAYS = 7  # the deadline the form proposes

STATUS_LABELS = {"open": _l("waiting for the agency's answer"), "answered": _l("answered, waiting for review"),
                 "returned": _l("returned for a new answer"), "accepted": _l("accepted")}
STEP_LABELS = {"open": _l("opened"), "answer": _l("answered"), "accept": _l("accepted"),
               "return": _l("returned for a new answer")}
DONE = {"answer": _l("Answer sent to the supervising justice bureau."), "accept": _l("Answer accepted: the follow-up "
        "is closed."), "return": _l("Returned to the agency for a new answer.")}
bp.add_app_template_global(STATUS_LABELS, "FOLLOWUP_STATUS_LABELS")
bp.add_app_template_global(STEP_LABELS, "FOLLOWUP_STEP_LABELS")


class FollowupForm(FlaskForm):
    agency = SelectField(_l("Addressed to"))
    # an empty text reaches the logbook, which refuses it in the reader's language
    text = TextAreaField(_l("What the agency must look into and answer"), validators=[Optional(), Length(max=2000)])
    due_on = DateField(_l("Answer by"), validators=[InputRequired()])


class StepForm(FlaskForm):
    text = TextAreaField(validators=[Optional(), Length(max=2000)])  # the page labels it for the step it takes


@bp.route("/", endpoint="followups")
@role_required("supervisor", "head")
def followup_list():
    """Follow-ups newest first, by status: every one for the supervisor, the agency's own for its head."""
    status = request.args.get("status")
    status = status if status in followups.STATUSES else None
    before = request.args.get("before", type=int)
    found = followups.followups_for(database(), current_user.row, status, PAGE_SIZE + 1,
                                    before if before and 0 < before < 2**62 else None)
    for f in found:
        f["overdue"] = followups.overdue(f, today())
    return render_template("followups/list.html", followups=found[:PAGE_SIZE], status=status,
                           statuses=followups.STATUSES,
                           older=found[PAGE_SIZE - 1]["id"] if len(found) > PAGE_SIZE else None)


@bp.route("/new", methods=["GET", "POST"])
@role_required("supervisor")
def new():
    """Open a follow-up about a warning (?warning=KEY&year=&agency=) or a complaint (?complaint=ID)."""
    db = database()
    warning, complaint = source()
    form = FollowupForm(data=proposal(db, warning, complaint) if request.method == "GET" else None)
    form.agency.choices = [("", "—")] + [(a["code"], a["name"]) for a in agencies.agencies(db)]
    problem = None
    if (warning or complaint) and submitted(form):
        try:
            followup_id = followups.create_followup(
                db, current_user.row, form.agency.data, form.text.data, form.due_on.data, today(), now(),
                warning_key=warning and warning["key"], complaint_id=complaint and complaint["id"])
        except errors.Invalid as e:
            for field, found in e.fields.items():
                if field in form:
                    form[field].errors = [problem_text(found)]
                else:
                    problem = problem_text(found)
        else:
            flash(_("Follow-up sent to the agency's head."), "success")
            return redirect(url_for("followups.followup", followup_id=followup_id))
    return render_template("followups/new.html", form=form, warning=warning, complaint=complaint,
                           problem=problem), form_status()


def source():
    """The warning or complaint named in the query, (None, None) when none is; 404 for one that does not exist."""
    key, complaint_id = request.args.get("warning"), request.args.get("complaint", type=int)
    if key:
        found = alerts.warning_by_key(database(), key[:100], chosen_year(), now(), tz(), alert_limits())
        if found is None:
            abort(404)
        return found, None
    if complaint_id is not None:
        found = feedback.complaint(database(), complaint_id) if 0 < complaint_id < 2**62 else None
        if found is None:
            abort(404)
        return None, found
    return None, None


def proposal(db, warning, complaint):
    """What the form proposes: the warning's agency and reason, or the agency of the complaint's inspection."""
    proposed = {"due_on": today() + timedelta(days=DUE_IN_DAYS), "agency": request.args.get("agency")}
    if warning:
        about = warning["enterprise"]["name"] + ": " if warning["enterprise"] else ""
        proposed |= {"agency": warning["agency"] or proposed["agency"], "text": about + warning_reason(warning)}
    elif complaint and complaint["inspection_id"]:
        proposed["agency"] = (inspections.inspection(db, complaint["inspection_id"])["agencies"] or [None])[0]
    return proposed


@bp.route("/<int:followup_id>")
@role_required("supervisor", "head", "firm")
def followup(followup_id):
    """A follow-up with every step, and the form for the next one: the head answers; the supervisor accepts or
    returns the answer."""
    return render_followup(followup_or_404(followup_id))


def followup_or_404(followup_id):
    try:
        return followups.followup_for(database(), followup_id, current_user.row)
    except errors.NotFound:
        abort(404)


def render_followup(found, form=None, problem=None, status=200):
    role = current_user.role
    may = ("answer" if role == "head" and found["status"] in followups.STEPS["answer"]
           else "review" if role == "supervisor" and found["status"] in followups.STEPS["accept"] else None)
    return render_template("followups/followup.html", followup=found, overdue=followups.overdue(found, today()),
                           form=form or StepForm(), may=may, problem=problem), status


@bp.route("/<int:followup_id>/<any(answer, accept, return):action>", methods=["POST"])
@role_required("supervisor", "head")
def step(followup_id, action):
    """Take the next step; a step the follow-up is not waiting for answers 409 and changes nothing."""
    found = followup_or_404(followup_id)
    form = StepForm()
    if not form.validate():
        if "csrf_token" in form.errors:
            abort(400)
        return render_followup(found, form, status=422)
    try:
        followups.step_followup(database(), followup_id, current_user.row, action, form.text.data, now())
    except errors.NotFound:
        abort(404)
    except errors.Invalid as e:
        form.text.errors = [problem_text(p) for p in e.fields.values()]
        return render_followup(found, form, status=422)
    except errors.FollowupState as e:
        return render_followup(found, form, problem_text(e.problem), 409)
    flash(str(DONE[action]), "success")
    return redirect(url_for("followups.followup", followup_id=followup_id))
