"""The firm's pages: every record about its enterprise, confirmation, rating, its answers to the findings (the
statement and the rectification report), complaints and the inbox."""


from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_time
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from logbook import enterprises, errors, exports, feedback, followups, inbox, inspections, notices, photos, rules
from logbook.db import parse_time

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
from .errors import handle_http_exception
from .forms import ComplaintForm, ConfirmForm, ProposalForm, RatingForm, RectificationForm, StatementForm
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


def render_inspection(found, status=200, problem=None, **forms):
    """An inspection's page for the firm, with the forms that apply to it (those not given are empty) and, after a
    refused answer, the `problem` that explains why."""
    empty = {"confirm_form": ConfirmForm, "rating_form": RatingForm, "statement_form": StatementForm,
             "rectification_form": RectificationForm}
    forms = {name: form(formdata=None) if forms.get(name) is None else forms[name] for name, form in empty.items()}
    return render_template("firm/inspection.html", inspection=found, problem=problem,
                           evaluation=feedback.evaluation_of(database(), found["id"]),
                           statement_period=statement_period(found), photo_limit=feedback.RECTIFICATION_PHOTOS,
                           **forms), status


def statement_period(found):
    """Whether the firm may answer the findings now (陈述申辩), and until when ({open, day, time}; None before the
    inspection is closed)."""
    if found["status"] != "closed":
        return None
    days = current_app.config["LOGBOOK_STATEMENT_DAYS"]
    closed_at = parse_time(found["closed_at"])
    until = rules.statement_until(closed_at, days).astimezone(tz())
    offered = rules.statement_problem(found["status"], closed_at, now(), days, found["statement"] is not None) is None
    return {"open": offered, "day": format_date(until, "medium"), "time": format_time(until, "short"), "days": days}


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
        feedback.confirm_inspection(database(), inspection_id, current_user.row, form.code.data, now(), tz())
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


@bp.route("/inspections/<int:inspection_id>/statement", methods=["POST"])
@role_required("firm")
def statement(inspection_id):
    """Answer the findings of a closed inspection in writing (陈述申辩), once, within the period."""
    found = inspection_or_404(inspection_id, "answer")
    form = StatementForm()
    if not submitted(form):
        return render_inspection(found, statement_form=form, status=422)
    try:
        feedback.make_statement(database(), inspection_id, current_user.row, form.statement.data, now(),
                                current_app.config["LOGBOOK_STATEMENT_DAYS"])
    except errors.Invalid as e:
        form.statement.errors = [problem_text(p) for p in e.fields.values()]
        return render_inspection(found, statement_form=form, status=422)
    except (errors.AlreadyStated, errors.StatementClosed) as e:
        return refused(inspection_id, e)
    flash(_("Your statement has been recorded; it is shown beside the findings."), "success")
    return redirect(url_for("firm.inspection", inspection_id=inspection_id))


@bp.route("/inspections/<int:inspection_id>/rectify", methods=["POST"])
@role_required("firm")
def rectify(inspection_id):
    """Report the rectification of an inspection closed with `rectify` (text and photos), once; the recheck is then
    offered to its inspectors."""
    found = inspection_or_404(inspection_id, "answer")
    form = RectificationForm()
    if not submitted(form):
        return render_inspection(found, rectification_form=form, status=422)
    uploads = [upload.read(photos.MAX_BYTES + 1) for upload in form.photos.data or []]
    try:
        feedback.report_rectification(database(), current_app.config["LOGBOOK_PHOTOS"], inspection_id,
                                      current_user.row, form.text.data, uploads, now())
    except errors.Invalid as e:
        for field, problem in e.fields.items():
            getattr(form, field).errors = [photos_text(problem) if field == "photos" else problem_text(problem)]
        return render_inspection(found, rectification_form=form, status=422)
    except (errors.PhotoTooLarge, errors.UnsupportedPhoto) as e:
        form.photos.errors = [photos_text(e.problem)]
        return render_inspection(found, rectification_form=form, status=413 if isinstance(e, errors.PhotoTooLarge)
                                 else 415)
    except (errors.NotRectifiable, errors.AlreadyReported) as e:
        return refused(inspection_id, e)
    flash(_("Your rectification report has been sent, and the recheck has been offered to the inspectors."), "success")
    return redirect(url_for("firm.inspection", inspection_id=inspection_id))


def photos_text(problem):
    """What is wrong with the photos of a rectification report, in the reader's language."""
    return {"photo_too_large": _("A photo is too large: each may be at most 10 MB. Take it again, or send a smaller "
                                 "copy."),
            "unsupported_photo": _("Only photos can be attached (JPEG or PNG): one of the files is not a photo."),
            "too_many_photos": _("Attach at most %(most)s photos.", most=feedback.RECTIFICATION_PHOTOS),
            }.get(problem.code, problem_text(problem))


def refused(inspection_id, error):
    """The inspection's page, read again, saying why an answer was refused because of the inspection's state (409)."""
    message = {"already_stated": _("You have already answered these findings: a statement can be made only once."),
               "statement_closed": _("The findings cannot be answered now: only once the inspection is closed, and "
                                     "within the period for a statement."),
               "already_reported": _("You have already reported the rectification of this inspection."),
               "not_rectifiable": _("Only an inspection closed with an order to rectify takes a rectification report."),
               }[error.problem.code]
    return render_inspection(inspection_or_404(inspection_id, "answer"), problem=message, status=409)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    """Photos of a rectification report that pass the body limit together: said on the inspection's page."""
    if request.endpoint != "firm.rectify" or not current_user.is_authenticated or current_user.role != "firm":
        return handle_http_exception(error)
    try:
        found = inspections.inspection_for(database(), request.view_args["inspection_id"], current_user.row, "answer")
    except errors.NotFound:
        return handle_http_exception(error)
    form = RectificationForm(formdata=None)
    form.photos.errors = [photos_text(errors.PhotoTooLarge().problem)]
    return render_inspection(found, rectification_form=form, status=413)


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
    found = feedback.complaints_of(db, current_user.enterprise_id)
    return render_template("firm/complaints.html", form=form, complaints=found,  # with the follow-ups (督办) of each
                           followed={c["id"]: followups.followups_of_complaint(db, c["id"]) for c in found}), form_status()


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
