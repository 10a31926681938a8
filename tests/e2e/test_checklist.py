"""The checklist at the door in a real browser at phone size: 张伟 walks the checklist of an open inspection, each
answer saved as he gives it, a fail with its note and a photo from the camera input; a reload, a network gone offline
and a request that never arrives lose nothing; he answers the rest, closes, and the closed inspection shows the
photo; the firm's person, on a phone too, sees the record with the photo and answers the findings (陈述申辩). The
buttons are a thumb's height and nothing is wider than the 390 px screen."""

import io
import json
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageDraw

from logbook import accounts, inspections
from logbook.db import rows

from .conftest import PHONE, add_enterprise, add_firm_user, log_in, today_plus

TZ = ZoneInfo("Asia/Shanghai")
ITEMS = ["SCJG-001", "SCJG-002"]  # the demo's food and special-equipment items: 4 + 3 checkpoints
NOTE = "灭火器压力表指针位于红区，压力不足"


def a_jpeg():
    """A photo as a phone camera takes it: a red extinguisher on a grey wall, 1200 x 900."""
    picture = Image.new("RGB", (1200, 900), (176, 180, 186))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((520, 220, 680, 820), fill=(200, 30, 30))
    draw.rectangle((560, 150, 640, 220), fill=(40, 40, 40))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90)
    return out.getvalue()


def saved(store, inspection_id):
    """{checkpoint id: (outcome, note)} as the server holds them."""
    return {r["checkpoint_id"]: (r["outcome"], r["note"]) for r in rows(
        store, "SELECT checkpoint_id, outcome, note FROM inspection_checkpoints WHERE inspection_id = ?", [inspection_id])}


def eventually(check, seconds=10):
    """Wait until check() is true (the page saves in the background)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("the page did not save in time")
        time.sleep(0.05)


def answered(page):
    return int(page.locator("#progress").get_attribute("data-answered"))


def fits_the_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.fixture
def inspection(store):
    """An open routine inspection of a fresh enterprise by 张伟 and 李娜 with the demo's checklists of two items."""
    firm = add_enterprise(store)
    zhang = accounts.user_by_username(store, "zhang.wei")
    inspection_id = inspections.record_inspection(store, zhang, inspections.StartRequest(
        qr_token=firm["qr_token"], kind="routine", inspectors=["li.na"], items=ITEMS), datetime.now(UTC), TZ)
    return {"id": inspection_id, "firm_user": add_firm_user(store, firm),
            "checkpoints": [c["id"] for c in inspections.inspection(store, inspection_id)["checkpoints"]]}


def test_an_inspector_walks_the_checklist_on_a_phone_and_nothing_is_lost(new_context, store, inspection):
    inspection_id, ids = inspection["id"], inspection["checkpoints"]
    assert len(ids) == 7
    context = new_context(viewport=PHONE)
    page = context.new_page()
    problems = []  # script errors and CSP violations; failed requests while offline are expected
    page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text and problems.append(m.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, "zhang.wei")
    page.goto(f"/inspector/inspections/{inspection_id}")
    assert page.locator("#progress").get_attribute("data-total") == "7" and answered(page) == 0

    # Three big buttons per checkpoint, a camera button each, all a thumb's height, nothing wider than the phone.
    assert page.locator("label.choice").count() == 21
    for button in page.locator("label.choice span").all() + page.locator("label.camera").all():
        assert button.bounding_box()["height"] >= 44
    fits_the_phone(page)

    # Answers are saved as they are given.
    for checkpoint in ids[:3]:
        page.click(f"#checkpoint-{checkpoint} label.choice.pass")
    eventually(lambda: [saved(store, inspection_id)[c] for c in ids[:3]] == [("pass", None)] * 3)
    assert answered(page) == 3

    # A fail asks for a note, and gets a photo through the checkpoint's camera input.
    note = page.locator(f"#note-{ids[3]}")
    assert not note.is_visible()
    page.click(f"#checkpoint-{ids[3]} label.choice.fail")
    assert note.is_visible()
    note.fill(NOTE)
    eventually(lambda: saved(store, inspection_id)[ids[3]] == ("fail", NOTE))
    page.set_input_files(f"#camera-{ids[3]}", files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg",
                                                      "buffer": a_jpeg()}])
    thumbnail = page.locator(f"#photos-{ids[3]} img")
    thumbnail.wait_for()
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=thumbnail.element_handle())
    photo = rows(store, "SELECT id, checkpoint_id FROM photos WHERE inspection_id = ?", [inspection_id])
    assert [p["checkpoint_id"] for p in photo] == [ids[3]]
    fits_the_phone(page)

    # A reload mid-way: every answer, the note and the photo are still there.
    page.reload()
    for checkpoint in ids[:3]:
        assert page.locator(f"#checkpoint-{checkpoint} input[value=pass]").is_checked()
    assert page.locator(f"#checkpoint-{ids[3]} input[value=fail]").is_checked()
    assert page.locator(f"#note-{ids[3]}").input_value() == NOTE
    assert page.locator(f"#photos-{ids[3]} img").count() == 1
    assert answered(page) == 4

    # Offline: the answer waits on the phone and is saved when the network is back.
    context.set_offline(True)
    page.click(f"#checkpoint-{ids[4]} label.choice.na")
    page.wait_for_selector("#save-status[data-state=pending]")
    assert saved(store, inspection_id)[ids[4]] == (None, None)
    kept = json.loads(page.evaluate(f"localStorage.getItem('logbook-checklist-{inspection_id}')"))
    assert kept[str(ids[4])]["outcome"] == "na"
    context.set_offline(False)
    page.wait_for_selector("#save-status[data-state=saved]", timeout=20_000)
    assert saved(store, inspection_id)[ids[4]] == ("na", None)

    # A request that never arrives, then a reload: the answer kept on the phone is shown again and sent.
    page.route("**/answers", lambda route: route.abort())
    page.click(f"#checkpoint-{ids[5]} label.choice.pass")
    page.wait_for_selector("#save-status[data-state=pending]")
    page.reload()
    assert page.locator(f"#checkpoint-{ids[5]} input[value=pass]").is_checked()
    assert saved(store, inspection_id)[ids[5]] == (None, None)
    page.unroute("**/answers")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#save-status[data-state=saved]")
    assert saved(store, inspection_id)[ids[5]] == ("pass", None)

    # The last answer, and the inspection closes with the rectification order.
    page.click(f"#checkpoint-{ids[6]} label.choice.pass")
    assert answered(page) == 7
    page.select_option("#result", "rectify")
    page.fill("#findings", "灭火器压力不足，责令更换")
    page.fill("#rectify_by", today_plus(15))
    with page.expect_navigation():
        page.click("#close-inspection")
    assert page.locator(".flash.success").inner_text() == "检查已结束。"
    assert page.locator("#status").inner_text() == "已结束"
    assert saved(store, inspection_id) == {c: ("fail", NOTE) if c == ids[3] else ("na", None) if c == ids[4]
                                           else ("pass", None) for c in ids}

    # The closed inspection shows the outcome, the note and the photo; nothing is left pending on the phone.
    shown = page.locator(f'img[src="/inspections/{inspection_id}/photos/{photo[0]["id"]}"]')
    shown.wait_for()
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=shown.element_handle())
    assert NOTE in page.locator("main").inner_text()
    assert page.locator("#close-form").count() == 0
    assert page.evaluate(f"localStorage.getItem('logbook-checklist-{inspection_id}')") is None
    fits_the_phone(page)
    assert problems == []

    # The firm's person, on their own phone, sees the record with the failed checkpoint and its photo, and answers it.
    firm = new_context(viewport=PHONE).new_page()
    firm.on("pageerror", lambda error: problems.append(str(error)))
    log_in(firm, inspection["firm_user"])
    firm.goto(f"/firm/inspections/{inspection_id}")
    results = firm.locator("#results")
    assert NOTE in results.inner_text() and "不合格" in results.inner_text()
    seen = firm.locator(f'#results img[src="/inspections/{inspection_id}/photos/{photo[0]["id"]}"]')
    seen.wait_for()
    firm.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=seen.element_handle())
    firm.fill("#statement", "灭火器已于当日更换，请予复查。")
    with firm.expect_navigation():
        firm.click("text=提交陈述申辩")
    assert firm.locator(".flash.success").inner_text() == "您的陈述申辩已记录，显示在检查发现旁。"
    assert "灭火器已于当日更换，请予复查。" in firm.locator("#answer").inner_text()
    assert rows(store, "SELECT text FROM statements WHERE inspection_id = ?", [inspection_id]) == [
        {"text": "灭火器已于当日更换，请予复查。"}]
    assert firm.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert problems == []
