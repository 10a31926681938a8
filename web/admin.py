"""The operator's pages: enterprises with their printable posters and QR codes."""

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm

from logbook import enterprises, feedback, qr

from . import database, now, role_required
from .forms import SearchForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


def poster_enterprise(enterprise_id):
    """The enterprise whose poster the current user may print: admins any, a firm user its own."""
    found = enterprises.by_id(database(), enterprise_id) if enterprise_id < 2**62 else None
    if not found or not (current_user.role == "admin" or
                         (current_user.role == "firm" and current_user.enterprise_id == found["id"])):
        abort(404)
    return found


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
    return render_template("admin/poster.html", enterprise=found, qr_svg=qr.svg(url), url=url)


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
