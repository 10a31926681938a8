"""The operator's pages: enterprises (import, posters, QR codes, activation letters, new codes), agencies and
their item lists, users, and limit rules."""

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from logbook import accounts, agencies, checkpoints, enterprises, errors, feedback, limits, qr
from logbook.errors import Problem

from . import database, form_status, now, role_required, submitted
from .forms import AgencyForm, ImportForm, ItemForm, RuleForm, SearchForm, UserForm, choices
from .problems import problem_text

PAGE_SIZE = 50  # users per page: a city has tens of thousands

bp = Blueprint("admin", __name__, url_prefix="/admin")


def poster_enterprise(enterprise_id):
    """The enterprise whose poster the current user may print: admins any, a firm user its own."""
    try:
        return enterprises.enterprise_for(database(), enterprise_id, current_user.row, "print")
    except errors.NotFound:
        abort(404)


@bp.route("/")
@role_required("admin")
def home():
    """Find enterprises to print their posters."""
    form = SearchForm(request.args)
    found = enterprises.search(database(), form.q.data) if form.validate() else []
    return render_template("admin/home.html", form=form, found=found)


@bp.route("/enterprises/<int:enterprise_id>/poster")
@role_required("admin", "firm")
def poster(enterprise_id):
    """The printable A4 poster: the enterprise's name, USCI, its QR code and short instructions."""
    found = poster_enterprise(enterprise_id)
    url = enterprises.scan_url(current_app.config["LOGBOOK_BASE_URL"], found["qr_token"])
    return render_template("admin/poster.html", enterprise=found, qr_svg=qr.svg(url, inline=True), url=url)


@bp.route("/enterprises/<int:enterprise_id>/qr.<any(svg, png):fmt>")
@role_required("admin", "firm")
def qr_image(enterprise_id, fmt):
    """The enterprise's QR code as SVG or PNG."""
    found = poster_enterprise(enterprise_id)
    url = enterprises.scan_url(current_app.config["LOGBOOK_BASE_URL"], found["qr_token"])
    if fmt == "svg":
        return Response(qr.svg(url), mimetype="image/svg+xml")
    return Response(qr.png(url, box_size=20), mimetype="image/png")


@bp.route("/enterprises/<int:enterprise_id>/activation", methods=["POST"])
@role_required("admin")
def activation_letter(enterprise_id):
    """Issue a new one-time activation code (older ones stop working) and show the printable letter once."""
    form = FlaskForm()
    if not form.validate():
        abort(400)
    found = poster_enterprise(enterprise_id)
    code, expires_at = feedback.issue_activation_code(database(), found["id"], now())
    return render_template("admin/activation_letter.html", enterprise=found, code=code, expires_at=expires_at,
                           activate_url=f"{current_app.config['LOGBOOK_BASE_URL'].rstrip('/')}/activate")


@bp.route("/enterprises/<int:enterprise_id>/rotate", methods=["POST"])
@role_required("admin")
def rotate(enterprise_id):
    """Give the enterprise a new QR code; its old posters then say the code has been replaced."""
    if not FlaskForm().validate():
        abort(400)
    found = poster_enterprise(enterprise_id)
    enterprises.rotate_qr_token(database(), found["id"])
    flash(_("%(name)s has a new code. Print its new poster; the old one no longer works.", name=found["name"]), "success")
    return redirect(url_for("admin.poster", enterprise_id=found["id"]))


@bp.route("/enterprises/import", methods=["GET", "POST"])
@role_required("admin")
def import_enterprises():
    """Import enterprises from a CSV upload: all or nothing, every bad line listed."""
    form = ImportForm()
    problems = []
    if submitted(form):
        raw = form.file.data.read()
        try:
            text = raw.decode("utf-8-sig")
            added, updated = enterprises.import_enterprises(database(), enterprises.parse_csv(text))
        except UnicodeDecodeError:
            problems = [_("The file is not UTF-8. Save it as UTF-8 (CSV) and upload it again.")]
        except errors.ImportFailed as e:
            problems = [problem_text(p) for p in e.problems]
        else:
            flash(_("Imported: %(added)s new, %(updated)s updated.", added=added, updated=updated), "success")
            return redirect(url_for("admin.import_enterprises"))
    return render_template("admin/import.html", form=form, problems=problems), form_status()


def _agency_choices(form_field, blank=None):
    options = [(a["code"], f"{a['name']} ({a['code']})") for a in agencies.agencies(database())]
    form_field.choices = choices(([("", blank)] if blank else []) + options)


@bp.route("/agencies", methods=["GET", "POST"])
@role_required("admin")
def agencies_page():
    """Agencies and their inspection item lists, with forms to add either."""
    db = database()
    agency_form, item_form = AgencyForm(prefix="agency"), ItemForm(prefix="item")
    _agency_choices(item_form.agency)
    form = agency_form if "agency-code" in request.form else item_form
    if submitted(form):
        try:
            if form is agency_form:
                agencies.add_agency(db, form.code.data, form.name.data)
            else:
                agencies.add_item(db, form.agency.data, form.code.data, form.name.data, form.basis.data or None)
        except errors.DirectoryError as e:
            form.code.errors = [problem_text(e.problem)]
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("admin.agencies_page"))
    listed = agencies.agencies(db)
    shown = next((a for a in listed if a["code"] == request.args.get("agency")), None)
    items = agencies.items(db, [shown["code"]]) if shown else []
    return render_template("admin/agencies.html", agencies=listed, counts=agencies.item_counts(db), shown=shown,
                           items=items, checkpoints=checkpoints.checkpoints_of(db, [i["id"] for i in items]),
                           agency_form=agency_form, item_form=item_form), form_status()


@bp.route("/users", methods=["GET", "POST"])
@role_required("admin")
def users_page():
    """People and their roles, with the form to add one."""
    db = database()
    form = UserForm()
    _agency_choices(form.agency, blank="—")
    if submitted(form):
        try:
            accounts.add_user(db, form.username.data, form.password.data, form.role.data, name=form.name.data,
                              agency=form.agency.data or None, cert_no=form.cert_no.data or None,
                              cert_expires_on=form.cert_expires.data.isoformat() if form.cert_expires.data else None,
                              usci_code=form.usci.data or None, email=form.email.data,
                              hash_method=current_app.config["LOGBOOK_PASSWORD_HASH"])
        except errors.AccountError as e:
            form.username.errors = [problem_text(e.problem)]
        else:
            flash(_("User %(name)s added.", name=form.username.data), "success")
            return redirect(url_for("admin.users_page"))
    query, before = request.args.get("q", "")[:100], request.args.get("before", type=int)
    found = accounts.users(db, query, before, PAGE_SIZE + 1)
    return render_template("admin/users.html", users=found[:PAGE_SIZE], form=form, query=query,
                           older=found[PAGE_SIZE - 1]["id"] if len(found) > PAGE_SIZE else None), form_status()


@bp.route("/rules", methods=["GET", "POST"])
@role_required("admin")
def rules_page():
    """The limit rules in force, the form to add one, and a button to retire one."""
    db = database()
    form = RuleForm()
    _agency_choices(form.agency, blank=_("All agencies together"))
    if submitted(form):
        target, value = form.target.data, (form.value.data or "").strip() or None
        try:
            if target != "all" and not value:
                raise errors.RuleError(Problem("no_target_value", "name the risk level, industry or USCI"))
            limits.add_rule(db, form.max.data, agency=form.agency.data or None,
                            risk=value if target == "risk" else None, industry=value if target == "industry" else None,
                            usci_code=value if target == "enterprise" else None, window=form.window.data.strip())
        except errors.RuleError as e:
            form.value.errors = [problem_text(e.problem)]
        else:
            flash(_("Rule added. It applies from the next scan."), "success")
            return redirect(url_for("admin.rules_page"))
    return render_template("admin/rules.html", rules=limits.active_rules(db), form=form), form_status()


@bp.route("/rules/<int:rule_id>/retire", methods=["POST"])
@role_required("admin")
def retire_rule(rule_id):
    """Stop applying a rule."""
    if not FlaskForm().validate():
        abort(400)
    if rule_id >= 2**62 or not limits.deactivate_rule(database(), rule_id):
        abort(404)
    flash(_("Rule %(id)s no longer applies.", id=rule_id), "success")
    return redirect(url_for("admin.rules_page"))
