"""No request a client can send to a page gives a 500: every GET route, as every role, with odd values."""

import pytest
from conftest import login

ODD_VALUES = {"int": ["0", "1", "99999999999999999999999999"], "default": ["x", "%00", "ä" * 300, "../..", "1"]}
ODD_QUERY = ("?year=99999999999&q=%25_%5C&next=//evil.example&code=%F0%9F%98%80&status=<b>&inspection=-1"
             "&page=99999999999999999999&before=99999999999999999999&month=13&agency=%00")


def page_urls(app):
    """Every GET page URL with odd values in its path parameters (the API has its own fuzz test)."""
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(("/api/", "/static/")):
            continue
        paths = [rule.rule]
        for name, converter in rule._converters.items():
            kind = "int" if type(converter).__name__ == "IntegerConverter" else "default"
            values = ODD_VALUES[kind] if name != "fmt" else ["svg", "png"]
            paths = [p.replace(part, v) for p in paths for v in values
                     for part in (f"<{name}>", f"<int:{name}>", f"<any(svg, png):{name}>") if part in p]
        yield from paths


@pytest.mark.parametrize("role", [None, "ann", "firm1", "super", "admin"])
def test_no_page_answers_500_to_odd_input(app, client, world, role):
    if role:
        login(client, role)
    failures = []
    for url in page_urls(app):
        for suffix in ("", ODD_QUERY):
            response = client.get(url + suffix)
            body = response.get_data().decode("utf-8", "replace")  # streamed bodies too: an error while streaming fails
            response.close()
            if response.status_code >= 500:
                failures.append((url + suffix, response.status_code))
            if "<title>" in body and "<" in body.split("<title>")[1].split("</title>")[0]:
                failures.append((url + suffix, "markup inside <title>"))  # a block left open shows as text in the tab
    assert failures == []
