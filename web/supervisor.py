"""The supervising justice bureau's pages: the year's numbers and warnings, complaints, individual ratings."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from logbook import feedback, inspections, stats

from . import database, form_status, now, role_required, submitted, tz
from .forms import AnswerForm

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")


@bp.route("/")
@role_required("supervisor")
def home():
    """The dashboard: totals against last year, by agency, refusals and the most-inspected enterprises."""
    db = database()
    this_year = now().astimezone(tz()).year
    year = request.args.get("year", type=int) or this_year
    if not 2000 <= year <= 2100:
        year = this_year
    return render_template("supervisor/home.html", year=year, this_year=this_year,
                           stats=stats.year_stats(db, year, tz()),
                           frequent=stats.frequent_targets(db, year, tz()),
                           refusals=stats.refusals(db, year, tz()), flagged=stats.flagged(db, year, tz()),
                           open_complaints=feedback.complaint_count(db, "open"))


@bp.route("/complaints")
@role_required("supervisor")
def complaints():
    """Every complaint, newest first, filterable by status."""
    status = request.args.get("status")
    status = status if status in feedback.COMPLAINT_STATUSES else None
    return render_template("supervisor/complaints.html", complaints=feedback.complaints(database(), status),
                           status=status)


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
        feedback.answer_complaint(db, complaint_id, current_user.row, form.status.data, form.answer.data, now())
        flash(_("Answer saved; the enterprise sees it in its complaints."), "success")
        return redirect(url_for("supervisor.complaint", complaint_id=complaint_id))
    related = inspections.inspection(db, found["inspection_id"]) if found["inspection_id"] else None
    return render_template("supervisor/complaint.html", complaint=found, inspection=related, form=form), form_status()


@bp.route("/ratings")
@role_required("supervisor")
def ratings():
    """Individual ratings: only supervisors see them."""
    return render_template("supervisor/ratings.html", ratings=feedback.evaluations(database()))
