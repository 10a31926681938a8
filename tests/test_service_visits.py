"""A service visit (入企服务) is recorded and shown, but is never counted as an inspection."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from conftest import login, token_for

from logbook import accounts, inspections

TZ = ZoneInfo("Asia/Shanghai")


def record(store, world, kind, **extra):
    caller = accounts.user_by_username(store, "ann")
    body = {"qr_token": world["enterprise"]["qr_token"], "kind": kind} | extra
    return inspections.record_inspection(store, caller, inspections.StartRequest(**body), datetime.now(UTC), TZ)


def test_a_visit_needs_no_items_and_counts_nowhere(client, store, world):
    record(store, world, "visit")
    record(store, world, "routine", inspectors=["bob"], items=["SCJG-001"])
    quota = inspections.quota(store, world["enterprise"], datetime.now(UTC), TZ)
    assert (quota["counted"], quota["exempt"], quota["total"], quota["visits"]) == (1, 0, 1, 1)
    stats = client.get("/api/v1/stats", headers=token_for(client, "super")).get_json()
    assert stats["inspections"] == {"total": 1, "counted": 1, "exempt": 0, "voided": 0, "joint": 0}
    assert [a["total"] for a in stats["by_agency"] if a["agency"] == "SCJG"] == [1]


def test_the_firm_sees_its_visits_apart_from_inspections(client, store, world):
    record(store, world, "visit")
    login(client, "firm1")
    html = client.get("/firm/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "inspections in total: 0" in html and "service visits: 1" in html


def test_every_firm_page_shows_the_unread_count(client, store, world):
    record(store, world, "visit")
    login(client, "firm1")
    for path in ("/firm/", "/firm/complaints"):
        assert "(1)" in client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    client.get("/firm/inbox")
    assert "Inbox (1)" not in client.get("/firm/complaints", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_the_unread_count_includes_a_due_deadline_without_writing_on_a_page_view(client, store, world):
    from datetime import timedelta

    from conftest import close, start

    from logbook.db import value

    inspection_id = start(store, world["enterprise"])
    close(store, inspection_id, result="rectify", findings="整改", rectify_by=datetime.now(TZ).date() + timedelta(days=2))
    login(client, "firm1")
    html = client.get("/firm/complaints", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Inbox (3)" in html  # started, closed, and the deadline
    assert value(store, "SELECT count(*) FROM notifications WHERE kind = 'deadline'") == 0
    client.get("/firm/inbox")
    assert value(store, "SELECT count(*) FROM notifications WHERE kind = 'deadline'") == 1
    assert "Inbox (" not in client.get("/firm/complaints", headers={"Accept-Language": "en"}).get_data(as_text=True)
