"""The inspector's pages: the scan page with its start form, manual entry, and an inspection's own page."""

from datetime import timezone

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from logbook import accounts, agencies, enterprises, errors, feedback, inspections, qr, rules, tasks
from logbook.db import parse_time

from . import (
    RECORDS_PAGE,
    alert_limits,
    counted_kinds,
    current_page,
    database,
    inspection_or_404,
    now,
    record_start,
    role_required,
    today,
    tz,
)
from .forms import CloseForm, SearchForm, StartForm, VoidForm, choices
from .problems import problem_text

bp = Blueprint("inspector", __name__, url_prefix="/inspector")


# suggestions per picker: what fits one phone screen with the start button, whatever the size of the city
PICKED_PEOPLE, PICKED_ITEMS = 6, 4  # names take half a row, item names a whole one
PICKERS = ("inspectors", "items")
RECHECKS_OFFERED = 10  # reported rectifications listed on the inspector's home page


def start_form(db, data=None):
    """The start form and its pickers: a short list of likely co-inspectors and items, the picked ones, and what a
    search (the `find` button, for phones without JavaScript) found."""
    form = StartForm(formdata=data)
    form.agencies.choices = choices((a["code"], a["name"]) for a in agencies.agencies(db))
    if data is None:
        form.agencies.data = [current_user.agency]
    form.inspectors.choices = form.items.choices = []
    user, data = current_user.row, data or {}
    # either Find button (or Enter in any field, which presses the first) searches every box with text in it
    query = {name: (data.get(f"q_{name}") or "").strip()[:100] if data.get("find") else "" for name in PICKERS}
    people = accounts.inspectors_named(db, form.inspectors.data or [])
    form.taking_part = taking_part = participating(form.agencies.data, people)
    form.pickers = {
        "inspectors": picker(form.inspectors.data, people + accounts.colleagues(db, user, PICKED_PEOPLE),
                             accounts.find_inspectors(db, query["inspectors"], user["id"]), person_option,
                             query["inspectors"]),
        "items": picker(form.items.data, agencies.items_coded(db, form.items.data or [])
                        + agencies.item_suggestions(db, user["id"], taking_part, PICKED_ITEMS),
                        agencies.find_items(db, taking_part, query["items"]), item_option, query["items"]),
    }
    return form


def participating(agency_codes, people):
    """The agencies taking part: those ticked, the caller's own, and those of the co-inspectors picked."""
    return list(dict.fromkeys([current_user.agency, *(agency_codes or []), *(p["agency"] for p in people)]))


def picker(picked, known, found, option, query):
    """A picker's options: the picked and the suggested ones, then what the search found, each once, picked ones
    ticked; with the query and how many it found."""
    seen, options = set(), []
    for candidate in known + found:
        choice = option(candidate)
        if choice["value"] not in seen:
            seen.add(choice["value"])
            options.append(choice | {"checked": choice["value"] in (picked or [])})
    return {"options": options, "query": query, "message": found_message(len(found), query)}


def person_option(u):
    """How a co-inspector reads in a picker (also in the JSON the page's script fetches)."""
    return {"value": u["username"], "label": u["name"] or u["username"], "detail": u["cert_no"] or "",
            "agency": u["agency"], "agency_name": u["agency_name"]}


def item_option(i):
    """How an item reads in a picker."""
    return {"value": i["code"], "label": i["name"], "detail": "", "agency": i["agency"], "agency_name": ""}


def render_scan(enterprise, entry, token=None, form=None, problems=None, message=None, status=200):
    """The one-screen scan page: who the firm is, the quota meter, this year's inspections, the start form."""
    db, at = database(), now()
    page = current_page() if request.method == "GET" else 1
    year = inspections.year_of_records(db, enterprise, at.astimezone(tz()).year, at, tz(), counted_kinds(),
                                       RECORDS_PAGE, (page - 1) * RECORDS_PAGE)
    return render_template(
        "inspector/scan.html", enterprise=enterprise, entry=entry, token=token, quota=year["quota"],
        recent=year["inspections"], page=page, more=year["recorded"] > page * RECORDS_PAGE,
        ready=tasks.startable(db, current_user.row, enterprise["id"], today()), rechecks=rechecks_due(db, enterprise),
        form=form or start_form(db), problems=problems or {}, message=message), status


def rechecks_due(db, enterprise):
    """The enterprise's reported rectifications awaiting a recheck, each with what its one-tap start posts: the
    rechecked inspection's agencies, items and inspectors (but the caller), so the recheck looks at what was found."""
    due = feedback.rechecks_due_at(db, enterprise["id"])
    rechecked = {i["id"]: i for i in inspections.inspections_by_ids(db, [r["inspection_id"] for r in due])}
    offers = []
    for r in due:
        earlier = rechecked[r["inspection_id"]]
        offers.append(r | {"agencies": earlier["agencies"], "items": earlier["items"], "inspectors": [
            p["username"] for p in earlier["inspectors"] if p["user_id"] != current_user.id]})
    return offers


@bp.route("/")
@role_required("inspector")
def home():
    """My open inspections, and the manual search for a firm whose poster is missing."""
    db = database()
    return render_template("inspector/home.html", form=SearchForm(request.args),
                           open_inspections=inspections.inspections_of_inspector(db, current_user.id, "open"),
                           closed_inspections=inspections.inspections_of_inspector(db, current_user.id, "closed", 10),
                           rechecks=feedback.rechecks_offered(db, current_user.id, RECHECKS_OFFERED),
                           rating=feedback.agency_rating(db, current_user.agency))


@bp.route("/search")
@role_required("inspector")
def search():
    """Find an enterprise by USCI or name for manual entry."""
    form = SearchForm(request.args)
    found = enterprises.search(database(), form.q.data) if form.validate() else []
    return render_template("inspector/search.html", form=form, found=found)


@bp.route("/find/<any(inspectors, items):what>")
@role_required("inspector")
def find(what):
    """What the start form's pickers find as the inspector types: co-inspectors of any agency, or items of the
    participating agencies (JSON for static/pickers.js)."""
    db, query = database(), request.args.get("q", "").strip()[:100]
    if what == "inspectors":
        found = [person_option(u) for u in accounts.find_inspectors(db, query, current_user.id)]
    else:
        found = [item_option(i) for i in agencies.find_items(db, participating(request.args.getlist("agencies")[:100], []),
                                                              query)]
    return jsonify(found=found, message=found_message(len(found), query))


def found_message(count, query):
    """What a picker says after a search."""
    if not query:
        return ""
    if not count:
        return _("Nothing found for “%(query)s”", query=query)
    return _("%(num)d found for “%(query)s”", num=count, query=query)


@bp.route("/manual/<usci>")
@role_required("inspector")
def manual(usci):
    """The scan page for an enterprise found by search; the inspection will be flagged as manual entry."""
    found = enterprises.by_usci(database(), usci[:40])
    if not found:
        abort(404)
    return render_scan(found, entry="manual")


@bp.route("/start", methods=["POST"])
@role_required("inspector")
def start():
    """Record an inspection from the scan page's form, or show the page again with what is wrong."""
    db = database()
    token, usci = request.form.get("qr_token"), request.form.get("usci")
    found = (enterprises.by_qr_token(db, token[:64])[0] if token else enterprises.by_usci(db, (usci or "")[:40]))
    if not found:
        abort(404)
    entry = "scan" if token else "manual"
    task_id = request.form.get("task_id", type=int)
    if task_id is not None:
        return start_task(db, found, entry, token, task_id)
    form = start_form(db, request.form)
    valid = form.validate()
    if "csrf_token" in form.errors:
        abort(400)
    if request.form.get("find"):  # a picker's search without JavaScript: the same page, with what was found
        return render_scan(found, entry, token, form)
    if not valid:
        return render_scan(found, entry, token, form, problems={k: " ".join(v) for k, v in form.errors.items()},
                           status=422)
    started_at = form.started_at.data.replace(tzinfo=tz()).astimezone(timezone.utc) if form.started_at.data else None
    body = inspections.StartRequest(
        qr_token=token, usci=None if token else found["usci"], kind=form.kind.data, agencies=form.taking_part,
        inspectors=form.inspectors.data, items=form.items.data, reference=form.reference.data,
        reason=form.reason.data, recheck_of=form.recheck_of.data, started_at=started_at)
    try:
        inspection_id = record_start(current_user.row, body)[0].id
    except errors.Invalid as e:
        return render_scan(found, entry, token, form, problems=e.fields, status=422)
    except errors.CertificateInvalid:
        return render_scan(found, entry, token, form, status=403,
                           message=_("Your enforcement certificate is missing or expired; you cannot start an inspection."))
    except errors.TaskRequired as e:
        return render_scan(found, entry, token, form, status=409, message=problem_text(e.problem))
    except errors.UnknownCode:
        abort(404)
    except errors.CapReached as e:
        return render_scan(found, entry, token, form, status=409, message=cap_message(e))
    flash(_("Inspection recorded. Show the confirmation code to the enterprise."), "success")
    return redirect(url_for("inspector.inspection", inspection_id=inspection_id))


def cap_message(e):
    """What the page says when a limit rule refuses a start."""
    return _("Refused: this enterprise has already had %(used)s of at most %(max)s counted inspections in this "
             "window (rule %(rule)s, %(scope)s). The attempt has been recorded for the supervisor.",
             used=e.used, max=e.max, rule=e.rule.id, scope=e.rule.agency or _("all agencies together"))


def start_task(db, found, entry, token, task_id):
    """Start the inspection of an approved task from the scan page: the task says who, what and which items."""
    form = StartForm(request.form)
    form.validate()
    if "csrf_token" in form.errors:
        abort(400)
    body = inspections.StartRequest(kind="", task_id=task_id, qr_token=token, usci=None if token else found["usci"])
    try:
        inspection_id = record_start(current_user.row, body)[0].id
    except errors.CapReached as e:
        return render_scan(found, entry, token, status=409, message=cap_message(e))
    except errors.NotFound:
        abort(404)
    except errors.LogbookError as e:  # no longer startable, a certificate, a rule of the start (e.g. a clean streak)
        message = "; ".join(problem_text(p) for p in e.fields.values()) if isinstance(e, errors.Invalid) \
            else problem_text(e.problem)
        return render_scan(found, entry, token, status=409 if isinstance(e, errors.TaskRequired) else 422,
                           message=message)
    flash(_("Inspection recorded. Show the confirmation code to the enterprise."), "success")
    return redirect(url_for("inspector.inspection", inspection_id=inspection_id))


@bp.route("/inspections/<int:inspection_id>")
@role_required("inspector")
def inspection(inspection_id):
    """An inspection: facts, the confirmation code with its QR, the checklist and the close and void forms; once
    closed, what was found, the firm's answers and the documents."""
    return render_inspection(inspection_or_404(inspection_id, "act"), CloseForm())


def render_inspection(found, close_form, entered=None, checks_problem=None, status=200):
    """The inspection's page; after a refused close, with what was entered and the checklist's problem."""
    confirm_url = (f"{current_app.config['LOGBOOK_BASE_URL'].rstrip('/')}/firm/confirm/{found['id']}"
                   f"?code={found['confirm_code']}")
    voidable = rules.void_problem(found["status"], parse_time(found["recorded_at"]), now(),
                                  confirmed=found["confirmed_at"] is not None) is None
    return render_template("inspector/inspection.html", inspection=found, confirm_qr=qr.svg(confirm_url, inline=True),
                           close_form=close_form, void_form=VoidForm(), voidable=voidable,
                           task_ids=tasks.task_ids_of_inspection(database(), found["id"]),
                           answers=checklist.shown_answers(found, entered), outcome_labels=checklist.OUTCOME_LABELS,
                           checks_problem=checks_problem,
                           problem_checkpoint=checklist.named_checkpoint(checks_problem)), status


@bp.route("/inspections/<int:inspection_id>/close", methods=["POST"])
@role_required("inspector")
def close(inspection_id):
    """Close the inspection with its result and its checklist answered (the form's `outcome-<id>`, `note-<id>`)."""
    found = inspection_or_404(inspection_id, "act")
    form, checks_problem = CloseForm(), None
    if form.validate():
        try:
            inspections.close_inspection(database(), inspection_id, current_user.row, form.result.data,
                                         form.findings.data, form.rectify_by.data, now(), tz(),
                                         checklist.entered_checks(found, request.form))
        except errors.Invalid as e:
            for field, problem in e.fields.items():
                if field == "checks":
                    checks_problem = problem
                else:
                    getattr(form, field).errors = [problem_text(problem)]
        except errors.NotOpen:
            flash(_("This inspection is no longer open."), "error")
            return redirect(url_for("inspector.inspection", inspection_id=inspection_id))
        else:
            flash(_("Inspection closed."), "success")
            return redirect(url_for("inspector.inspection", inspection_id=inspection_id))
    elif "csrf_token" in form.errors:
        abort(400)
    return render_inspection(found, form, request.form, checks_problem, 422)


@bp.route("/inspections/<int:inspection_id>/void", methods=["POST"])
@role_required("inspector")
def void(inspection_id):
    """Void the inspection (within 30 minutes of recording it)."""
    inspection_or_404(inspection_id, "act")
    form = VoidForm()
    if not form.validate():
        if "csrf_token" in form.errors:
            abort(400)
        flash(_("Say why the inspection is voided."), "error")
        return redirect(url_for("inspector.inspection", inspection_id=inspection_id))
    try:
        inspections.void_inspection(database(), inspection_id, current_user.row, form.reason.data, now(), tz(),
                                     alert_limits())
    except errors.NotVoidable:
        flash(_("An inspection can be voided only while open, unconfirmed and within 30 minutes of being recorded."),
              "error")
    else:
        flash(_("Inspection voided."), "success")
    return redirect(url_for("inspector.inspection", inspection_id=inspection_id))


@bp.route("/scan")
@role_required("inspector")
def scanner():
    """The in-page camera scanner, with the manual search as its fallback."""
    return render_template("inspector/scanner.html", form=SearchForm(request.args),
                           base_url=current_app.config["LOGBOOK_BASE_URL"])


from . import checklist  # noqa: E402  (its views, the answers and the photos, join this blueprint)
