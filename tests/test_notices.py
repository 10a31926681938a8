"""Advance notice (检查预告): an approved task with notice reaches the firm's inbox with agency, window, items and
their legal basis, inspectors and certificate numbers and the firm's rights; the firm proposes a day inside the
window and the task's inspectors accept it or not. Other firms see nothing."""

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import add_enterprise, add_user, csrf_from, login, token_for

from logbook import accounts, errors, tasks
from logbook.db import row, value

NOW = datetime.now(UTC)


@pytest.fixture
def approved(store, world):
    """A task of SCJG for the world's enterprise with notice, its window opening in 5 days, approved by the head."""
    add_user(store, "head-sc", "head", agency="SCJG")
    start = date.today() + timedelta(days=5)
    task_id = tasks.draft_task(store, accounts.user_by_username(store, "ann"), tasks.TaskRequest(
        kind="routine", window_start=start, window_end=start + timedelta(days=9), usci=world["enterprise"]["usci"],
        items=["SCJG-001"], inspectors=["bob"], reason="年度检查计划", notice=True), NOW, date.today())
    tasks.approve_task(store, task_id, accounts.user_by_username(store, "head-sc"), "同意", NOW, date.today(), 3)
    return {"id": task_id, "start": start, "end": start + timedelta(days=9)}


def test_the_approval_puts_the_notice_in_the_firms_inbox(client, store, world, approved):
    assert row(store, "SELECT kind, task_id FROM notifications") == {"kind": "notice", "task_id": approved["id"]}
    login(client, "firm1")
    inbox = client.get("/firm/inbox").get_data(as_text=True)
    assert "检查预告" in inbox and f"/firm/notices/{approved['id']}" in inbox


def test_the_notice_page_reads_like_the_official_notice(client, world, approved):
    login(client, "firm1")
    page = client.get(f"/firm/notices/{approved['id']}").get_data(as_text=True)
    for text in ("行政检查通知书", "市场监督管理局", "食品经营许可检查", "食品安全法第三十五条", "C-ann", "C-bob",
                 "陈述、申辩", "申请与本单位有利害关系的执法人员回避", approved["start"].isoformat()):
        assert text in page


def test_the_firm_proposes_a_day_inside_the_window_and_an_inspector_accepts_it(app, client, store, world, approved):
    login(client, "firm1")
    page = client.get(f"/firm/notices/{approved['id']}").get_data(as_text=True)
    outside = client.post(f"/firm/notices/{approved['id']}", data={
        "csrf_token": csrf_from(page), "day": (approved["end"] + timedelta(days=1)).isoformat()})
    assert outside.status_code == 422 and value(store, "SELECT proposed_day FROM tasks") is None
    day = approved["start"] + timedelta(days=2)
    assert client.post(f"/firm/notices/{approved['id']}", data={"csrf_token": csrf_from(page), "day": day.isoformat()}
                       ).status_code == 302
    assert value(store, "SELECT proposed_day FROM tasks") == day.isoformat()
    inspector = app.test_client()
    login(inspector, "bob")
    task_page = inspector.get(f"/tasks/{approved['id']}").get_data(as_text=True)
    assert f"企业建议 {day.isoformat()}" in task_page
    assert inspector.post(f"/tasks/{approved['id']}/proposal", data={"csrf_token": csrf_from(task_page),
                                                                     "answer": "accepted"}).status_code == 302
    assert value(store, "SELECT proposal_answer FROM tasks") == "accepted"
    assert "执法人员已同意" in client.get(f"/firm/notices/{approved['id']}").get_data(as_text=True)


def test_another_firm_and_tasks_without_notice_show_nothing(app, client, store, world, approved):
    other = add_enterprise(store, name="别家公司")
    add_user(store, "firm2", "firm", usci_code=other["usci"])
    login(client, "firm2")
    assert client.get(f"/firm/notices/{approved['id']}").status_code == 404
    assert client.get("/api/v1/firm/notices", headers=token_for(client, "firm2")).get_json() == {"notices": []}
    store.execute("UPDATE tasks SET notice = 0")
    firm = app.test_client()
    login(firm, "firm1")
    assert firm.get(f"/firm/notices/{approved['id']}").status_code == 404


def test_the_api_lists_notices_and_takes_a_proposal(client, store, world, approved):
    header = token_for(client, "firm1")
    notices = client.get("/api/v1/firm/notices", headers=header).get_json()["notices"]
    assert [n["task_id"] for n in notices] == [approved["id"]]
    notice = notices[0]
    assert notice["agency"] == "市场监督管理局" and notice["window_start"] == approved["start"].isoformat()
    assert notice["items"] == [{"code": "SCJG-001", "name": "食品经营许可检查", "basis": "食品安全法第三十五条"}]
    assert {p["cert_no"] for p in notice["inspectors"]} == {"C-ann", "C-bob"}
    assert notice["rights"] == ["statement", "recusal", "identification", "complaint"]
    day = approved["start"].isoformat()
    answer = client.post(f"/api/v1/firm/notices/{approved['id']}/proposal", headers=header, json={"day": day})
    assert answer.status_code == 201 and answer.get_json()["proposed_day"] == day
    late = client.post(f"/api/v1/firm/notices/{approved['id']}/proposal", headers=header,
                       json={"day": (approved["end"] + timedelta(days=1)).isoformat()})
    assert late.status_code == 422 and late.get_json()["error"]["code"] == "invalid"


def test_a_notice_too_close_to_its_window_cannot_be_approved(store, world):
    add_user(store, "head-sc", "head", agency="SCJG")
    task_id = tasks.draft_task(store, accounts.user_by_username(store, "ann"), tasks.TaskRequest(
        kind="routine", window_start=date.today() + timedelta(days=1), window_end=date.today() + timedelta(days=5),
        usci=world["enterprise"]["usci"], items=["SCJG-001"], inspectors=["bob"], notice=True), NOW, date.today())
    with pytest.raises(errors.Invalid):
        tasks.approve_task(store, task_id, accounts.user_by_username(store, "head-sc"), None, NOW, date.today(), 3)
    assert value(store, "SELECT status FROM tasks") == "submitted"
    assert value(store, "SELECT count(*) FROM notifications") == 0
