"""The JSON API contract of SPEC §4 and §5, through the Flask test client, one behaviour per test.

Every refusal is also checked in the database: bad input gets a clear error and changes nothing.
"""

import json
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import PASSWORD, add_enterprise, add_user, make_usci, token_for

import web
from logbook import checkpoints, enterprises, limits, writer
from logbook.db import now_text, value

API = "/api/v1"
TABLES = ("inspections", "inspection_agencies", "inspection_inspectors", "inspection_items", "journal", "refusals")
INSPECTION_KEYS = {"id", "enterprise", "kind", "counted", "status", "entry", "late", "agencies", "inspectors", "items",
                   "reference", "started_at", "closed_at", "result", "findings", "rectify_by", "confirmed_at",
                   "journal_hash"}


# ---- helpers ---------------------------------------------------------------------------------------

def error_of(response, status, code):
    """Assert the status and the one error shape {"error": {"code", "message", ...}}; return the inner object."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    body = response.get_json()
    assert list(body) == ["error"]
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"].strip()
    return body["error"]


def counts(store):
    """How many rows each inspection-related table holds."""
    return {table: value(store, f"SELECT count(*) FROM {table}") for table in TABLES}


def body_for(enterprise, **overrides):
    """A valid routine inspection by the caller (ann) and bob of SCJG."""
    return {"qr_token": enterprise["qr_token"], "kind": "routine", "inspectors": ["bob"], "items": ["SCJG-001"]} | overrides


@pytest.fixture
def start(client, world, auth):
    """start(username="ann", enterprise=None, **body overrides) -> the response to POST /inspections."""
    def post(username="ann", enterprise=None, **overrides):
        return client.post(f"{API}/inspections", headers=auth(username),
                           json=body_for(enterprise or world["enterprise"], **overrides))
    return post


@pytest.fixture
def started(start):
    """An open routine inspection by ann and bob, as the API returned it."""
    response = start()
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def ago(**delta):
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


# ---- tokens ----------------------------------------------------------------------------------------

def test_a_right_password_gets_a_token_with_role_and_expiry(client, store, world):
    response = client.post(f"{API}/tokens", json={"username": "ann", "password": PASSWORD})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"token", "role", "expires_at"}
    assert body["role"] == "inspector"
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert timedelta(hours=11) < expires - datetime.now(UTC) <= timedelta(hours=12)
    assert len(body["token"]) >= 32


def test_tokens_are_stored_only_as_hashes(client, store, world):
    token = client.post(f"{API}/tokens", json={"username": "ann", "password": PASSWORD}).get_json()["token"]
    assert value(store, "SELECT count(*) FROM api_tokens") == 1
    assert value(store, "SELECT count(*) FROM api_tokens WHERE token_hash = ?", [token]) == 0


def test_the_issued_token_opens_the_api(client, world):
    header = token_for(client, "super")
    assert client.get(f"{API}/journal/verify", headers=header).status_code == 200


def test_a_wrong_password_answers_401_bad_credentials_and_issues_nothing(client, store, world):
    response = client.post(f"{API}/tokens", json={"username": "ann", "password": "wrong-password"})
    error_of(response, 401, "bad_credentials")
    assert value(store, "SELECT count(*) FROM api_tokens") == 0
    assert value(store, "SELECT count(*) FROM login_failures WHERE username = 'ann'") == 1


def test_an_unknown_user_gets_the_same_401_bad_credentials(client, world):
    response = client.post(f"{API}/tokens", json={"username": "nobody", "password": PASSWORD})
    error_of(response, 401, "bad_credentials")


def test_a_token_request_without_password_is_422_invalid(client, store, world):
    error = error_of(client.post(f"{API}/tokens", json={"username": "ann"}), 422, "invalid")
    assert "password" in error["fields"]
    assert value(store, "SELECT count(*) FROM login_failures") == 0


def test_nine_failures_do_not_lock_out_the_right_password(client, world):
    for _ in range(9):
        error_of(client.post(f"{API}/tokens", json={"username": "ann", "password": "wrong-password"}),
                 401, "bad_credentials")
    assert client.post(f"{API}/tokens", json={"username": "ann", "password": PASSWORD}).status_code == 201


def test_the_tenth_failure_is_still_401_and_the_eleventh_attempt_is_429_even_with_the_right_password(client, world):
    for _ in range(10):
        error_of(client.post(f"{API}/tokens", json={"username": "ann", "password": "wrong-password"}),
                 401, "bad_credentials")
    error_of(client.post(f"{API}/tokens", json={"username": "ann", "password": PASSWORD}), 429, "too_many_requests")


def test_throttling_one_username_leaves_others_alone(client, world):
    for _ in range(11):
        client.post(f"{API}/tokens", json={"username": "ann", "password": "wrong-password"})
    assert client.post(f"{API}/tokens", json={"username": "bob", "password": PASSWORD}).status_code == 201


def test_failures_older_than_fifteen_minutes_no_longer_throttle(client, store, world):
    for _ in range(10):
        client.post(f"{API}/tokens", json={"username": "ann", "password": "wrong-password"})
    store.execute("UPDATE login_failures SET failed_at = ?", [now_text(datetime.now(UTC) - timedelta(minutes=16))])
    store.conn.commit()
    assert client.post(f"{API}/tokens", json={"username": "ann", "password": PASSWORD}).status_code == 201


def test_an_inspector_with_an_expired_certificate_still_gets_a_token(client, store, world):
    add_user(store, "old", "inspector", cert_days=-1, agency="SCJG")
    response = client.post(f"{API}/tokens", json={"username": "old", "password": PASSWORD})
    assert response.status_code == 201
    assert response.get_json()["role"] == "inspector"


def test_an_expired_certificate_cannot_start_an_inspection_and_writes_nothing(client, store, world):
    add_user(store, "old", "inspector", cert_days=-1, agency="SCJG")
    before = counts(store)
    response = client.post(f"{API}/inspections", headers=token_for(client, "old"), json=body_for(world["enterprise"]))
    error_of(response, 403, "certificate_invalid")
    assert counts(store) == before


# ---- 401 before anything is looked up --------------------------------------------------------------

PROTECTED = [
    ("GET", "/scan/no-such-code", None),
    ("POST", "/inspections", {"qr_token": "no-such-code", "kind": "routine"}),
    ("POST", "/inspections", "{not json"),
    ("GET", "/inspections/999999", None),
    ("POST", "/inspections/999999/close", {"result": "no_issue"}),
    ("POST", "/inspections/999999/void", {"reason": "wrong firm"}),
    ("GET", "/journal/verify", None),
]


def expired_token(client, store):
    header = token_for(client, "ann")
    store.execute("UPDATE api_tokens SET expires_at = ?", [now_text(datetime.now(UTC) - timedelta(seconds=1))])
    store.conn.commit()
    return header


CREDENTIALS = {
    "no token": lambda client, store: {},
    "a bad token": lambda client, store: {"Authorization": "Bearer not-a-token"},
    "an expired token": expired_token,
    "a password instead of a token": lambda client, store: {"Authorization": f"Basic {PASSWORD}"},
    "an absurdly long token": lambda client, store: {"Authorization": "Bearer " + "x" * 5000},
}


@pytest.mark.parametrize("credentials", list(CREDENTIALS))
@pytest.mark.parametrize(("method", "path", "payload"), PROTECTED)
def test_every_protected_endpoint_answers_401_unauthorized_before_looking_anything_up(
        client, store, world, method, path, payload, credentials):
    headers = CREDENTIALS[credentials](client, store)
    before = counts(store)
    if isinstance(payload, str):
        response = client.open(API + path, method=method, headers=headers, data=payload,
                               content_type="application/json")
    else:
        response = client.open(API + path, method=method, headers=headers, json=payload)
    error_of(response, 401, "unauthorized")
    assert counts(store) == before


def test_every_documented_operation_but_tokens_is_protected(client, store, world):
    spec = client.get(f"{API}/openapi.json").get_json()
    checked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            if path == f"{API}/tokens" or (path == f"{API}/draws/{{draw_id}}" and method == "get"):  # SPEC §5: public
                assert not operation.get("security")
                continue
            assert operation.get("security") == [{"bearerAuth": []}], (method, path)
            url = re.sub(r"\{\w+\}", "999999", path)
            response = client.open(url, method=method.upper(), json={} if method == "post" else None)
            error_of(response, 401, "unauthorized")
            checked += 1
    assert checked >= 6
    assert counts(store) == {table: 0 for table in TABLES}


def test_a_valid_token_of_a_deactivated_user_is_refused(client, store, world, auth):
    header = auth("ann")
    store.execute("UPDATE users SET active = 0 WHERE username = 'ann'")
    store.conn.commit()
    error_of(client.get(f"{API}/scan/{world['enterprise']['qr_token']}", headers=header), 401, "unauthorized")


# ---- scan ------------------------------------------------------------------------------------------

def test_scan_shows_the_enterprise_its_quota_and_this_years_inspections(client, world, auth):
    enterprise = world["enterprise"]
    response = client.get(f"{API}/scan/{enterprise['qr_token']}", headers=auth("ann"))
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"enterprise", "year", "quota", "recent"}
    assert body["enterprise"]["usci"] == enterprise["usci"]
    assert body["enterprise"]["name"] == "株洲测试机械有限公司"
    assert "qr_token" not in body["enterprise"]
    assert body["year"] == datetime.now(ZoneInfo("Asia/Shanghai")).year
    assert body["quota"]["counted"] == 0 and body["quota"]["max"] == 2 and body["quota"]["total"] == 0
    assert body["quota"]["rules"] == [{"rule_id": 1, "scope": "all", "window": "year", "used": 0, "max": 2}]
    assert body["recent"] == []


def test_scan_lists_earlier_inspections_and_counts_them(client, world, auth, started):
    body = client.get(f"{API}/scan/{world['enterprise']['qr_token']}", headers=auth("bob")).get_json()
    assert [r["id"] for r in body["recent"]] == [started["id"]]
    assert body["recent"][0]["confirm_code"] == started["confirm_code"]  # bob took part
    assert body["quota"]["counted"] == 1 and body["quota"]["rules"][0]["used"] == 1


def test_scan_hides_the_confirm_code_from_inspectors_who_did_not_take_part(client, world, auth, started):
    body = client.get(f"{API}/scan/{world['enterprise']['qr_token']}", headers=auth("dan")).get_json()
    assert [r["id"] for r in body["recent"]] == [started["id"]]
    assert "confirm_code" not in body["recent"][0]


def test_scanning_an_unknown_code_is_404_unknown_code(client, world, auth):
    error_of(client.get(f"{API}/scan/no-such-code", headers=auth("ann")), 404, "unknown_code")


def test_scanning_a_replaced_code_is_404_unknown_code_saying_so(client, store, world, auth):
    old = world["enterprise"]["qr_token"]
    enterprises.rotate_qr_token(store, world["enterprise"]["id"])
    error = error_of(client.get(f"{API}/scan/{old}", headers=auth("ann")), 404, "unknown_code")
    assert error["replaced"] is True
    assert "replaced" in error["message"]


def test_only_inspectors_scan_through_the_api(client, world, auth):
    for username in ("firm1", "super", "admin"):
        response = client.get(f"{API}/scan/{world['enterprise']['qr_token']}", headers=auth(username))
        error_of(response, 404, "not_found")


# ---- starting an inspection ------------------------------------------------------------------------

def test_starting_an_inspection_answers_201_with_the_inspection_and_its_confirm_code(client, store, world, start):
    response = start()
    assert response.status_code == 201
    body = response.get_json()
    assert INSPECTION_KEYS <= set(body)
    assert body["enterprise"] == {"id": world["enterprise"]["id"], "usci": world["enterprise"]["usci"],
                                  "name": "株洲测试机械有限公司"}
    assert (body["kind"], body["counted"], body["status"], body["entry"], body["late"]) == (
        "routine", True, "open", "scan", False)
    assert body["agencies"] == ["SCJG"] and body["items"] == ["SCJG-001"]
    assert body["inspectors"] == [{"username": "ann", "name": "ann", "cert_no": "C-ann"},
                                  {"username": "bob", "name": "bob", "cert_no": "C-bob"}]
    assert body["closed_at"] is None and body["result"] is None and body["confirmed_at"] is None
    assert body["confirm_code"].isdigit() and len(body["confirm_code"]) == 6
    assert body["journal_hash"] == value(store, "SELECT hash FROM journal ORDER BY id DESC LIMIT 1")
    assert abs(datetime.fromisoformat(body["started_at"].replace("Z", "+00:00")) - datetime.now(UTC)) < timedelta(
        minutes=1)
    assert counts(store) == {"inspections": 1, "inspection_agencies": 1, "inspection_inspectors": 2,
                             "inspection_items": 1, "journal": 1, "refusals": 0}


@pytest.mark.parametrize("shape", [
    {},
    {"username": "dan", "agencies": ["YJGL", "SCJG"], "inspectors": ["cat", "bob", "ann"],
     "items": ["YJGL-001", "SCJG-002", "SCJG-001"],
     "location": {"lat": 27.83, "lon": 113.15}, "reference": "联合-2026-7"},
    {"kind": "complaint", "reference": "投诉-2026-0042", "reason": "群众投诉 <b>噪音</b>", "items": ["SCJG-002"]},
    {"started_at": "2026-01-01T00:00:00+08:00"},
])
def test_the_201_body_is_what_reading_the_inspection_back_answers(client, store, world, start, auth, shape):
    """The write path builds its 201 from what it wrote instead of reading it back: it must not differ by a field,
    checkpoints (a checklist snapshot, in item and position order), names and orders included."""
    items = [{"agency": "SCJG", "code": "SCJG-001", "name": "食品经营许可检查", "basis": "食品安全法第三十五条",
              "checkpoints": [("持证经营", "许可证在有效期内"), ("从业人员健康证", None)]},
             {"agency": "YJGL", "code": "YJGL-001", "name": "安全生产责任制", "basis": "安全生产法第二十二条",
              "checkpoints": [("责任制文件", "")]}]
    checkpoints.import_checkpoints(store, items)
    shape = dict(shape)
    if "started_at" in shape:  # a late entry needs a reason
        shape = shape | {"started_at": (datetime.now(UTC) - timedelta(hours=30)).isoformat(), "reason": "无信号"}
    username = shape.pop("username", "ann")
    response = start(username, **shape)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    read = client.get(f"{API}/inspections/{created['id']}", headers=auth(username)).get_json()
    assert created == read
    assert created["journal_hash"] == value(store, "SELECT journal_hash FROM inspections WHERE id = ?", [created["id"]])
    assert len(created["checkpoints"]) == value(store, "SELECT count(*) FROM inspection_checkpoints")


def test_the_third_routine_inspection_is_409_cap_reached_and_the_refusal_is_recorded(client, store, world, start):
    assert start().status_code == 201
    assert start().status_code == 201
    before = counts(store)
    error = error_of(start(), 409, "cap_reached")
    assert (error["rule_id"], error["used"], error["max"]) == (1, 2, 2)
    assert "2" in error["message"] and "rule 1" in error["message"]
    after = counts(store)
    assert after == before | {"refusals": 1}
    refusal = store.execute("SELECT enterprise_id, kind, rule_id, used, max FROM refusals").fetchone()
    assert refusal == (world["enterprise"]["id"], "routine", 1, 2, 2)


def test_an_exempt_kind_with_a_reference_passes_beyond_the_cap_and_is_not_counted(client, world, start, auth):
    assert start().status_code == 201
    assert start().status_code == 201
    response = start(kind="complaint", reference="12345 投诉-2026-0042")
    assert response.status_code == 201
    body = response.get_json()
    assert body["counted"] is False and body["kind"] == "complaint"
    assert body["reference"] == "12345 投诉-2026-0042"
    quota = client.get(f"{API}/scan/{world['enterprise']['qr_token']}", headers=auth("ann")).get_json()["quota"]
    assert (quota["counted"], quota["exempt"], quota["total"]) == (2, 1, 3)


def test_an_exempt_kind_without_reference_is_422_invalid_naming_reference(store, world, start):
    error = error_of(start(kind="complaint"), 422, "invalid")
    assert "reference" in error["fields"]
    assert counts(store) == {table: 0 for table in TABLES}


def test_a_joint_inspection_counts_once_for_the_all_agency_rule(client, world, start, auth):
    response = start(agencies=["SCJG", "YJGL"], inspectors=["bob", "cat"], items=["SCJG-001", "YJGL-001"])
    assert response.status_code == 201
    body = response.get_json()
    assert body["agencies"] == ["SCJG", "YJGL"] and body["items"] == ["SCJG-001", "YJGL-001"]
    assert [i["username"] for i in body["inspectors"]] == ["ann", "bob", "cat"]
    quota = client.get(f"{API}/scan/{world['enterprise']['qr_token']}", headers=auth("ann")).get_json()["quota"]
    assert quota["counted"] == 1 and quota["rules"][0]["used"] == 1
    assert start().status_code == 201
    assert error_of(start(), 409, "cap_reached")["used"] == 2


def test_a_joint_inspection_counts_for_each_participating_agency(store, world, start):
    yjgl_rule = limits.add_rule(store, 1, agency="YJGL")
    store.conn.commit()
    assert start(agencies=["SCJG", "YJGL"], inspectors=["bob", "cat"], items=["SCJG-001", "YJGL-001"]).status_code == 201
    error = error_of(start("cat", inspectors=["dan"], items=["YJGL-001"]), 409, "cap_reached")
    assert (error["rule_id"], error["used"], error["max"]) == (yjgl_rule, 1, 1)


def test_manual_entry_by_usci_is_recorded_with_entry_manual(client, world, auth):
    enterprise = world["enterprise"]
    payload = {"usci": f" {enterprise['usci'].lower()} ", "kind": "routine", "inspectors": ["bob"],
               "items": ["SCJG-001"]}
    response = client.post(f"{API}/inspections", headers=auth("ann"), json=payload)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["entry"] == "manual"
    assert response.get_json()["enterprise"]["id"] == enterprise["id"]


def test_manual_entry_with_an_invalid_usci_is_422_and_writes_nothing(client, store, world, auth):
    valid = world["enterprise"]["usci"]
    wrong_check = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    error = error_of(client.post(f"{API}/inspections", headers=auth("ann"), json={
        "usci": wrong_check, "kind": "routine", "inspectors": ["bob"], "items": ["SCJG-001"]}), 422, "invalid")
    assert "usci" in error["fields"]
    assert counts(store) == {table: 0 for table in TABLES}


def test_manual_entry_with_an_unknown_usci_is_404_unknown_code(client, store, world, auth):
    error_of(client.post(f"{API}/inspections", headers=auth("ann"), json={
        "usci": make_usci(9999), "kind": "routine", "inspectors": ["bob"], "items": ["SCJG-001"]}), 404, "unknown_code")
    assert counts(store) == {table: 0 for table in TABLES}


def test_starting_with_an_unknown_qr_token_is_404_unknown_code(store, world, start):
    error_of(start(qr_token="no-such-code"), 404, "unknown_code")
    assert counts(store) == {table: 0 for table in TABLES}


def test_neither_qr_token_nor_usci_is_422(client, store, world, auth):
    error = error_of(client.post(f"{API}/inspections", headers=auth("ann"), json={
        "kind": "routine", "inspectors": ["bob"], "items": ["SCJG-001"]}), 422, "invalid")
    assert "qr_token" in error["fields"]


def test_a_lone_inspector_is_422_naming_inspectors(store, world, start):
    error = error_of(start(inspectors=[]), 422, "invalid")
    assert "inspectors" in error["fields"]
    assert counts(store) == {table: 0 for table in TABLES}


def test_an_item_off_the_participating_agencies_lists_is_422_naming_items(store, world, start):
    error = error_of(start(items=["YJGL-001"]), 422, "invalid")
    assert "items" in error["fields"]
    assert counts(store) == {table: 0 for table in TABLES}


def test_only_inspectors_may_start_inspections(client, store, world, auth):
    for username in ("firm1", "super"):
        response = client.post(f"{API}/inspections", headers=auth(username), json=body_for(world["enterprise"]))
        error_of(response, 404, "not_found")
    assert counts(store) == {table: 0 for table in TABLES}


# ---- malformed bodies ------------------------------------------------------------------------------

def test_malformed_json_is_400_with_the_error_shape_and_writes_nothing(client, store, world, auth):
    response = client.post(f"{API}/inspections", headers=auth("ann"), data='{"kind": "routine",',
                           content_type="application/json")
    error_of(response, 400, "bad_json")
    assert counts(store) == {table: 0 for table in TABLES}


@pytest.mark.parametrize("raw", ["[1, 2]", '"routine"', "42", "null", "true"])
def test_a_json_body_that_is_not_an_object_is_422_not_500(client, store, world, auth, raw):
    response = client.post(f"{API}/inspections", headers=auth("ann"), data=raw, content_type="application/json")
    error = error_of(response, 422, "invalid")
    assert error["fields"]
    assert counts(store) == {table: 0 for table in TABLES}


def test_a_body_that_is_not_json_at_all_is_a_4xx_with_the_error_shape(client, store, world, auth):
    response = client.post(f"{API}/inspections", headers=auth("ann"), data="kind=routine",
                           content_type="application/x-www-form-urlencoded")
    assert 400 <= response.status_code < 500
    assert list(response.get_json()) == ["error"] and response.get_json()["error"]["message"]
    assert counts(store) == {table: 0 for table in TABLES}


def test_an_empty_body_is_422_naming_kind(client, store, world, auth):
    error = error_of(client.post(f"{API}/inspections", headers=auth("ann")), 422, "invalid")
    assert "kind" in error["fields"]


def test_wrong_types_are_422_with_a_message_per_field_and_write_nothing(store, world, start):
    error = error_of(start(kind=5, items="x", recheck_of="1", started_at="yesterday", location={"lat": 200}),
                     422, "invalid")
    fields = error["fields"]
    for name in ("kind", "items", "recheck_of", "started_at", "location.lat", "location.lon"):
        assert isinstance(fields.get(name), str) and fields[name], (name, fields)
    assert counts(store) == {table: 0 for table in TABLES}


def test_an_unknown_kind_is_422_naming_kind(store, world, start):
    assert "kind" in error_of(start(kind="raid"), 422, "invalid")["fields"]


def test_an_unknown_field_is_refused(store, world, start):
    error = error_of(start(inspector="bob"), 422, "invalid")
    assert "inspector" in error["fields"]
    assert counts(store) == {table: 0 for table in TABLES}


def test_a_malformed_body_for_an_enterprise_at_its_cap_is_422_not_409_and_records_no_refusal(store, world, start):
    assert start().status_code == 201
    assert start().status_code == 201
    before = counts(store)
    error_of(start(items="SCJG-001"), 422, "invalid")
    error_of(start(items=[]), 422, "invalid")
    assert counts(store) == before


def test_a_lone_surrogate_in_a_string_is_422_not_500(client, store, world, auth):
    raw = json.dumps(body_for(world["enterprise"], kind="complaint"))[:-1] + ', "reference": "\\ud800"}'
    response = client.post(f"{API}/inspections", headers=auth("ann"), data=raw, content_type="application/json")
    assert "reference" in error_of(response, 422, "invalid")["fields"]
    assert counts(store) == {table: 0 for table in TABLES}


def test_a_lone_surrogate_in_a_username_is_422_not_500(client, store, world):
    response = client.post(f"{API}/tokens", data='{"username": "\\udfff", "password": "x"}',
                           content_type="application/json")
    assert "username" in error_of(response, 422, "invalid")["fields"]
    assert value(store, "SELECT count(*) FROM login_failures") == 0


def test_a_nul_character_in_a_string_is_422(store, world, start):
    assert "reference" in error_of(start(kind="complaint", reference="A\x00B"), 422, "invalid")["fields"]
    assert counts(store) == {table: 0 for table in TABLES}


# ---- late entries ----------------------------------------------------------------------------------

def test_a_start_two_days_back_without_reason_is_422_naming_reason(store, world, start):
    error = error_of(start(started_at=ago(days=2)), 422, "invalid")
    assert "reason" in error["fields"]
    assert counts(store) == {table: 0 for table in TABLES}


def test_a_start_two_days_back_with_a_reason_is_recorded_as_late(world, start):
    when = datetime.now(UTC) - timedelta(days=2)
    response = start(started_at=when.isoformat(), reason="network outage at the site")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["late"] is True
    assert body["started_at"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_start_eleven_days_back_is_422_even_with_a_reason(store, world, start):
    error = error_of(start(started_at=ago(days=11), reason="forgot"), 422, "invalid")
    assert "started_at" in error["fields"]
    assert counts(store) == {table: 0 for table in TABLES}


def test_a_start_in_the_future_is_422(store, world, start):
    assert "started_at" in error_of(start(started_at=ago(hours=-2)), 422, "invalid")["fields"]


def test_a_start_a_few_minutes_back_is_not_late(world, start):
    response = start(started_at=ago(minutes=3))
    assert response.status_code == 201
    assert response.get_json()["late"] is False


# ---- reading an inspection -------------------------------------------------------------------------

def test_a_participating_inspector_reads_the_inspection_with_its_confirm_code(client, auth, started):
    for username in ("ann", "bob"):
        response = client.get(f"{API}/inspections/{started['id']}", headers=auth(username))
        assert response.status_code == 200
        assert response.get_json()["confirm_code"] == started["confirm_code"]


def test_another_inspector_gets_404_for_the_inspection(client, auth, started):
    error_of(client.get(f"{API}/inspections/{started['id']}", headers=auth("cat")), 404, "not_found")


def test_the_enterprises_firm_user_reads_the_inspection_without_the_confirm_code_key(client, auth, started):
    response = client.get(f"{API}/inspections/{started['id']}", headers=auth("firm1"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == started["id"] and INSPECTION_KEYS <= set(body)
    assert "confirm_code" not in body


def test_a_firm_user_of_another_enterprise_gets_404(client, store, auth, started):
    other = add_enterprise(store, name="另一家公司")
    add_user(store, "firm2", "firm", usci_code=other["usci"])
    error_of(client.get(f"{API}/inspections/{started['id']}", headers=auth("firm2")), 404, "not_found")


def test_a_supervisor_reads_any_inspection_without_the_confirm_code(client, auth, started):
    response = client.get(f"{API}/inspections/{started['id']}", headers=auth("super"))
    assert response.status_code == 200
    assert "confirm_code" not in response.get_json()


def test_an_admin_gets_404_for_an_inspection(client, auth, started):
    error_of(client.get(f"{API}/inspections/{started['id']}", headers=auth("admin")), 404, "not_found")


def test_an_unknown_inspection_is_404(client, world, auth):
    error_of(client.get(f"{API}/inspections/424242", headers=auth("ann")), 404, "not_found")


@pytest.mark.parametrize(("method", "suffix", "payload"), [
    ("GET", "", None), ("POST", "/close", {"result": "no_issue"}), ("POST", "/void", {"reason": "wrong firm"})])
def test_a_huge_inspection_id_is_404_not_500(client, world, auth, method, suffix, payload):
    response = client.open(f"{API}/inspections/{10**30}{suffix}", method=method, headers=auth("ann"), json=payload)
    error_of(response, 404, "not_found")


def test_a_negative_inspection_id_is_404_with_the_error_shape(client, world, auth):
    error_of(client.get(f"{API}/inspections/-1", headers=auth("ann")), 404, "not_found")


# ---- closing ---------------------------------------------------------------------------------------

def test_closing_with_no_issue_needs_no_findings(client, store, auth, started):
    response = client.post(f"{API}/inspections/{started['id']}/close", headers=auth("ann"), json={"result": "no_issue"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["result"], body["findings"], body["rectify_by"]) == ("closed", "no_issue", None, None)
    assert body["closed_at"] is not None
    assert body["confirm_code"] == started["confirm_code"]
    assert value(store, "SELECT count(*) FROM journal") == 2
    assert body["journal_hash"] == value(store, "SELECT hash FROM journal ORDER BY id DESC LIMIT 1")


def test_the_other_participating_inspector_may_close(client, auth, started):
    response = client.post(f"{API}/inspections/{started['id']}/close", headers=auth("bob"),
                           json={"result": "case_filed", "findings": "无证经营"})
    assert response.status_code == 200
    assert response.get_json()["findings"] == "无证经营"


@pytest.mark.parametrize("findings", [None, "", "   "])
def test_closing_with_a_case_filed_needs_findings(client, store, auth, started, findings):
    before = counts(store)
    payload = {"result": "case_filed"} | ({} if findings is None else {"findings": findings})
    error = error_of(client.post(f"{API}/inspections/{started['id']}/close", headers=auth("ann"), json=payload),
                     422, "invalid")
    assert "findings" in error["fields"]
    assert counts(store) == before
    assert value(store, "SELECT status FROM inspections WHERE id = ?", [started["id"]]) == "open"


def test_closing_with_rectify_needs_a_rectify_by_date(client, store, auth, started):
    error = error_of(client.post(f"{API}/inspections/{started['id']}/close", headers=auth("ann"),
                                 json={"result": "rectify", "findings": "灭火器过期"}), 422, "invalid")
    assert "rectify_by" in error["fields"]
    assert value(store, "SELECT status FROM inspections WHERE id = ?", [started["id"]]) == "open"


def test_closing_with_rectify_and_a_date_records_the_deadline(client, auth, started):
    deadline = (date.today() + timedelta(days=30)).isoformat()
    response = client.post(f"{API}/inspections/{started['id']}/close", headers=auth("ann"),
                           json={"result": "rectify", "findings": "灭火器过期", "rectify_by": deadline})
    assert response.status_code == 200
    assert (response.get_json()["result"], response.get_json()["rectify_by"]) == ("rectify", deadline)


def test_closing_with_a_malformed_rectify_by_is_422(client, auth, started):
    error = error_of(client.post(f"{API}/inspections/{started['id']}/close", headers=auth("ann"),
                                 json={"result": "rectify", "findings": "x", "rectify_by": "next week"}),
                     422, "invalid")
    assert "rectify_by" in error["fields"]


def test_closing_with_an_unknown_result_is_422(client, auth, started):
    error = error_of(client.post(f"{API}/inspections/{started['id']}/close", headers=auth("ann"),
                                 json={"result": "fine"}), 422, "invalid")
    assert "result" in error["fields"]


def test_a_non_participating_inspector_cannot_close_404(client, store, auth, started):
    before = counts(store)
    error_of(client.post(f"{API}/inspections/{started['id']}/close", headers=auth("cat"), json={"result": "no_issue"}),
             404, "not_found")
    assert counts(store) == before
    assert value(store, "SELECT status FROM inspections WHERE id = ?", [started["id"]]) == "open"


@pytest.mark.parametrize("username", ["firm1", "super"])
def test_firm_users_and_supervisors_cannot_close_404(client, store, auth, started, username):
    error_of(client.post(f"{API}/inspections/{started['id']}/close", headers=auth(username),
                         json={"result": "no_issue"}), 404, "not_found")
    assert value(store, "SELECT status FROM inspections WHERE id = ?", [started["id"]]) == "open"


def test_closing_twice_is_409_not_open_and_keeps_the_first_result(client, store, auth, started):
    url = f"{API}/inspections/{started['id']}/close"
    assert client.post(url, headers=auth("ann"), json={"result": "no_issue"}).status_code == 200
    before = counts(store)
    error_of(client.post(url, headers=auth("bob"), json={"result": "case_filed", "findings": "x"}), 409, "not_open")
    assert counts(store) == before
    assert value(store, "SELECT result FROM inspections WHERE id = ?", [started["id"]]) == "no_issue"


@pytest.mark.parametrize("body", [{"result": "no_issue", "extra": 1}, {}, {"checks": "x"}, None])
def test_closing_a_closed_inspection_is_409_whatever_the_body(client, auth, started, body):
    url = f"{API}/inspections/{started['id']}/close"
    assert client.post(url, headers=auth("ann"), json={"result": "no_issue"}).status_code == 200
    error_of(client.post(url, headers=auth("ann"), json=body), 409, "not_open")


def test_closing_someone_elses_inspection_with_a_bad_body_is_404(client, auth, started):
    error_of(client.post(f"{API}/inspections/{started['id']}/close", headers=auth("cat"), json={"extra": 1}),
             404, "not_found")


# ---- voiding ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [{}, {"reason": ""}, {"reason": "   "}, {"reason": None}])
def test_voiding_needs_a_reason(client, store, auth, started, payload):
    before = counts(store)
    error = error_of(client.post(f"{API}/inspections/{started['id']}/void", headers=auth("ann"), json=payload),
                     422, "invalid")
    assert "reason" in error["fields"]
    assert counts(store) == before


def test_voiding_within_thirty_minutes_is_allowed(client, store, auth, started):
    response = client.post(f"{API}/inspections/{started['id']}/void", headers=auth("bob"), json={"reason": "扫错了企业"})
    assert response.status_code == 200
    assert response.get_json()["status"] == "voided"
    row = store.execute("SELECT status, void_reason FROM inspections WHERE id = ?", [started["id"]]).fetchone()
    assert row == ("voided", "扫错了企业")
    assert value(store, "SELECT action FROM journal ORDER BY id DESC LIMIT 1") == "void"


def test_a_closed_inspection_is_not_voidable_409(client, store, auth, started):
    assert client.post(f"{API}/inspections/{started['id']}/close", headers=auth("ann"),
                       json={"result": "no_issue"}).status_code == 200
    before = counts(store)
    error_of(client.post(f"{API}/inspections/{started['id']}/void", headers=auth("ann"), json={"reason": "oops"}),
             409, "not_voidable")
    assert counts(store) == before
    assert value(store, "SELECT status FROM inspections WHERE id = ?", [started["id"]]) == "closed"


def test_an_inspection_recorded_more_than_thirty_minutes_ago_is_not_voidable_409(client, store, auth, started):
    store.execute("UPDATE inspections SET recorded_at = ? WHERE id = ?",
                  [now_text(datetime.now(UTC) - timedelta(minutes=31)), started["id"]])
    store.conn.commit()
    before = counts(store)
    error = error_of(client.post(f"{API}/inspections/{started['id']}/void", headers=auth("ann"),
                                 json={"reason": "oops"}), 409, "not_voidable")
    assert "30 minutes" in error["message"]
    assert counts(store) == before
    assert value(store, "SELECT status FROM inspections WHERE id = ?", [started["id"]]) == "open"


def test_voiding_twice_is_409_not_voidable(client, auth, started):
    url = f"{API}/inspections/{started['id']}/void"
    assert client.post(url, headers=auth("ann"), json={"reason": "wrong firm"}).status_code == 200
    error_of(client.post(url, headers=auth("ann"), json={"reason": "again"}), 409, "not_voidable")


def test_a_non_participant_cannot_void_404(client, store, auth, started):
    for username in ("cat", "firm1", "super"):
        error_of(client.post(f"{API}/inspections/{started['id']}/void", headers=auth(username),
                             json={"reason": "x"}), 404, "not_found")
    assert value(store, "SELECT status FROM inspections WHERE id = ?", [started["id"]]) == "open"


def test_a_voided_inspection_no_longer_counts_toward_the_cap(client, world, auth, start):
    first = start().get_json()
    assert start().status_code == 201
    assert client.post(f"{API}/inspections/{first['id']}/void", headers=auth("ann"),
                       json={"reason": "wrong firm"}).status_code == 200
    assert start().status_code == 201
    assert error_of(start(), 409, "cap_reached")["used"] == 2


def test_a_voided_inspection_cannot_be_closed_409_not_open(client, auth, started):
    assert client.post(f"{API}/inspections/{started['id']}/void", headers=auth("ann"),
                       json={"reason": "wrong firm"}).status_code == 200
    error_of(client.post(f"{API}/inspections/{started['id']}/close", headers=auth("ann"),
                         json={"result": "no_issue"}), 409, "not_open")


# ---- journal ---------------------------------------------------------------------------------------

def test_a_supervisor_verifies_the_journal(client, store, auth, started):
    client.post(f"{API}/inspections/{started['id']}/close", headers=auth("ann"), json={"result": "no_issue"})
    response = client.get(f"{API}/journal/verify", headers=auth("super"))
    assert response.status_code == 200
    body = response.get_json()
    assert {"ok", "entries", "head"} <= set(body)
    assert (body["ok"], body["entries"]) == (True, 2)
    assert body["head"] == value(store, "SELECT hash FROM journal ORDER BY id DESC LIMIT 1")


def test_journal_verification_notices_an_edited_entry(client, store, auth, started):
    store.execute("UPDATE journal SET payload = replace(payload, 'routine', 'special')")
    store.conn.commit()
    assert client.get(f"{API}/journal/verify", headers=auth("super")).get_json()["ok"] is False


@pytest.mark.parametrize("username", ["ann", "firm1", "admin"])
def test_only_supervisors_verify_the_journal(client, world, auth, username):
    error_of(client.get(f"{API}/journal/verify", headers=auth(username)), 404, "not_found")


# ---- the document and HTTP details -----------------------------------------------------------------

def test_the_openapi_document_is_public_and_documents_the_contract_paths(client, world):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    for path, method in [("/tokens", "post"), ("/scan/{qr_token}", "get"), ("/inspections", "post"),
                         ("/inspections/{inspection_id}", "get"), ("/inspections/{inspection_id}/close", "post"),
                         ("/inspections/{inspection_id}/void", "post"), ("/journal/verify", "get")]:
        assert method in spec["paths"][API + path], path
    create = spec["paths"][f"{API}/inspections"]["post"]
    assert {"201", "401", "403", "404", "409", "422"} <= set(create["responses"])
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}


def test_the_openapi_document_describes_the_request_body_the_api_validates(client, world):
    schemas = client.get(f"{API}/openapi.json").get_json()["components"]["schemas"]
    request = schemas["InspectionRequest"]
    assert request["additionalProperties"] is False  # kind may be left out when task_id is given (SPEC §9)
    assert set(request["properties"]) >= {"qr_token", "usci", "kind", "agencies", "inspectors", "items",
                                          "reference", "reason", "recheck_of", "started_at", "location", "task_id"}


def test_a_wrong_method_is_405_with_an_allow_header_and_the_error_shape(client, world, auth):
    response = client.delete(f"{API}/inspections/1", headers=auth("ann"))
    error_of(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    response = client.get(f"{API}/tokens")
    error_of(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_an_unknown_api_path_is_404_with_the_error_shape(client, world, auth):
    error_of(client.get(f"{API}/no-such-thing", headers=auth("ann")), 404, "not_found")


def test_a_late_entry_respects_a_rolling_window_that_reaches_over_later_inspections(client, store, world):
    """days:30 max 1: an inspection today fills every 30-day window around a late entry from 5 days ago."""
    from logbook import limits

    limits.add_rule(store, 1, window="days:30")
    headers = token_for(client, "ann")
    body = {"qr_token": world["enterprise"]["qr_token"], "kind": "routine", "inspectors": ["bob"], "items": ["SCJG-001"]}
    assert client.post("/api/v1/inspections", json=body, headers=headers).status_code == 201
    five_days_ago = (datetime.now(UTC) - timedelta(days=5)).isoformat()
    late = client.post("/api/v1/inspections", headers=headers,
                       json=body | {"started_at": five_days_ago, "reason": "网络故障补录"})
    assert late.status_code == 409
    assert late.get_json()["error"]["used"] == 1


def test_a_scan_whose_answer_the_writer_process_took_with_it_is_503_unavailable(client, store, world, auth, monkeypatch):
    """The writer process died after receiving the write: it may or may not be recorded, so no 201 and no 500, but a
    503 that says to look (or to retry with the same Idempotency-Key) before doing it again."""
    class Lost:
        def run(self, function, *args, **kwargs):
            raise writer.WriterLost("the writer process stopped before answering")

    monkeypatch.setattr(web, "writes", lambda: Lost())
    response = client.post(f"{API}/inspections", headers=auth("ann"), json=body_for(world["enterprise"]))
    error = error_of(response, 503, "unavailable")
    assert "Idempotency-Key" in error["message"]
