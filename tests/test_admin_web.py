"""The operator's pages: CSV import, agencies and items, users, limit rules, replacing a QR code."""

import io

from conftest import add_user, csrf_from, login, make_usci

from logbook.db import rows, value

EN = {"Accept-Language": "en"}


def admin(client, path):
    login(client, "admin")
    page = client.get(path, headers=EN)
    assert page.status_code == 200
    return csrf_from(page.get_data(as_text=True))


def upload(client, csrf, text):
    data = {"csrf_token": csrf, "file": (io.BytesIO(text.encode("utf-8-sig")), "firms.csv")}
    return client.post("/admin/enterprises/import", data=data, content_type="multipart/form-data", headers=EN)


def test_a_good_csv_upload_imports_every_row(client, store, world):
    csrf = admin(client, "/admin/enterprises/import")
    response = upload(client, csrf, f"usci,name,risk_level\n{make_usci()},甲公司,A\n{make_usci()},乙公司,\n")
    assert response.status_code == 302
    assert value(store, "SELECT count(*) FROM enterprises") == 3


def test_a_csv_with_a_bad_line_imports_nothing_and_lists_it(client, store, world):
    csrf = admin(client, "/admin/enterprises/import")
    response = upload(client, csrf, f"usci,name\n{make_usci()},甲公司\n91430200MA0000001X,乙公司\n")
    assert response.status_code == 422
    assert "line 3:" in response.get_data(as_text=True)
    assert value(store, "SELECT count(*) FROM enterprises") == 1


def test_the_admin_adds_an_agency_an_item_and_an_inspector_who_can_then_log_in(client, store, world):
    csrf = admin(client, "/admin/agencies")
    assert client.post("/admin/agencies", data={"csrf_token": csrf, "agency-code": "xfjy", "agency-name": "消防救援支队"}
                       ).status_code == 302
    assert client.post("/admin/agencies", data={"csrf_token": csrf, "item-agency": "XFJY", "item-code": "XFJY-001",
                                                "item-name": "消防设施检查", "item-basis": "消防法第十六条"}).status_code == 302
    assert rows(store, "SELECT code, name, basis FROM items WHERE code = 'XFJY-001'") == [
        {"code": "XFJY-001", "name": "消防设施检查", "basis": "消防法第十六条"}]
    response = client.post("/admin/users", data={
        "csrf_token": csrf, "username": "fire1", "role": "inspector", "name": "消防员", "agency": "XFJY",
        "cert_no": "X-1", "cert_expires": "2099-12-31", "password": "long-enough-1"})
    assert response.status_code == 302
    assert rows(store, "SELECT role, cert_no, cert_expires_on FROM users WHERE username = 'fire1'") == [
        {"role": "inspector", "cert_no": "X-1", "cert_expires_on": "2099-12-31"}]


def test_an_inspector_without_agency_is_refused_with_a_message(client, store, world):
    csrf = admin(client, "/admin/users")
    response = client.post("/admin/users", headers=EN, data={
        "csrf_token": csrf, "username": "nobody", "role": "inspector", "agency": "", "password": "long-enough-1"})
    assert response.status_code == 422
    assert "an inspector or a head belongs to an agency" in response.get_data(as_text=True)
    assert value(store, "SELECT count(*) FROM users WHERE username = 'nobody'") == 0


def test_the_admin_adds_and_retires_a_whitelist_rule(client, store, world):
    csrf = admin(client, "/admin/rules")
    usci = world["enterprise"]["usci"]
    response = client.post("/admin/rules", data={"csrf_token": csrf, "max": "0", "agency": "", "target": "enterprise",
                                                 "value": usci, "window": "year"})
    assert response.status_code == 302
    rule_id = value(store, "SELECT id FROM limit_rules WHERE target = 'enterprise' AND target_value = ?", [usci])
    assert client.post(f"/admin/rules/{rule_id}/retire", data={"csrf_token": csrf}).status_code == 302
    assert value(store, "SELECT active FROM limit_rules WHERE id = ?", [rule_id]) == 0


def test_a_target_without_its_value_is_refused(client, store, world):
    csrf = admin(client, "/admin/rules")
    response = client.post("/admin/rules", data={"csrf_token": csrf, "max": "1", "agency": "", "target": "risk",
                                                 "value": "", "window": "year"})
    assert response.status_code == 422
    assert value(store, "SELECT count(*) FROM limit_rules") == 1


def test_replacing_a_qr_code_retires_the_old_poster(client, store, world):
    old = world["enterprise"]["qr_token"]
    csrf = admin(client, "/admin/")
    response = client.post(f"/admin/enterprises/{world['enterprise']['id']}/rotate", data={"csrf_token": csrf})
    assert response.status_code == 302
    assert value(store, "SELECT qr_token FROM enterprises") != old
    assert client.get(f"/q/{old}").status_code == 410


def test_other_roles_get_404_on_admin_pages(client, world):
    login(client, "super")
    for path in ("/admin/", "/admin/users", "/admin/rules", "/admin/agencies", "/admin/enterprises/import"):
        assert client.get(path).status_code == 404


def test_the_users_page_is_paged_newest_first_and_finds_users_by_username_or_name(client, store, world):
    for n in range(60):
        add_user(store, f"crowd{n:02d}", "inspector", agency="SCJG", name=f"群众{n:02d}")
    login(client, "admin")
    first = client.get("/admin/users").get_data(as_text=True)
    assert "crowd59" in first and "crowd10" in first and "crowd09" not in first  # 50 newest
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert "crowd09" in second and "crowd00" in second and "crowd59" not in second and "ann" in second
    found = client.get("/admin/users?q=群众0").get_data(as_text=True)
    assert "crowd05" in found and "crowd10" not in found
    assert "crowd42" in client.get("/admin/users?q=crowd4").get_data(as_text=True)
    assert "没有匹配的用户" in client.get("/admin/users?q=nobody").get_data(as_text=True)


def test_the_agencies_page_lists_agencies_with_their_item_counts_and_one_agencys_items_on_demand(client, world):
    admin(client, "/admin/agencies")
    page = client.get("/admin/agencies").get_data(as_text=True)
    assert "市场监督管理局" in page and "/admin/agencies?agency=SCJG#items" in page
    assert "食品经营许可检查" not in page  # 900 items of a city are not one page
    items = client.get("/admin/agencies?agency=SCJG").get_data(as_text=True)
    assert "食品经营许可检查" in items and "特种设备检查" in items and "安全生产责任制" not in items
