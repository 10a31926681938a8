"""The Flask layer: one blueprint per audience. Views parse a request, call one logbook function, render."""

from datetime import datetime, timezone
from functools import wraps

from flask import abort, current_app, request
from flask_babel import format_date, format_datetime
from flask_login import current_user

from logbook import db, inspections, thresholds, writer
from logbook.errors import NotFound


def database():
    """This thread's long-lived connection to the configured database."""
    return db.for_thread(current_app.config["LOGBOOK_DATABASE"], current_app.config["LOGBOOK_SYNCHRONOUS"])


def writes():
    """The writer of the configured database in this process: scans go through it to be committed in groups."""
    return writer.writer_for(current_app.config["LOGBOOK_DATABASE"], current_app.config["LOGBOOK_SYNCHRONOUS"])


def record_start(user, start):
    """Scan-to-enter through the write queue: what needs no lock is read and checked on this request's connection
    (inspections.prepare_start), the cap is decided and the inspection written in the writer's next group commit
    (inspections.write_start). Returns the inspections.Recorded and the start as prepared (None when an earlier
    request with the same idempotency key recorded it); raises the refusals, CapReached once its attempt is committed."""
    prepared = inspections.prepare_start(database(), user, start, now(), tz(), counted_kinds(), task_required(),
                                         alert_limits())
    if isinstance(prepared, int):
        return inspections.Recorded(prepared), None
    recorded = writes().run(inspections.write_start, prepared)
    if recorded.refused:
        raise recorded.refused
    return recorded, prepared


def now():
    """The current instant (aware, UTC); the one place the web layer reads the clock."""
    return datetime.now(timezone.utc)


def tz():
    """The installation's time zone."""
    return current_app.config["LOGBOOK_TZ"]


def today():
    """The installation's local date (task windows, deadlines, inbox reminders are local dates)."""
    return now().astimezone(tz()).date()


def counted_kinds():
    """The inspection kinds that count against limit rules."""
    return current_app.config["LOGBOOK_COUNTED"]


def task_required():
    """The inspection kinds that need an approved task before the door (LOGBOOK_TASK_REQUIRED)."""
    return current_app.config["LOGBOOK_TASKS_FOR"]


def alert_limits():
    """The thresholds of the supervisor's warnings (LOGBOOK_FREQUENT_DAY and the rest)."""
    config = current_app.config
    return thresholds.Thresholds(
        day=config["LOGBOOK_FREQUENT_DAY"], week=config["LOGBOOK_FREQUENT_WEEK"], month=config["LOGBOOK_FREQUENT_MONTH"],
        exempt_factor=config["LOGBOOK_EXEMPT_SHARE_FACTOR"], site_radius_m=config["LOGBOOK_SITE_RADIUS_M"],
        open_days=config["LOGBOOK_OPEN_DAYS"], confirm_days=config["LOGBOOK_CONFIRM_DAYS"],
        complaint_days=config["LOGBOOK_COMPLAINT_DAYS"], approval_days=config["LOGBOOK_APPROVAL_DAYS"])


JSON_MAX_BYTES = 1024 * 1024          # SPEC §5: 1 MB for JSON (and any form); larger bodies answer 413 unread
PHOTO_BODY_BYTES = 10 * 1024 * 1024 + 64 * 1024  # SPEC §10: a 10 MB photo and its multipart wrapping
# endpoints that take files, and their limit: a setting in MB, or bytes
BODY_LIMITS = {"admin.import_enterprises": "LOGBOOK_IMPORT_MAX_MB", "api.add_photo": PHOTO_BODY_BYTES,
               "inspector.add_photo": PHOTO_BODY_BYTES, "firm.rectify": 6 * PHOTO_BODY_BYTES}


def limit_body():
    """Give the request the body limit of its endpoint, before anything reads the body (a before_request hook)."""
    limit = BODY_LIMITS.get(request.endpoint)
    if isinstance(limit, str):
        request.max_content_length = current_app.config[limit] * 1024 * 1024
    elif limit:
        request.max_content_length = limit


def client_address():
    """The client's address (behind LOGBOOK_PROXIES trusted proxies, ProxyFix has already put the real one here)."""
    return (request.remote_addr or "")[:64]


def inspection_or_404(inspection_id, may="see"):
    """The inspection if the current user may `may` it (logbook.inspections.allowed), else 404."""
    try:
        return inspections.inspection_for(database(), inspection_id, current_user.row, may)
    except NotFound:
        abort(404)


def roll_back_open_transaction(exc=None):
    """Teardown: nothing a request began stays open (a held write lock would stop every scan)."""
    if current_app.config.get("LOGBOOK_DATABASE"):
        db.rollback_open(current_app.config["LOGBOOK_DATABASE"])


def role_required(*roles):
    """Pages for some roles only: anonymous users go to login; other roles get 404 (nothing leaks)."""
    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)
        return wrapped
    return decorate


def local_time(stored):
    """A stored UTC timestamp in the installation's time zone, written the reader's way (2026/3/1 09:30)."""
    return format_datetime(db.parse_time(stored), "short") if stored else ""


def local_date(stored):
    """The local date of a stored UTC timestamp, written the reader's way (2026年3月1日, Mar 1, 2026)."""
    return format_date(db.parse_time(stored).astimezone(tz()), "medium") if stored else ""


def window_text(window):
    """A limit rule's window for people: "calendar year" or "rolling 30 days"."""
    from flask_babel import gettext as _

    if window == "year":
        return _("calendar year")
    return _("rolling %(days)s days", days=window.split(":", 1)[1])


def install_template_helpers(app):
    """Filters and globals the templates share."""
    from flask_babel import get_locale

    from .forms import (
        COMPLAINT_LABELS,
        COMPLAINT_STATUS_LABELS,
        KIND_LABELS,
        PROPOSAL_LABELS,
        RESULT_LABELS,
        RIGHT_LABELS,
        ROLE_LABELS,
        TARGET_LABELS,
        TASK_STATUS_LABELS,
        TASK_STEP_LABELS,
    )
    from .problems import problem_text

    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(local_date, "local_date")
    app.add_template_filter(problem_text, "problem_text")
    app.add_template_global(lambda: get_locale().language if get_locale() else "zh", "current_locale")
    app.add_template_global(KIND_LABELS, "KIND_LABELS")
    app.add_template_global(RESULT_LABELS, "RESULT_LABELS")
    app.add_template_global(COMPLAINT_LABELS, "COMPLAINT_LABELS")
    app.add_template_global(COMPLAINT_STATUS_LABELS, "COMPLAINT_STATUS_LABELS")
    app.add_template_global(TARGET_LABELS, "TARGET_LABELS")
    app.add_template_global(ROLE_LABELS, "ROLE_LABELS")
    app.add_template_global(TASK_STATUS_LABELS, "TASK_STATUS_LABELS")
    app.add_template_global(TASK_STEP_LABELS, "TASK_STEP_LABELS")
    app.add_template_global(RIGHT_LABELS, "RIGHT_LABELS")
    app.add_template_global(PROPOSAL_LABELS, "PROPOSAL_LABELS")
    app.add_template_filter(window_text, "window_text")


def submitted(form):
    """True when a valid form was posted; a POST whose CSRF token is missing or wrong is a 400."""
    if form.validate_on_submit():
        return True
    if request.method == "POST" and "csrf_token" in form.errors:
        abort(400)
    return False


def form_status():
    """The status of a page shown again after a POST: 422, since the post was refused; 200 for a GET."""
    return 422 if request.method == "POST" else 200


# Sent with every response: the page may only load its own scripts, never be framed, and never tell another
# site the /q/<token> or confirmation URL it came from. Inline styles stay allowed for the printable sheets.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
                               "form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def add_security_headers(response):
    """Set the security headers on a response (an after_request hook); behind HTTPS, browsers keep to HTTPS."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def csv_download(chunks, filename):
    """A streamed CSV attachment."""
    from flask import Response, stream_with_context

    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


def chosen_year():
    """The calendar year asked for in ?year=, this year when absent or out of range (2000 to this year)."""
    this_year = now().astimezone(tz()).year
    year = request.args.get("year", type=int) or this_year
    return year if 2000 <= year <= this_year else this_year


RECORDS_PAGE = 20  # an enterprise's inspections per page: a gas company is inspected 170 times a year


def current_page():
    """The page number asked for in ?page=, 1 by default."""
    page = request.args.get("page", type=int) or 1
    return page if 1 <= page <= 100_000 else 1
