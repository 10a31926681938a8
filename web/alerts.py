"""The supervisor's warnings page (预警, SPEC §11): a year's warnings grouped by kind, each with its reason in the
reader's language and the records behind it, dismissed with a reason or turned into a follow-up (督办)."""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from logbook import alerts, errors

from . import alert_limits, chosen_year, database, local_date, now, role_required, tz
from .problems import problem_text

bp = Blueprint("alerts", __name__, url_prefix="/supervisor/warnings")
SHOWN_PER_KIND = alerts.PAGE  # the page lists the newest of each kind; ?kind= pages through one kind
KIND_PAGE = 50

TITLES = {
    "frequent": _l("Inspected too often"),
    "far_from_site": _l("Scanned far from the site"),
    "repeated_no_issue": _l("Nothing found, again and again"),
    "high_exempt_share": _l("A high share of exempt inspections"),
    "late_entries": _l("Late or manual entries"),
    "unconfirmed": _l("Not confirmed by the enterprise"),
    "open_too_long": _l("Inspections open too long"),
    "complaints_waiting": _l("Complaints waiting for an answer"),
    "approval_overdue": _l("Approvals overdue"),
    "followup_overdue": _l("Follow-ups overdue"),
}
# one sentence per kind (and per period of `frequent`), saying why the warning was raised
REASONS = {
    "frequent:day": _l("Inspected %(count)s times on one calendar day: more than %(most)s."),
    "frequent:week": _l("Inspected %(count)s times within 7 days: more than %(most)s."),
    "frequent:month": _l("Inspected %(count)s times within 30 days: more than %(most)s."),
    "far_from_site": _l("The code was scanned %(count)s m from the enterprise's recorded location: more than "
                        "%(radius)s m away."),
    "repeated_no_issue": _l("%(agency)s inspected here %(count)s times in a row and found no issue each time."),
    "high_exempt_share": _l("Exempt inspections: %(count)s of %(total)s, more than %(factor)s times the share of all "
                            "agencies together."),
    "late_entries": _l("Inspections entered late or by hand instead of scanning the code at the door: %(count)s."),
    "unconfirmed": _l("Inspections not confirmed by the enterprise after %(days)s days: %(count)s."),
    "open_too_long": _l("Inspections still open after %(days)s days: %(count)s."),
    "complaints_waiting": _l("Complaints waiting more than %(days)s days for an answer: %(count)s."),
    "approval_overdue": _l("Tasks waiting more than %(days)s days for the head's approval: %(count)s."),
    "followup_overdue": _l("Follow-ups past their deadline without an accepted answer: %(count)s."),
}


class DismissForm(FlaskForm):
    key = HiddenField(validators=[DataRequired(), Length(max=100)])
    # an empty reason reaches the logbook, which refuses it (no_dismiss_reason) in the reader's language
    reason = TextAreaField(_l("Why dismiss this warning?"), validators=[Optional(), Length(max=1000)])


@bp.app_template_global()
def warning_reason(warning):
    """Why a warning was raised, in one sentence in the reader's language."""
    limits = alert_limits()
    key = f"{warning['kind']}:{warning['period']}" if warning["kind"] == "frequent" else warning["kind"]
    if key not in REASONS:
        return ""
    days = {"unconfirmed": limits.confirm_days, "open_too_long": limits.open_days,
            "complaints_waiting": limits.complaint_days, "approval_overdue": limits.approval_days}
    most = {"day": limits.day, "week": limits.week, "month": limits.month}
    return str(REASONS[key]) % {
        "count": warning["count"], "most": most.get(warning["period"], ""), "radius": limits.site_radius_m,
        "agency": warning["agency_name"] or warning["agency"] or "", "total": warning.get("total", ""),
        "factor": f"{limits.exempt_factor:g}", "days": days.get(warning["kind"], "")}


@bp.app_template_global()
def warning_title(kind):
    """The heading of a kind of warning."""
    return TITLES.get(kind, kind)


@bp.app_template_filter("day_or_time")
def day_or_time(stored):
    """A warning's since/until, a local date (2026-03-01) or a stored UTC timestamp, as the reader writes a date."""
    if not stored:
        return ""
    if len(stored) == 10:
        try:
            return format_date(date.fromisoformat(stored), "medium")
        except ValueError:
            return stored
    return local_date(stored)


def grouped(found):
    """[(kind, warnings)] in the order of alerts.KINDS, kinds without warnings left out."""
    return [(kind, group) for kind in alerts.KINDS if (group := [w for w in found if w["kind"] == kind])]


@bp.route("/")
@role_required("supervisor")
def warnings():
    """The year's warnings by kind (?kind= for every one of a kind); ?dismissed=1 also lists the dismissed ones with
    who dismissed them and why."""
    return render_warnings(chosen_year())


def render_warnings(year, form=None, failed=None, status=200):
    show_dismissed = request.args.get("dismissed") == "1"
    kind = request.args.get("kind")
    kind = kind if kind in alerts.KINDS else None
    before = cursor(request.args.get("before"))
    db = database()
    found = alerts.warnings_of(db, year, now(), tz(), alert_limits(), dismissed=show_dismissed, kind=kind,
                               limit=KIND_PAGE if kind else SHOWN_PER_KIND, before=before)
    active = [w for w in found if w["dismissal"] is None]
    groups = grouped(active)
    totals = {k: len(group) for k, group in groups} | alerts.counts_of(db, year)  # stored kinds: counted in SQL
    older = (f"{found[-1]['until']},{found[-1]['id']}" if kind in alerts.STORED and len(found) == KIND_PAGE
             else None)
    return render_template("alerts/warnings.html", year=year, this_year=now().astimezone(tz()).year, kind=kind,
                           groups=groups, totals=totals, count=sum(totals.values()), show_dismissed=show_dismissed,
                           shown=None if kind else SHOWN_PER_KIND, form=form or DismissForm(), failed=failed,
                           older=older, dismissed=[w for w in found if w["dismissal"] is not None]), status


def cursor(text):
    """The (until, id) of the last warning of the page before, from ?before=UNTIL,ID; None when absent or malformed."""
    until, _, warning_id = (text or "").partition(",")
    if len(until) == 20 and warning_id.isdigit() and len(warning_id) < 19:
        return until, int(warning_id)
    return None


@bp.route("/dismiss", methods=["POST"])
@role_required("supervisor")
def dismiss():
    """Dismiss a warning of the year (?year=) with a reason; without one the page answers 422 and nothing changes."""
    year = chosen_year()
    form = DismissForm()
    if not form.validate():
        if "csrf_token" in form.errors or "key" in form.errors:
            abort(400)
        return render_warnings(year, form, form.key.data, 422)
    try:
        alerts.dismiss(database(), form.key.data, year, current_user.row, form.reason.data, now())
    except errors.NotFound:
        abort(404)
    except errors.Invalid as e:
        form.reason.errors = [problem_text(p) for p in e.fields.values()]
        return render_warnings(year, form, form.key.data, 422)
    flash(_("Warning dismissed; it is listed among the dismissed ones with your reason."), "success")
    kind = request.args.get("kind")
    return redirect(url_for("alerts.warnings", year=year, kind=kind if kind in alerts.KINDS else None))
