"""The start form's pickers: a few likely co-inspectors and items on the page, everyone else found by typing,
with the script (JSON) and without it (the Find button posts the form back)."""

from conftest import add_user, csrf_from, login, start

from logbook import accounts, agencies
from logbook.db import rows, value

SCAN_PAGE = "/q/{token}"


def scan_page(client, world):
    return client.get(SCAN_PAGE.format(token=world["enterprise"]["qr_token"])).get_data(as_text=True)


def picker_values(html, name):
    """The values offered by one picker of the page, in order."""
    section = html.split(f'id="{name}-picker"')[1].split("</fieldset>")[0]
    return [part.split('"')[0] for part in section.split(f'name="{name}" value="')[1:]]


def crowd(store, agency, count, prefix):
    """`count` more inspectors of an agency, named prefix-0001..."""
    for n in range(count):
        add_user(store, f"{prefix}{n:04d}", "inspector", agency=agency, name=f"{prefix}{n:04d}")


def test_the_page_offers_a_few_colleagues_of_the_own_agency_whatever_the_size_of_the_city(client, store, world):
    crowd(store, "SCJG", 40, "sc")
    crowd(store, "YJGL", 40, "yj")
    login(client, "ann")
    offered = picker_values(scan_page(client, world), "inspectors")
    assert len(offered) == 6
    assert all(accounts.user_by_username(store, u)["agency"] == "SCJG" for u in offered)
    assert "ann" not in offered


def test_colleagues_worked_with_lately_come_first(client, store, world):
    crowd(store, "SCJG", 10, "sc")
    start(store, world["enterprise"], inspectors=["sc0007"])
    start(store, world["enterprise"], kind="complaint", reference="投诉-1", inspectors=["sc0003"])
    login(client, "ann")
    assert picker_values(scan_page(client, world), "inspectors")[:2] == ["sc0003", "sc0007"]


def test_items_used_lately_come_first_and_only_the_participating_agencies_items_are_offered(client, store, world):
    for n in range(20):
        agencies.add_item(store, "SCJG", f"SCJG-1{n:02d}", f"事项{n:02d}")
    start(store, world["enterprise"], items=["SCJG-115"])
    login(client, "ann")
    offered = picker_values(scan_page(client, world), "items")
    assert offered[0] == "SCJG-115" and len(offered) == 4
    assert "YJGL-001" not in offered


def test_typing_finds_an_inspector_of_any_agency_by_name_or_certificate_number(client, store, world):
    add_user(store, "wang", "inspector", agency="YJGL", name="王小明", cert_no="43020019")
    login(client, "ann")
    by_name = client.get("/inspector/find/inspectors?q=王小").get_json()
    by_cert = client.get("/inspector/find/inspectors?q=430200").get_json()
    assert [f["value"] for f in by_name["found"]] == ["wang"] == [f["value"] for f in by_cert["found"]]
    assert by_name["found"][0] | {} == {"value": "wang", "label": "王小明", "detail": "43020019", "agency": "YJGL",
                                         "agency_name": "应急管理局"}
    assert "王小" in by_name["message"]
    assert client.get("/inspector/find/inspectors?q=ann").get_json()["found"] == []  # never oneself
    assert client.get("/inspector/find/inspectors?q=nobody").get_json() == {"found": [], "message": "没有找到“nobody”"}


def test_firm_users_and_inactive_inspectors_are_never_found(client, store, world):
    add_user(store, "gone", "inspector", agency="SCJG", name="张离职")
    store.execute("UPDATE users SET active = 0 WHERE username = 'gone'")
    add_user(store, "zhang-firm", "firm", usci_code=world["enterprise"]["usci"], name="张企业")
    login(client, "ann")
    assert client.get("/inspector/find/inspectors?q=张").get_json()["found"] == []


def test_typing_finds_items_of_the_participating_agencies_only(client, world):
    login(client, "ann")
    own = client.get("/inspector/find/items?q=检查").get_json()["found"]
    assert [f["value"] for f in own] == ["SCJG-001", "SCJG-002"]
    joint = client.get("/inspector/find/items?q=安全&agencies=YJGL").get_json()["found"]
    assert [f["value"] for f in joint] == ["YJGL-001"]
    assert client.get("/inspector/find/items?q=安全").get_json()["found"] == []


def test_the_finders_are_for_inspectors_only(client, world):
    assert client.get("/inspector/find/inspectors?q=a").status_code == 302  # to the login page
    login(client, "firm1")
    assert client.get("/inspector/find/inspectors?q=a").status_code == 404


def test_without_javascript_find_posts_the_form_back_with_what_was_found_and_keeps_the_ticks(client, store, world):
    add_user(store, "wang", "inspector", agency="YJGL", name="王小明")
    login(client, "ann")
    page = scan_page(client, world)
    response = client.post("/inspector/start", data={
        "csrf_token": csrf_from(page), "qr_token": world["enterprise"]["qr_token"], "kind": "routine",
        "inspectors": ["bob"], "items": ["SCJG-002"], "find": "inspectors", "q_inspectors": "王"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "wang" in picker_values(html, "inspectors")
    assert 'value="bob" data-agency="SCJG" checked' in html and 'value="SCJG-002" data-agency="SCJG" checked' in html
    assert 'value="王"' in html and "找到 1 个“王”" in html
    assert value(store, "SELECT count(*) FROM inspections") == 0


def test_find_without_a_csrf_token_is_refused(client, world):
    login(client, "ann")
    response = client.post("/inspector/start", data={"qr_token": world["enterprise"]["qr_token"], "find": "items",
                                                      "q_items": "检查"})
    assert response.status_code == 400


def test_picking_an_inspector_of_another_agency_makes_it_a_joint_inspection(client, store, world):
    login(client, "ann")
    response = client.post("/inspector/start", data={
        "csrf_token": csrf_from(scan_page(client, world)), "qr_token": world["enterprise"]["qr_token"],
        "kind": "routine", "agencies": ["SCJG"], "inspectors": ["cat"], "items": ["SCJG-001", "YJGL-001"]})
    assert response.status_code == 302
    assert [r["code"] for r in rows(store, """SELECT a.code FROM inspection_agencies ia
        JOIN agencies a ON a.id = ia.agency_id ORDER BY a.code""")] == ["SCJG", "YJGL"]


def test_an_unknown_inspector_sent_by_hand_is_refused_by_the_domain(client, store, world):
    login(client, "ann")
    response = client.post("/inspector/start", data={
        "csrf_token": csrf_from(scan_page(client, world)), "qr_token": world["enterprise"]["qr_token"],
        "kind": "routine", "inspectors": ["nobody"], "items": ["SCJG-001"]})
    assert response.status_code == 422
    assert "nobody" in response.get_data(as_text=True)
    assert value(store, "SELECT count(*) FROM inspections") == 0


def test_without_javascript_any_find_searches_every_box_with_text_in_it(client, world):
    """Enter in the items box presses the form's first button, the inspectors' Find: the items are searched all the
    same, and an empty box finds nothing."""
    login(client, "ann")
    html = client.post("/inspector/start", data={
        "csrf_token": csrf_from(scan_page(client, world)), "qr_token": world["enterprise"]["qr_token"],
        "agencies": ["SCJG", "YJGL"], "find": "inspectors", "q_inspectors": "", "q_items": "安全"}).get_data(as_text=True)
    assert "YJGL-001" in picker_values(html, "items")
    assert "找到 1 个“安全”" in html
