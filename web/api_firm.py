"""The firm's and the supervisor's part of the JSON API (SPEC §5): records, confirmation, rating,
complaints, stats. Routes are added to the same /api/v1 blueprint as web/api.py."""

import marshmallow as ma
from flask import current_app
from marshmallow import fields, validate

from logbook import enterprises, feedback, inspections, notices, stats

from . import counted_kinds, database, now, schemas, today, tz
from .api import AUTH, blp, caller, documented, inspection_json


class ItemDetail(ma.Schema):
    code = fields.String()
    name = fields.String()
    basis = fields.String(allow_none=True)
    agency = fields.String()


class FirmInspection(schemas.Inspection):
    """An inspection as the firm sees it: with item names and legal bases, and whether it was rated."""

    item_details = fields.List(fields.Nested(ItemDetail))
    void_reason = fields.String(allow_none=True)
    evaluated = fields.Boolean()


class FirmRecords(ma.Schema):
    enterprise = fields.Nested(schemas.Enterprise)
    year = fields.Integer()
    quota = fields.Nested(schemas.Quota)
    inspections = fields.List(fields.Nested(FirmInspection))


class YearQuery(ma.Schema):
    year = fields.Integer(validate=validate.Range(2000, 2100))


class ConfirmRequest(schemas.Strict):
    code = schemas.Text(required=True, validate=validate.Length(1, 32))


class EvaluationRequest(schemas.Strict):
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    comment = schemas.Text(validate=validate.Length(max=2000), allow_none=True)


class Evaluation(ma.Schema):
    inspection_id = fields.Integer()
    rating = fields.Integer()
    comment = fields.String(allow_none=True)


class ComplaintRequest(schemas.Strict):
    category = fields.String(required=True, validate=validate.OneOf(feedback.CATEGORIES))
    text = schemas.Text(required=True, validate=validate.Length(1, 5000))
    inspection_id = fields.Integer(strict=True, validate=schemas.ID_RANGE, allow_none=True)


class Complaint(ma.Schema):
    id = fields.Integer()
    status = fields.String()
    category = fields.String()
    text = fields.String()
    inspection_id = fields.Integer(allow_none=True)
    answer = fields.String(allow_none=True)
    created_at = fields.String()


class Totals(ma.Schema):
    total = fields.Integer()
    counted = fields.Integer()
    exempt = fields.Integer()
    voided = fields.Integer()
    joint = fields.Integer(metadata={"description": "with more than one agency taking part (counted once)"})


class AgencyStats(ma.Schema):
    agency = fields.String()
    name = fields.String()
    total = fields.Integer()
    counted = fields.Integer()
    exempt = fields.Integer()
    exempt_share = fields.Float(allow_none=True)
    refused = fields.Integer()
    late = fields.Integer()
    manual = fields.Integer()
    joint = fields.Integer()
    confirmed_share = fields.Float(allow_none=True)
    rating = fields.Float(allow_none=True, metadata={"description": "the average rating, with at least 5 behind it"})
    merged_tasks = fields.Integer()


class MonthStats(ma.Schema):
    month = fields.String(metadata={"description": "YYYY-MM"})
    total = fields.Integer()
    counted = fields.Integer()




class PreviousYear(ma.Schema):
    total = fields.Integer()
    counted = fields.Integer()
    by_month = fields.List(fields.Nested(MonthStats))


class Stats(ma.Schema):
    year = fields.Integer()
    filters = fields.Dict(keys=fields.String(), values=fields.String())
    inspections = fields.Nested(Totals)
    refused = fields.Integer(allow_none=True, metadata={"description": "null when narrowed by district, industry or "
                                                                      "risk level"})
    by_month = fields.List(fields.Nested(MonthStats))
    change = fields.Float(allow_none=True, metadata={
        "description": "counted inspections against the previous year's same period: -0.42 is down 42%"})
    joint_share = fields.Float(allow_none=True)
    confirmed_share = fields.Float(allow_none=True)
    merged_tasks = fields.Integer()
    by_agency = fields.List(fields.Nested(AgencyStats))
    previous_year = fields.Nested(PreviousYear)


class StatsQuery(ma.Schema):
    year = fields.Integer(validate=validate.Range(2000, 2100))
    agency = fields.String(validate=validate.Length(1, 32))
    district = fields.String(validate=validate.Length(1, 12))
    industry = fields.String(validate=validate.Length(1, 100))
    risk_level = fields.String(validate=validate.OneOf(("A", "B", "C", "D")))


def year_from(query):
    """The requested calendar year, this year by default."""
    return query.get("year") or now().astimezone(tz()).year


@blp.route("/firm/inspections", methods=["GET"])
@blp.arguments(YearQuery(), location="query")
@blp.response(200, FirmRecords)
@documented(401, 404, 422)
@blp.doc(security=AUTH)
def firm_inspections(query):
    """Every inspection of the firm's enterprise in a year, newest first, voided and exempt ones included."""
    user = caller("firm")
    db = database()
    enterprise = enterprises.by_id(db, user["enterprise_id"])
    year = inspections.year_of_records(db, enterprise, year_from(query), now(), tz(), counted_kinds())
    rated = feedback.rated_ids(db, [f["id"] for f in year["inspections"]])
    return dict(year, inspections=[dict(inspection_json(f, user), evaluated=f["id"] in rated)
                                   for f in year["inspections"]])


@blp.route("/inspections/<int:inspection_id>/confirm", methods=["POST"])
@blp.arguments(ConfirmRequest())
@blp.response(200, schemas.Inspection)
@documented(401, 404, 409, 422, 429)
@blp.doc(security=AUTH)
def confirm(body, inspection_id):
    """The firm attests the visit with the one-time code shown on the inspector's screen."""
    user = caller("firm")
    db = database()
    feedback.confirm_inspection(db, inspection_id, user, body["code"], now(), tz())
    return inspection_json(inspections.inspection(db, inspection_id), user)


@blp.route("/inspections/<int:inspection_id>/evaluation", methods=["POST"])
@blp.arguments(EvaluationRequest())
@blp.response(201, Evaluation)
@documented(401, 404, 409, 422)
@blp.doc(security=AUTH)
def evaluation(body, inspection_id):
    """Rate a closed inspection once; inspectors and agencies never see individual ratings."""
    user = caller("firm")
    db = database()
    feedback.evaluate(db, inspection_id, user, body["rating"], body.get("comment"), now())
    return dict(feedback.evaluation_of(db, inspection_id), inspection_id=inspection_id)  # as stored


@blp.route("/inspections/<int:inspection_id>/statement", methods=["POST"])
@blp.arguments(schemas.StatementRequest())
@blp.response(201, schemas.Answer)
@documented(401, 404, 409, 422)
@blp.doc(security=AUTH)
def statement(body, inspection_id):
    """The firm answers the findings in writing (陈述申辩), once, after closing and within LOGBOOK_STATEMENT_DAYS."""
    user = caller("firm")
    return feedback.make_statement(database(), inspection_id, user, body["text"], now(),
                                   current_app.config["LOGBOOK_STATEMENT_DAYS"]), 201


@blp.route("/complaints", methods=["POST"])
@blp.arguments(ComplaintRequest())
@blp.response(201, Complaint)
@documented(401, 404, 422)
@blp.doc(security=AUTH)
def complain(body):
    """File a complaint (no scan, too frequent, misconduct, fees demanded, other)."""
    user = caller("firm")
    db = database()
    complaint_id = feedback.file_complaint(db, user, body["category"], body["text"], body.get("inspection_id"), now())
    return feedback.complaint(db, complaint_id)


@blp.route("/complaints", methods=["GET"])
@blp.response(200, Complaint(many=True))
@documented(401, 404)
@blp.doc(security=AUTH)
def my_complaints():
    """The firm's complaints with their status and the supervisor's answer."""
    user = caller("firm")
    return feedback.complaints_of(database(), user["enterprise_id"])


class NoticeItem(ma.Schema):
    code = fields.String()
    name = fields.String()
    basis = fields.String(allow_none=True)


class NoticeInspector(ma.Schema):
    name = fields.String()
    cert_no = fields.String(allow_none=True)


class Notice(ma.Schema):
    task_id = fields.Integer()
    agency = fields.String()
    window_start = fields.String()
    window_end = fields.String()
    items = fields.List(fields.Nested(NoticeItem))
    inspectors = fields.List(fields.Nested(NoticeInspector))
    rights = fields.List(fields.String(), metadata={"description": "statement (陈述申辩), recusal (申请回避), "
                                                                   "identification, complaint"})
    proposed_day = fields.String(allow_none=True)
    proposal_answer = fields.String(allow_none=True)


class Notices(ma.Schema):
    notices = fields.List(fields.Nested(Notice))


class ProposalRequest(schemas.Strict):
    day = fields.Date(required=True)


@blp.route("/firm/notices", methods=["GET"])
@blp.response(200, Notices)
@documented(401, 404)
@blp.doc(security=AUTH)
def firm_notices():
    """The notices of inspections announced to the firm (检查预告): approved tasks with notice, soonest first."""
    user = caller("firm")
    return {"notices": notices.notices_for(database(), user["enterprise_id"], today())}


@blp.route("/firm/notices/<int:task_id>/proposal", methods=["POST"])
@blp.arguments(ProposalRequest())
@blp.response(201, Notice)
@documented(401, 404, 422)
@blp.doc(security=AUTH)
def propose(body, task_id):
    """The firm proposes a day inside the notice's window; the task's inspectors accept it or not."""
    user = caller("firm")
    db = database()
    notices.propose_day(db, task_id, user, body["day"], now(), today())
    return notices.notice_for(db, task_id, user, today())


@blp.route("/stats", methods=["GET"])
@blp.arguments(StatsQuery(), location="query")
@blp.response(200, Stats)
@documented(401, 404, 422)
@blp.doc(security=AUTH)
def year_stats(query):
    """The supervisor's numbers for a calendar year."""
    caller("supervisor")
    return stats.year_stats(database(), year_from(query), tz(), today(), query)


