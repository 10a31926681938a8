"""The inspector's pages through the test client: scan, start, refusals, close, void, manual entry, login."""

from conftest import PASSWORD, add_user, csrf_from, login

from logbook import enterprises
from logbook.db import rows, value


def start_form(client, path):
    page = client.get(path)
    assert page.status_code == 200
    return csrf_from(page.get_data(as_text=True))


def start(client, world, csrf, **fields):
    data = {"csrf_token": csrf, "qr_token": world["enterprise"]["qr_token"], "kind": "routine",
            "agencies": ["SCJG"], "inspectors": ["bob"], "items": ["SCJG-001"]} | fields
    return client.post("/inspector/start", data=data)


def test_anonymous_visitor_sees_only_the_firm_name_and_how_to_log_in(client, world, store):
    token = world["enterprise"]["qr_token"]
    html = client.get(f"/q/{token}").get_data(as_text=True)
    assert world["enterprise"]["name"] in html
    assert f"/login?next=/q/{token}" in html
    assert "已用" not in html and "start-inspection" not in html


def test_inspector_scan_page_shows_quota_history_and_start_form(client, world):
    login(client, "ann")
    html = client.get(f"/q/{world['enterprise']['qr_token']}").get_data(as_text=True)
    assert "已用 0/2" in html
    assert 'id="start-inspection"' in html
    assert "食品经营许可检查" in html


def test_starting_from_the_scan_page_records_a_scanned_inspection(client, world, store):
    login(client, "ann")
    csrf = start_form(client, f"/q/{world['enterprise']['qr_token']}")
    response = start(client, world, csrf)
    assert response.status_code == 302
    inspection_id = value(store, "SELECT id FROM inspections")
    assert response.headers["Location"] == f"/inspector/inspections/{inspection_id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "检查已登记" in page
    code = value(store, "SELECT confirm_code FROM inspections WHERE id = ?", [inspection_id])
    assert code in page and "<svg" in page
    assert rows(store, "SELECT entry, counted FROM inspections") == [{"entry": "scan", "counted": 1}]
    html = client.get(f"/q/{world['enterprise']['qr_token']}").get_data(as_text=True)
    assert "已用 1/2" in html


def test_third_routine_inspection_in_a_year_is_refused_on_the_page(client, world, store):
    login(client, "ann")
    csrf = start_form(client, f"/q/{world['enterprise']['qr_token']}")
    assert start(client, world, csrf).status_code == 302
    assert start(client, world, csrf).status_code == 302
    refused = start(client, world, csrf)
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert 'id="refusal"' in html and "上限为 2 次" in html
    assert value(store, "SELECT count(*) FROM inspections") == 2
    assert rows(store, "SELECT used, max FROM refusals") == [{"used": 2, "max": 2}]


def test_a_form_without_items_is_refused_with_a_message_and_changes_nothing(client, world, store):
    login(client, "ann")
    csrf = start_form(client, f"/q/{world['enterprise']['qr_token']}")
    response = start(client, world, csrf, items=[])
    assert response.status_code == 422
    assert "请至少选择一项检查事项" in response.get_data(as_text=True)
    assert value(store, "SELECT count(*) FROM inspections") == 0


def test_an_inspector_with_an_expired_certificate_cannot_start(client, world, store):
    add_user(store, "old", "inspector", agency="SCJG", cert_days=-1)
    login(client, "old")
    csrf = start_form(client, f"/q/{world['enterprise']['qr_token']}")
    response = start(client, world, csrf, inspectors=["ann"])
    assert response.status_code == 403
    assert "执法证缺失或已过期" in response.get_data(as_text=True)
    assert value(store, "SELECT count(*) FROM inspections") == 0


def test_a_post_without_csrf_token_is_refused(client, world, store):
    login(client, "ann")
    response = start(client, world, "forged")
    assert response.status_code == 400
    assert value(store, "SELECT count(*) FROM inspections") == 0


def test_manual_entry_by_search_is_flagged(client, world, store):
    login(client, "ann")
    results = client.get("/inspector/search", query_string={"q": "株洲测试"}).get_data(as_text=True)
    manual_path = f"/inspector/manual/{world['enterprise']['usci']}"
    assert manual_path in results
    page = client.get(manual_path).get_data(as_text=True)
    assert "手工登记" in page
    response = client.post("/inspector/start", data={
        "csrf_token": csrf_from(page), "usci": world["enterprise"]["usci"], "kind": "routine",
        "agencies": ["SCJG"], "inspectors": ["bob"], "items": ["SCJG-001"]})
    assert response.status_code == 302
    assert value(store, "SELECT entry FROM inspections") == "manual"


def test_closing_needs_findings_for_a_rectification_and_then_closes(client, world, store):
    login(client, "ann")
    start(client, world, start_form(client, f"/q/{world['enterprise']['qr_token']}"))
    inspection_id = value(store, "SELECT id FROM inspections")
    page = client.get(f"/inspector/inspections/{inspection_id}").get_data(as_text=True)
    csrf = csrf_from(page)
    incomplete = client.post(f"/inspector/inspections/{inspection_id}/close",
                             data={"csrf_token": csrf, "result": "rectify"})
    assert incomplete.status_code == 422
    assert value(store, "SELECT status FROM inspections") == "open"
    done = client.post(f"/inspector/inspections/{inspection_id}/close",
                       data={"csrf_token": csrf, "result": "rectify", "findings": "灭火器过期",
                             "rectify_by": "2100-01-31"})
    assert done.status_code == 302
    assert rows(store, "SELECT status, result, findings, rectify_by FROM inspections") == [
        {"status": "closed", "result": "rectify", "findings": "灭火器过期", "rectify_by": "2100-01-31"}]


def test_void_works_within_30_minutes_and_not_after(client, world, store):
    login(client, "ann")
    csrf = start_form(client, f"/q/{world['enterprise']['qr_token']}")
    start(client, world, csrf)
    start(client, world, csrf)
    first, second = [r["id"] for r in rows(store, "SELECT id FROM inspections ORDER BY id")]
    store.execute("UPDATE inspections SET recorded_at = '2000-01-01T00:00:00Z' WHERE id = ?", [second])
    assert client.post(f"/inspector/inspections/{first}/void", data={"csrf_token": csrf, "reason": "扫错企业"}).status_code == 302
    client.post(f"/inspector/inspections/{second}/void", data={"csrf_token": csrf, "reason": "太晚"})
    assert rows(store, "SELECT status FROM inspections ORDER BY id") == [{"status": "voided"}, {"status": "open"}]


def test_an_inspector_who_did_not_take_part_gets_404(client, world, store):
    login(client, "ann")
    start(client, world, start_form(client, f"/q/{world['enterprise']['qr_token']}"))
    inspection_id = value(store, "SELECT id FROM inspections")
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/inspector/").get_data(as_text=True))})
    login(client, "cat")
    assert client.get(f"/inspector/inspections/{inspection_id}").status_code == 404


def test_a_replaced_code_says_so(client, world, store):
    old = world["enterprise"]["qr_token"]
    enterprises.rotate_qr_token(store, world["enterprise"]["id"])
    response = client.get(f"/q/{old}")
    assert response.status_code == 410
    assert "此码已更换" in response.get_data(as_text=True)


def test_unknown_code_is_404(client, world):
    assert client.get("/q/not-a-code").status_code == 404


def test_login_follows_only_local_next_urls(client, world):
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=https://evil.example/x", data={
        "csrf_token": csrf, "username": "ann", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_login_is_throttled_after_ten_failures(client, world):
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    for _ in range(10):
        assert client.post("/login", data={"csrf_token": csrf, "username": "ann", "password": "wrong"}).status_code == 401
    blocked = client.post("/login", data={"csrf_token": csrf, "username": "ann", "password": PASSWORD})
    assert blocked.status_code == 429


def test_logout_needs_a_post_with_csrf(client, world):
    login(client, "ann")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/inspector/").status_code == 200


def test_the_inspector_home_lists_open_and_recently_closed_inspections(client, world, store):
    from conftest import close, start

    open_id = start(store, world["enterprise"])
    closed_id = start(store, world["enterprise"])
    close(store, closed_id)
    login(client, "ann")
    html = client.get("/inspector/").get_data(as_text=True)
    before_closed, closed_part = html.split('id="recently-closed"')
    assert f"/inspector/inspections/{open_id}" in before_closed
    assert f"/inspector/inspections/{closed_id}" in closed_part and "未发现问题" in closed_part
