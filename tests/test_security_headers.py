"""Every response carries the security headers: own scripts only, no framing, no referrer to other sites."""

import pytest


@pytest.mark.parametrize("path", ["/login", "/q/unknown-code", "/api/v1/openapi.json", "/api/v1/inspections/1"])
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
