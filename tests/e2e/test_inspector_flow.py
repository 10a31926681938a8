"""The inspector in a real browser: the camera reads a poster, the firm's page opens, the inspection starts,
the third attempt is refused; a refused camera falls back to search; foreign codes are never followed."""

import pytest

from logbook import enterprises, qr
from logbook.db import rows, value

from .conftest import LAPTOP, add_enterprise, log_in

SCANNING = "正在识别二维码…"
DENIED = "摄像头权限被拒绝。请允许使用摄像头，或在下方查找企业。"
FOREIGN = "此码不是本系统的企业码，未打开。"


def poster_image(new_context, enterprise):
    """What an operator prints: the real poster page, photographed by the browser as the admin sees it."""
    page = new_context(viewport=LAPTOP).new_page()
    log_in(page, "admin")
    response = page.goto(f"/admin/enterprises/{enterprise['id']}/poster")
    assert response.status == 200
    assert page.locator(".name").inner_text() == enterprise["name"]
    return page.locator(".sheet").screenshot()


def start_inspection(page, co_inspector="li.na", item="SCJG-001"):
    """Tick a co-inspector and an item on the scan page, press start; returns the response."""
    page.check(f'input[name=inspectors][value="{co_inspector}"]')
    page.check(f'input[name=items][value="{item}"]')
    with page.expect_navigation() as navigation:
        page.click("#start-inspection")
    return navigation.value


@pytest.mark.parametrize("source", ["poster page", "qr.png"])
def test_camera_reads_the_poster_and_the_inspection_starts_from_the_firm_page(source, camera, new_context,
                                                                              server, store):
    firm = add_enterprise(store)
    url = enterprises.scan_url(server["url"], firm["qr_token"])
    image = poster_image(new_context, firm) if source == "poster page" else qr.png(url, box_size=8)
    page = camera(image)
    log_in(page, "zhang.wei")

    page.goto("/inspector/scan")
    page.wait_for_url(f"**/q/{firm['qr_token']}")

    assert page.locator("h1").inner_text() == firm["name"]
    assert page.locator("#quota .meter").inner_text() == "已用 0/2"
    response = start_inspection(page)
    inspection_id = value(store, "SELECT id FROM inspections WHERE enterprise_id = ?", [firm["id"]])
    assert response.url.endswith(f"/inspector/inspections/{inspection_id}")
    assert page.locator(".flash.success").inner_text() == "检查已登记。请向企业出示确认码。"
    code = value(store, "SELECT confirm_code FROM inspections WHERE id = ?", [inspection_id])
    assert page.locator("#confirm-code").inner_text() == code
    assert page.locator("#confirmation .qr svg").is_visible()
    assert rows(store, "SELECT entry, kind, counted, status FROM inspections WHERE id = ?", [inspection_id]) == [
        {"entry": "scan", "kind": "routine", "counted": 1, "status": "open"}]
    assert [r["username"] for r in rows(store, """SELECT u.username FROM inspection_inspectors i
        JOIN users u ON u.id = i.user_id WHERE i.inspection_id = ? ORDER BY u.username""", [inspection_id])] == [
        "li.na", "zhang.wei"]
    assert value(store, """SELECT it.code FROM inspection_items ii JOIN items it ON it.id = ii.item_id
        WHERE ii.inspection_id = ?""", [inspection_id]) == "SCJG-001"


def test_third_routine_inspection_on_the_same_firm_is_refused_on_the_page(new_context, store):
    firm = add_enterprise(store)
    page = new_context().new_page()
    log_in(page, "zhang.wei")
    for used in (0, 1):
        page.goto(f"/q/{firm['qr_token']}")
        assert page.locator("#quota .meter").inner_text() == f"已用 {used}/2"
        assert start_inspection(page).status == 200

    page.goto(f"/q/{firm['qr_token']}")
    assert page.locator("#quota .meter.full").inner_text() == "已用 2/2"
    refused = start_inspection(page)

    assert refused.status == 409
    refusal = page.locator("#refusal")
    assert refusal.is_visible()
    assert refusal.get_attribute("role") == "alert"
    text = refusal.inner_text()
    assert text.startswith("已拒绝：该企业在本期间已接受 2 次计入限额的检查，上限为 2 次")
    assert text.endswith("本次尝试已记录并报送执法监督机构。")
    assert value(store, "SELECT count(*) FROM inspections WHERE enterprise_id = ?", [firm["id"]]) == 2
    assert rows(store, "SELECT kind, used, max FROM refusals WHERE enterprise_id = ?", [firm["id"]]) == [
        {"kind": "routine", "used": 2, "max": 2}]


def test_refused_camera_says_so_and_the_manual_search_finds_the_firm(camera, store):
    firm = add_enterprise(store)
    page = camera(allow=False)
    log_in(page, "zhang.wei")
    page.goto("/inspector/scan")

    status = page.locator("#scanner-status[data-state=denied]")
    status.wait_for()
    assert status.inner_text() == DENIED
    assert page.evaluate("window.scanError") == "NotAllowedError"
    assert page.locator("#start-camera").is_visible()

    page.get_by_label("统一社会信用代码或企业名称").fill(firm["usci"])
    with page.expect_navigation():
        page.get_by_role("button", name="搜索").click()
    with page.expect_navigation():
        page.get_by_role("link", name=firm["name"]).click()
    assert page.url.endswith(f"/inspector/manual/{firm['usci']}")
    assert page.locator("h1").inner_text() == firm["name"]
    assert page.get_by_text("手工登记：本次检查将标记为未扫码。").is_visible()
    assert start_inspection(page).status == 200
    assert value(store, "SELECT entry FROM inspections WHERE enterprise_id = ?", [firm["id"]]) == "manual"


def test_camera_without_a_code_keeps_looking_and_opens_nothing(camera):
    page = camera()  # Chromium's moving test pattern: a picture, but no QR code in it
    log_in(page, "zhang.wei")
    page.goto("/inspector/scan")

    status = page.locator("#scanner-status[data-state=scanning]")
    status.wait_for()
    assert status.inner_text() == SCANNING
    page.wait_for_timeout(1500)  # dozens of frames decoded, none of them a code
    assert page.url.endswith("/inspector/scan")
    assert page.evaluate("window.scanResult === undefined && window.scanError === undefined")
    assert page.locator("#scanner-status").get_attribute("data-state") == "scanning"


@pytest.mark.parametrize("code", ["https://evil.example/q/xxxxxxxxxxxxxxxxxxxxxx",
                                  "http://127.0.0.1.evil.example/q/xxxxxxxxxxxxxxxxxxxxxx",
                                  "{base}/inspector/"])
def test_code_of_another_site_or_page_is_not_followed(code, camera, server):
    code = code.format(base=server["url"])
    page = camera(qr.png(code, box_size=8))
    log_in(page, "zhang.wei")
    page.goto("/inspector/scan")

    status = page.locator("#scanner-status[data-state=foreign]")
    status.wait_for()
    assert status.inner_text() == FOREIGN
    assert page.evaluate("window.scanResult") == code
    page.wait_for_timeout(300)  # a wrongly followed link would have started loading by now
    assert page.url == f"{server['url']}/inspector/scan"
