"""Random draws in the JSON API (SPEC §9, 双随机一公开): a head draws, and anyone, without a token, reads a draw.
Routes are added to the same /api/v1 blueprint as web/api.py."""

from datetime import date

import marshmallow as ma
from flask import current_app
from marshmallow import fields, validate

from logbook import draws, errors, rules

from . import database, now, schemas, tz
from .api import AUTH, PUBLIC_ENDPOINTS, blp, caller, documented

PLAUSIBLE_DATE = validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31))


class DrawRequest(schemas.Strict):
    count = fields.Integer(required=True, strict=True, validate=validate.Range(1, draws.MAX_COUNT),
                           metadata={"description": "how many enterprises to draw (all candidates when fewer)"})
    risk_level = fields.String(validate=validate.OneOf(rules.RISK_LEVELS), allow_none=True)
    industry = schemas.Text(validate=validate.Length(1, 100), allow_none=True)
    seed = schemas.Text(validate=validate.Length(1, draws.MAX_SEED), allow_none=True,
                        metadata={"description": "printable; without one a random seed is chosen and published"})
    items = fields.List(schemas.Text(validate=validate.Length(1, 64)), validate=validate.Length(max=100),
                        metadata={"description": "item codes of your agency; default: all its active items"})
    window_start = fields.Date(validate=PLAUSIBLE_DATE, allow_none=True,
                               metadata={"description": "default: LOGBOOK_NOTICE_DAYS days from today"})
    window_end = fields.Date(validate=PLAUSIBLE_DATE, allow_none=True,
                             metadata={"description": "default: 30 days from window_start, both included"})


class DrawnEnterprise(ma.Schema):
    usci = fields.String()
    name = fields.String()


class Draw(ma.Schema):
    id = fields.Integer()
    agency = fields.String()
    agency_name = fields.String()
    seed = fields.String()
    candidates_hash = fields.String(metadata={"description": "SHA-256 of the candidates' USCIs, sorted, joined by \\n"})
    candidate_count = fields.Integer(metadata={"description": "how many enterprises the draw picked from"})
    count = fields.Integer()
    risk_level = fields.String(allow_none=True)
    industry = fields.String(allow_none=True)
    window_start = fields.String()
    window_end = fields.String()
    drawn_at = fields.String()
    enterprises = fields.List(fields.Nested(DrawnEnterprise), metadata={"description": "the firms drawn, in order"})
    pairs = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                        metadata={"description": "each drawn firm's USCI -> the usernames of its two inspectors"})
    inspectors = fields.List(fields.Nested(schemas.Inspector), metadata={"description": "the inspectors in the pairs"})
    tasks = fields.List(fields.Integer(), metadata={"description": "the submitted tasks the draw created"})


@blp.route("/draws", methods=["POST"])
@blp.arguments(DrawRequest())
@blp.response(201, Draw)
@documented(401, 404, 413, 422)
@blp.doc(security=AUTH)
def create_draw(body):
    """Draw enterprises and pairs of your agency's certified inspectors at random (双随机); each firm gets a
    submitted task. The result is public at GET /api/v1/draws/{id} and /draws/{id}."""
    head = caller("head")
    db = database()
    at = now()
    draw_id = draws.draw(db, head, body.pop("count"), at, at.astimezone(tz()).date(),
                         current_app.config["LOGBOOK_NOTICE_DAYS"], **body)
    return draws.draw_by_id(db, draw_id)


@blp.route("/draws/<int:draw_id>", methods=["GET"], endpoint="draw")
@blp.response(200, Draw)
@documented(404)
def get_draw(draw_id):
    """A draw as published (一公开): anyone may read it, without a token, and recompute it."""
    found = draws.draw_by_id(database(), draw_id)
    if found is None:
        raise errors.NotFound(errors.Problem("not_found", "no such draw"))
    return found


PUBLIC_ENDPOINTS.add("api.draw")  # SPEC §5: the published draw needs no token
