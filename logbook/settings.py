"""Settings are data: each has a default and help text, and is read from a LOGBOOK_* environment variable."""

import os
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    """One setting: its name (without the LOGBOOK_ prefix), default, type and help text."""

    name: str
    default: object
    help: str
    type: type = str


SETTINGS = [
    Setting("DATABASE", "instance/logbook.db", "Path of the SQLite database file (created by `flask init-db`)."),
    Setting("SECRET_KEY", None, "Key that signs sessions and CSRF tokens. If unset, one is generated once and "
            "kept in instance/secret_key, outside git."),
    Setting("BASE_URL", "http://127.0.0.1:5000", "Public address of this installation; every QR code encodes "
            "BASE_URL/q/<token>, so set it before printing posters."),
    Setting("SYNCHRONOUS", "FULL", "FULL: every acknowledged record survives even a power loss. NORMAL: faster "
            "writes that survive a process crash but may lose the last few on power loss."),
    Setting("WRITER_PROCESS", 1, "1: gunicorn's master runs one writer process beside the workers, through which "
            "every worker's writes commit together (gunicorn.conf.py); 0: each worker writes itself.", int),
    Setting("TIMEZONE", "Asia/Shanghai", "Time zone of calendar-year windows and of dates shown to people."),
    Setting("COUNTED_KINDS", "routine,special", "Inspection kinds that count against limit rules; all other kinds "
            "except `visit` are exempt and need a reference."),
    Setting("TASK_REQUIRED", "", "Inspection kinds that need a task approved by the agency's head before the door "
            "(comma-separated, e.g. routine,special); empty: the logbook works without tasks."),
    Setting("NOTICE_DAYS", 3, "Days ahead a firm hears of a task with notice: its window must open at least this "
            "many days after the task is approved.", int),
    Setting("BACKFILL_DAYS", 3, "Days within which an exempt inspection started without a task should have its "
            "approval recorded; later it is a warning.", int),
    Setting("STATEMENT_DAYS", 5, "Days after an inspection is closed within which the firm may answer its findings "
            "in writing (陈述申辩), once.", int),
    Setting("PHOTOS", "instance/photos", "Folder of the inspection photos (named by their SHA-256, which the journal "
            "records; back it up with the database)."),
    Setting("PDF_CACHE", "instance/pdf-cache", "Folder of rendered PDF documents, each named by the digest of what "
            "it shows, so asking again renders nothing; the most recently used 1,000 are kept (safe to delete)."),
    Setting("FREQUENT_DAY", 1, "Warn when one enterprise is inspected more than this many times on a calendar day "
            "(Chengdu's threshold; voided inspections and service visits not counted).", int),
    Setting("FREQUENT_WEEK", 2, "... more than this many times within 7 days.", int),
    Setting("FREQUENT_MONTH", 3, "... more than this many times within 30 days.", int),
    Setting("EXEMPT_SHARE_FACTOR", 2.0, "Warn about an agency (with at least 10 inspections) whose exempt share is "
            "more than this many times the share of all agencies together.", float),
    Setting("SITE_RADIUS_M", 500, "Warn about a scan whose reported location lies more than this many metres from the "
            "enterprise's coordinates (亮码即定位).", int),
    Setting("OPEN_DAYS", 7, "Warn about inspections still open after this many days.", int),
    Setting("CONFIRM_DAYS", 7, "Warn about inspections the firm has not confirmed after this many days.", int),
    Setting("COMPLAINT_DAYS", 7, "Warn about complaints still unanswered after this many days.", int),
    Setting("APPROVAL_DAYS", 3, "Warn about tasks waiting for their head's approval after this many days.", int),
    Setting("TOKEN_HOURS", 12, "Hours an API bearer token stays valid.", int),
    Setting("LOGIN_ATTEMPTS", 10, "Failed logins for one username from one address within LOGIN_WINDOW_MINUTES "
            "before further attempts from there answer 429 (from addresses it never logged in from: after ten times "
            "as many for the username in all).", int),
    Setting("LOGIN_WINDOW_MINUTES", 15, "Length of the failed-login window.", int),
    Setting("SESSION_HOURS", 12, "Hours a web login lasts; logging out ends it on the server at once.", int),
    Setting("PROXIES", 0, "Number of trusted reverse proxies in front of the app (their X-Forwarded-For/-Proto give "
            "the client's address for login throttling, and the scheme); 0 when clients connect directly.", int),
    Setting("IMPORT_MAX_MB", 50, "Largest enterprise CSV upload on the admin page, in MB (other bodies: 1 MB).", int),
    Setting("PASSWORD_HASH", "scrypt", "Werkzeug password hashing method (tests use a cheaper one).", str),
    Setting("SMTP_HOST", "", "Mail server for the firm's inbox messages; empty (the default) sends no mail, the "
            "in-app inbox works without it."),
    Setting("SMTP_PORT", 25, "Port of the mail server.", int),
    Setting("SMTP_FROM", "logbook@localhost", "Sender address of mailed messages."),
    Setting("SMTP_USER", "", "Login for the mail server, if it needs one."),
    Setting("SMTP_PASSWORD", "", "Password for the mail server, if it needs one."),
    Setting("SMTP_STARTTLS", 0, "1 to upgrade the mail connection with STARTTLS.", int),
]


def from_environment(environ=None):
    """The settings as a mapping of Flask config keys (LOGBOOK_*) to values, defaults filled in."""
    environ = os.environ if environ is None else environ
    config = {}
    for setting in SETTINGS:
        raw = environ.get(f"LOGBOOK_{setting.name}")
        value = setting.default if raw in (None, "") else setting.type(raw)
        config[f"LOGBOOK_{setting.name}"] = value
    return config


def instance_secret(instance_path):
    """Read the generated secret key from the instance folder, creating it once if missing."""
    path = os.path.join(instance_path, "secret_key")
    os.makedirs(instance_path, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    with open(path) as f:
        return f.read().strip()
