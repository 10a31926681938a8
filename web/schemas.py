"""The API's request and response schemas; the same classes validate requests and generate the OpenAPI document."""

from datetime import date

import marshmallow as ma
from marshmallow import fields, validate

from logbook import rules

ID_RANGE = validate.Range(min=1, max=2**62)


class Text(fields.String):
    """A string that SQLite can store: valid UTF-8 (no lone surrogates) and no NUL characters."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ma.ValidationError("text must be valid Unicode") from None
        if "\x00" in text:
            raise ma.ValidationError("text must not contain NUL characters")
        return text


def _plausible_time(moment):
    if not 2000 <= moment.year <= 2100:
        raise ma.ValidationError("the time must lie between the years 2000 and 2100")


def _plausible_date(day):
    if not date(2000, 1, 1) <= day <= date(2100, 12, 31):
        raise ma.ValidationError("the date must lie between the years 2000 and 2100")


class Strict(ma.Schema):
    """Unknown fields are refused, so a typo in a field name never passes silently."""

    class Meta:
        unknown = ma.RAISE


class TokenRequest(Strict):
    username = Text(required=True, validate=validate.Length(1, 64))
    password = Text(required=True, validate=validate.Length(1, 256))


class TokenResponse(ma.Schema):
    token = fields.String()
    role = fields.String()
    expires_at = fields.String()


class Location(Strict):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))


class InspectionRequest(Strict):
    qr_token = Text(validate=validate.Length(1, 64), metadata={"description": "the token from the scanned QR code"})
    usci = Text(validate=validate.Length(1, 40), metadata={"description": "for manual entry instead of a scan"})
    kind = fields.String(load_default=None, validate=validate.OneOf(rules.KINDS),
                         metadata={"description": "required unless task_id is given"})
    agencies = fields.List(Text(validate=validate.Length(1, 32)), validate=validate.Length(max=20))
    inspectors = fields.List(Text(validate=validate.Length(1, 64)), validate=validate.Length(max=20))
    items = fields.List(Text(validate=validate.Length(1, 64)), validate=validate.Length(max=100))
    reference = Text(validate=validate.Length(max=200), allow_none=True)
    reason = Text(validate=validate.Length(max=1000), allow_none=True)
    recheck_of = fields.Integer(strict=True, validate=ID_RANGE, allow_none=True)
    started_at = fields.DateTime(validate=_plausible_time, metadata={"description": "ISO 8601; for late entries"})
    location = fields.Nested(Location)
    task_id = fields.Integer(strict=True, validate=ID_RANGE, allow_none=True, metadata={
        "description": "start from this approved task (SPEC §9): kind, items and inspectors default to its own"})

    @ma.validates_schema(skip_on_field_errors=False, pass_original=True)
    def kind_or_task(self, data, original, **kwargs):
        """A start names its kind, or the task it starts from (whose kind it takes)."""
        if isinstance(original, dict) and original.get("kind") is None and original.get("task_id") is None:
            raise ma.ValidationError("kind is required unless task_id is given", "kind")


class Check(Strict):
    checkpoint = fields.Integer(strict=True, required=True, validate=ID_RANGE)
    outcome = fields.String(required=True, validate=validate.OneOf(rules.OUTCOMES))
    note = Text(validate=validate.Length(max=1000), allow_none=True, metadata={"description": "required for fail"})


class CloseRequest(Strict):
    result = fields.String(required=True, validate=validate.OneOf(rules.RESULTS))
    findings = Text(validate=validate.Length(max=10000), allow_none=True)
    rectify_by = fields.Date(validate=_plausible_date, allow_none=True)
    checks = fields.List(fields.Nested(Check), validate=validate.Length(max=2000), metadata={
        "description": "every checkpoint of the inspection, once; may be left out only when it has none"})


class PhotoRequest(Strict):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "a JPEG or PNG image of at most 10 MB"})
    checkpoint = fields.Integer(validate=ID_RANGE, metadata={"description": "one of the inspection's checkpoints"})


class PhotoCreated(ma.Schema):
    id = fields.Integer()
    sha256 = fields.String()


class StatementRequest(Strict):
    text = Text(required=True, validate=validate.Length(1, 5000))


class Answer(ma.Schema):
    text = fields.String()
    created_at = fields.String()


class VoidRequest(Strict):
    reason = Text(required=True, validate=validate.Length(1, 1000))


class EnterpriseRef(ma.Schema):
    id = fields.Integer()
    usci = fields.String()
    name = fields.String()


class Inspector(ma.Schema):
    username = fields.String()
    name = fields.String()
    cert_no = fields.String(allow_none=True)


class CheckpointResult(ma.Schema):
    id = fields.Integer()
    item = fields.String()
    text = fields.String()
    standard = fields.String(allow_none=True)
    basis = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True, metadata={"description": "pass, fail or na; null until answered"})
    note = fields.String(allow_none=True)


class PhotoRef(ma.Schema):
    id = fields.Integer()
    sha256 = fields.String()
    checkpoint = fields.Integer(allow_none=True)
    purpose = fields.String(metadata={"description": "evidence (the inspectors') or rectification (the firm's)"})


class Inspection(ma.Schema):
    id = fields.Integer()
    enterprise = fields.Nested(EnterpriseRef)
    kind = fields.String()
    counted = fields.Boolean()
    status = fields.String()
    entry = fields.String()
    late = fields.Boolean()
    agencies = fields.List(fields.String())
    inspectors = fields.List(fields.Nested(Inspector))
    items = fields.List(fields.String())
    reference = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    recheck_of = fields.Integer(allow_none=True)
    started_at = fields.String()
    recorded_at = fields.String()
    closed_at = fields.String(allow_none=True)
    result = fields.String(allow_none=True)
    findings = fields.String(allow_none=True)
    rectify_by = fields.String(allow_none=True)
    voided_at = fields.String(allow_none=True)
    void_reason = fields.String(allow_none=True)
    confirmed_at = fields.String(allow_none=True)
    journal_hash = fields.String(allow_none=True)
    confirm_code = fields.String(metadata={"description": "only for the participating inspectors"})
    checkpoints = fields.List(fields.Nested(CheckpointResult))
    photos = fields.List(fields.Nested(PhotoRef))
    statement = fields.Nested(Answer, allow_none=True, metadata={"description": "the firm's answer (陈述申辩)"})
    rectification = fields.Nested(Answer, allow_none=True, metadata={"description": "the firm's rectification report"})


class QuotaRule(ma.Schema):
    rule_id = fields.Integer()
    scope = fields.String()
    window = fields.String()
    used = fields.Integer()
    max = fields.Integer()


class Quota(ma.Schema):
    window_start = fields.String()
    window_end = fields.String()
    counted = fields.Integer()
    max = fields.Integer(allow_none=True)
    exempt = fields.Integer()
    total = fields.Integer()
    rules = fields.List(fields.Nested(QuotaRule))


class Enterprise(ma.Schema):
    id = fields.Integer()
    usci = fields.String()
    name = fields.String()
    address = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    risk_level = fields.String(allow_none=True)


class ScanResponse(ma.Schema):
    enterprise = fields.Nested(Enterprise)
    year = fields.Integer()
    quota = fields.Nested(Quota)
    recent = fields.List(fields.Nested(Inspection))


class JournalStatus(ma.Schema):
    ok = fields.Boolean()
    entries = fields.Integer()
    head = fields.String()
    problems = fields.List(fields.String(), metadata={"description": "what is wrong, when ok is false"})
    verified_in_full_at = fields.String(allow_none=True, metadata={
        "description": "when `flask journal verify` last re-read every entry (this answer covers the entries since)"})
    since = fields.Integer(metadata={"description": "the entries this answer checked come after this one"})


# ---- tasks (SPEC §9) ------------------------------------------------------------------------------

TASK_KINDS = tuple(k for k in rules.KINDS if k != rules.VISIT)  # a service visit is never an inspection to plan
TASK_STATUSES = ("submitted", "approved", "rejected", "done", "cancelled", "expired")


class TaskRequest(Strict):
    qr_token = Text(validate=validate.Length(1, 64), metadata={"description": "the enterprise's QR token"})
    usci = Text(validate=validate.Length(1, 40), metadata={"description": "or the enterprise's USCI"})
    kind = fields.String(required=True, validate=validate.OneOf(TASK_KINDS))
    items = fields.List(Text(validate=validate.Length(1, 64)), required=True, validate=validate.Length(max=100))
    inspectors = fields.List(Text(validate=validate.Length(1, 64)), required=True, validate=validate.Length(max=20),
                             metadata={"description": "usernames of the agency's other inspectors; the caller is one"})
    window_start = fields.Date(required=True, validate=_plausible_date)
    window_end = fields.Date(required=True, validate=_plausible_date, metadata={"description": "included"})
    reason = Text(validate=validate.Length(max=1000), allow_none=True, metadata={"description": "basis or reason"})
    notice = fields.Boolean(load_default=False, metadata={"description": "the firm hears of it once approved"})

    @ma.validates_schema(skip_on_field_errors=False, pass_original=True)
    def enterprise_named(self, data, original, **kwargs):
        """A task names its enterprise by QR token or USCI."""
        if isinstance(original, dict) and not original.get("qr_token") and not original.get("usci"):
            raise ma.ValidationError("give the enterprise's qr_token or usci", "qr_token")


class TaskQuery(ma.Schema):
    status = fields.String(validate=validate.OneOf(TASK_STATUSES), metadata={"description": "as of today"})
    before = fields.Integer(validate=ID_RANGE, metadata={"description": "the next page: tasks with a smaller id"})


class CancelTaskRequest(Strict):
    reason = Text(required=True, validate=validate.Length(1, 1000))


class ApproveTaskRequest(Strict):
    note = Text(validate=validate.Length(max=1000), allow_none=True)


class RejectTaskRequest(Strict):
    reason = Text(required=True, validate=validate.Length(1, 1000))


class JoinTaskRequest(Strict):
    task_id = fields.Integer(required=True, strict=True, validate=ID_RANGE,
                             metadata={"description": "the other agency's task to visit together"})


class Task(ma.Schema):
    id = fields.Integer()
    agency = fields.String()
    enterprise = fields.Nested(EnterpriseRef)
    kind = fields.String()
    items = fields.List(fields.String())
    inspectors = fields.List(fields.Nested(Inspector))
    window_start = fields.String(metadata={"description": "a local date, included"})
    window_end = fields.String(metadata={"description": "a local date, included"})
    status = fields.String(metadata={"description": "one of " + ", ".join(TASK_STATUSES)})
    notice = fields.Boolean()
    source = fields.String(metadata={"description": "manual or draw"})
    reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True, metadata={"description": "the head's note, or why the task was rejected"})
    approved_by = fields.String(metadata={"description": "the approving head's username, once approved"})
    approved_at = fields.String(metadata={"description": "once approved"})
    inspection_id = fields.Integer(allow_none=True, metadata={"description": "the inspection that did it, once done"})
    joint_with = fields.List(fields.Integer(), metadata={"description": "other agencies' tasks joined into one visit"})


class TaskList(ma.Schema):
    tasks = fields.List(fields.Nested(Task))


class TaskMatch(ma.Schema):
    enterprise = fields.Nested(EnterpriseRef)
    tasks = fields.List(fields.Nested(Task))


class TaskMatches(ma.Schema):
    matches = fields.List(fields.Nested(TaskMatch))


class ErrorBody(ma.Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields")
    rule_id = fields.Integer()
    used = fields.Integer()
    max = fields.Integer()
    replaced = fields.Boolean(metadata={"description": "unknown_code: the code was replaced by a newer poster"})


class ErrorSchema(ma.Schema):
    """Every API error: {"error": {"code", "message", ...}}."""

    error = fields.Nested(ErrorBody, required=True)


def plain(schema, data):
    """The schema's fields picked from data that is already JSON-native: a cheap dump for the write path,
    driven by the same schema as the documentation (marshmallow's dump cost a sixth of a scan's time)."""
    picked = {}
    for name, field in schema.fields.items():
        if name not in data:
            continue
        value = data[name]
        if isinstance(field, fields.Nested) and value is not None:
            value = plain(field.schema, value)
        elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested) and value is not None:
            value = [plain(field.inner.schema, item) for item in value]
        picked[field.data_key or name] = value
    return picked


INSPECTION = Inspection()
