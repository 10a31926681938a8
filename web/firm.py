"""The firm's pages: every record about its enterprise this year, with the quota meter."""

from flask import Blueprint, render_template, request
from flask_login import current_user

from logbook import enterprises, inspections, rules

from . import counted_kinds, database, now, role_required, tz

bp = Blueprint("firm", __name__, url_prefix="/firm")


@bp.route("/")
@role_required("firm")
def home():
    """All inspections of the firm's enterprise in a year, newest first, with the quota meter."""
    db = database()
    at = now()
    this_year = at.astimezone(tz()).year
    year = request.args.get("year", type=int) or this_year
    if not 2000 <= year <= 2100:
        year = this_year
    enterprise = enterprises.by_id(db, current_user.enterprise_id)
    start, end = rules.year_bounds(year, tz())
    moment = at if year == this_year else min(at, end)
    return render_template("firm/home.html", enterprise=enterprise, year=year, this_year=this_year,
                           quota=inspections.quota(db, enterprise, moment, tz(), counted_kinds()),
                           records=inspections.inspections_between(db, enterprise["id"], start, end))
