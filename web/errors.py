"""One error path: the API answers one JSON shape, pages render `<code>.html` or `error.html`."""

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException, ServiceUnavailable

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid",
         429: "too_many_requests", 500: "internal_error", 503: "unavailable"}


def api_error(status, code, message, **extra):
    """The JSON error response: {"error": {"code", "message", ...extra}} with the status."""
    response = jsonify({"error": dict(code=code, message=message, **extra)})
    response.status_code = status
    return response


def flatten(messages, prefix=""):
    """webargs/marshmallow messages as {"a.b": "m"}, named like the fields of the request, as domain errors are.

    The top level of webargs' messages is the location ({"json": {"a": {"b": ["m"]}}}); it is dropped, and a
    problem with the whole body (not an object, say) is named "body".
    """
    if isinstance(messages, dict) and not prefix:
        flat = {}
        for inner in messages.values():
            flat.update(_flatten(inner))
        return flat
    return _flatten(messages, prefix)


def _flatten(messages, prefix=""):
    flat = {}
    if isinstance(messages, dict):
        for key, inner in messages.items():
            name = prefix if key == "_schema" else f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten(inner, name))
    elif isinstance(messages, (list, tuple)) and messages and all(isinstance(m, str) for m in messages):
        flat[prefix or "body"] = " ".join(messages)
    elif isinstance(messages, (list, tuple)):
        for inner in messages:
            flat.update(_flatten(inner, prefix))
    else:
        flat[prefix or "body"] = str(messages)
    return flat


def _api_response(error):
    data = getattr(error, "data", None) or {}
    if error.code == 422 and "messages" in data:
        fields = flatten(data["messages"])
        message = "; ".join(f"{k}: {v}" for k, v in fields.items())
        return api_error(422, "invalid", f"the request is not valid: {message}", fields=fields)
    if error.code == 400 and "messages" in data:
        return api_error(400, "bad_json", "the body is not valid JSON")
    response = api_error(error.code, CODES.get(error.code, "error"), data.get("message") or error.description)
    if error.code == 405 and error.get_headers():
        response.headers.update({k: v for k, v in error.get_headers() if k == "Allow"})
    return response


def handle_http_exception(error: HTTPException):
    """Render an HTTP error as JSON under /api/ and as a page elsewhere."""
    if request.path.startswith("/api/"):
        return _api_response(error)
    response = error.get_response()
    response.set_data(render_template([f"{error.code}.html", "error.html"], error=error))
    response.content_type = "text/html; charset=utf-8"
    return response


def writer_lost(error):
    """A write the writer process took with it when it stopped (503): it may or may not have been recorded."""
    return handle_http_exception(ServiceUnavailable(
        "the server restarted while recording this; it may or may not have been recorded: look before doing it again "
        "(an API client retries with the same Idempotency-Key and gets what was recorded)"))
