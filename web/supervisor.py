"""The supervising justice bureau's pages: the year's numbers and warnings, complaints, individual ratings."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from logbook import audit, enterprises, errors, exports, feedback, inspections, rules, stats

from . import (
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
    tz,
)
from .forms import AnswerForm, SearchForm
from .problems import problem_text

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")
PAGE_SIZE = 50
CSV_YEAR_ROWS = 300_000  # more than one request streams before a worker's timeout: such a year comes month by month


@bp.route("/")
@role_required("supervisor")
def home():
    """The dashboard: totals against last year, by agency, refusals and the most-inspected enterprises."""
    db = database()
    this_year = now().astimezone(tz()).year
    year = chosen_year()
    return render_template("supervisor/home.html", year=year, this_year=this_year,
                           stats=stats.year_stats(db, year, tz()),
                           frequent=stats.frequent_targets(db, year, tz()),
                           refusals=stats.refusals(db, year, tz()), flagged=stats.flagged(db, year, tz()),
                           open_complaints=feedback.complaint_count(db, "open"), journal_head=audit.head(db),
                           merged=stats.merged_tasks(db, year))


@bp.route("/complaints")
@role_required("supervisor")
def complaints():
    """Every complaint, newest first, filterable by status."""
    status = request.args.get("status")
    status = status if status in feedback.COMPLAINT_STATUSES else None
    page = current_page()
    found = feedback.complaints(database(), status, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    return render_template("supervisor/complaints.html", complaints=found[:PAGE_SIZE], status=status, page=page,
                           more=len(found) > PAGE_SIZE)


@bp.route("/complaints/<int:complaint_id>", methods=["GET", "POST"])
@role_required("supervisor")
def complaint(complaint_id):
    """One complaint, its inspection, and the answer form."""
    db = database()
    found = feedback.complaint(db, complaint_id) if complaint_id < 2**62 else None
    if not found:
        abort(404)
    form = AnswerForm(data={"status": found["status"], "answer": found["answer"]} if request.method == "GET" else None)
    if submitted(form):
        try:
            feedback.answer_complaint(db, complaint_id, current_user.row, form.status.data, form.answer.data, now())
        except errors.Invalid as e:
            for field, problem in e.fields.items():
                getattr(form, field).errors = [problem_text(problem)]
        else:
            flash(_("Answer saved; the enterprise sees it in its complaints."), "success")
            return redirect(url_for("supervisor.complaint", complaint_id=complaint_id))
    related = inspections.inspection(db, found["inspection_id"]) if found["inspection_id"] else None
    return render_template("supervisor/complaint.html", complaint=found, inspection=related, form=form), form_status()


@bp.route("/ratings")
@role_required("supervisor")
def ratings():
    """Individual ratings: only supervisors see them."""
    page = current_page()
    found = feedback.evaluations(database(), PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    return render_template("supervisor/ratings.html", ratings=found[:PAGE_SIZE], page=page, more=len(found) > PAGE_SIZE)


@bp.route("/enterprises")
@role_required("supervisor")
def enterprises_page():
    """Find an enterprise by USCI or name."""
    form = SearchForm(request.args)
    found = enterprises.search(database(), form.q.data) if form.validate() else []
    return render_template("supervisor/enterprises.html", form=form, found=found)


@bp.route("/enterprises/<int:enterprise_id>")
@role_required("supervisor")
def enterprise(enterprise_id):
    """Every inspection of one enterprise in a year, with its quota, as the firm sees it and more."""
    db = database()
    try:
        found = enterprises.enterprise_for(db, enterprise_id, current_user.row)
    except errors.NotFound:
        abort(404)
    page = current_page()
    year = inspections.year_of_records(db, found, chosen_year(), now(), tz(), counted_kinds(), PAGE_SIZE,
                                       (page - 1) * PAGE_SIZE)
    return render_template("supervisor/enterprise.html", enterprise=found, year=year["year"],
                           this_year=now().astimezone(tz()).year, quota=year["quota"], records=year["inspections"],
                           page=page, more=year["recorded"] > page * PAGE_SIZE)


@bp.route("/inspections/<int:inspection_id>")
@role_required("supervisor")
def inspection(inspection_id):
    """One inspection with everything recorded about it: the rating, complaints and its journal stamp."""
    db = database()
    found = inspection_or_404(inspection_id)
    return render_template("supervisor/inspection.html", inspection=found,
                           evaluation=feedback.evaluation_of(db, inspection_id),
                           complaints=[c for c in feedback.complaints_of(db, found["enterprise_id"])
                                       if c["inspection_id"] == inspection_id])


@bp.route("/inspections.csv")
@role_required("supervisor")
def inspections_csv():
    """Every inspection of a year, or of one month of it (?month=1-12: a big city's year is millions of rows, more
    than one request should carry), as a CSV file, streamed, for analysis in a spreadsheet."""
    year, month = chosen_year(), request.args.get("month", type=int)
    if month in range(1, 13):
        start, end = rules.month_bounds(year, month, tz())
        return csv_download(exports.inspections_csv(database(), start, end), f"inspections-{year}-{month:02d}.csv")
    recorded = stats.recorded_in(database(), year)
    if recorded > CSV_YEAR_ROWS:
        return render_template("supervisor/csv_by_month.html", year=year, recorded=recorded)
    start, end = rules.year_bounds(year, tz())
    return csv_download(exports.inspections_csv(database(), start, end), f"inspections-{year}.csv")


from . import supervisor_exports  # noqa: E402,F401  (the exports join this blueprint)
