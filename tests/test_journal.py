"""The tamper-evident journal: the pure hash chain, and `flask journal verify` against edited databases."""

import sqlite3
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import add_user, start

from logbook import accounts, audit, inspections, journal, tasks
from logbook.db import immediate
from logbook.inspections import utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")

RECORDS = [
    {"id": 1, "inspection_id": 1, "action": "start", "at": "2026-03-01T02:00:00Z", "payload": {"kind": "routine"}},
    {"id": 2, "inspection_id": 1, "action": "close", "at": "2026-03-01T03:00:00Z", "payload": {"result": "no_issue"}},
    {"id": 3, "inspection_id": 2, "action": "start", "at": "2026-03-01T04:00:00Z", "payload": {"kind": "special"}},
    {"id": 4, "inspection_id": 2, "action": "void", "at": "2026-03-01T04:10:00Z", "payload": {"reason": "扫错企业"}},
]


def chain(records):
    """The (record, prev_hash, hash) entries the logbook would have written for these records."""
    entries, prev = [], journal.GENESIS
    for record in records:
        digest = journal.entry_hash(prev, record)
        entries.append((record, prev, digest))
        prev = digest
    return entries


# ---- the pure chain -------------------------------------------------------------------------------

def test_an_intact_chain_verifies_up_to_its_head():
    entries = chain(RECORDS)
    assert journal.verify(entries) == (True, 4, entries[-1][2], None)


def test_an_empty_chain_is_intact_at_genesis():
    assert journal.verify([]) == (True, 0, journal.GENESIS, None)


def edit_record(entries):
    record, prev, digest = entries[1]
    entries[1] = ({**record, "payload": {"result": "case_filed"}}, prev, digest)
    return entries


def edit_and_rehash(entries):
    record, prev, _ = entries[1]
    forged = {**record, "payload": {"result": "case_filed"}}
    entries[1] = (forged, prev, journal.entry_hash(prev, forged))
    return entries


def delete_middle(entries):
    del entries[1]
    return entries


def reorder(entries):
    entries[1], entries[2] = entries[2], entries[1]
    return entries


def replace_first(entries):
    forged = {**entries[0][0], "payload": {"kind": "visit"}}
    return chain([forged])[:1] + entries[1:]


@pytest.mark.parametrize("tamper, first_bad, checked", [
    (edit_record, 1, 1),
    (edit_and_rehash, 2, 2),   # re-hashing the edited entry breaks the link to the next one
    (delete_middle, 1, 1),
    (reorder, 1, 1),
    (replace_first, 1, 1),
])
def test_verify_finds_the_first_entry_after_tampering(tamper, first_bad, checked):
    entries = tamper(chain(RECORDS))
    ok, count, _, bad = journal.verify(entries)
    assert (ok, count, bad) == (False, checked, first_bad)


def test_a_hash_does_not_depend_on_key_order_but_on_every_value():
    record = RECORDS[3]
    shuffled = dict(reversed(list(record.items())))
    assert journal.entry_hash(journal.GENESIS, shuffled) == journal.entry_hash(journal.GENESIS, record)
    assert journal.entry_hash(journal.GENESIS, {**record, "at": "2026-03-01T04:10:01Z"}) != \
        journal.entry_hash(journal.GENESIS, record)
    assert journal.entry_hash("f" * 64, record) != journal.entry_hash(journal.GENESIS, record)


# ---- the journal in the database ------------------------------------------------------------------

@pytest.fixture
def journal_world(world, store):
    """Two inspections: one started and closed, one started and voided (four journal entries)."""
    ann = accounts.user_by_username(store, "ann")
    now = utcnow()
    request = {"qr_token": world["enterprise"]["qr_token"], "kind": "routine", "inspectors": ["bob"],
               "items": ["SCJG-001"]}
    first = inspections.record_inspection(store, ann, inspections.StartRequest(**request), now, SHANGHAI)
    inspections.close_inspection(store, first, ann, "no_issue", None, None, now, SHANGHAI)
    exempt = inspections.StartRequest(**dict(request, kind="complaint", reference="12345-001"))
    second = inspections.record_inspection(store, ann, exempt,
                                           now, SHANGHAI)
    inspections.void_inspection(store, second, ann, "扫错企业", now, SHANGHAI)
    return world


def verify(app):
    return app.test_cli_runner().invoke(args=["journal", "verify"])


def test_journal_verify_passes_on_an_empty_database(app):
    result = verify(app)
    assert result.exit_code == 0
    assert "Journal intact: 0 entries" in result.stdout


def test_journal_verify_passes_after_start_close_and_void(app, store, journal_world):
    result = verify(app)
    assert result.exit_code == 0, result.output
    head = store.execute("SELECT hash FROM journal ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert result.stdout == f"Journal intact: 4 entries, head {head}\n"
    actions = [r[0] for r in store.execute("SELECT action FROM journal ORDER BY id").fetchall()]
    assert actions == ["start", "close", "start", "void"]


@pytest.mark.parametrize("tampering", [
    "UPDATE journal SET payload = replace(payload, 'no_issue', 'case_filed') WHERE action = 'close'",
    "UPDATE journal SET payload = replace(payload, 'SCJG-001', 'SCJG-002') WHERE id = 1",
    "UPDATE journal SET at = '2026-01-01T00:00:00Z' WHERE id = 3",
    "DELETE FROM journal WHERE id = 2",
    # the chain before the deleted last entry is intact, but the voided inspection's hash is gone
    "DELETE FROM journal WHERE id = (SELECT max(id) FROM journal)",
    "UPDATE inspections SET journal_hash = NULL WHERE id = 1",
])
def test_journal_verify_fails_after_the_database_is_edited(app, store, journal_world, tampering):
    store.execute(tampering)
    store.conn.commit()
    result = verify(app)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Journal BROKEN" in result.stderr


def test_deleting_the_last_entry_is_detected_by_the_head(store, journal_world):
    store.execute("DELETE FROM journal WHERE id = 4")
    store.conn.commit()
    status = audit.verify_journal(store)
    assert (status["ok"], status["entries"]) == (False, 3)
    assert any("head" in p for p in status["problems"])
    assert any(p.startswith("inspection 2:") for p in status["problems"])


def test_deleting_the_last_entry_stays_detected_after_new_entries(store, journal_world):
    store.execute("DELETE FROM journal WHERE id = 4")
    store.conn.commit()
    first = store.execute("SELECT id FROM inspections ORDER BY id LIMIT 1").fetchone()[0]
    with immediate(store):
        audit.append_journal(store, first, "confirm", "2026-01-02T00:00:00Z", {"by": "firm1"})
        store.execute("UPDATE inspections SET confirmed_at = '2026-01-02T00:00:00Z' WHERE id = ?", [first])
    status = audit.verify_journal(store)
    assert status["ok"] is False
    assert any("missing" in p for p in status["problems"])


@pytest.mark.parametrize("edit, column", [
    ("UPDATE inspections SET result = 'case_filed' WHERE status = 'closed'", "result"),
    ("UPDATE inspections SET status = 'open' WHERE status = 'voided'", "status"),
    ("UPDATE inspections SET counted = 0", "counted"),
    ("UPDATE inspections SET started_at = '2020-01-01T00:00:00Z'", "started_at"),
])
def test_editing_an_inspection_behind_the_apps_back_is_detected(store, journal_world, edit, column):
    store.execute(edit)
    store.conn.commit()
    status = audit.verify_journal(store)
    assert status["ok"] is False
    assert any(column in p for p in status["problems"]), status["problems"]


def test_verify_names_the_first_edited_entry(store, journal_world):
    store.execute("UPDATE journal SET payload = replace(payload, 'no_issue', 'case_filed') WHERE id = 2")
    store.conn.commit()
    status = audit.verify_journal(store)
    assert (status["ok"], status["entries"]) == (False, 1)
    assert status["problems"][0].startswith("entry 2:")


def test_the_list_of_problems_stays_bounded_whatever_is_wrong(store, world, monkeypatch):
    monkeypatch.setattr(audit, "MAX_PROBLEMS", 3)
    for n in range(5):
        start(store, world["enterprise"], kind="complaint", reference=f"投诉-{n}")
    store.execute("UPDATE inspections SET reference = 'changed'")
    store.conn.commit()
    found = audit.verify_journal(store)
    assert found["ok"] is False
    assert len(found["problems"]) == 4 and found["problems"][-1] == "… and 2 more problems"


# ---- the supervisor's quick check ----------------------------------------------------------------------

def quick(store):
    return audit.verify_since_last_check(store, utcnow())


def test_the_first_quick_check_is_a_full_one_and_later_ones_read_only_the_entries_since(store, world):
    start(store, world["enterprise"])
    first = quick(store)
    assert (first["ok"], first["entries"], first["since"]) == (True, 1, 0)
    start(store, world["enterprise"], kind="complaint", reference="投诉-9")
    later = quick(store)
    assert (later["ok"], later["entries"], later["since"], later["inspections"]) == (True, 2, 1, 1)
    assert later["verified_in_full_at"] == first["verified_in_full_at"]
    assert later["head"] == audit.head(store)["hash"]


def test_the_quick_check_catches_a_changed_inspection_written_since_the_last_check(store, world):
    start(store, world["enterprise"])
    quick(store)
    second = start(store, world["enterprise"], kind="complaint", reference="投诉-9")
    store.execute("UPDATE inspections SET reference = '改过的' WHERE id = ?", [second])
    store.conn.commit()
    found = quick(store)
    assert found["ok"] is False and f"inspection {second}: reference differ from the journal" in found["problems"]


def test_a_rewritten_chain_at_the_last_checked_entry_is_caught(store, world):
    start(store, world["enterprise"])
    quick(store)
    store.execute("UPDATE journal SET hash = ? WHERE id = 1", ["f" * 64])
    store.conn.commit()
    assert quick(store)["ok"] is False


def test_an_old_entry_edited_after_a_check_is_found_by_the_nightly_full_check_and_then_reported_by_every_quick_one(
        app, store, world):
    first = start(store, world["enterprise"])
    quick(store)
    store.execute("UPDATE inspections SET reference = '改过的' WHERE id = ?", [first])
    store.conn.commit()
    assert quick(store)["ok"] is True  # the quick check does not re-read what it checked before: the full one does
    assert app.test_cli_runner().invoke(args=["journal", "verify"]).exit_code == 1
    after = quick(store)
    assert after["ok"] is False and "the last check found the journal broken" in after["problems"][-1]


def test_the_nightly_check_gives_its_verdict_even_when_it_cannot_record_it(app, store, world, monkeypatch):
    start(store, world["enterprise"])

    def locked(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")
    monkeypatch.setattr(audit, "record_check", locked)
    result = app.test_cli_runner().invoke(args=["journal", "verify"])
    assert result.exit_code == 0 and "Journal intact: 1 entries" in result.output
    assert "could not be recorded" in result.output


# ---- tasks in the journal ------------------------------------------------------------------------------

@pytest.fixture
def task(store, world):
    """An approved task of SCJG for the world's enterprise; returns its id."""
    add_user(store, "head-sc", "head", agency="SCJG")
    today = date.today()
    task_id = tasks.draft_task(store, accounts.user_by_username(store, "ann"), tasks.TaskRequest(
        kind="routine", window_start=today, window_end=today + timedelta(days=5), usci=world["enterprise"]["usci"],
        items=["SCJG-001"], inspectors=["bob"]), utcnow(), today)
    tasks.approve_task(store, task_id, accounts.user_by_username(store, "head-sc"), "同意", utcnow(), today, 0)
    return task_id


def test_every_step_of_a_task_is_in_the_journal(store, task):
    actions = [r[0] for r in store.execute("SELECT action FROM journal WHERE task_id = ? ORDER BY id", [task])]
    assert actions == ["task.draft", "task.approved"]
    assert audit.verify_journal(store)["ok"]


@pytest.mark.parametrize("edit", [
    "UPDATE tasks SET status = 'submitted'",
    "UPDATE tasks SET window_end = '2099-12-31'",
    "DELETE FROM task_items",
    "UPDATE task_inspectors SET user_id = (SELECT id FROM users WHERE username = 'dan') "
    "WHERE user_id = (SELECT id FROM users WHERE username = 'bob')",
    "UPDATE tasks SET notice = 1",
])
def test_a_task_edited_behind_the_apps_back_breaks_the_journal(store, task, edit):
    store.execute(edit)
    store.conn.commit()
    found = audit.verify_journal(store)
    assert not found["ok"] and any(p.startswith(f"task {task}:") for p in found["problems"])


def test_a_deleted_task_is_noticed(store, task):
    for table in ("task_steps", "task_items", "task_inspectors"):
        store.execute(f"DELETE FROM {table}")
    store.execute("DELETE FROM tasks")
    store.conn.commit()
    assert f"task {task}: in the journal but deleted" in audit.verify_journal(store)["problems"]


def test_the_quick_check_covers_the_tasks_touched_since_the_last_check(store, task):
    audit.verify_since_last_check(store, utcnow())
    tasks.cancel_task(store, task, accounts.user_by_username(store, "ann"), "企业停业", utcnow(), utcnow().date())
    store.execute("UPDATE tasks SET status = 'approved'")
    store.conn.commit()
    found = audit.verify_since_last_check(store, utcnow())
    assert not found["ok"] and f"task {task}: status differ from the journal" in found["problems"]
