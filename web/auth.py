"""Logging in and out, the language switch, and the start page that sends each role to its home."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from logbook import accounts, errors, feedback

from . import client_address, database, form_status, now, submitted
from .forms import ActivationForm, LoginForm
from .problems import problem_text
from .users import User

bp = Blueprint("auth", __name__)
HOMES = {"inspector": "inspector.home", "firm": "firm.home", "supervisor": "supervisor.home", "admin": "admin.home",
         "head": "tasks.home"}


def safe_next(target, default):
    """Follow a `next` URL only when it stays on this site (no scheme, no host)."""
    if target and target.isprintable() and "\\" not in target:  # no CR/LF (header injection), no "/\\host"
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return default


@bp.route("/")
def home():
    """Send each role to its own home; show the anonymous visitor what this is."""
    if current_user.is_authenticated:
        endpoint = HOMES.get(current_user.role)
        if endpoint in current_app.view_functions:
            return redirect(url_for(endpoint))
    return render_template("public/index.html")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Password login, throttled per username."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        db = database()
        config = current_app.config
        try:
            found = accounts.authenticate(db, form.username.data, form.password.data, now(), client_address(),
                                          config["LOGBOOK_LOGIN_ATTEMPTS"], config["LOGBOOK_LOGIN_WINDOW_MINUTES"],
                                          config["LOGBOOK_PASSWORD_HASH"])
        except errors.TooManyAttempts:
            flash(_("Too many failed attempts for this username. Please wait 15 minutes."), "error")
            return render_template("auth/login.html", form=form), 429
        if found:
            session.clear()  # a fresh session: nothing from before the login carries over (session fixation)
            session["sid"] = accounts.open_session(db, found["id"], now(), config["LOGBOOK_SESSION_HOURS"])
            login_user(User(found))
            return redirect(safe_next(request.args.get("next"), url_for("auth.home")))
        flash(_("Wrong username or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 400 if "csrf_token" in form.errors else 422
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out (a POST with a CSRF token, so no link can log someone out); the session ends on the server too."""
    accounts.end_session(database(), session.get("sid"))
    logout_user()
    session.clear()
    flash(_("You are logged out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/language/<code>")
def language(code):
    """Remember the chosen language in a cookie and go back."""
    response = redirect(safe_next(request.args.get("next"), url_for("auth.home")))
    if code in ("zh", "en"):
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.route("/healthz")
def healthz():
    """Liveness for load balancers and the benchmark's hello-world baseline: no database, no template."""
    return "ok", 200, {"Content-Type": "text/plain"}


@bp.route("/activate", methods=["GET", "POST"])
def activate():
    """A firm's person sets up the enterprise's account with the one-time code from the activation letter."""
    form = ActivationForm()
    if submitted(form):
        try:
            feedback.activate(database(), form.usci.data, form.code.data, form.username.data, form.password.data,
                              form.name.data, now(), current_app.config["LOGBOOK_PASSWORD_HASH"], client_address())
        except errors.BadCode:
            form.code.errors = [_("This activation code is wrong, used or expired. Ask for a new letter.")]
        except errors.TooManyAttempts:
            form.code.errors = [_("Too many wrong codes. Please wait 15 minutes.")]
            return render_template("auth/activate.html", form=form), 429
        except errors.AccountError as e:
            form.username.errors = [problem_text(e.problem)]
        else:
            flash(_("Your account is ready. Log in with your new username and password."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/activate.html", form=form), form_status()
