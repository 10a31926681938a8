"""The firm in a real browser, beside the inspector: see the record, confirm with the inspector's code,
read the result once the inspector closes it, rate it, complain about it."""

import re

from logbook.db import rows, value

from .conftest import add_enterprise, add_firm_user, log_in, today_plus


def test_firm_sees_confirms_rates_and_complains_about_an_inspection(new_context, store):
    firm = add_enterprise(store)
    firm_user = add_firm_user(store, firm)
    inspector = new_context().new_page()
    log_in(inspector, "zhang.wei")
    inspector.goto(f"/q/{firm['qr_token']}")
    inspector.check('input[name=inspectors][value="li.na"]')
    inspector.check('input[name=items][value="SCJG-001"]')
    with inspector.expect_navigation():
        inspector.click("#start-inspection")
    code = inspector.locator("#confirm-code").inner_text()
    inspection_id = value(store, "SELECT id FROM inspections WHERE enterprise_id = ?", [firm["id"]])
    assert code == value(store, "SELECT confirm_code FROM inspections WHERE id = ?", [inspection_id])

    # The firm logs in and finds the visit among its records, with who came and for what.
    page = new_context().new_page()
    log_in(page, firm_user)
    assert page.url.endswith("/firm/")
    assert page.locator("h1").inner_text() == firm["name"]
    assert page.locator("#quota .meter").inner_text() == "已用 1/2"
    record = page.locator("li.record")
    assert record.count() == 1
    assert "日常检查" in record.inner_text()
    assert "张伟" in record.inner_text() and "李娜" in record.inner_text()
    with page.expect_navigation():
        record.get_by_role("link").click()
    assert page.url.endswith(f"/firm/inspections/{inspection_id}")
    assert "食品经营许可情况检查" in page.locator("main").inner_text()
    assert page.locator("#evaluation p").inner_text() == "检查结束后即可评价。"

    # A wrong code is refused with a reason; the inspector's code confirms the visit.
    page.get_by_label("执法人员出示的确认码").fill("000000" if code != "000000" else "111111")
    with page.expect_navigation() as wrong:
        page.get_by_role("button", name="确认", exact=True).click()
    assert wrong.value.status == 422
    assert page.get_by_role("alert").inner_text() == "确认码错误，请核对执法人员手机上显示的数字。"
    page.get_by_label("执法人员出示的确认码").fill(code)
    with page.expect_navigation():
        page.get_by_role("button", name="确认", exact=True).click()
    assert page.locator(".flash.success").inner_text() == "谢谢，您已确认本次检查。"
    assert re.fullmatch(r"您已于 \d{4}/\d{1,2}/\d{1,2} \d\d:\d\d 确认本次检查。", page.locator("#confirmation p").inner_text())
    assert value(store, "SELECT confirmed_at IS NOT NULL FROM inspections WHERE id = ?", [inspection_id]) == 1

    # The inspector sees the confirmation, then closes the inspection with a rectification order.
    inspector.reload()
    assert inspector.locator("#confirmation").count() == 0
    assert "尚未确认" not in inspector.locator("dl.facts").inner_text()
    for button in inspector.locator("label.choice.pass").all():  # the checklist first: every checkpoint passed
        button.click()
    inspector.get_by_label("检查结果").select_option("rectify")
    inspector.get_by_label("检查发现").fill("灭火器过期两具")
    inspector.get_by_label("整改期限").fill(today_plus(30))
    with inspector.expect_navigation():
        inspector.get_by_role("button", name="结束检查").click()
    assert inspector.locator(".flash.success").inner_text() == "检查已结束。"
    assert inspector.locator("#status").inner_text() == "已结束"

    # The firm reads the result and rates the inspection once.
    page.reload()
    assert page.locator("#findings").inner_text() == "灭火器过期两具"
    assert "责令整改" in page.locator("dl.facts").inner_text()
    page.get_by_label("评分").select_option("4")
    page.get_by_label("意见（仅司法行政执法监督机构可见）").fill("态度很好，但来得太频繁。")
    with page.expect_navigation():
        page.get_by_role("button", name="提交评价").click()
    assert page.locator(".flash.success").inner_text() == "感谢您的评价。评价仅司法行政执法监督机构可见。"
    assert page.locator("#evaluation p").all_inner_texts() == ["您的评价：★★★★", "态度很好，但来得太频繁。"]
    assert page.locator("#evaluation form").count() == 0

    # The firm complains about this inspection; the complaint is listed with its number.
    with page.expect_navigation():
        page.get_by_role("link", name="投诉本次检查").click()
    assert page.get_by_label("检查编号（可选）").input_value() == str(inspection_id)
    page.get_by_label("投诉类型").select_option("too_frequent")
    page.get_by_label("投诉内容").fill("一个月内被检查两次。")
    with page.expect_navigation():
        page.get_by_role("button", name="提交投诉").click()
    assert page.url.endswith("/firm/complaints")
    assert page.locator(".flash.success").inner_text() == "您的投诉已提交司法行政执法监督机构。"
    listed = page.locator("ul.records li").inner_text()
    assert "检查过于频繁" in listed and f"检查 {inspection_id}" in listed and "一个月内被检查两次。" in listed

    assert rows(store, "SELECT rating, comment FROM evaluations WHERE inspection_id = ?", [inspection_id]) == [
        {"rating": 4, "comment": "态度很好，但来得太频繁。"}]
    assert rows(store, "SELECT category, text, status FROM complaints WHERE inspection_id = ?", [inspection_id]) == [
        {"category": "too_frequent", "text": "一个月内被检查两次。", "status": "open"}]
