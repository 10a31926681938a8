"""The task domain at the door: what a start from a task may and may not do (each found by trying to break it)."""

from datetime import UTC, datetime, timedelta

import pytest
from conftest import TZ, add_enterprise, add_user, close, start

from logbook import accounts, errors, inspections, tasks, writer
from logbook.db import row, rows, value

NOW = datetime.now(UTC)
TODAY = NOW.astimezone(TZ).date()


@pytest.fixture
def heads(store, world):
    add_user(store, "head-sc", "head", agency="SCJG")
    add_user(store, "head-yj", "head", agency="YJGL")


def user(store, name):
    return accounts.user_by_username(store, name)


def approved_task(store, world, by="ann", other="bob", item="SCJG-001", head="head-sc", kind="routine", first=0,
                  last=7, enterprise=None):
    """An approved task without notice; returns its id."""
    task_id = tasks.draft_task(store, user(store, by), tasks.TaskRequest(
        kind=kind, window_start=TODAY + timedelta(days=first), window_end=TODAY + timedelta(days=last),
        usci=(enterprise or world["enterprise"])["usci"], items=[item], inspectors=[other], reason="计划"), NOW, TODAY)
    tasks.approve_task(store, task_id, user(store, head), None, NOW, TODAY, 0)
    return task_id


def start_from(store, world, task_id, by="ann", **fields):
    return inspections.record_inspection(store, user(store, by), inspections.StartRequest(
        **{"kind": "", "task_id": task_id, "qr_token": world["enterprise"]["qr_token"]} | fields), NOW, TZ,
        task_required=("routine",))


def test_a_task_cannot_start_an_inspection_of_another_kind(store, world, heads):
    task_id = approved_task(store, world)
    with pytest.raises(errors.Invalid) as refused:
        start_from(store, world, task_id, kind="complaint", reference="投诉-1")
    assert "kind" in refused.value.fields
    assert value(store, "SELECT status FROM tasks") == "approved"
    assert value(store, "SELECT count(*) FROM inspections") == 0


def test_a_start_without_task_id_uses_a_task_of_its_own_kind(store, world, heads):
    approved_task(store, world, kind="special")
    with pytest.raises(errors.TaskRequired):
        inspections.record_inspection(store, user(store, "ann"), inspections.StartRequest(
            kind="routine", qr_token=world["enterprise"]["qr_token"], inspectors=["bob"], items=["SCJG-001"]),
            NOW, TZ, task_required=("routine", "special"))
    assert value(store, "SELECT status FROM tasks") == "approved"


def joined(store, world, other_first=0):
    first = approved_task(store, world)
    second = approved_task(store, world, by="cat", other="dan", item="YJGL-001", head="head-yj", first=other_first)
    tasks.join_tasks(store, first, second, user(store, "head-sc"), NOW, TODAY)
    return first, second


def test_a_joint_visit_starts_once_for_both_agencies_and_marks_both_tasks_done(store, world, heads):
    first, second = joined(store, world)
    inspection_id = start_from(store, world, first)
    found = inspections.inspection(store, inspection_id)
    assert found["agencies"] == ["SCJG", "YJGL"] and found["counted"]
    assert {p["username"] for p in found["inspectors"]} == {"ann", "bob", "cat", "dan"}
    assert {r["id"]: r["inspection_id"] for r in rows(store, "SELECT id, inspection_id FROM tasks WHERE status = 'done'")
            } == {first: inspection_id, second: inspection_id}


def test_a_joint_visit_waits_for_a_day_inside_every_joined_window(store, world, heads):
    first, _ = joined(store, world, other_first=3)
    with pytest.raises(errors.TaskRequired):
        start_from(store, world, first)
    assert value(store, "SELECT count(*) FROM tasks WHERE status = 'done'") == 0


def test_cancelling_one_joined_task_lets_the_other_go_on_alone(store, world, heads):
    first, second = joined(store, world)
    tasks.cancel_task(store, second, user(store, "head-yj"), "人手不足", NOW, TODAY)
    assert row(store, "SELECT joint_id FROM tasks WHERE id = ?", [first]) == {"joint_id": None}
    start_from(store, world, first)
    assert value(store, "SELECT status FROM tasks WHERE id = ?", [first]) == "done"


def test_a_task_whose_window_has_passed_is_neither_approved_nor_cancelled(store, world, heads):
    earlier = TODAY - timedelta(days=10)
    task_id = tasks.draft_task(store, user(store, "ann"), tasks.TaskRequest(
        kind="routine", window_start=earlier, window_end=earlier + timedelta(days=2), usci=world["enterprise"]["usci"],
        items=["SCJG-001"], inspectors=["bob"]), NOW, earlier)
    with pytest.raises(errors.Invalid):
        tasks.approve_task(store, task_id, user(store, "head-sc"), None, NOW, TODAY, 0)
    tasks.approve_task(store, task_id, user(store, "head-sc"), None, NOW, earlier, 0)  # as it was then
    with pytest.raises(errors.TaskClosed):
        tasks.cancel_task(store, task_id, user(store, "ann"), "过期", NOW, TODAY)


def test_a_second_approval_is_a_conflict_even_when_the_notice_would_now_be_too_late(store, world, heads):
    task_id = tasks.draft_task(store, user(store, "ann"), tasks.TaskRequest(
        kind="routine", window_start=TODAY + timedelta(days=3), window_end=TODAY + timedelta(days=9),
        usci=world["enterprise"]["usci"], items=["SCJG-001"], inspectors=["bob"], notice=True), NOW, TODAY)
    tasks.approve_task(store, task_id, user(store, "head-sc"), None, NOW, TODAY, 3)
    with pytest.raises(errors.NotSubmitted):
        tasks.approve_task(store, task_id, user(store, "head-sc"), None, NOW, TODAY + timedelta(days=2), 3)


def test_a_task_is_started_once_even_by_two_of_its_inspectors(store, world, heads):
    task_id = approved_task(store, world)
    start_from(store, world, task_id)
    with pytest.raises(errors.TaskRequired):
        start_from(store, world, task_id, by="bob")
    assert value(store, "SELECT count(*) FROM inspections") == 1


def test_two_starts_of_one_task_prepared_together_record_one_and_leave_nothing_of_the_other(app, store, world, heads):
    """Both starts find the task approved before the lock (inspections.prepare_start); under it, the second finds the
    task done by the first (tasks.mark_done): TaskRequired, and its inspection, links and journal entry undone."""
    task_id = approved_task(store, world)
    prepared = [inspections.prepare_start(store, user(store, by), inspections.StartRequest(
        kind="", task_id=task_id, qr_token=world["enterprise"]["qr_token"]), NOW, TZ, task_required=("routine",))
        for by in ("ann", "bob")]
    queue = writer.Writer(app.config["LOGBOOK_DATABASE"])
    try:
        first = queue.run(inspections.write_start, prepared[0])
        with pytest.raises(errors.TaskRequired):
            queue.run(inspections.write_start, prepared[1])
    finally:
        queue.close()
    assert [r["id"] for r in rows(store, "SELECT id FROM inspections")] == [first.id]
    assert value(store, "SELECT count(*) FROM journal WHERE inspection_id != 0") == 1
    assert value(store, "SELECT count(*) FROM inspection_inspectors") == 2
    assert row(store, "SELECT status, inspection_id FROM tasks WHERE id = ?", [task_id]) == {
        "status": "done", "inspection_id": first.id}


def test_an_inspector_not_named_in_the_task_cannot_start_it(store, world, heads):
    task_id = approved_task(store, world)
    add_user(store, "eve", "inspector", agency="SCJG")
    with pytest.raises(errors.NotFound):
        start_from(store, world, task_id, by="eve")


def test_a_task_for_another_enterprise_is_not_startable_here(store, world, heads):
    other = add_enterprise(store, name="别家公司")
    task_id = approved_task(store, world, enterprise=other)
    with pytest.raises(errors.TaskRequired):
        start_from(store, world, task_id)


def test_three_clean_inspections_in_a_row_need_a_reason_for_the_fourth(store, world):
    store.execute("UPDATE limit_rules SET max = 10")
    for _ in range(3):
        close(store, start(store, world["enterprise"]))
    with pytest.raises(errors.Invalid) as refused:
        start(store, world["enterprise"])
    assert "reason" in refused.value.fields
    assert start(store, world["enterprise"], reason="群众反映食品安全问题，需再次检查")


def test_with_approval_required_an_exempt_start_waits_for_its_approval_afterwards(store, world, heads):

    inspection_id = inspections.record_inspection(store, user(store, "ann"), inspections.StartRequest(
        kind="complaint", reference="投诉-7", qr_token=world["enterprise"]["qr_token"], inspectors=["bob"],
        items=["SCJG-001"]), NOW, TZ, task_required=("routine",))
    backfill = row(store, "SELECT id, status, source, inspection_id, agency_id FROM tasks")
    assert (backfill["status"], backfill["source"], backfill["inspection_id"]) == ("submitted", "backfill", inspection_id)
    assert tasks.overdue(tasks.task_by_id(store, backfill["id"], TODAY), TODAY + timedelta(days=4), 3)
    assert not tasks.overdue(tasks.task_by_id(store, backfill["id"], TODAY), TODAY + timedelta(days=3), 3)
    tasks.approve_task(store, backfill["id"], user(store, "head-sc"), "补办", NOW, TODAY + timedelta(days=4), 3)
    assert value(store, "SELECT status FROM tasks") == "done"
    assert [r["action"] for r in rows(store, "SELECT action FROM task_steps ORDER BY id")] == ["backfill", "approved"]
    start(store, world["enterprise"], kind="referral", reference="转-1")  # without the switch: no approval asked
    assert value(store, "SELECT count(*) FROM tasks") == 1
