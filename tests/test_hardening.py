"""Issue 7's domain findings, each as the behaviour that closes it: transactions owned by the domain, logins
outside the write lock, the cap bypasses, the journal's coverage and published head, time-of-check races,
imports that let scans through, and idempotent starts."""

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import KNOWN_CODE, PASSWORD, TZ, add_enterprise, add_user, close, start, token_for

from logbook import accounts, audit, db, enterprises, errors, feedback, inspections, journal, usci

ROOT = Path(__file__).resolve().parent.parent


def lock_is_free(path):
    """True when another connection can take the write lock at once (nobody holds it)."""
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.rollback()
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


# ---- 1 and 2: transactions belong to the domain -------------------------------------------------------

def test_the_web_layer_never_opens_a_transaction():
    for source in (ROOT / "web").glob("*.py"):
        text = source.read_text()
        assert "immediate" not in text and "BEGIN" not in text, source.name


@pytest.mark.parametrize("path, body", [
    ("/api/v1/tokens", {"username": "firm1", "password": PASSWORD}),
    ("/api/v1/tokens", {"username": "firm1", "password": "wrong-password"}),
    ("/api/v1/tokens", {"username": "nobody", "password": "wrong-password"}),
])
def test_a_login_checks_the_password_without_holding_the_write_lock(app, client, world, monkeypatch, path, body):
    seen = []
    real = accounts.check_password_hash

    def checking(stored, password):
        seen.append(lock_is_free(app.config["LOGBOOK_DATABASE"]))
        return real(stored, password)

    monkeypatch.setattr(accounts, "check_password_hash", checking)
    assert client.post(path, json=body).status_code in (201, 401)
    assert seen == [True]


def test_a_web_login_checks_the_password_without_holding_the_write_lock(app, client, world, monkeypatch):
    seen = []
    real = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash",
                        lambda stored, password: seen.append(lock_is_free(app.config["LOGBOOK_DATABASE"])) or
                        real(stored, password))
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/login", data={"username": "ann", "password": PASSWORD, "csrf_token": token}).status_code == 302
    assert seen == [True]


def test_a_new_users_password_is_hashed_before_the_write_lock(app, store, world, monkeypatch):
    seen = []
    real = accounts.generate_password_hash
    monkeypatch.setattr(accounts, "generate_password_hash",
                        lambda password, method: seen.append(lock_is_free(app.config["LOGBOOK_DATABASE"])) or
                        real(password, method=method))
    accounts.add_user(store, "newcomer", PASSWORD, "supervisor", hash_method="pbkdf2:sha256:1000")
    assert seen == [True]


def test_a_failed_commit_rolls_back_and_releases_the_lock(app, store, world, monkeypatch):
    def failing_commit():
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "commit", failing_commit)
    with pytest.raises(sqlite3.OperationalError):
        start(store, world["enterprise"])
    monkeypatch.undo()
    assert not store.conn.in_transaction
    assert lock_is_free(app.config["LOGBOOK_DATABASE"])
    assert db.value(store, "SELECT count(*) FROM inspections") == 0


def test_a_request_that_leaves_a_transaction_open_has_it_rolled_back(app, world):
    @app.route("/test-leaves-a-lock")
    def leaves_a_lock():
        from web import database

        database().execute("BEGIN IMMEDIATE")
        database().execute("INSERT INTO agencies (code, name) VALUES ('LEFT', 'left open')")
        return "done"

    assert app.test_client().get("/test-leaves-a-lock").status_code == 200
    assert lock_is_free(app.config["LOGBOOK_DATABASE"])
    other = sqlite3.connect(app.config["LOGBOOK_DATABASE"])
    assert other.execute("SELECT count(*) FROM agencies WHERE code = 'LEFT'").fetchone()[0] == 0
    other.close()


# ---- 3: the firm's unread count reads through an index ------------------------------------------------

def plans_of(store, call):
    """EXPLAIN QUERY PLAN of every SELECT a call runs."""
    statements = []
    store.conn.set_trace_callback(statements.append)
    try:
        call()
    finally:
        store.conn.set_trace_callback(None)
    plans = []
    for sql in statements:
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            plans.extend(" ".join(str(c) for c in r) for r in store.conn.execute("EXPLAIN QUERY PLAN " + sql))
    return plans


def test_the_unread_count_never_scans_the_inspections_table(store, world):
    from logbook import inbox

    start(store, world["enterprise"])
    plans = plans_of(store, lambda: inbox.unread_count(store, world["enterprise"]["id"], datetime.now(UTC).date()))
    assert plans and not [p for p in plans if "SCAN inspections" in p or "SCAN i " in p], plans


# ---- 5: cap bypasses ------------------------------------------------------------------------------------

def test_a_visit_the_firm_confirmed_cannot_be_voided(client, store, world):
    inspection_id = start(store, world["enterprise"])
    firm = token_for(client, "firm1")
    assert client.post(f"/api/v1/inspections/{inspection_id}/confirm", json={"code": KNOWN_CODE},
                       headers=firm).status_code == 200
    answer = client.post(f"/api/v1/inspections/{inspection_id}/void", json={"reason": "扫错了"},
                         headers=token_for(client, "ann"))
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "not_voidable"
    assert db.value(store, "SELECT status FROM inspections WHERE id = ?", [inspection_id]) == "open"


def test_scan_void_scan_cannot_exceed_the_cap_once_the_firm_has_confirmed(client, store, world):
    ann, firm = token_for(client, "ann"), token_for(client, "firm1")
    body = {"qr_token": world["enterprise"]["qr_token"], "kind": "routine", "inspectors": ["bob"],
            "items": ["SCJG-001"]}
    for _ in range(2):
        inspection_id = client.post("/api/v1/inspections", json=body, headers=ann).get_json()["id"]
        client.post(f"/api/v1/inspections/{inspection_id}/confirm", json={"code": KNOWN_CODE}, headers=firm)
        client.post(f"/api/v1/inspections/{inspection_id}/void", json={"reason": "再来一次"}, headers=ann)
    assert client.post("/api/v1/inspections", json=body, headers=ann).status_code == 409
    assert db.value(store, "SELECT count(*) FROM inspections WHERE status != 'voided'") == 2


def test_a_rectification_is_rechecked_only_once(client, store, world):
    first = start(store, world["enterprise"])
    close(store, first, result="rectify", findings="灭火器过期", rectify_by=datetime.now(UTC).date())
    ann = token_for(client, "ann")
    body = {"qr_token": world["enterprise"]["qr_token"], "kind": "recheck", "inspectors": ["bob"],
            "items": ["SCJG-001"], "reference": "复查-1", "recheck_of": first}
    assert client.post("/api/v1/inspections", json=body, headers=ann).status_code == 201
    again = client.post("/api/v1/inspections", json=body, headers=ann)
    assert again.status_code == 422 and "recheck_of" in again.get_json()["error"]["fields"]
    assert db.value(store, "SELECT count(*) FROM inspections WHERE recheck_of = ?", [first]) == 1


def test_a_voided_recheck_leaves_the_rectification_to_be_rechecked(client, store, world):
    first = start(store, world["enterprise"])
    close(store, first, result="rectify", findings="灭火器过期", rectify_by=datetime.now(UTC).date())
    recheck = start(store, world["enterprise"], kind="recheck", reference="复查-1", recheck_of=first)
    inspections.void_inspection(store, recheck, accounts.user_by_username(store, "ann"), "扫错", datetime.now(UTC), TZ)
    assert start(store, world["enterprise"], kind="recheck", reference="复查-2", recheck_of=first)


def test_a_joint_agency_must_bring_one_of_its_own_inspectors(client, store, world):
    body = {"qr_token": world["enterprise"]["qr_token"], "kind": "routine", "agencies": ["SCJG", "YJGL"],
            "inspectors": ["bob"], "items": ["SCJG-001"]}
    answer = client.post("/api/v1/inspections", json=body, headers=token_for(client, "ann"))
    assert answer.status_code == 422 and "YJGL" in answer.get_json()["error"]["fields"]["agencies"]
    assert db.value(store, "SELECT count(*) FROM inspections") == 0
    joint = client.post("/api/v1/inspections", json=body | {"inspectors": ["bob", "cat"]}, headers=token_for(client, "ann"))
    assert joint.status_code == 201 and joint.get_json()["agencies"] == ["SCJG", "YJGL"]


# ---- 6: the journal covers every fact, and a published head ----------------------------------------------

@pytest.fixture
def journaled(store, world):
    """A joint inspection with a late-entry reason, confirmed and closed; an exempt one voided."""
    first = start(store, world["enterprise"], agencies=["SCJG", "YJGL"], others=("bob", "cat"),
                  items=("SCJG-001", "YJGL-001"), reason="网络中断后补录")
    feedback.confirm_inspection(store, first, accounts.user_by_username(store, "firm1"), KNOWN_CODE, datetime.now(UTC), TZ)
    close(store, first, result="rectify", findings="台账缺失", rectify_by=datetime.now(UTC).date())
    second = start(store, world["enterprise"], kind="complaint", reference="投诉-1")
    inspections.void_inspection(store, second, accounts.user_by_username(store, "ann"), "扫错", datetime.now(UTC), TZ)
    assert audit.verify_journal(store)["ok"]
    return first


TAMPERING = [
    ("DELETE FROM inspection_agencies WHERE agency_id = (SELECT id FROM agencies WHERE code = 'YJGL')", "agencies"),
    ("INSERT INTO inspection_agencies SELECT i.id, a.id FROM inspections i, agencies a "
     "WHERE i.kind = 'complaint' AND a.code = 'YJGL'", "agencies"),
    ("DELETE FROM inspection_inspectors WHERE user_id = (SELECT id FROM users WHERE username = 'cat')", "inspectors"),
    ("UPDATE inspection_inspectors SET cert_no = 'FORGED' WHERE user_id = (SELECT id FROM users WHERE username = 'bob')",
     "inspectors"),
    ("DELETE FROM inspection_items WHERE item_id = (SELECT id FROM items WHERE code = 'YJGL-001')", "items"),
    ("UPDATE inspections SET reason = '另一个理由' WHERE reason IS NOT NULL", "reason"),
    ("UPDATE inspections SET recorded_at = '2020-01-01T00:00:00Z'", "recorded_at"),
    ("UPDATE inspections SET recorded_by = (SELECT id FROM users WHERE username = 'dan')", "recorded_by"),
    ("UPDATE inspections SET closed_at = '2020-01-01T00:00:00Z' WHERE closed_at IS NOT NULL", "closed_at"),
    ("UPDATE inspections SET confirm_code = '000000'", "confirm_code_sha256"),
    ("UPDATE inspections SET confirmed_at = NULL, confirmed_by = NULL", "confirmed_at"),
    ("UPDATE inspections SET voided_at = '2020-01-01T00:00:00Z' WHERE voided_at IS NOT NULL", "voided_at"),
    ("UPDATE inspections SET rectify_by = '2099-01-01' WHERE rectify_by IS NOT NULL", "rectify_by"),
]


@pytest.mark.parametrize("tampering, fact", TAMPERING, ids=[t[1] + str(i) for i, t in enumerate(TAMPERING)])
def test_editing_any_fact_or_link_of_an_inspection_is_caught(app, store, journaled, tampering, fact):
    store.execute(tampering)
    status = audit.verify_journal(store)
    assert not status["ok"]
    assert any(fact in p for p in status["problems"]), status["problems"]
    result = app.test_cli_runner().invoke(args=["journal", "verify"])
    assert result.exit_code == 1


def test_a_rewritten_chain_is_caught_by_the_published_head(app, store, journaled):
    published = audit.head(store)["hash"]
    assert audit.verify_journal(store, published)["ok"]
    # a forger rewrites the whole chain consistently from genesis: without a head kept elsewhere it verifies
    entries = db.rows(store, "SELECT * FROM journal ORDER BY id")
    prev = journal.GENESIS
    for entry in entries:
        payload = entry["payload"].replace("台账缺失", "无问题")
        record = {"id": entry["id"], "inspection_id": entry["inspection_id"], "action": entry["action"],
                  "at": entry["at"], "payload": json.loads(payload)}
        digest = journal.entry_hash(prev, record)
        store.execute("UPDATE journal SET payload = ?, prev_hash = ?, hash = ? WHERE id = ?",
                      [payload, prev, digest, entry["id"]])
        store.execute("UPDATE inspections SET journal_hash = ? WHERE journal_hash = ?", [digest, entry["hash"]])
        prev = digest
    store.execute("UPDATE journal_head SET hash = ?", [prev])
    store.execute("UPDATE inspections SET findings = '无问题' WHERE findings = '台账缺失'")
    assert audit.verify_journal(store)["ok"]  # self-consistent...
    status = audit.verify_journal(store, published)
    assert not status["ok"] and any("published head" in p for p in status["problems"])
    runner = app.test_cli_runner()
    assert runner.invoke(args=["journal", "verify", "--head", published]).exit_code == 1
    assert runner.invoke(args=["journal", "verify", "--head", prev]).exit_code == 0
    assert runner.invoke(args=["journal", "verify", "--head", "not-a-hash"]).exit_code == 1


def test_verify_reads_the_inspections_in_batches(store, journaled, monkeypatch):
    monkeypatch.setattr(audit, "BATCH", 1)
    for _ in range(3):
        start(store, add_enterprise(store))
    status = audit.verify_journal(store)
    assert status["ok"] and status["inspections"] == 5
    store.execute("UPDATE inspections SET kind = 'special' WHERE id = 4")
    assert audit.verify_journal(store)["problems"] == ["inspection 4: kind differ from the journal"]


def test_the_supervisor_dashboard_shows_the_journal_head_to_publish(client, store, journaled):
    from conftest import login

    login(client, "super")
    page = client.get("/supervisor/").get_data(as_text=True)
    assert audit.head(store)["hash"] in page


# ---- 11: time-of-check races ---------------------------------------------------------------------------

def test_a_confirmation_racing_a_void_never_confirms_the_voided_visit(app, store, world, monkeypatch):
    inspection_id = start(store, world["enterprise"])
    real = inspections.inspection

    def read_then_voided_elsewhere(database, wanted):
        found = real(database, wanted)
        other = sqlite3.connect(app.config["LOGBOOK_DATABASE"])  # the inspector voids between the read and the lock
        other.execute("UPDATE inspections SET status = 'voided' WHERE id = ?", [wanted])
        other.commit()
        other.close()
        return found

    monkeypatch.setattr(inspections, "inspection", read_then_voided_elsewhere)
    with pytest.raises(errors.NotConfirmable):
        feedback.confirm_inspection(store, inspection_id, accounts.user_by_username(store, "firm1"), KNOWN_CODE,
                                    datetime.now(UTC), TZ)
    assert db.value(store, "SELECT confirmed_at FROM inspections WHERE id = ?", [inspection_id]) is None


def test_a_void_racing_a_confirmation_leaves_the_confirmed_visit(app, store, world, monkeypatch):
    inspection_id = start(store, world["enterprise"])
    real = inspections.inspection

    def read_then_confirmed_elsewhere(database, wanted):
        found = real(database, wanted)
        other = sqlite3.connect(app.config["LOGBOOK_DATABASE"])
        other.execute("UPDATE inspections SET confirmed_at = '2026-01-01T00:00:00Z' WHERE id = ?", [wanted])
        other.commit()
        other.close()
        return found

    monkeypatch.setattr(inspections, "inspection", read_then_confirmed_elsewhere)
    with pytest.raises(errors.NotVoidable):
        inspections.void_inspection(store, inspection_id, accounts.user_by_username(store, "ann"), "扫错",
                                    datetime.now(UTC), TZ)


# ---- 12: imports let scans through ---------------------------------------------------------------------

def test_an_import_commits_in_batches_so_scans_go_on_between_them(app, store):
    rows = [enterprises.parse_row({"usci": (f := f"91430200MA{n:07d}") + usci.check_character(f), "name": f"企业{n}"})
            for n in range(1, 26)]
    free_between = []
    enterprises.import_enterprises(store, rows, progress=lambda n: free_between.append(
        lock_is_free(app.config["LOGBOOK_DATABASE"])), batch=10)
    assert free_between == [True, True, True]
    assert db.value(store, "SELECT count(*) FROM enterprises") == 25


def test_an_import_never_counts_the_whole_table(store):
    rows = [enterprises.parse_row({"usci": (f := f"91430200MA{n:07d}") + usci.check_character(f), "name": f"企业{n}"})
            for n in range(1, 6)]
    statements = []
    store.conn.set_trace_callback(statements.append)
    added, updated = enterprises.import_enterprises(store, rows, batch=2)
    store.conn.set_trace_callback(None)
    assert (added, updated) == (5, 0)
    assert not [s for s in statements if "count(*) FROM enterprises" in s and "WHERE" not in s]
    assert enterprises.import_enterprises(store, rows[:3] + [enterprises.parse_row(
        {"usci": (f := "91430200MA0000099") + usci.check_character(f), "name": "新企业"})]) == (1, 3)


# ---- idempotent starts -----------------------------------------------------------------------------------

def test_a_retried_start_with_the_same_idempotency_key_records_one_inspection(client, store, world):
    ann = token_for(client, "ann") | {"Idempotency-Key": "phone-42-attempt-1"}
    body = {"qr_token": world["enterprise"]["qr_token"], "kind": "routine", "inspectors": ["bob"],
            "items": ["SCJG-001"]}
    first = client.post("/api/v1/inspections", json=body, headers=ann)
    retry = client.post("/api/v1/inspections", json=body, headers=ann)
    assert first.status_code == retry.status_code == 201
    assert first.get_json()["id"] == retry.get_json()["id"]
    assert db.value(store, "SELECT count(*) FROM inspections") == 1
    other = client.post("/api/v1/inspections", json=body | {"kind": "special"}, headers=ann)
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_conflict"
    fresh = client.post("/api/v1/inspections", json=body, headers=token_for(client, "ann"))
    assert fresh.status_code == 201 and fresh.get_json()["id"] != first.get_json()["id"]


def test_an_idempotency_key_belongs_to_its_user(client, store, world):
    add_user(store, "eve", "inspector", agency="SCJG")
    body = {"qr_token": world["enterprise"]["qr_token"], "kind": "routine", "inspectors": ["bob"],
            "items": ["SCJG-001"]}
    key = {"Idempotency-Key": "same-key"}
    ann = client.post("/api/v1/inspections", json=body, headers=token_for(client, "ann") | key)
    eve = client.post("/api/v1/inspections", json=body, headers=token_for(client, "eve") | key)
    assert ann.status_code == eve.status_code == 201 and ann.get_json()["id"] != eve.get_json()["id"]


def test_a_too_long_idempotency_key_is_refused(client, world):
    body = {"qr_token": world["enterprise"]["qr_token"], "kind": "routine", "inspectors": ["bob"],
            "items": ["SCJG-001"]}
    answer = client.post("/api/v1/inspections", json=body,
                         headers=token_for(client, "ann") | {"Idempotency-Key": "k" * 101})
    assert answer.status_code == 422
