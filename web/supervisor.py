"""The supervising justice bureau's pages: the year's numbers and warnings, complaints, individual ratings."""

import re

from babel.dates import get_month_names
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from logbook import agencies, audit, enterprises, errors, exports, feedback, inspections, records, rules, stats
from logbook.db import parse_time

from . import (
    charts,
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
from .forms import AnswerForm, SearchForm
from .problems import problem_text

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")
PAGE_SIZE = 50
CHART_AGENCIES = 15  # the dashboard draws the agencies with the most inspections; the table lists them all
CSV_YEAR_ROWS = 300_000  # more than one request streams before a worker's timeout: such a year comes month by month
# what a records list (?show=) holds, as its heading says it (logbook.records.SHOWN)
SHOWN_LABELS = {"all": _l("Inspections"), "counted": _l("Counted inspections"), "exempt": _l("Exempt inspections"),
                "voided": _l("Voided inspections"), "joint": _l("Joint inspections"), "late": _l("Late entries"),
                "manual": _l("Manual entries (not scanned)"), "confirmed": _l("Confirmed by the firm"),
                "visits": _l("Service visits")}


@bp.route("/")
@role_required("supervisor")
def home():
    """The dashboard: the year's numbers against last year's, by month and by agency, narrowed by the filters; the
    refusals, the most-inspected enterprises and the journal's head."""
    db = database()
    year, filters = chosen_year(), dashboard_filters(db)
    return render_template("supervisor/home.html", **dashboard(db, year, filters),
                           frequent=stats.frequent_targets(db, year, tz()), refusals=stats.refusals(db, year, tz()),
                           segments=records.segments(db, year),
                           open_complaints=feedback.complaint_count(db, "open"), merged=stats.merged_tasks(db, year))


@bp.route("/report")
@role_required("supervisor")
def report():
    """The annual report for printing on A4: the dashboard's numbers and charts and the journal's head, dated."""
    db = database()
    year, filters = chosen_year(), dashboard_filters(db)
    return render_template("supervisor/report.html", **dashboard(db, year, filters), read_at=now(),
                           merged=stats.merged_tasks(db, year))


@bp.route("/records")
@role_required("supervisor")
def records_page():
    """The inspections behind a number of the dashboard: a year or a month of one class (?show=), of one agency or
    all, newest first, fifty a page, the next page below the last record shown (?before=started_at,id)."""
    db = database()
    year, month = chosen_year(), request.args.get("month", type=int)
    month = month if month in range(1, 13) else None
    shown = request.args.get("show") if request.args.get("show") in records.SHOWN else "all"
    every = agencies.agencies(db)
    agency = next((a for a in every if a["code"] == request.args.get("agency")), None)
    found = records.records(db, year, tz(), month, agency and agency["code"], shown,
                            cursor(request.args.get("before", "")), PAGE_SIZE)
    return render_template("supervisor/records.html", **found, year=year, month=month, shown=shown, agency=agency,
                           this_year=now().astimezone(tz()).year, agencies=every, SHOWN_LABELS=SHOWN_LABELS,
                           narrowed=[k for k in stats.FILTERS if k != "agency" and request.args.get(k)])


@bp.app_template_global()
def has_page(endpoint):
    """True when the app serves the endpoint (the supervisor's tabs show the pages of the blueprints installed)."""
    return endpoint in current_app.view_functions


def dashboard_filters(db):
    """The dashboard's filters from the query string (SPEC §11), each kept only if it is a known agency's code, a
    6-digit division code, an industry or a risk level; anything else is ignored."""
    args = request.args
    agency, district = args.get("agency", ""), args.get("district", "").strip()
    industry, risk_level = args.get("industry", "").strip(), args.get("risk_level", "")
    return {"agency": agency if agency in {a["code"] for a in agencies.agencies(db)} else "",
            "district": district if re.fullmatch(r"[0-9]{6}", district) else "",
            "industry": industry if 0 < len(industry) <= 100 else "",
            "risk_level": risk_level if risk_level in rules.RISK_LEVELS else ""}


def cursor(text):
    """The (started_at, id) of ?before=, or None if it is not one."""
    started_at, _, number = text.partition(",")
    try:
        parse_time(started_at)
        number = int(number)
    except ValueError:
        return None
    return (started_at, number) if 0 <= number < 2**62 else None


def dashboard(db, year, filters):
    """What the dashboard and the report show of a year: the stats (agencies ranked by inspections), the change in
    words, the charts, the agencies (for the filter) and the journal's head. Numbers narrowed by district, industry
    or risk level are not `linked` to records: the records list cannot be narrowed so through an index."""
    numbers, every = stats.year_stats(db, year, tz(), today(), filters), agencies.agencies(db)
    ranked = sorted(numbers["by_agency"], key=lambda a: (-a["total"], a["agency"]))
    total = numbers["inspections"]["total"]
    return {"year": year, "this_year": now().astimezone(tz()).year, "today": today(), "stats": numbers,
            "filters": numbers["filters"], "change": change_text(numbers["change"]), "by_agency": ranked,
            "joint": numbers["inspections"].get("joint", round((numbers["joint_share"] or 0) * total)),
            "flagged": [a for a in numbers["by_agency"] if a["late"] or a["manual"]],
            "charts": dashboard_charts(db, year, numbers, ranked), "journal_head": audit.head(db),
            "agencies": every, "agency_names": {a["code"]: a["name"] for a in every},
            "linked": not any(numbers["filters"].get(k) for k in ("district", "industry", "risk_level"))}


def change_text(change):
    """The change against last year as shown: {text: "−42%", direction: down, up or same}, or None."""
    if change is None:
        return None
    percent = round(change * 100)
    direction = "down" if percent < 0 else "up" if percent > 0 else "same"
    return {"text": f"{'−' if percent < 0 else '+' if percent > 0 else ''}{abs(percent)}%", "direction": direction}


def dashboard_charts(db, year, numbers, ranked):
    """The year's counted inspections by month against last year's, and the agencies' inspections, as SVG."""
    last = numbers["previous_year"].get("by_month") or stats.year_stats(db, year - 1, tz(), None,
                                                                          numbers["filters"])["by_month"]
    labels = [get_month_names("abbreviated", locale=get_locale())[m] for m in range(1, 13)]
    months = charts.month_bars([m["counted"] for m in numbers["by_month"]], [m["counted"] for m in last], labels,
                               title=_("Counted inspections by month, %(year)s against %(last)s", year=year,
                                       last=year - 1),
                               series=(str(year), str(year - 1)), axis=(_("Month"), _("Inspections")))
    by_agency = charts.agency_bars([(a["name"], a["counted"], a["exempt"]) for a in ranked[:CHART_AGENCIES]],
                                   title=_("Inspections by agency in %(year)s", year=year),
                                   series=(_("Counted"), _("Exempt")), axis=_("Inspections"))
    return {"months": months, "agencies": by_agency, "agencies_shown": CHART_AGENCIES, "last_months": last}


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
