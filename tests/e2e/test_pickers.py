"""The start form's pickers in a real browser at phone size: a co-inspector of another agency and one of that
agency's items are found by typing (with JavaScript) or with the Find buttons (without), the joint inspection
is recorded with both agencies; and with a city's 20,000 inspectors the form still fits one phone screen."""

import random
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from logbook import accounts, agencies, db
from logbook.db import now_text, rows, value

from .conftest import HASH, PASSWORD, PHONE, add_enterprise, gunicorn, log_in

# From the demo data: zhang.wei (张伟) is an inspector of 市场监督管理局 (SCJG); 王强 works for 应急管理局 (YJGL),
# whose list holds 危险化学品储存检查 (YJGL-002).
INSPECTOR, OWN_AGENCY = "zhang.wei", "SCJG"
PARTNER, PARTNER_NAME, PARTNER_AGENCY = "wang.qiang", "王强", "YJGL"
ITEM, ITEM_WORDS = "YJGL-002", "危险化学品"  # found by typing
OTHER_ITEM, OTHER_ITEM_WORDS = "YJGL-001", "安全生产"  # found with the Find button (test 1's item is now "recent")
RECORDED = "检查已登记。请向企业出示确认码。"


def chip(page, picker, value):
    """The checkbox of a picker's chip (suggested, found by the server or found by the script)."""
    return page.locator(f'#{picker}-picker input[name={picker}][value="{value}"]')


def agency_box(page, code):
    return page.locator(f'#agencies-picker input[name=agencies][value="{code}"]')


def favicon(message):
    """Chromium's own request for /favicon.ico, which the app does not serve (a 404 no page asked for)."""
    return message.location.get("url", "").endswith("/favicon.ico")


def joint_inspection(store, inspection_id):
    """What the database holds for an inspection: its agencies, inspectors and items, each sorted."""
    return {
        "agencies": [r["code"] for r in rows(store, """SELECT a.code FROM inspection_agencies ia
            JOIN agencies a ON a.id = ia.agency_id WHERE ia.inspection_id = ? ORDER BY a.code""", [inspection_id])],
        "inspectors": [r["username"] for r in rows(store, """SELECT u.username FROM inspection_inspectors ii
            JOIN users u ON u.id = ii.user_id WHERE ii.inspection_id = ? ORDER BY u.username""", [inspection_id])],
        "items": [r["code"] for r in rows(store, """SELECT it.code FROM inspection_items ii
            JOIN items it ON it.id = ii.item_id WHERE ii.inspection_id = ? ORDER BY it.code""", [inspection_id])],
    }


def start(page, store, firm):
    """Press the start button; check the inspection's page and flash; return the new inspection's id."""
    with page.expect_navigation() as navigation:
        page.click("#start-inspection")
    assert navigation.value.status == 200, page.inner_text("main")
    inspection_id = value(store, "SELECT id FROM inspections WHERE enterprise_id = ?", [firm["id"]])
    assert inspection_id is not None, "no inspection was recorded"
    assert page.url.endswith(f"/inspector/inspections/{inspection_id}")
    assert page.locator(".flash.success").inner_text() == RECORDED
    return inspection_id


def document_top(locator):
    """Where an element's top edge is from the top of the document, in CSS pixels."""
    return locator.evaluate("e => e.getBoundingClientRect().top + window.scrollY")


def document_bottom(locator):
    return locator.evaluate("e => e.getBoundingClientRect().bottom + window.scrollY")


@pytest.fixture
def no_script_context(browser, server):
    """A phone-sized Chinese browser context with JavaScript switched off (an old phone, or a locked-down one)."""
    context = browser.new_context(base_url=server["url"], viewport=PHONE, locale="zh-CN", java_script_enabled=False)
    context.set_default_timeout(10_000)
    yield context
    context.close()


def test_inspector_finds_a_colleague_of_another_agency_and_their_item_by_typing(new_context, store):
    """With JavaScript: typing part of 王强's name finds him, ticking him ticks 应急管理局, typing part of one of
    its items finds that item (the search asks for the ticked agencies), and the joint inspection is recorded
    with both agencies, both inspectors and the item; no console error or CSP violation on the way."""
    firm = add_enterprise(store)
    page = new_context().new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and not favicon(message)
            and errors.append(f"{message.text} ({message.location['url']})"))
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, INSPECTOR)
    page.goto(f"/q/{firm['qr_token']}")
    assert chip(page, "inspectors", PARTNER).count() == 0, "another agency's inspector is not a suggestion"
    assert chip(page, "items", ITEM).count() == 0, "an item of an agency not taking part is not a suggestion"
    assert not agency_box(page, PARTNER_AGENCY).is_checked()

    with page.expect_response(lambda r: "/inspector/find/inspectors" in r.url) as found:
        page.locator("input[name=q_inspectors]").press_sequentially(PARTNER_NAME[0])
    assert found.value.ok
    partner = page.locator(f'#inspectors-picker li[data-found] input[value="{PARTNER}"]')
    partner.wait_for()
    assert partner.locator("xpath=ancestor::label").inner_text().startswith(PARTNER_NAME)
    expect(page.locator("#inspectors-picker [data-status]")).to_have_text(re.compile(r"^找到 \d+ 个“王”$"))
    partner.check()
    assert agency_box(page, PARTNER_AGENCY).is_checked(), "ticking 王强 ticks his agency"
    assert page.locator("details:has(#agencies-picker)").get_attribute("open") is not None
    assert agency_box(page, OWN_AGENCY).is_checked()

    with page.expect_response(lambda r: "/inspector/find/items" in r.url) as found:
        page.locator("input[name=q_items]").press_sequentially(ITEM_WORDS)
    assert f"agencies={PARTNER_AGENCY}" in found.value.url
    item = page.locator(f'#items-picker li[data-found] input[value="{ITEM}"]')
    item.wait_for()
    item.check()
    assert partner.is_checked(), "the second search leaves the first one's tick alone"

    inspection_id = start(page, store, firm)
    assert joint_inspection(store, inspection_id) == {
        "agencies": sorted([OWN_AGENCY, PARTNER_AGENCY]), "inspectors": sorted([INSPECTOR, PARTNER]),
        "items": [ITEM]}
    assert errors == []


def test_without_javascript_the_find_buttons_find_the_colleague_and_the_item_and_keep_the_ticks(
        no_script_context, store):
    """Without JavaScript: a suggested colleague is ticked, the Find button posts the form and the page comes
    back with 王强's chip (and the tick kept); ticking him and finding the item with the other Find button brings
    应急管理局 along server-side (even when unticked again before starting); every tick survives both round trips
    and the joint inspection is recorded."""
    firm = add_enterprise(store)
    page = no_script_context.new_page()
    log_in(page, INSPECTOR)
    page.goto(f"/q/{firm['qr_token']}")
    chip(page, "inspectors", "li.na").check()
    assert chip(page, "inspectors", PARTNER).count() == 0

    page.fill("input[name=q_inspectors]", PARTNER_NAME[0])
    with page.expect_navigation() as navigation:
        page.click("button[name=find][value=inspectors]")
    assert navigation.value.status == 200
    assert page.url.endswith("/inspector/start#inspectors-picker")
    assert page.input_value("input[name=q_inspectors]") == PARTNER_NAME[0]
    assert re.fullmatch(r"找到 \d+ 个“王”", page.locator("#inspectors-picker [data-status]").inner_text())
    assert chip(page, "inspectors", "li.na").is_checked(), "the tick survived the Find"
    chip(page, "inspectors", PARTNER).check()
    assert not agency_box(page, PARTNER_AGENCY).is_checked(), "without the script the agency follows server-side"

    page.fill("input[name=q_items]", OTHER_ITEM_WORDS)
    with page.expect_navigation() as navigation:
        page.click("button[name=find][value=items]")
    assert navigation.value.status == 200
    assert page.url.endswith("/inspector/start#items-picker")
    assert chip(page, "inspectors", "li.na").is_checked()
    assert chip(page, "inspectors", PARTNER).is_checked()
    assert agency_box(page, OWN_AGENCY).is_checked()
    assert agency_box(page, PARTNER_AGENCY).is_checked(), "王强 brought his agency along"
    assert page.locator("details:has(#agencies-picker)").get_attribute("open") is not None
    assert page.input_value("input[name=q_items]") == OTHER_ITEM_WORDS
    # found among 应急管理局's items, which are searched only because 王强 is ticked
    assert page.locator("#items-picker [data-status]").inner_text() == f"找到 1 个“{OTHER_ITEM_WORDS}”"
    chip(page, "items", OTHER_ITEM).check()
    agency_box(page, PARTNER_AGENCY).uncheck()  # the server adds 王强's agency anyway when the form is sent

    inspection_id = start(page, store, firm)
    assert joint_inspection(store, inspection_id) == {
        "agencies": sorted([OWN_AGENCY, PARTNER_AGENCY]), "inspectors": sorted([INSPECTOR, "li.na", PARTNER]),
        "items": [OTHER_ITEM]}


# --- a city's worth of people ---------------------------------------------------------------------------------

CITY_AGENCIES, CITY_INSPECTORS, CITY_ITEMS = 40, 20_000, 900
SURNAMES, GIVEN = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国斌"
SUBJECTS = ["食品经营", "特种设备", "危险化学品", "消防设施", "排污许可", "建筑施工", "药品零售", "燃气经营", "粉尘涉爆",
            "有限空间", "广告发布", "计量器具", "农药经营", "医疗器械", "餐饮服务"]
ASPECTS = ["许可情况检查", "使用登记检查", "储存管理检查", "台账记录检查", "人员资质检查", "安全责任落实情况",
           "应急预案检查", "隐患整改情况", "标识标签检查", "日常巡查记录", "培训教育情况", "设备维护保养情况",
           "现场管理检查", "制度建设情况", "自查报告情况", "抽样检验检查", "经营场所检查", "进货查验记录",
           "产品质量检查", "操作规程检查", "监测数据检查", "防护设施检查", "检测报告检查", "备案情况检查",
           "宣传公示情况", "投诉处理情况", "整改复查情况", "设施运行情况", "合同管理检查", "档案管理检查"]
LEAD = "crowd.lead"  # the one inspector of the crowded city who logs in, of agency C01 as 500 others are
FAR_COLLEAGUE = 19_960  # of C01 too, but never a suggestion: only found by searching


_names = random.Random(2026)
CITY_NAMES = [_names.choice(SURNAMES) + "".join(_names.choices(GIVEN, k=_names.choice((1, 2, 2))))
              for _ in range(CITY_INSPECTORS)]


def city_name(n):
    """A Chinese name of two or three characters, as real ones are (so chips are as wide as real ones)."""
    return CITY_NAMES[n]


def city_cert_no(n):
    """An eight-digit certificate number, as the demo's are."""
    return f"43{n:06d}"


def city_agency(n):
    return f"C{n % CITY_AGENCIES + 1:02d}"


@pytest.fixture(scope="module")
def crowded_city(tmp_path_factory):
    """A database of its own with 40 agencies, 20,000 inspectors (500 an agency) and 900 items (22 or 23 an
    agency), served by its own gunicorn: the session's server, and so the other tests' pages, never see the crowd."""
    folder = tmp_path_factory.mktemp("crowded")
    path = str(folder / "logbook.db")
    store = db.connect(path)
    db.migrate(store)
    for a in range(1, CITY_AGENCIES + 1):
        agencies.add_agency(store, f"C{a:02d}", f"测试执法主体{a:02d}")
    ids = dict(store.execute("SELECT code, id FROM agencies").fetchall())
    expires, created = (date.today() + timedelta(days=365)).isoformat(), now_text()
    with store.conn:  # one transaction each: 20,000 rows in well under a second
        store.conn.executemany(
            "INSERT INTO items (agency_id, code, name) VALUES (?, ?, ?)",
            ((ids[city_agency(k)], f"C-{k:04d}", SUBJECTS[k % 15] + ASPECTS[k // 15 % 30]) for k in range(CITY_ITEMS)))
        store.conn.executemany(
            """INSERT INTO users (username, password_hash, role, name, agency_id, cert_no, cert_expires_on, created_at)
               VALUES (?, 'x', 'inspector', ?, ?, ?, ?, ?)""",
            ((f"c{n:05d}", city_name(n), ids[city_agency(n)], city_cert_no(n), expires, created)
             for n in range(CITY_INSPECTORS)))
    accounts.add_user(store, LEAD, PASSWORD, "inspector", name="周队长", agency="C01", cert_no="43999999",
                      cert_expires_on=expires, hash_method=HASH)
    firm = add_enterprise(store)
    assert value(store, "SELECT count(*) FROM users WHERE role = 'inspector' AND agency_id = ?", [ids["C01"]]) == 501
    assert city_agency(FAR_COLLEAGUE) == "C01"
    store.conn.close()
    with gunicorn(path, folder) as url:
        yield {"url": url, "firm": firm}


def test_with_twenty_thousand_inspectors_the_start_form_still_fits_one_phone_screen(browser, crowded_city):
    """20,000 inspectors and 900 items: the scan page offers at most 6 chips per picker and its HTML stays under
    100 KB; a colleague among the 20,000 is found by typing their certificate number; and at 390x844 the start
    button is at most one screen height below the top of the start form (measured before any search)."""
    context = browser.new_context(base_url=crowded_city["url"], viewport=PHONE, locale="zh-CN")
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        log_in(page, LEAD)
        response = page.goto(f"/q/{crowded_city['firm']['qr_token']}")
        assert response.status == 200
        html = response.body()
        assert len(html) < 100_000, f"the scan page weighs {len(html):,} bytes"
        for picker in ("inspectors", "items"):
            offered = page.locator(f"#{picker}-picker input[name={picker}]").count()
            assert 1 <= offered <= 6, f"the {picker} picker offers {offered} chips"
        form_top = document_top(page.locator("#start-form form"))
        button_bottom = document_bottom(page.locator("#start-inspection"))

        far, cert_no = f"c{FAR_COLLEAGUE:05d}", city_cert_no(FAR_COLLEAGUE)
        assert chip(page, "inspectors", far).count() == 0
        page.locator("input[name=q_inspectors]").press_sequentially(cert_no)
        found = page.locator(f'#inspectors-picker li[data-found] input[value="{far}"]')
        found.wait_for()
        assert found.locator("xpath=ancestor::label").inner_text().split() == [city_name(FAR_COLLEAGUE), cert_no]
        expect(page.locator("#inspectors-picker [data-status]")).to_have_text(f"找到 1 个“{cert_no}”")
        expect(page.locator("#inspectors-picker li[data-found]")).to_have_count(1)

        assert button_bottom - form_top <= PHONE["height"], (
            f"the start button ends {button_bottom - form_top:.0f} px below the top of the form "
            f"(one screen is {PHONE['height']} px)")
    finally:
        context.close()
