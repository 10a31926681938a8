"""Tasks on the web: an inspector plans an inspection, the agency's head approves it, and at the door the scan
page offers to start it; other agencies' heads, firms and strangers see nothing."""

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import add_enterprise, add_user, csrf_from, login

from logbook import accounts, tasks
from logbook.db import row, rows, value


@pytest.fixture
def heads(store, world):
    add_user(store, "head-sc", "head", agency="SCJG", name="市监局长")
    add_user(store, "head-yj", "head", agency="YJGL", name="应急局长")


def plan(client, world, **fields):
    """Ann plans an inspection of the world's enterprise through the form; returns the response."""
    usci = world["enterprise"]["usci"]
    page = client.get(f"/tasks/new?usci={usci}").get_data(as_text=True)
    today = date.today()
    data = {"csrf_token": csrf_from(page), "usci": usci, "kind": "routine", "window_start": today.isoformat(),
            "window_end": (today + timedelta(days=10)).isoformat(), "items": ["SCJG-001"], "inspectors": ["bob"],
            "reason": "年度检查计划"} | fields
    return client.post(f"/tasks/new?usci={usci}", data=data)


def test_an_inspector_finds_the_enterprise_and_submits_a_task(client, store, world, heads):
    login(client, "ann")
    found = client.get("/tasks/new?q=测试机械").get_data(as_text=True)
    assert f"/tasks/new?usci={world['enterprise']['usci']}" in found
    response = plan(client, world)
    assert response.status_code == 302
    task = row(store, "SELECT id, status, kind, notice FROM tasks")
    assert response.headers["Location"] == f"/tasks/{task['id']}"
    assert (task["status"], task["kind"]) == ("submitted", "routine")
    assert {r["username"] for r in rows(store, """SELECT u.username FROM task_inspectors ti JOIN users u
        ON u.id = ti.user_id""")} == {"ann", "bob"}
    assert "等待审批" in client.get(f"/tasks/{task['id']}").get_data(as_text=True)


def test_a_task_with_one_inspector_is_refused_with_the_reason(client, store, world, heads):
    login(client, "ann")
    response = plan(client, world, inspectors=[])
    assert response.status_code == 422
    assert "至少" in response.get_data(as_text=True)
    assert value(store, "SELECT count(*) FROM tasks") == 0


def test_the_head_approves_and_the_scan_page_offers_to_start_the_task(app, client, store, world, heads):
    login(client, "ann")
    plan(client, world, notice="")
    task_id = value(store, "SELECT id FROM tasks")
    head = app.test_client()
    login(head, "head-sc")
    queue = head.get("/tasks/").get_data(as_text=True)
    assert f"/tasks/{task_id}" in queue
    page = head.get(f"/tasks/{task_id}").get_data(as_text=True)
    response = head.post(f"/tasks/{task_id}/approve", data={"csrf_token": csrf_from(page), "note": "同意"})
    assert response.status_code == 302
    assert value(store, "SELECT status FROM tasks") == "approved"
    scan = client.get(f"/q/{world['enterprise']['qr_token']}").get_data(as_text=True)
    assert f'id="start-task-{task_id}"' in scan
    started = client.post("/inspector/start", data={"csrf_token": csrf_from(scan), "task_id": task_id,
                                                    "qr_token": world["enterprise"]["qr_token"]})
    assert started.status_code == 302
    inspection = row(store, "SELECT id, kind FROM inspections")
    assert started.headers["Location"] == f"/inspector/inspections/{inspection['id']}"
    assert row(store, "SELECT status, inspection_id FROM tasks") == {"status": "done", "inspection_id": inspection["id"]}
    steps = [s["action"] for s in rows(store, "SELECT action FROM task_steps ORDER BY id")]
    assert steps == ["draft", "approved", "done"]
    assert f'href="/tasks/{task_id}"' in client.get(started.headers["Location"]).get_data(as_text=True)


def test_a_head_of_another_agency_firms_and_uninvolved_inspectors_get_404(app, client, store, world, heads):
    login(client, "ann")
    plan(client, world)
    task_id = value(store, "SELECT id FROM tasks")
    for username in ("head-yj", "cat", "firm1"):
        other = app.test_client()
        login(other, username)
        assert other.get(f"/tasks/{task_id}").status_code == 404
    other = app.test_client()
    login(other, "head-yj")
    assert other.post(f"/tasks/{task_id}/approve", data={"csrf_token": "x"}).status_code in (400, 404)
    assert value(store, "SELECT status FROM tasks") == "submitted"


def test_a_rejection_needs_a_reason(app, client, store, world, heads):
    login(client, "ann")
    plan(client, world)
    task_id = value(store, "SELECT id FROM tasks")
    head = app.test_client()
    login(head, "head-sc")
    page = head.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert head.post(f"/tasks/{task_id}/reject", data={"csrf_token": csrf_from(page), "note": ""}).status_code == 422
    assert head.post(f"/tasks/{task_id}/reject", data={"csrf_token": csrf_from(page), "note": "依据不足"}
                     ).status_code == 302
    assert value(store, "SELECT status FROM tasks") == "rejected"


def test_with_the_switch_on_a_routine_start_without_a_task_is_refused_on_the_page(app, client, store, world):
    app.config["LOGBOOK_TASKS_FOR"] = ("routine",)
    login(client, "ann")
    scan = client.get(f"/q/{world['enterprise']['qr_token']}").get_data(as_text=True)
    response = client.post("/inspector/start", data={
        "csrf_token": csrf_from(scan), "qr_token": world["enterprise"]["qr_token"], "kind": "routine",
        "inspectors": ["bob"], "items": ["SCJG-001"]})
    assert response.status_code == 409
    assert "须先有本机关负责人批准" in response.get_data(as_text=True)
    assert value(store, "SELECT count(*) FROM inspections") == 0


def overlapping(store, world):
    """Approved tasks of SCJG and YJGL for the world's enterprise, overlapping this week; returns their ids."""
    now, today = datetime.now(UTC), date.today()
    ids = []
    for by, other, item, head in (("ann", "bob", "SCJG-001", "head-sc"), ("cat", "dan", "YJGL-001", "head-yj")):
        task_id = tasks.draft_task(store, accounts.user_by_username(store, by), tasks.TaskRequest(
            kind="routine", window_start=today, window_end=today + timedelta(days=6), usci=world["enterprise"]["usci"],
            items=[item], inspectors=[other]), now, today)
        tasks.approve_task(store, task_id, accounts.user_by_username(store, head), None, now, today, 0)
        ids.append(task_id)
    return ids


def test_heads_see_the_joint_visits_on_offer_and_join_them(client, store, world, heads):
    mine, theirs = overlapping(store, world)
    login(client, "head-sc")
    page = client.get("/tasks/").get_data(as_text=True)
    assert "可合并的联合检查" in page and f'id="join-{mine}-{theirs}"' in page
    response = client.post(f"/tasks/{mine}/join", data={"csrf_token": csrf_from(page), "other": theirs})
    assert response.status_code == 302
    assert {r["joint_id"] for r in rows(store, "SELECT joint_id FROM tasks")} == {min(mine, theirs)}
    assert "可合并的联合检查" not in client.get("/tasks/").get_data(as_text=True)


def test_an_inspector_sees_the_offer_but_cannot_join(client, store, world, heads):
    mine, theirs = overlapping(store, world)
    login(client, "ann")
    page = client.get("/tasks/").get_data(as_text=True)
    assert "可合并的联合检查" in page and "join-" not in page
    assert client.post(f"/tasks/{mine}/join", data={"csrf_token": csrf_from(page), "other": theirs}).status_code == 404


def test_a_head_draws_from_the_tasks_page_and_lands_on_the_public_result(client, store, world, heads):
    for n in range(5):
        add_enterprise(store, name=f"抽查企业{n}", risk_level="C")
    login(client, "head-sc")
    page = client.get("/tasks/").get_data(as_text=True)
    response = client.post("/tasks/draw", data={"csrf_token": csrf_from(page), "count": "2", "risk_level": "C",
                                                "industry": ""})
    draw_id = value(store, "SELECT id FROM draws")
    assert response.status_code == 302 and response.headers["Location"] == f"/draws/{draw_id}"
    assert value(store, "SELECT count(*) FROM tasks WHERE source = 'draw' AND status = 'submitted'") == 2
    assert "抽查企业" in client.get(f"/draws/{draw_id}").get_data(as_text=True)
