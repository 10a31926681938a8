"""The application factory: config, extensions, blueprints and CLI. It assembles; it does no work itself."""

import os
from zoneinfo import ZoneInfo

from flask import Flask, request
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import web
from logbook import settings, writer
from web import (
    admin,
    alerts,
    api,
    api_draws,
    api_firm,
    api_supervision,
    api_tasks,
    auth,
    cli,
    documents,
    errors,
    firm,
    followups,
    inspector,
    public,
    supervisor,
    tasks,
    users,
)

LANGUAGES = ("zh", "en")


def select_locale():
    """A `lang` cookie chosen on the page wins; otherwise the browser's Accept-Language, Chinese by default."""
    chosen = request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default="zh")


def create_app(test_config=None):
    """Build the Flask app; `test_config` overrides settings read from LOGBOOK_* variables."""
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(settings.from_environment())
    app.config.update(
        API_TITLE="扫码入企 Inspection Logbook API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_TRANSLATION_DIRECTORIES=os.path.join(app.root_path, "translations"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=web.JSON_MAX_BYTES,  # every body; the CSV import raises its own limit (web.limit_body)
    )
    if test_config:
        app.config.update(test_config)
    if not app.config.get("LOGBOOK_SECRET_KEY"):
        app.config["LOGBOOK_SECRET_KEY"] = settings.instance_secret(os.path.join(app.root_path, "instance"))
    app.config["SECRET_KEY"] = app.config["LOGBOOK_SECRET_KEY"]
    # a form's CSRF token lasts as long as the login, so a checklist answered over hours still saves
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", app.config["LOGBOOK_SESSION_HOURS"] * 3600)
    # behind HTTPS, cookies travel only over HTTPS and browsers are told to keep to it (HSTS)
    app.config["SESSION_COOKIE_SECURE"] = (test_config or {}).get(
        "SESSION_COOKIE_SECURE", app.config["LOGBOOK_BASE_URL"].startswith("https://"))
    if app.config["LOGBOOK_PROXIES"]:  # the client's address and scheme as the trusted reverse proxies saw them
        proxies = app.config["LOGBOOK_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.config["LOGBOOK_TZ"] = ZoneInfo(app.config["LOGBOOK_TIMEZONE"])
    # photos are written and served by this one absolute path (a relative one would be read from the app's folder)
    app.config["LOGBOOK_PHOTOS"] = os.path.abspath(app.config["LOGBOOK_PHOTOS"])
    app.config["LOGBOOK_PDF_CACHE"] = os.path.abspath(app.config["LOGBOOK_PDF_CACHE"])
    app.config["LOGBOOK_COUNTED"] = tuple(k.strip() for k in app.config["LOGBOOK_COUNTED_KINDS"].split(",") if k.strip())
    app.config["LOGBOOK_TASKS_FOR"] = tuple(k.strip() for k in app.config["LOGBOOK_TASK_REQUIRED"].split(",") if k.strip())

    Babel(app, locale_selector=select_locale, timezone_selector=lambda: app.config["LOGBOOK_TIMEZONE"])
    app.before_request(web.limit_body)  # before CSRFProtect's hook, which reads the form
    CSRFProtect(app).exempt(api.blp)
    login = LoginManager(app)
    login.login_view = "auth.login"
    login.login_message = _l("Please log in to see this page.")
    login.user_loader(users.load_user)

    rest = api.LogbookApi(app)
    api.document_security(rest.spec)
    assert api_firm.blp is api.blp  # the firm and supervisor endpoints live on the same /api/v1 blueprint
    assert api_tasks.blp is api.blp  # so do the tasks (SPEC §9)
    assert api_draws.blp is api.blp  # so do the random draws (whose published result needs no token)
    assert api_supervision.blp is api.blp  # so do the warnings and follow-ups (SPEC §11)
    rest.register_blueprint(api.blp)
    for blueprint in (auth.bp, public.bp, inspector.bp, tasks.bp, firm.bp, supervisor.bp, admin.bp, documents.bp,
                      alerts.bp, followups.bp):
        app.register_blueprint(blueprint)
    app.register_error_handler(HTTPException, errors.handle_http_exception)
    app.register_error_handler(writer.WriterLost, errors.writer_lost)
    app.teardown_appcontext(users.forget_request_user)
    app.teardown_request(web.roll_back_open_transaction)
    web.install_template_helpers(app)
    app.after_request(web.add_security_headers)
    cli.register(app)
    return app
