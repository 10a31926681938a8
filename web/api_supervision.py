"""The supervisor's warnings and follow-ups (督办) in the JSON API (SPEC §11). Routes are added to the same /api/v1
blueprint as web/api.py; who may see or step a follow-up is decided in logbook.followups, never here."""

import marshmallow as ma
from marshmallow import fields, validate

from logbook import alerts, errors, followups
from logbook.db import now_text

from . import alert_limits, database, now, schemas, today, tz
from .api import AUTH, blp, caller, documented

TEXT = validate.Length(1, followups.TEXT_MAX)


# ---- schemas ---------------------------------------------------------------------------------------

class WarningQuery(ma.Schema):
    year = fields.Integer(validate=validate.Range(2000, 2100), metadata={"description": "this year by default"})
    dismissed = fields.Boolean(load_default=False, metadata={"description": "also list the dismissed warnings"})
    kind = fields.String(validate=validate.OneOf(alerts.KINDS), metadata={"description": "this kind only"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000), metadata={
        "description": "at most this many of each kind recorded as it happened (frequent, far_from_site, "
                       "repeated_no_issue), newest first"})
    before = fields.String(validate=validate.Regexp(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ,\d{1,18}$"), metadata={
        "description": "with kind: the `next` of the page before"})


class Dismissal(ma.Schema):
    key = fields.String()
    reason = fields.String()
    dismissed_at = fields.String()
    by_name = fields.String(metadata={"description": "the supervisor who dismissed it"})


class WarningSchema(ma.Schema):
    key = fields.String(metadata={"description": "dismiss or follow up the warning by this key"})
    kind = fields.String(metadata={"description": "one of " + ", ".join(alerts.KINDS)})
    period = fields.String(allow_none=True, metadata={"description": "frequent: day, week or month"})
    agency = fields.String(metadata={"description": "the agency's code, for warnings about an agency"})
    enterprise = fields.Nested(schemas.EnterpriseRef, metadata={"description": "for warnings about an enterprise"})
    count = fields.Integer(metadata={"description": "how many (far_from_site: the distance in metres)"})
    since = fields.String(metadata={"description": "a UTC timestamp, or a local date for counters and deadlines"})
    until = fields.String()
    inspections = fields.List(fields.Integer(), metadata={"description": "the inspections behind it (at most 50)"})
    total = fields.Integer(metadata={"description": "high_exempt_share: the agency's inspections"})
    complaints = fields.List(fields.Integer(), metadata={"description": "complaints_waiting: the complaints"})
    tasks = fields.List(fields.Integer(), metadata={"description": "approval_overdue: the tasks"})
    followups = fields.List(fields.Integer(), metadata={"description": "followup_overdue: the follow-ups"})
    dismissal = fields.Nested(Dismissal, allow_none=True, metadata={"description": "null unless dismissed"})


class WarningList(ma.Schema):
    warnings = fields.List(fields.Nested(WarningSchema))
    next = fields.String(allow_none=True, metadata={"description": "with kind: give it as `before` for the next page"})


class DismissalRequest(schemas.Strict):
    reason = schemas.Text(required=True, validate=validate.Length(1, 1000))


class DismissalQuery(ma.Schema):
    year = fields.Integer(validate=validate.Range(2000, 2100), metadata={
        "description": "the warning's year: by default the one its key ends with, else this year"})


class FollowupQuery(ma.Schema):
    status = fields.String(validate=validate.OneOf(followups.STATUSES))
    before = fields.Integer(validate=schemas.ID_RANGE, metadata={"description": "the next page: smaller ids"})


class FollowupRequest(schemas.Strict):
    agency = schemas.Text(required=True, validate=validate.Length(1, 32), metadata={"description": "its code"})
    text = schemas.Text(required=True, validate=TEXT)
    due_on = fields.Date(required=True, metadata={"description": "a local date, from today to a year ahead"})
    warning_key = schemas.Text(validate=validate.Length(1, 100), metadata={"description": "or complaint_id"})
    complaint_id = fields.Integer(strict=True, validate=schemas.ID_RANGE, metadata={"description": "or warning_key"})

    @ma.validates_schema(skip_on_field_errors=False, pass_original=True)
    def one_source(self, data, original, **kwargs):
        """A follow-up is about one warning or one complaint."""
        if isinstance(original, dict) and (original.get("warning_key") is None) == (original.get("complaint_id") is None):
            raise ma.ValidationError("give warning_key or complaint_id (one of them)", "warning_key")


class AnswerRequest(schemas.Strict):
    text = schemas.Text(required=True, validate=TEXT)


class AcceptRequest(schemas.Strict):
    text = schemas.Text(validate=validate.Length(max=followups.TEXT_MAX), allow_none=True,
                        metadata={"description": "an optional note"})


class Step(ma.Schema):
    action = fields.String(metadata={"description": "open, answer, accept or return"})
    text = fields.String(allow_none=True)
    at = fields.String()
    by_name = fields.String()
    by_role = fields.String()


class Followup(ma.Schema):
    id = fields.Integer()
    agency = fields.String()
    agency_name = fields.String()
    status = fields.String(metadata={"description": "one of " + ", ".join(followups.STATUSES)})
    overdue = fields.Boolean(metadata={"description": "waiting for the agency past its deadline"})
    text = fields.String()
    due_on = fields.String()
    warning_key = fields.String(allow_none=True)
    complaint_id = fields.Integer(allow_none=True)
    enterprise = fields.Nested(schemas.EnterpriseRef, allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()
    steps = fields.List(fields.Nested(Step), metadata={"description": "every step, oldest first (one follow-up)"})


class FollowupList(ma.Schema):
    followups = fields.List(fields.Nested(Followup))


# ---- shapes ----------------------------------------------------------------------------------------

def warning_json(warning):
    """A warning as the contract shows it: agency as its code and enterprise as {id, usci, name}, each only when the
    warning is about one."""
    shown = {key: value for key, value in warning.items() if key != "agency_name"}
    for optional in ("agency", "enterprise"):
        if shown[optional] is None:
            del shown[optional]
    return shown


def followup_json(found):
    """A follow-up as the API shows it."""
    shown = {key: found[key] for key in ("id", "agency", "agency_name", "status", "text", "due_on", "warning_key",
                                         "complaint_id", "created_at", "updated_at") if key in found}
    shown["enterprise"] = found["enterprise_id"] and {"id": found["enterprise_id"], "usci": found["usci"],
                                                      "name": found["enterprise_name"]}
    shown["overdue"] = followups.overdue(found, today())
    if "steps" in found:
        shown["steps"] = found["steps"]
    return shown


def key_year(key, asked):
    """The year a dismissal is for: as asked, else the one a computed key ends with, else this year."""
    if asked:
        return asked
    last = key.rsplit(":", 1)[-1]
    return int(last) if ":" in key and last.isdigit() and len(last) == 4 else now().astimezone(tz()).year


# ---- endpoints -------------------------------------------------------------------------------------

@blp.route("/warnings", methods=["GET"])
@blp.arguments(WarningQuery(), location="query")
@blp.response(200, WarningList)
@documented(401, 404, 422)
@blp.doc(security=AUTH)
def list_warnings(query):
    """The year's warnings (SPEC §11), newest first within each kind; those about the present (open, waiting,
    overdue) only for the current year."""
    caller("supervisor")
    year = query.get("year") or now().astimezone(tz()).year
    kind, limit = query.get("kind"), query["limit"]
    before = query.get("before", "").partition(",")
    found = alerts.warnings_of(database(), year, now(), tz(), alert_limits(), dismissed=query["dismissed"], kind=kind,
                               limit=limit, before=(before[0], int(before[2])) if kind and before[2] else None)
    last = found[-1] if kind in alerts.STORED and len(found) == limit else None
    return {"warnings": [warning_json(w) for w in found], "next": f"{last['until']},{last['id']}" if last else None}


@blp.route("/warnings/<string:key>/dismissal", methods=["POST"])
@blp.arguments(DismissalQuery(), location="query", as_kwargs=True)
@blp.arguments(DismissalRequest())
@blp.response(201, Dismissal)
@documented(401, 404, 413, 422)
@blp.doc(security=AUTH)
def dismiss_warning(body, key, year=None):
    """Dismiss a warning with a reason; it stays listed among the dismissed (?dismissed=true)."""
    user = caller("supervisor")
    if len(key) > 100 or not key.isprintable():
        raise errors.NotFound()
    at = now()
    alerts.dismiss(database(), key, key_year(key, year), user, body["reason"], at)
    return {"key": key, "reason": body["reason"].strip()[:1000], "dismissed_at": now_text(at), "by_name": user["name"]}, 201


@blp.route("/followups", methods=["GET"])
@blp.arguments(FollowupQuery(), location="query")
@blp.response(200, FollowupList)
@documented(401, 404, 422)
@blp.doc(security=AUTH)
def list_followups(query):
    """Follow-ups newest first (50): every one for a supervisor, the agency's own for its head; optionally of one
    status."""
    user = caller("supervisor", "head")
    found = followups.followups_for(database(), user, query.get("status"), before=query.get("before"))
    return {"followups": [followup_json(f) for f in found]}


@blp.route("/followups", methods=["POST"])
@blp.arguments(FollowupRequest())
@blp.response(201, Followup)
@documented(401, 404, 413, 422)
@blp.doc(security=AUTH)
def create_followup(body):
    """The supervisor addresses a follow-up about a warning or a complaint to an agency, with a deadline."""
    user = caller("supervisor")
    db = database()
    followup_id = followups.create_followup(db, user, body["agency"], body["text"], body["due_on"], today(), now(),
                                            warning_key=body.get("warning_key"), complaint_id=body.get("complaint_id"))
    return followup_json(followups.followup_for(db, followup_id, user)), 201


@blp.route("/followups/<int:followup_id>", methods=["GET"])
@blp.response(200, Followup)
@documented(401, 404)
@blp.doc(security=AUTH)
def get_followup(followup_id):
    """A follow-up with every step: for supervisors, the head of its agency and the firm whose complaint it follows."""
    user = caller("supervisor", "head", "firm")
    return followup_json(followups.followup_for(database(), followup_id, user))


def take_step(followup_id, action, text, *roles):
    user = caller(*roles)
    db = database()
    followups.step_followup(db, followup_id, user, action, text, now())
    return followup_json(followups.followup_for(db, followup_id, user))


@blp.route("/followups/<int:followup_id>/answer", methods=["POST"])
@blp.arguments(AnswerRequest())
@blp.response(200, Followup)
@documented(401, 404, 409, 413, 422)
@blp.doc(security=AUTH)
def answer_followup(body, followup_id):
    """The head of the follow-up's agency answers it (open, or returned for a new answer)."""
    return take_step(followup_id, "answer", body["text"], "head")


@blp.route("/followups/<int:followup_id>/accept", methods=["POST"])
@blp.arguments(AcceptRequest())
@blp.response(200, Followup)
@documented(401, 404, 409, 413, 422)
@blp.doc(security=AUTH)
def accept_followup(body, followup_id):
    """The supervisor accepts the agency's answer, optionally with a note: the follow-up is closed."""
    return take_step(followup_id, "accept", body.get("text"), "supervisor")


@blp.route("/followups/<int:followup_id>/return", methods=["POST"])
@blp.arguments(AnswerRequest())
@blp.response(200, Followup)
@documented(401, 404, 409, 413, 422)
@blp.doc(security=AUTH)
def return_followup(body, followup_id):
    """The supervisor returns the agency's answer with a note saying what is missing."""
    return take_step(followup_id, "return", body["text"], "supervisor")
