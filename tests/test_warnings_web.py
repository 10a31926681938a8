"""The supervisor's warnings (SPEC §11) on the page and in the API: a firm inspected too often is listed with its
inspections, a warning is dismissed only with a reason and then listed among the dismissed, an overdue follow-up is
a warning itself; nobody but a supervisor sees any of it."""

from datetime import UTC, datetime, timedelta

import pytest
from conftest import TZ, add_enterprise, add_user, csrf_from, login, start, token_for

from logbook import accounts, followups
from logbook.db import rows, value

EN = {"Accept-Language": "en"}
EXEMPT = {"kind": "complaint", "reference": "投诉-2026-0042"}  # exempt: the third in a day is not refused by the cap


def this_year():
    return datetime.now(TZ).year


@pytest.fixture
def frequent(store, world):
    """Three inspections of the world's enterprise today: a `frequent` warning for the day (and one for the week);
    returns the day's warning key and the inspections."""
    ids = [start(store, world["enterprise"], **EXEMPT) for _ in range(3)]
    warning_id = value(store, "SELECT id FROM warnings WHERE kind = 'frequent' AND period = 'day'")
    return {"key": f"w{warning_id}", "inspections": ids}


def dismiss(client, key, reason, year=None):
    page = client.get(f"/supervisor/warnings/?year={year or this_year()}").get_data(as_text=True)
    return client.post(f"/supervisor/warnings/dismiss?year={year or this_year()}",
                       data={"csrf_token": csrf_from(page), "key": key, "reason": reason}, headers=EN)


def warning_item(page, key):
    """The <li> of one warning in a page."""
    return page.split(f'id="warning-{key}"')[1].split("</li>")[0]


def test_three_inspections_of_a_firm_in_a_day_are_a_frequent_warning_with_its_inspections_linked(client, world, frequent):
    login(client, "super")
    response = client.get("/supervisor/warnings/", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="kind-frequent"' in page
    item = warning_item(page, frequent["key"])
    assert "Inspected 3 times on one calendar day: more than 1." in item
    assert world["enterprise"]["name"] in item and world["enterprise"]["usci"] in item
    for inspection_id in frequent["inspections"]:
        assert f'href="/supervisor/inspections/{inspection_id}"' in item
    assert f'href="/followups/new?warning={frequent["key"]}&amp;year={this_year()}"' in item
    assert "Inspected 3 times within 7 days: more than 2." in page  # the week's warning, listed separately


def test_the_page_lists_twenty_warnings_of_a_kind_and_links_to_all_of_them(client, store, world):
    for n in range(21):
        firm = add_enterprise(store, name=f"频繁企业{n}")
        start(store, firm, **EXEMPT)
        start(store, firm, **EXEMPT)
    login(client, "super")
    page = client.get("/supervisor/warnings/").get_data(as_text=True)
    assert page.count('data-kind="frequent"') == 20
    assert f'href="/supervisor/warnings/?year={this_year()}&amp;kind=frequent"' in page
    every = client.get("/supervisor/warnings/?kind=frequent").get_data(as_text=True)
    assert every.count('data-kind="frequent"') == 21 and 'id="all-frequent"' not in every


def test_a_warning_dismissed_with_a_reason_is_hidden_and_listed_among_the_dismissed_with_who_and_why(
        client, store, world, frequent):
    login(client, "super")
    response = dismiss(client, frequent["key"], "同一投诉的三次核查，已了解情况")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/supervisor/warnings/?year={this_year()}"
    assert rows(store, "SELECT key, year, reason FROM warning_dismissals") == [
        {"key": frequent["key"], "year": this_year(), "reason": "同一投诉的三次核查，已了解情况"}]
    assert f'id="warning-{frequent["key"]}"' not in client.get("/supervisor/warnings/").get_data(as_text=True)
    shown = client.get("/supervisor/warnings/?dismissed=1", headers=EN).get_data(as_text=True)
    dismissed = shown.split('id="dismissed"')[1]
    item = warning_item(dismissed, frequent["key"])
    name = accounts.user_by_username(store, "super")["name"]
    assert f"Dismissed by {name} on" in item and "同一投诉的三次核查，已了解情况" in item
    assert 'id="dismiss-' not in item, "a dismissed warning is not dismissed again"


def test_a_dismissal_without_a_reason_answers_422_and_stores_nothing(client, store, world, frequent):
    login(client, "super")
    response = dismiss(client, frequent["key"], "   ")
    assert response.status_code == 422
    item = warning_item(response.get_data(as_text=True), frequent["key"])
    assert "<details open>" in item and "Say why the warning is dismissed." in item
    assert value(store, "SELECT count(*) FROM warning_dismissals") == 0


def test_an_unknown_warning_answers_404_and_a_dismissal_without_csrf_400(client, store, world, frequent):
    login(client, "super")
    assert dismiss(client, "w999999", "no such warning").status_code == 404
    assert dismiss(client, "nonsense:SCJG:2026", "no such kind").status_code == 404
    response = client.post("/supervisor/warnings/dismiss", data={"key": frequent["key"], "reason": "no token"})
    assert response.status_code == 400
    assert value(store, "SELECT count(*) FROM warning_dismissals") == 0


@pytest.mark.parametrize("username", ["ann", "firm1", "head1", "admin"])
def test_only_supervisors_see_or_dismiss_warnings(client, store, world, frequent, username):
    add_user(store, "head1", "head", agency="SCJG")
    login(client, username)
    assert client.get("/supervisor/warnings/").status_code == 404
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/supervisor/warnings/dismiss", data={"csrf_token": csrf_from(page),
                                                                  "key": frequent["key"], "reason": "x"})
    assert response.status_code == 404
    assert value(store, "SELECT count(*) FROM warning_dismissals") == 0


def test_the_follow_up_button_opens_the_form_with_the_warning_and_its_reason(client, world, frequent):
    login(client, "super")
    response = client.get(f"/followups/new?warning={frequent['key']}&year={this_year()}", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="about"' in page and "Inspected too often" in page
    text = page.split('name="text"')[1].split("</textarea>")[0]
    assert world["enterprise"]["name"] in text and "Inspected 3 times on one calendar day" in text
    assert client.get(f"/followups/new?warning=w999999&year={this_year()}").status_code == 404


def test_an_overdue_follow_up_is_a_followup_overdue_warning(client, auth, store, world):
    today = datetime.now(TZ).date()
    supervisor = accounts.user_by_username(store, "super")
    followup_id = followups.create_followup(store, supervisor, "SCJG", "请说明情况", today - timedelta(days=1),
                                            today - timedelta(days=3), datetime.now(UTC) - timedelta(days=3),
                                            complaint_id=None, warning_key="w1")
    login(client, "super")
    page = client.get("/supervisor/warnings/", headers=EN).get_data(as_text=True)
    item = warning_item(page, f"followup_overdue:SCJG:{this_year()}")
    assert "Follow-ups past their deadline without an accepted answer: 1." in item
    assert f'href="/followups/{followup_id}"' in item and "市场监督管理局" in item
    listed = client.get("/followups/").get_data(as_text=True)
    assert 'class="badge flag overdue"' in listed.split(f'id="followup-{followup_id}"')[1].split("</li>")[0]

    warnings = client.get("/api/v1/warnings", headers=auth("super")).get_json()["warnings"]
    assert [w for w in warnings if w["kind"] == "followup_overdue"] == [{
        "key": f"followup_overdue:SCJG:{this_year()}", "kind": "followup_overdue", "agency": "SCJG", "period": None,
        "count": 1, "since": (today - timedelta(days=1)).isoformat(), "until": (today - timedelta(days=1)).isoformat(),
        "inspections": [], "followups": [followup_id], "dismissal": None}]


# ---- the API ---------------------------------------------------------------------------------------------------

def test_the_api_lists_warnings_in_the_contract_shape(client, auth, world, frequent):
    response = client.get(f"/api/v1/warnings?year={this_year()}", headers=auth("super"))
    assert response.status_code == 200
    found = {w["key"]: w for w in response.get_json()["warnings"]}
    day = found[frequent["key"]]
    enterprise = world["enterprise"]
    assert set(day) == {"key", "kind", "period", "enterprise", "count", "since", "until", "inspections", "dismissal"}
    assert (day["kind"], day["period"], day["count"], day["dismissal"]) == ("frequent", "day", 3, None)
    assert day["enterprise"] == {"id": enterprise["id"], "usci": enterprise["usci"], "name": enterprise["name"]}
    assert sorted(day["inspections"]) == sorted(frequent["inspections"])
    assert day["since"] <= day["until"] and day["since"].endswith("Z")
    assert "agency" not in day, "a warning about an enterprise names no agency"
    assert client.get(f"/api/v1/warnings?year={this_year() - 1}", headers=auth("super")).get_json() == {"warnings": [],
                                                                                                     "next": None}


def test_the_api_dismisses_a_warning_with_a_reason(client, auth, store, world, frequent):
    response = client.post(f"/api/v1/warnings/{frequent['key']}/dismissal", headers=auth("super"),
                           json={"reason": " 已核实 "})
    assert response.status_code == 201
    name = accounts.user_by_username(store, "super")["name"]
    body = response.get_json()
    assert (body["key"], body["reason"], body["by_name"]) == (frequent["key"], "已核实", name)
    listed = client.get("/api/v1/warnings", headers=auth("super")).get_json()["warnings"]
    assert frequent["key"] not in [w["key"] for w in listed]
    every = client.get("/api/v1/warnings?dismissed=true", headers=auth("super")).get_json()["warnings"]
    dismissed = next(w for w in every if w["key"] == frequent["key"])
    assert dismissed["dismissal"] == body


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x", "extra": 1}, [], "text"])
def test_the_api_refuses_a_dismissal_without_a_reason_with_422_and_stores_nothing(client, auth, store, frequent, body):
    response = client.post(f"/api/v1/warnings/{frequent['key']}/dismissal", headers=auth("super"), json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid"
    assert value(store, "SELECT count(*) FROM warning_dismissals") == 0


def test_the_api_answers_401_without_a_token_and_404_to_other_roles_and_unknown_keys(client, auth, store, frequent):
    assert client.get("/api/v1/warnings").status_code == 401
    assert client.post(f"/api/v1/warnings/{frequent['key']}/dismissal", json={"reason": "x"}).status_code == 401
    add_user(store, "head1", "head", agency="SCJG")
    for username in ("ann", "firm1", "admin", "head1"):
        headers = token_for(client, username)
        assert client.get("/api/v1/warnings", headers=headers).status_code == 404
        assert client.post(f"/api/v1/warnings/{frequent['key']}/dismissal", headers=headers,
                           json={"reason": "x"}).status_code == 404
    for key in ("w999999", "w99999999999999999999999", "unknown:SCJG:2026", "x" * 101):
        response = client.post(f"/api/v1/warnings/{key}/dismissal", headers=auth("super"), json={"reason": "x"})
        assert response.status_code == 404, key
        assert response.get_json()["error"]["code"] == "not_found"
    assert client.post(f"/api/v1/warnings/{frequent['key']}/dismissal?year={this_year() - 1}", headers=auth("super"),
                       json={"reason": "x"}).status_code == 404, "a stored warning belongs to its own year"
    assert client.get("/api/v1/warnings?year=1999", headers=auth("super")).status_code == 422
    assert value(store, "SELECT count(*) FROM warning_dismissals") == 0


def test_a_computed_warning_is_dismissed_for_the_year_its_key_names(client, auth, store, world):
    today = datetime.now(TZ).date()
    followups.create_followup(store, accounts.user_by_username(store, "super"), "SCJG", "请说明", today - timedelta(days=1),
                              today - timedelta(days=2), datetime.now(UTC), warning_key="w1")
    key = f"followup_overdue:SCJG:{this_year()}"
    response = client.post(f"/api/v1/warnings/{key}/dismissal", headers=auth("super"), json={"reason": "已催办"})
    assert response.status_code == 201
    assert rows(store, "SELECT key, year FROM warning_dismissals") == [{"key": key, "year": this_year()}]
