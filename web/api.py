"""The JSON API under /api/v1 (SPEC §5): bearer tokens, scanning and the inspector's inspection actions."""

import json
from functools import wraps

from flask import current_app, g, jsonify, request, send_file
from flask_smorest import Api, Blueprint
from webargs.flaskparser import FlaskParser

from logbook import accounts, audit, enterprises, errors, inspections, photos

from . import (
    RECORDS_PAGE,
    alert_limits,
    client_address,
    counted_kinds,
    database,
    now,
    record_start,
    schemas,
    tz,
)
from .errors import api_error


class HardenedParser(FlaskParser):
    """webargs' parser, answering 400 instead of 500 for JSON that Python cannot hold: nesting deeper than the
    recursion limit, integers longer than int() accepts (4300 digits)."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except (RecursionError, ValueError) as e:
            if isinstance(e, json.JSONDecodeError):
                raise
            raise json.JSONDecodeError("the JSON is nested too deeply or holds a number too long", "body", 0) from None


class LogbookBlueprint(Blueprint):
    """flask-smorest's Blueprint with the hardened JSON parser."""

    ARGUMENTS_PARSER = HardenedParser()


blp = LogbookBlueprint("api", __name__, url_prefix="/api/v1", description="Scan-to-enter inspection logbook")
# Request schemas are passed as instances: given a class, webargs builds a new schema on every request,
# which cost the write path about a sixth of its time.
PUBLIC_ENDPOINTS = {"api.tokens"}
AUTH = [{"bearerAuth": []}]


class LogbookApi(Api):
    """flask-smorest's Api, documenting our error shape as the default error response."""

    ERROR_SCHEMA = schemas.ErrorSchema


def document_security(spec):
    """Declare the bearer scheme in the OpenAPI document."""
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})


# ---- authentication and errors -------------------------------------------------------------------

@blp.before_request
def authenticate():
    """Every endpoint but token issuing needs a valid bearer token; checked before anything is looked up."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    user = accounts.user_for_token(database(), token, now()) if token and len(token) < 200 else None
    if user is None:
        return api_error(401, "unauthorized", "a valid bearer token is required (POST /api/v1/tokens)")
    g.api_user, g.api_token = user, token
    return None


def caller(*roles):
    """The authenticated user, or a 404 (existence does not leak) when their role may not use this endpoint."""
    user = g.api_user
    if user["role"] not in roles:
        raise errors.NotFound()
    return user


# What each domain refusal answers: (status, code, extra fields of the error, or a fixed message).
DOMAIN_ERRORS = {
    errors.UnknownCode: (404, "unknown_code", lambda e: {"replaced": e.replaced}),
    errors.NotFound: (404, "not_found", None),
    errors.Invalid: (422, "invalid", lambda e: {"fields": e.fields}),
    errors.CertificateInvalid: (403, "certificate_invalid", None),
    errors.CapReached: (409, "cap_reached", lambda e: {"rule_id": e.rule.id, "used": e.used, "max": e.max}),
    errors.NotOpen: (409, "not_open", None),
    errors.NotVoidable: (409, "not_voidable", None),
    errors.BadCode: (422, "bad_code", None),
    errors.TooManyAttempts: (429, "too_many_requests", None),
    errors.NotConfirmable: (409, "not_confirmable", None),
    errors.NotClosed: (409, "not_closed", None),
    errors.AlreadyEvaluated: (409, "already_evaluated", None),
    errors.StatementClosed: (409, "statement_closed", None),
    errors.AlreadyStated: (409, "already_stated", None),
    errors.NotRectifiable: (409, "not_rectifiable", None),
    errors.AlreadyReported: (409, "already_reported", None),
    errors.PhotoTooLarge: (413, "photo_too_large", None),
    errors.UnsupportedPhoto: (415, "unsupported_photo", None),
    errors.FollowupState: (409, "followup_state", None),
    errors.IdempotencyConflict: (422, "idempotency_conflict", None),
    errors.TaskRequired: (409, "task_required", None),
    errors.NotSubmitted: (409, "not_submitted", None),
    errors.TaskClosed: (409, "task_closed", None),
    errors.NotMatchable: (409, "not_matchable", None),
}


def domain_error(error):
    """The API's JSON answer to a refusal raised by the logbook."""
    status, code, detail = next(DOMAIN_ERRORS[k] for k in type(error).__mro__ if k in DOMAIN_ERRORS)
    if isinstance(detail, str):
        return api_error(status, code, detail)
    message = f"the request is not valid: {error}" if code == "invalid" else str(error)
    return api_error(status, code, message, **(detail(error) if detail else {}))


for _exception in DOMAIN_ERRORS:
    blp.register_error_handler(_exception, domain_error)


def inspection_json(found, viewer):
    """An inspection as the contract shows it; confirm_code only for its participating inspectors."""
    shown = dict(found)
    if not (viewer["role"] == "inspector" and inspections.participates(found, viewer)):
        shown.pop("confirm_code", None)
    return shown


ERRORS = {401: "no or bad bearer token", 403: "certificate missing or expired", 404: "not found or not yours",
          409: "refused by the inspection's state or a limit rule", 413: "body too large", 422: "invalid body",
          429: "too many attempts"}


def documented(*statuses):
    """Document error responses with the shared error schema. Only the documentation is kept: each alt_response
    also wraps the view in a function that merely calls it, on every request."""
    def decorate(view):
        described = view
        for status in statuses:
            described = blp.alt_response(status, schema=schemas.ErrorSchema, description=ERRORS.get(status, ""))(described)
        view._apidoc = described._apidoc
        return view
    return decorate


# ---- endpoints -------------------------------------------------------------------------------------

@blp.route("/tokens", methods=["POST"], endpoint="tokens")
@blp.arguments(schemas.TokenRequest())
@blp.response(201, schemas.TokenResponse)
@blp.alt_response(401, schema=schemas.ErrorSchema, description="wrong username or password")
@documented(413, 429)
def issue_token(body):
    """Exchange a username and password for a bearer token."""
    db = database()
    config = current_app.config
    user = accounts.authenticate(db, body["username"], body["password"], now(), client_address(),
                                 config["LOGBOOK_LOGIN_ATTEMPTS"], config["LOGBOOK_LOGIN_WINDOW_MINUTES"],
                                 config["LOGBOOK_PASSWORD_HASH"])
    if user is None:
        return api_error(401, "bad_credentials", "wrong username or password")
    token, expires_at = accounts.issue_token(db, user["id"], now(), config["LOGBOOK_TOKEN_HOURS"])
    return {"token": token, "role": user["role"], "expires_at": expires_at}


@blp.route("/tokens/current", methods=["DELETE"])
@blp.response(204)
@documented(401)
@blp.doc(security=AUTH)
def revoke_token():
    """End the bearer token of this request: from now on it answers 401."""
    accounts.revoke_token(database(), g.api_token)


@blp.route("/scan/<string:qr_token>", methods=["GET"])
@blp.response(200, schemas.ScanResponse)
@documented(401, 404)
@blp.doc(security=AUTH)
def scan(qr_token):
    """What an inspector sees on scanning a firm's code: the firm, its quota and this year's latest inspections (20)."""
    user = caller("inspector")
    db = database()
    found = enterprises.enterprise_for_code(db, qr_token)
    at = now()
    year = inspections.year_of_records(db, found, at.astimezone(tz()).year, at, tz(), counted_kinds(), RECORDS_PAGE)
    return {"enterprise": found, "year": year["year"], "quota": year["quota"],
            "recent": [inspection_json(r, user) for r in year["inspections"]]}


@blp.route("/inspections", methods=["POST"])
@blp.arguments(schemas.InspectionRequest())
@blp.response(201, schemas.Inspection)
@documented(401, 403, 404, 409, 413, 422)
@blp.doc(security=AUTH, parameters=[{"in": "header", "name": "Idempotency-Key", "required": False,
                                     "schema": {"type": "string", "maxLength": 100},
                                     "description": "a retry with the same key returns the inspection recorded first"}])
def start_inspection(body):
    """Scan-to-enter: decide under the firm's limits and record the inspection in one atomic step."""
    user = caller("inspector")
    key = request.headers.get("Idempotency-Key", "").strip() or None
    if key is not None and (len(key) > 100 or not key.isprintable()):
        raise errors.Invalid({"Idempotency-Key": "at most 100 printable characters"})
    start = inspections.StartRequest(**body, idempotency_key=key)
    recorded, prepared = record_start(user, start)
    found = inspections.recorded_inspection(prepared, recorded) if recorded.journal_hash \
        else inspections.inspection(database(), recorded.id)  # a repeated Idempotency-Key: what the first recorded
    found = inspection_json(found, user)
    return jsonify(schemas.plain(schemas.INSPECTION, found)), 201


@blp.route("/inspections/<int:inspection_id>", methods=["GET"])
@blp.response(200, schemas.Inspection)
@documented(401, 404)
@blp.doc(security=AUTH)
def get_inspection(inspection_id):
    """One inspection, for its inspectors, the enterprise's firm users and supervisors."""
    user = g.api_user
    return inspection_json(inspections.inspection_for(database(), inspection_id, user), user)


def open_before_body(view):
    """SPEC §10: an inspection that is no longer open answers 409 not_open whatever the body, so the caller and the
    state are checked before the body is parsed (this decorator sits above @blp.arguments)."""
    @wraps(view)
    def checked(*args, **kwargs):
        found = inspections.inspection_for(database(), kwargs["inspection_id"], caller("inspector"), "act")
        if found["status"] != "open":
            raise errors.NotOpen.because(found["status"])
        return view(*args, **kwargs)
    return checked


@blp.route("/inspections/<int:inspection_id>/close", methods=["POST"])
@open_before_body
@blp.arguments(schemas.CloseRequest())
@blp.response(200, schemas.Inspection)
@documented(401, 404, 409, 422)
@blp.doc(security=AUTH)
def close(body, inspection_id):
    """Close an open inspection with its result and every checkpoint of its checklist answered."""
    user = caller("inspector")
    db = database()
    inspections.close_inspection(db, inspection_id, user, body["result"], body.get("findings"),
                                 body.get("rectify_by"), now(), tz(), body.get("checks"))
    return inspection_json(inspections.inspection(db, inspection_id), user)


PHOTO_BODY = {"content": {"multipart/form-data": {"schema": schemas.PhotoRequest}}}


@blp.route("/inspections/<int:inspection_id>/photos", methods=["POST"])
@blp.response(201, schemas.PhotoCreated)
@documented(401, 404, 409, 413, 415, 422)
@blp.doc(security=AUTH, requestBody=PHOTO_BODY)
def add_photo(inspection_id):
    """Attach a photo (JPEG or PNG, at most 10 MB) to an open inspection, optionally naming one of its checkpoints;
    its location metadata is stripped before it is stored."""
    user = caller("inspector")
    upload, checkpoint = request.files.get("file"), request.form.get("checkpoint", "").strip()
    if upload is None:
        raise errors.Invalid({"file": "send the photo as the multipart field `file`"})
    if checkpoint and not (checkpoint.isascii() and checkpoint.isdigit() and 0 < len(checkpoint) < 19):
        raise errors.Invalid({"checkpoint": "a checkpoint id"})
    added = photos.add_photo(database(), current_app.config["LOGBOOK_PHOTOS"], inspection_id, user,
                             upload.read(photos.MAX_BYTES + 1), int(checkpoint) if checkpoint else None, now())
    return added, 201


@blp.route("/inspections/<int:inspection_id>/photos/<int:photo_id>", methods=["GET"])
@blp.response(200, {"type": "string", "format": "binary"}, content_type="image/jpeg",
              description="the stored photo (image/jpeg or image/png)")
@documented(401, 404)
@blp.doc(security=AUTH)
def get_photo(inspection_id, photo_id):
    """A photo of an inspection, for its inspectors, the enterprise's firm users and supervisors."""
    return photo_response(photos.photo_for(database(), inspection_id, photo_id, g.api_user))


def photo_response(photo):
    """A stored photo as an HTTP response, cached by the viewer's browser only (it is never public)."""
    response = send_file(photos.photo_path(current_app.config["LOGBOOK_PHOTOS"], photo["sha256"], photo["media_type"]),
                         mimetype=photo["media_type"], etag=photo["sha256"], max_age=86400, conditional=True)
    response.cache_control.private = True
    response.cache_control.public = False
    return response


@blp.route("/inspections/<int:inspection_id>/void", methods=["POST"])
@blp.arguments(schemas.VoidRequest())
@blp.response(200, schemas.Inspection)
@documented(401, 404, 409, 422)
@blp.doc(security=AUTH)
def void(body, inspection_id):
    """Void an open inspection within 30 minutes of recording it."""
    user = caller("inspector")
    db = database()
    inspections.void_inspection(db, inspection_id, user, body["reason"], now(), tz(), alert_limits())
    return inspection_json(inspections.inspection(db, inspection_id), user)


@blp.route("/journal/verify", methods=["GET"])
@blp.response(200, schemas.JournalStatus)
@documented(401, 404)
@blp.doc(security=AUTH)
def verify_journal():
    """Check the journal: the last check carried on over the entries written since (`flask journal verify`, run
    nightly, re-reads everything)."""
    caller("supervisor")
    return audit.verify_since_last_check(database(), now(), current_app.config["LOGBOOK_PHOTOS"])
