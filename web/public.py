"""Pages without a login: the URL in every QR code, /q/<token>, whose page depends on who opens it, and the
published random draws, /draws/<id> (一公开)."""

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user

from logbook import draws, enterprises

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


@bp.route("/draws/<int:draw_id>")
def draw(draw_id):
    """A random draw as published (双随机一公开): who drew what from how many, and how anyone can check it."""
    found = draws.draw_by_id(database(), draw_id)
    if found is None:
        abort(404)
    return render_template("public/draw.html", draw=found, people={p["username"]: p for p in found["inspectors"]})
