"""The application of bench/floor.py: the real app plus steps of the scan's work taken one at a time.

Every step is a POST with the scan's JSON body and a bearer token, served by the same gunicorn as /healthz:

  /bench/auth     the API's bearer check, the body read as JSON, a small JSON answer (no validation, no domain)
  /bench/reads    the same, plus the scan's reads and rule checks (inspections.prepare_start), nothing written
  /bench/one-row  the same as /bench/auth, plus one row committed durably through the write queue (one INSERT)

gunicorn serves it as `bench.floor_app:create()` from the project root. The one-row write is a function of this
module, so the writer process (whose path holds the project root) can import it.
"""

import json

from flask import Blueprint, current_app, g, request

import web
from app import create_app
from logbook import inspections
from web import api

blp = Blueprint("bench", __name__, url_prefix="/bench")
blp.before_request(api.authenticate)


def answer(found):
    return current_app.response_class(json.dumps(found), 201, mimetype="application/json")


def one_row(db, text):
    """The smallest durable write: one row (bench/floor.py creates the table)."""
    db.execute("INSERT INTO bench_rows (text) VALUES (?)", [text])
    return text


@blp.route("/auth", methods=["POST"])
def auth():
    return answer({"kind": json.loads(request.get_data())["kind"]})


@blp.route("/reads", methods=["POST"])
def reads():
    start = inspections.StartRequest(**json.loads(request.get_data()))
    prepared = inspections.prepare_start(web.database(), g.api_user, start, web.now(), web.tz(),
                                         web.counted_kinds(), web.task_required(), web.alert_limits())
    return answer({"day": prepared.day.isoformat()})


@blp.route("/one-row", methods=["POST"])
def one_row_written():
    return answer({"qr_token": web.writes().run(one_row, json.loads(request.get_data())["qr_token"])})


def create():
    app = create_app()
    app.extensions["csrf"].exempt(blp)
    app.register_blueprint(blp)
    return app
