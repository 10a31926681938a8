"""The official documents of an inspection (SPEC §10): the on-site record (现场检查笔录) and the result notice
(检查结果告知书), each a printable A4 page and, from the same template, a PDF (logbook.pdf) whose only resources
are the inspection's own photos, read from the photo store.
"""

import os
import re
from datetime import date, timedelta
from urllib.parse import urljoin

from flask import Blueprint, Response, abort, current_app, render_template, request, send_file, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required

from logbook import db, photos
from logbook.errors import NotFound

from . import database, inspection_or_404, tz
from .checklist import OUTCOME_LABELS

bp = Blueprint("documents", __name__)

# The firm's remedies against the result, fixed by statute: 行政复议法 (2023) art. 20, 行政诉讼法 art. 46.
REVIEW_DAYS, LAWSUIT_MONTHS = 60, 6
PHOTO_MAX_AGE = 3600  # seconds a browser keeps a photo: private, since who may see an inspection can change
TEMPLATES = {"record": "documents/record.html", "result": "documents/result.html"}


@bp.route("/inspections/<int:inspection_id>/record")
@login_required
def record(inspection_id):
    """The on-site record (现场检查笔录) as a printable page; an open inspection's prints as a draft."""
    return render_template(TEMPLATES["record"], **document(inspection_id, "record"))


@bp.route("/inspections/<int:inspection_id>/record.pdf")
@login_required
def record_pdf(inspection_id):
    """The on-site record as PDF."""
    return pdf_response(inspection_id, "record")


@bp.route("/inspections/<int:inspection_id>/result")
@login_required
def result(inspection_id):
    """The result notice (检查结果告知书) of a closed inspection as a printable page."""
    return render_template(TEMPLATES["result"], **document(inspection_id, "result"))


@bp.route("/inspections/<int:inspection_id>/result.pdf")
@login_required
def result_pdf(inspection_id):
    """The result notice as PDF."""
    return pdf_response(inspection_id, "result")


@bp.route("/inspections/<int:inspection_id>/photos/<int:photo_id>")
@login_required
def photo(inspection_id, photo_id):
    """A photo of an inspection, for whoever may see the inspection (404 otherwise)."""
    try:
        found = photos.photo_for(database(), inspection_id, photo_id, current_user.row)
    except NotFound:
        abort(404)
    path = photo_file(found)
    if not os.path.isfile(path):
        abort(404)
    response = send_file(path, mimetype=found["media_type"], max_age=PHOTO_MAX_AGE)
    response.cache_control.public = False
    response.cache_control.private = True
    return response


def document(inspection_id, name):
    """What a document's template needs, for an inspection the user may see; 404 for a result notice of an
    inspection that is not closed (it has no result yet, or was voided)."""
    found = inspection_or_404(inspection_id, "see")
    if name == "result" and found["status"] != "closed":
        abort(404)
    closed_on = db.parse_time(found["closed_at"]).astimezone(tz()).date() if found["closed_at"] else None
    days = current_app.config["LOGBOOK_STATEMENT_DAYS"]
    rectify_by = found["rectify_by"] if found["result"] == "rectify" else None
    return {"inspection": found, "name": name, "number": document_number(found),
            "mark": {"open": "draft", "voided": "voided"}.get(found["status"]),
            # printed into the page footer's CSS string too, so only ever a hex digest
            "stamp": found["journal_hash"] if re.fullmatch(r"[0-9a-f]{64}", found["journal_hash"] or "") else "",
            "bases": list(dict.fromkeys(i["basis"] for i in found["item_details"] if i["basis"])),
            "checkpoint_texts": {c["id"]: c["text"] for c in found["checkpoints"]}, "outcomes": OUTCOME_LABELS,
            "rectify_by": format_date(date.fromisoformat(rectify_by), "long") if rectify_by else None,
            "statement_days": days,
            "statement_by": format_date(closed_on + timedelta(days=days), "long") if closed_on else None,
            "review_days": REVIEW_DAYS, "lawsuit_months": LAWSUIT_MONTHS}


def document_number(found):
    """The number printed on both documents: the local year it started and the inspection id (2026-000123)."""
    return f"{db.parse_time(found['started_at']).astimezone(tz()).year}-{found['id']:06d}"


def photo_file(found):
    """The file of a stored photo (the store folder as configured, relative to the working directory)."""
    return os.path.abspath(photos.photo_path(current_app.config["LOGBOOK_PHOTOS"], found["sha256"],
                                             found["media_type"]))


def pdf_response(inspection_id, name):
    """A document rendered to PDF from the same template as its page, shown inline with a telling file name."""
    context = document(inspection_id, name)  # who may see it first: a 404 is a 404 with or without Pango
    try:
        from logbook import pdf  # imported on first use: WeasyPrint takes 0.45 s to load, more than the app
    except (ImportError, OSError):  # no WeasyPrint, or no Pango (scripts/system-packages.sh, docs/deploying.md)
        current_app.logger.exception("PDF documents need Pango: apt-get install libpango-1.0-0 libpangoft2-1.0-0")
        abort(503, _("PDF documents are not available on this server yet; the page itself prints the same."))
    html = render_template(TEMPLATES[name], **context)
    base = request.host_url
    files = {urljoin(base, url_for("documents.photo", inspection_id=inspection_id, photo_id=p["id"])):
             (photo_file(p), p["media_type"]) for p in context["inspection"]["photos"]}
    filename = f"inspection-{context['number']}-{name}.pdf"
    return Response(pdf.cached(current_app.config["LOGBOOK_PDF_CACHE"], html, base, files), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})
