"""The URL in every QR code, /q/<token>: what it shows depends on who opens it."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from logbook import enterprises

from . import database
from .inspector import render_scan

bp = Blueprint("public", __name__)


@bp.route("/q/<token>")
def scan(token):
    """Anonymous visitors see only the firm's name; inspectors get the scan page; the firm its records."""
    found, replaced = enterprises.by_qr_token(database(), token[:64])
    if not found:
        return render_template("public/unknown_code.html"), 404
    if replaced:
        return render_template("public/replaced_code.html", enterprise=found), 410
    if current_user.is_authenticated:
        if current_user.role == "inspector":
            return render_scan(found, entry="scan", token=token)
        if current_user.role == "firm" and current_user.enterprise_id == found["id"]:
            return redirect(url_for("firm.home"))
    return render_template("public/landing.html", enterprise=found, token=token)
