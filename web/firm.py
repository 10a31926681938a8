"""The firm's pages: every record about its enterprise, confirmation, rating, complaints and the inbox."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from logbook import enterprises, errors, exports, feedback, inbox, inspections, notices, rules

from . import (
    RECORDS_PAGE,
    chosen_year,
    counted_kinds,
    csv_download,
    current_page,
    database,
    form_status,
    inspection_or_404,
    now,
    role_required,
    submitted,
    today,
    tz,
)
from .forms import ComplaintForm, ConfirmForm, ProposalForm, RatingForm
from .problems import problem_text

bp = Blueprint("firm", __name__, url_prefix="/firm")


@bp.context_processor
def unread_messages():
    """Every firm page shows how many inbox messages are unread (deadline reminders included)."""
    if not current_user.is_authenticated or current_user.role != "firm":
        return {}
    return {"unread": inbox.unread_count(database(), current_user.enterprise_id, today())}


@bp.route("/")
@role_required("firm")
def home():
    """All inspections of the firm's enterprise in a year, newest first, with the quota meter."""
    db = database()
    enterprise = enterprises.by_id(db, current_user.enterprise_id)
    page = current_page()
    year = inspections.year_of_records(db, enterprise, chosen_year(), now(), tz(), counted_kinds(), RECORDS_PAGE,
                                       (page - 1) * RECORDS_PAGE)
    return render_template("firm/home.html", enterprise=enterprise, year=year["year"],
                           this_year=now().astimezone(tz()).year, quota=year["quota"], records=year["inspections"],
                           rated=feedback.rated_ids(db, [r["id"] for r in year["inspections"]]), page=page,
                           more=year["recorded"] > page * RECORDS_PAGE)


def render_inspection(found, confirm_form=None, rating_form=None, status=200):
    """An inspection's page for the firm, with the forms that apply to it."""
    return render_template("firm/inspection.html", inspection=found,
                           evaluation=feedback.evaluation_of(database(), found["id"]),
                           confirm_form=confirm_form or ConfirmForm(), rating_form=rating_form or RatingForm()), status


@bp.route("/inspections/<int:inspection_id>")
@role_required("firm")
def inspection(inspection_id):
    """One inspection, with confirmation and rating."""
    return render_inspection(inspection_or_404(inspection_id, "answer"))


@bp.route("/confirm/<int:inspection_id>", methods=["GET", "POST"])
@role_required("firm")
def confirm(inspection_id):
    """Confirm a visit with the inspector's code (the inspector's QR opens this page with the code filled in)."""
    found = inspection_or_404(inspection_id, "answer")
    form = ConfirmForm(data={"code": request.args.get("code", "")[:32]} if request.method == "GET" else None)
    if request.method == "GET":
        return render_inspection(found, confirm_form=form)
    if not form.validate():
        if "csrf_token" in form.errors:
            abort(400)
        return render_inspection(found, confirm_form=form, status=422)
    try:
        feedback.confirm_inspection(database(), inspection_id, current_user.row, form.code.data, now())
    except errors.BadCode:
        form.code.errors = [_("This code is wrong. Check the number on the inspector's screen.")]
        return render_inspection(found, confirm_form=form, status=422)
    except errors.TooManyAttempts:
        form.code.errors = [_("Too many wrong codes. Please wait 15 minutes.")]
        return render_inspection(found, confirm_form=form, status=429)
    except errors.NotConfirmable:
        flash(_("A voided inspection cannot be confirmed."), "error")
        return redirect(url_for("firm.inspection", inspection_id=inspection_id))
    flash(_("Thank you: you confirmed this visit."), "success")
    return redirect(url_for("firm.inspection", inspection_id=inspection_id))


@bp.route("/inspections/<int:inspection_id>/rate", methods=["POST"])
@role_required("firm")
def rate(inspection_id):
    """Rate a closed inspection once."""
    found = inspection_or_404(inspection_id, "answer")
    form = RatingForm()
    if not form.validate():
        if "csrf_token" in form.errors:
            abort(400)
        return render_inspection(found, rating_form=form, status=422)
    try:
        feedback.evaluate(database(), inspection_id, current_user.row, int(form.rating.data), form.comment.data, now())
    except errors.NotClosed:
        flash(_("You can rate an inspection once it is closed."), "error")
    except errors.AlreadyEvaluated:
        flash(_("You have already rated this inspection."), "error")
    else:
        flash(_("Thank you for your rating. Only the supervising justice bureau sees it."), "success")
    return redirect(url_for("firm.inspection", inspection_id=inspection_id))


@bp.route("/complaints", methods=["GET", "POST"])
@role_required("firm")
def complaints():
    """The firm's complaints with their answers, and the form to file one."""
    db = database()
    form = ComplaintForm(data={"inspection_id": request.args.get("inspection", type=int)}
                         if request.method == "GET" else None)
    if submitted(form):
        try:
            feedback.file_complaint(db, current_user.row, form.category.data, form.text.data,
                                    form.inspection_id.data, now())
        except errors.Invalid as e:
            for field, problem in e.fields.items():
                getattr(form, field).errors = [problem_text(problem)]
        else:
            flash(_("Your complaint has been sent to the supervising justice bureau."), "success")
            return redirect(url_for("firm.complaints"))
    return render_template("firm/complaints.html", form=form,
                           complaints=feedback.complaints_of(db, current_user.enterprise_id)), form_status()


@bp.route("/inbox")
@role_required("firm")
def messages():
    """The firm's inbox: inspections started and closed, deadlines approaching."""
    db = database()
    at = now()
    found = inbox.inbox(db, current_user.enterprise_id, today(), at)
    inbox.mark_read(db, current_user.enterprise_id, at)
    return render_template("firm/inbox.html", messages=found)


@bp.route("/notices")
@role_required("firm")
def notice_list():
    """The notices of inspections announced to the enterprise (检查预告), soonest first."""
    return render_template("firm/notices.html", notices=notices.notices_for(database(), current_user.enterprise_id,
                                                                            today()))


@bp.route("/notices/<int:task_id>", methods=["GET", "POST"])
@role_required("firm")
def notice(task_id):
    """One notice, laid out as the 检查通知书 to print, with the form to propose a day inside its window."""
    db = database()
    try:
        found = notices.notice_for(db, task_id, current_user.row, today())
    except errors.NotFound:
        abort(404)
    form = ProposalForm()
    if request.method == "POST":
        if not form.validate():
            if "csrf_token" in form.errors:
                abort(400)
            return render_template("firm/notice.html", notice=found, form=form), 422
        try:
            notices.propose_day(db, task_id, current_user.row, form.day.data, now(), today())
        except errors.Invalid as e:
            form.day.errors = [problem_text(p) for p in e.fields.values()]
            return render_template("firm/notice.html", notice=found, form=form), 422
        flash(_("Your proposed day was sent to the inspectors."), "success")
        return redirect(url_for("firm.notice", task_id=task_id))
    return render_template("firm/notice.html", notice=found, form=form)


@bp.route("/records.csv")
@role_required("firm")
def records_csv():
    """The enterprise's inspections of a year as a CSV file, for its own archive."""
    year = chosen_year()
    start, end = rules.year_bounds(year, tz())
    return csv_download(exports.inspections_csv(database(), start, end, current_user.enterprise_id),
                        f"inspections-{year}.csv")
