"""The fixes of the security review (issue 7), one behaviour per test: safe redirects, hostile bodies, logout,
login and activation throttling, formula-safe CSV exports, limit-rule windows, and tables that prune themselves."""

import csv
import hashlib
import io
import json
import statistics
import time
from datetime import UTC, datetime, timedelta

import pytest
from conftest import PASSWORD, add_enterprise, close, csrf_from, login, make_usci, start, token_for, void
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app import create_app
from logbook import accounts, db, exports, feedback, rules
from logbook.db import now_text, row, value

ATTACKER = {"REMOTE_ADDR": "203.0.113.5"}
OWNER = {"REMOTE_ADDR": "198.51.100.7"}
MB = 1024 * 1024


def ago(**delta):
    """A stored timestamp that long ago."""
    return now_text(datetime.now(UTC) - timedelta(**delta))


def second_app(tmp_path, **overrides):
    """An app built like conftest's, with its own database and some settings changed."""
    config = {"TESTING": True, "LOGBOOK_DATABASE": str(tmp_path / "second.db"), "LOGBOOK_SECRET_KEY": "test-secret",
              "LOGBOOK_PASSWORD_HASH": "pbkdf2:sha256:1000", "LOGBOOK_BASE_URL": "https://logbook.example"}
    built = create_app(config | overrides)
    with built.app_context():
        db.migrate(db.for_thread(built.config["LOGBOOK_DATABASE"]))
    return built


def answering_500(app):
    """Let an unexpected exception become the 500 a browser would see, instead of propagating into the test."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def assert_error_shape(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str)
    return error


def api_login(client, username, password=PASSWORD, environ=ATTACKER):
    return client.post("/api/v1/tokens", json={"username": username, "password": password}, environ_base=environ)


def web_login(client, username, password, environ):
    token = csrf_from(client.get("/login", environ_base=environ).get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base=environ)


# ---- F3b: the language switch's `next` -------------------------------------------------------------------

def test_a_next_with_a_line_break_sends_the_language_switch_home_instead_of_failing(app, client):
    answering_500(app)
    for hostile in ("/%0D%0AX", "/%0ASet-Cookie:%20x=1", "/%0D"):
        response = client.get(f"/language/en?next={hostile}")

        assert response.status_code == 302, hostile
        assert response.headers["Location"] == "/"
        assert "lang=en" in response.headers["Set-Cookie"]


def test_the_language_switch_follows_only_a_next_that_stays_on_this_site(client):
    expected = {"/firm/": "/firm/", "//evil.example": "/", "/\\evil.example": "/", "https://evil.example": "/"}
    for target, location in expected.items():
        response = client.get("/language/en", query_string={"next": target})

        assert response.status_code == 302
        assert response.headers["Location"] == location, target
        assert client.get_cookie("lang").value == "en"


# ---- F4: hostile JSON bodies ---------------------------------------------------------------------------

def test_json_nested_deeper_than_python_can_parse_is_a_400_when_asking_for_a_token(app, client):
    answering_500(app)
    response = client.post("/api/v1/tokens", data="[" * 2000, content_type="application/json")

    assert_error_shape(response, 400)


def test_a_number_too_long_for_python_is_refused_when_asking_for_a_token(app, client):
    answering_500(app)
    body = '{"username": 1' + "0" * 5000 + ', "password": "x"}'

    response = client.post("/api/v1/tokens", data=body, content_type="application/json")

    assert response.status_code in (400, 422)
    assert_error_shape(response, response.status_code)


def test_json_nested_deeper_than_python_can_parse_is_a_400_when_starting_an_inspection(app, client, world):
    answering_500(app)
    response = client.post("/api/v1/inspections", data="[" * 2000, content_type="application/json",
                           headers=token_for(client, "ann"))

    assert_error_shape(response, 400)


def test_a_number_too_long_for_python_is_refused_when_starting_an_inspection(app, client, store, world):
    answering_500(app)
    body = '{"qr_token": 1' + "0" * 5000 + ', "kind": "routine", "inspectors": ["bob"], "items": ["SCJG-001"]}'

    response = client.post("/api/v1/inspections", data=body, content_type="application/json",
                           headers=token_for(client, "ann"))

    assert response.status_code in (400, 422)
    assert_error_shape(response, response.status_code)
    assert value(store, "SELECT count(*) FROM inspections") == 0


def test_a_json_body_over_one_megabyte_is_refused_with_413_and_changes_nothing(client, store, world):
    body = json.dumps("x" * (2 * MB))

    response = client.post("/api/v1/tokens", data=body, content_type="application/json")

    error = assert_error_shape(response, 413)
    assert error["code"] == "too_large"
    assert value(store, "SELECT count(*) FROM login_failures") == 0


def test_a_form_over_one_megabyte_is_refused_with_413(client, world):
    response = client.post("/login", data={"username": "super", "password": "x" * (2 * MB), "csrf_token": "t"})

    assert response.status_code == 413


def test_the_csv_import_takes_a_two_megabyte_file_that_the_login_form_would_refuse(client, store, world):
    text = f"usci,name\n{make_usci()},大文件公司\n" + "\n" * (2 * MB)  # blank lines are skipped by the import
    assert client.post("/login", data={"username": "admin", "password": text}).status_code == 413
    login(client, "admin")
    csrf = csrf_from(client.get("/admin/enterprises/import").get_data(as_text=True))
    # encoded in memory: given a large file, the test client spools it to a temporary file it never closes
    boundary, body = encode_multipart({"csrf_token": csrf, "file": FileStorage(io.BytesIO(text.encode("utf-8-sig")),
                                                                               "firms.csv", content_type="text/csv")})

    response = client.post("/admin/enterprises/import", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")

    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert value(store, "SELECT count(*) FROM enterprises WHERE name = '大文件公司'") == 1


# ---- F7: logging out, revoking tokens, cookies over HTTPS --------------------------------------------------

def test_after_logout_the_old_session_cookie_no_longer_opens_any_page(app, client, world):
    login(client, "super")
    old_cookie = client.get_cookie("session").value
    page = client.get("/supervisor/complaints")
    assert page.status_code == 200
    client.post("/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})

    replayed = app.test_client()
    replayed.set_cookie("session", old_cookie)
    response = replayed.get("/supervisor/complaints")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_revoked_bearer_token_answers_401_while_another_token_of_the_user_still_works(client, world):
    revoked, other = token_for(client, "ann"), token_for(client, "ann")
    scan = f"/api/v1/scan/{world['enterprise']['qr_token']}"
    assert client.get(scan, headers=revoked).status_code == 200

    assert client.delete("/api/v1/tokens/current", headers=revoked).status_code == 204

    assert_error_shape(client.get(scan, headers=revoked), 401)
    assert client.get(scan, headers=other).status_code == 200


def test_the_session_cookie_is_secure_and_hsts_is_sent_only_when_the_base_url_is_https(client, world, tmp_path):
    plain = second_app(tmp_path, LOGBOOK_BASE_URL="http://127.0.0.1:5000")
    accounts.add_user(db.for_thread(plain.config["LOGBOOK_DATABASE"]), "super", PASSWORD, "supervisor",
                      hash_method="pbkdf2:sha256:1000")

    over_https = login(client, "super")  # conftest's app: LOGBOOK_BASE_URL https://logbook.example
    over_http = login(plain.test_client(), "super")

    assert "Secure" in over_https.headers["Set-Cookie"]
    assert over_https.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "session=" in over_http.headers["Set-Cookie"] and "Secure" not in over_http.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in over_http.headers


# ---- F8: login throttling per username and address, timing, activation codes ---------------------------------

def test_ten_failures_from_one_address_lock_out_that_address_but_not_the_user_elsewhere(client, world):
    statuses = [api_login(client, "firm1", "wrong-password").status_code for _ in range(10)]

    refused = api_login(client, "firm1", "wrong-password")
    owner = api_login(client, "firm1", PASSWORD, environ=OWNER)

    assert statuses == [401] * 10
    assert assert_error_shape(refused, 429)["code"] == "too_many_requests"
    assert owner.status_code == 201


def test_the_login_page_answers_429_to_a_locked_out_address_and_lets_the_user_in_from_elsewhere(app, client, world):
    for _ in range(10):
        assert web_login(client, "firm1", "wrong-password", ATTACKER).status_code == 401

    refused = web_login(client, "firm1", PASSWORD, ATTACKER)
    owner = web_login(app.test_client(), "firm1", PASSWORD, OWNER)

    assert refused.status_code == 429
    assert owner.status_code == 302


def test_after_a_hundred_failures_a_username_refuses_new_addresses_but_not_trusted_ones(client, store, world):
    assert api_login(client, "firm1", PASSWORD, environ=OWNER).status_code == 201
    for n in range(100):
        store.execute("INSERT INTO login_failures (username, address, failed_at) VALUES (?, ?, ?)",
                      ["firm1", f"10.0.{n // 250}.{n % 250}", now_text()])

    stranger = api_login(client, "firm1", PASSWORD, environ={"REMOTE_ADDR": "192.0.2.44"})
    owner = api_login(client, "firm1", PASSWORD, environ=OWNER)

    assert assert_error_shape(stranger, 429)["code"] == "too_many_requests"
    assert owner.status_code == 201


def test_a_wrong_password_for_an_unknown_username_takes_as_long_as_for_a_known_one(app, client, store):
    slow = "pbkdf2:sha256:300000"
    app.config["LOGBOOK_PASSWORD_HASH"] = slow
    accounts.add_user(store, "slowpoke", PASSWORD, "supervisor", hash_method=slow)
    api_login(client, "nobody-at-all", "wrong-password")  # warm up: the decoy hash is made once per method

    def timed(username):
        began = time.perf_counter()
        assert api_login(client, username, "wrong-password").status_code == 401
        return time.perf_counter() - began

    known, unknown = [], []
    for _ in range(5):
        known.append(timed("slowpoke"))
        unknown.append(timed("nobody-at-all"))

    assert statistics.median(unknown) >= 0.5 * statistics.median(known), (known, unknown)


def test_an_activation_code_is_sixteen_symbols_of_five_bits_in_four_groups(store, world):
    codes = [feedback.issue_activation_code(store, world["enterprise"]["id"], datetime.now(UTC))[0] for _ in range(20)]

    assert all(len(code) == 19 and [len(g) for g in code.split("-")] == [4, 4, 4, 4] for code in codes)
    symbols = set("".join(codes).replace("-", ""))
    assert len(symbols) > 16  # more than hexadecimal: 32 symbols, 5 bits each, 80 bits a code
    assert not symbols & set("01OI")  # none that read alike


def test_an_activation_code_is_stored_salted_not_as_its_plain_sha256(store, world):
    code, _ = feedback.issue_activation_code(store, world["enterprise"]["id"], datetime.now(UTC))

    stored = value(store, "SELECT code_hash FROM activation_codes")

    assert ":" in stored
    plain = {hashlib.sha256(text.encode()).hexdigest() for text in (code, code.replace("-", ""))}
    assert stored not in plain


def test_ten_wrong_activation_codes_from_one_address_refuse_even_the_right_code_there_but_not_elsewhere(
        app, client, store, world):
    usci = world["enterprise"]["usci"]
    code, _ = feedback.issue_activation_code(store, world["enterprise"]["id"], datetime.now(UTC))

    def activate(visitor, attempt, username, environ):
        token = csrf_from(visitor.get("/activate", environ_base=environ).get_data(as_text=True))
        return visitor.post("/activate", environ_base=environ, data={
            "usci": usci, "code": attempt, "name": "张会计", "username": username, "password": PASSWORD,
            "csrf_token": token})

    wrong = [activate(client, f"AAAA-BBBB-CCCC-{n:04d}", "guesser", ATTACKER).status_code for n in range(10)]
    refused = activate(client, code, "guesser", ATTACKER)
    accepted = activate(app.test_client(), code, "newfirm", OWNER)

    assert wrong == [422] * 10
    assert refused.status_code == 429
    assert accounts.user_by_username(store, "guesser") is None
    assert accepted.status_code == 302
    assert accounts.user_by_username(store, "newfirm")["enterprise_id"] == world["enterprise"]["id"]


# ---- F9: CSV exports a spreadsheet cannot run ------------------------------------------------------------------

@pytest.mark.parametrize("cell, shown", [
    ("=1+2", "'=1+2"),
    ("+86 731", "'+86 731"),
    ("-cmd", "'-cmd"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
])
def test_a_cell_a_spreadsheet_could_read_as_a_formula_gets_a_leading_apostrophe(cell, shown):
    assert exports.inert(cell) == shown


@pytest.mark.parametrize("cell", ["株洲测试机械有限公司", "no issue", "a=b", "", 7, -3, 0, None])
def test_ordinary_text_and_numbers_leave_a_cell_unchanged(cell):
    assert exports.inert(cell) == cell


def csv_rows(response):
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def hostile_inspections(store, enterprise):
    """An exempt inspection with a formula as reference and findings, and a routine one voided with one."""
    exempt = start(store, enterprise, kind="complaint", reference="=1+2")
    close(store, exempt, result="case_filed", findings="@SUM(A1)")
    voided = start(store, enterprise)
    void(store, voided, reason="-cmd")
    return exempt, voided


def test_the_supervisors_csv_turns_formulas_into_text_and_leaves_the_rest_alone(client, store, world):
    hostile = add_enterprise(store, name='=HYPERLINK("http://evil","x")')
    exempt, voided = hostile_inspections(store, hostile)
    login(client, "super")

    records = {int(r["id"]): r for r in csv_rows(client.get("/supervisor/inspections.csv"))}

    assert records[exempt]["enterprise_name"] == '\'=HYPERLINK("http://evil","x")'
    assert records[exempt]["reference"] == "'=1+2"
    assert records[exempt]["findings"] == "'@SUM(A1)"
    assert records[voided]["void_reason"] == "'-cmd"
    assert (records[exempt]["kind"], records[exempt]["counted"], records[exempt]["result"]) == ("complaint", "0",
                                                                                                 "case_filed")
    assert records[exempt]["enterprise_usci"] == hostile["usci"]
    assert records[exempt]["inspectors"] == "ann bob"


def test_the_firms_csv_turns_formulas_into_text_and_leaves_the_rest_alone(client, store, world):
    exempt, voided = hostile_inspections(store, world["enterprise"])
    login(client, "firm1")

    records = {int(r["id"]): r for r in csv_rows(client.get("/firm/records.csv"))}

    assert records[exempt]["reference"] == "'=1+2"
    assert records[exempt]["findings"] == "'@SUM(A1)"
    assert records[voided]["void_reason"] == "'-cmd"
    assert records[exempt]["enterprise_name"] == "株洲测试机械有限公司"
    assert (records[voided]["kind"], records[voided]["counted"], records[voided]["status"]) == ("routine", "1",
                                                                                                "voided")


# ---- F10: limit-rule windows ---------------------------------------------------------------------------------

def test_the_cli_refuses_a_rule_window_of_a_hundred_thousand_years_and_adds_nothing(app, store, world):
    before = value(store, "SELECT count(*) FROM limit_rules")

    result = app.test_cli_runner().invoke(args=["rules", "add", "--max", "2", "--window", "days:99999999"])

    assert result.exit_code != 0
    assert "window" in result.output
    assert value(store, "SELECT count(*) FROM limit_rules") == before


def test_a_rolling_window_is_one_to_3660_days():
    assert rules.parse_window("days:1") == ("days", 1)
    assert rules.parse_window("days:3660") == ("days", 3660)
    for refused in ("days:0", "days:3661"):
        with pytest.raises(ValueError):
            rules.parse_window(refused)


@pytest.mark.parametrize("window", ["days:99999999", "days:１０", "days:٣"])
def test_a_window_of_odd_digits_or_beyond_any_clock_is_refused(window):
    with pytest.raises(ValueError):
        rules.parse_window(window)


def test_a_stored_rule_with_an_impossible_window_does_not_break_the_next_scan(app, client, store, world):
    answering_500(app)
    store.execute("INSERT INTO limit_rules (max, target, window, created_at, active) VALUES (?, ?, ?, ?, ?)",
                  [2, "all", "days:99999999", now_text(), 1])

    response = client.post("/api/v1/inspections", headers=token_for(client, "ann"), json={
        "qr_token": world["enterprise"]["qr_token"], "kind": "routine", "inspectors": ["bob"], "items": ["SCJG-001"]})

    assert response.status_code < 500, response.get_data(as_text=True)[:300]


# ---- F14: tables prune themselves ----------------------------------------------------------------------------

def test_a_new_login_failure_deletes_failures_older_than_the_window(client, store, world):
    store.execute("INSERT INTO login_failures (username, address, failed_at) VALUES (?, ?, ?)",
                  ["firm1", "203.0.113.9", ago(minutes=20)])

    assert api_login(client, "firm1", "wrong-password").status_code == 401

    assert [r["address"] for r in store.query("SELECT address FROM login_failures")] == ["203.0.113.5"]


def test_issuing_a_token_deletes_expired_tokens(client, store, world):
    ann = accounts.user_by_username(store, "ann")["id"]
    store.execute("INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)",
                  [ann, "expired-token-hash", ago(hours=13), ago(hours=1)])

    token_for(client, "ann")

    assert value(store, "SELECT count(*) FROM api_tokens WHERE token_hash = 'expired-token-hash'") == 0
    assert value(store, "SELECT count(*) FROM api_tokens") == 1


def test_a_wrong_confirmation_code_deletes_confirm_failures_older_than_fifteen_minutes(client, store, world):
    inspection_id = start(store, world["enterprise"])
    firm = accounts.user_by_username(store, "firm1")["id"]
    store.execute("INSERT INTO confirm_failures (user_id, inspection_id, failed_at) VALUES (?, ?, ?)",
                  [firm, inspection_id, ago(minutes=16)])

    response = client.post(f"/api/v1/inspections/{inspection_id}/confirm", json={"code": "000000"},
                           headers=token_for(client, "firm1"))

    assert assert_error_shape(response, 422)["code"] == "bad_code"
    failures = [r["failed_at"] for r in store.query("SELECT failed_at FROM confirm_failures")]
    assert len(failures) == 1 and failures[0] > ago(minutes=1)


def test_logging_in_deletes_expired_sessions(client, store, world):
    super_id = accounts.user_by_username(store, "super")["id"]
    store.execute("INSERT INTO sessions (session_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                  ["expired-session-hash", super_id, ago(hours=13), ago(hours=1)])

    login(client, "super")

    assert value(store, "SELECT count(*) FROM sessions WHERE session_hash = 'expired-session-hash'") == 0
    assert row(store, "SELECT count(*) AS live FROM sessions")["live"] == 1
