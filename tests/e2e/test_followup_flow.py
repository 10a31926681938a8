"""A follow-up (督办) going round in real browsers: a firm inspected twice in one day is a `frequent` warning; the
supervisor, on a laptop, opens a follow-up from it on the warnings page, addressed to 市场监督管理局; the agency's head,
on a 390 px phone, finds it from the home page and answers; the supervisor accepts the answer, and every step is
listed. Element ids and the rows written are asserted, so the test holds whatever the catalogue says."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from logbook import accounts, inspections
from logbook.db import row, rows, value

from .conftest import LAPTOP, PHONE, add_enterprise, log_in, watched_pages

TZ = ZoneInfo("Asia/Shanghai")  # the server's LOGBOOK_TIMEZONE
SUPERVISOR, HEAD, AGENCY, AGENCY_NAME = "supervisor", "head.scjg", "SCJG", "市场监督管理局"
REQUEST = "请说明该企业一日两次被检查的原因，并报告是否可以合并"
ANSWER = "两次均为同一投诉的核查，已合并为一次并告知企业"
NOTE = "答复清楚，督办办结"


@pytest.fixture
def person(browser, server):
    """Open a browser of one's own (own cookies, Chinese) at a size; every console error, CSP violation or uncaught
    script error on its pages fails the test at its end."""
    with watched_pages(browser, server["url"]) as open_page:
        yield open_page


@pytest.fixture
def warned(store):
    """A fresh firm inspected twice today by 张伟 and 李娜 (exempt complaint inspections, so no cap stands in the way):
    more than once on a calendar day, a `frequent` warning. Returns the firm, the inspections and the warning's key."""
    firm = add_enterprise(store)
    inspector = accounts.user_by_username(store, "zhang.wei")
    ids = [inspections.record_inspection(store, inspector, inspections.StartRequest(
        qr_token=firm["qr_token"], kind="complaint", reference=f"投诉-E2E-{n}", inspectors=["li.na"],
        items=["SCJG-001"]), datetime.now(UTC), TZ) for n in (1, 2)]
    warning_id = value(store, """SELECT w.id FROM warnings w JOIN warning_inspections wi ON wi.warning_id = w.id
        WHERE wi.inspection_id = ? AND w.kind = 'frequent' AND w.period = 'day'""", [ids[-1]])
    assert warning_id is not None, "two inspections in a day raised no warning"
    return {"firm": firm, "inspections": ids, "key": f"w{warning_id}"}


def flash(page):
    return page.locator(".flash.success")


def fits(page):
    """True when nothing on the page is wider than the screen (no sideways scrolling on the phone)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def open_from_the_warning(page, store, warned):
    """The supervisor on a laptop: the warning lists the firm and links its two inspections; its follow-up button
    opens the form with the warning's reason; addressed to SCJG with a deadline a week ahead, it is sent."""
    page.goto("/supervisor/warnings/")
    item = page.locator(f"#warning-{warned['key']}")
    assert item.is_visible(), "the warning is not listed"
    assert warned["firm"]["name"] in item.inner_text() and warned["firm"]["usci"] in item.inner_text()
    links = item.locator("a.inspection-link")
    assert sorted(int(t) for t in links.all_inner_texts()) == warned["inspections"]
    assert sorted(links.evaluate_all("links => links.map(a => a.getAttribute('href'))")) == sorted(
        f"/supervisor/inspections/{i}" for i in warned["inspections"])
    with page.expect_navigation():
        page.locator(f"#follow-up-{warned['key']}").click()
    assert re.search(rf"/followups/new\?warning={warned['key']}&year=\d{{4}}$", page.url), page.url
    assert warned["firm"]["name"] in page.locator("#about").inner_text()
    assert warned["firm"]["name"] in page.locator("#text").input_value(), "the warning's reason is proposed"
    assert page.locator("#due_on").input_value() == (datetime.now(TZ).date() + timedelta(days=7)).isoformat()
    page.select_option("#agency", AGENCY)
    page.fill("#text", REQUEST)
    with page.expect_navigation() as navigation:
        page.locator("#send-followup").click()
    assert navigation.value.status == 200, page.inner_text("main")
    found = re.search(r"/followups/(\d+)$", page.url)
    assert found, f"not on the follow-up's page: {page.url}"
    followup_id = int(found[1])
    assert flash(page).is_visible()
    assert page.locator("#followup h1 .badge").get_attribute("data-status") == "open"
    assert page.locator("#followup-text").inner_text() == REQUEST
    assert row(store, "SELECT a.code, f.warning_key, f.text, f.status FROM followups f JOIN agencies a "
                      "ON a.id = f.agency_id WHERE f.id = ?", [followup_id]) == {
        "code": AGENCY, "warning_key": warned["key"], "text": REQUEST, "status": "open"}
    return followup_id


def answer_on_the_phone(page, store, followup_id):
    """The head on a 390 px phone: from the home page (the tasks) to the agency's follow-ups, the new one listed;
    opened, answered; nothing wider than the screen on the way."""
    assert page.url.endswith("/tasks/"), f"the head's home is {page.url}"
    with page.expect_navigation():
        page.locator("#my-followups").click()
    assert page.url.endswith("/followups/")
    listed = page.locator(f"#followup-{followup_id}")
    assert listed.is_visible() and AGENCY_NAME in listed.inner_text()
    assert listed.locator(".badge").first.get_attribute("data-status") == "open"
    assert fits(page), "the follow-ups list scrolls sideways at 390 px"
    with page.expect_navigation():
        listed.locator("a").first.click()
    assert page.url.endswith(f"/followups/{followup_id}")
    assert page.locator("#followup-text").inner_text() == REQUEST
    assert page.locator("#accept").count() == 0, "a head does not accept answers"
    answer = page.locator("#answer")
    box = answer.bounding_box()
    assert answer.is_visible() and box["height"] >= 44 and box["x"] + box["width"] <= PHONE["width"]
    page.fill("#text", ANSWER)
    with page.expect_navigation() as navigation:
        answer.click()
    assert navigation.value.status == 200, page.inner_text("main")
    assert flash(page).is_visible()
    assert page.locator("#followup h1 .badge").get_attribute("data-status") == "answered"
    assert page.locator("#answer").count() == 0, "an answered follow-up waits for the supervisor"
    assert fits(page), "the follow-up page scrolls sideways at 390 px"
    assert value(store, "SELECT status FROM followups WHERE id = ?", [followup_id]) == "answered"


def accept_the_answer(page, store, followup_id):
    """The supervisor reads the answer among the steps and accepts it with a note: the follow-up is closed."""
    page.goto(f"/followups/{followup_id}")
    assert ANSWER in page.locator("#steps li[data-action=answer]").inner_text()
    assert page.locator("#return").is_visible()
    page.fill("#text", NOTE)
    with page.expect_navigation() as navigation:
        page.locator("#accept").click()
    assert navigation.value.status == 200, page.inner_text("main")
    assert flash(page).is_visible()
    assert page.locator("#followup h1 .badge").get_attribute("data-status") == "accepted"
    assert page.locator("#steps li").evaluate_all("items => items.map(li => li.dataset.action)") == [
        "open", "answer", "accept"]
    assert NOTE in page.locator("#steps li[data-action=accept]").inner_text()
    assert page.locator("#next-step").count() == 0, "an accepted follow-up takes no more steps"


def test_a_follow_up_goes_from_a_warning_to_the_agencys_head_and_back_to_the_supervisor(person, store, warned):
    supervisor = person(LAPTOP)
    log_in(supervisor, SUPERVISOR)
    followup_id = open_from_the_warning(supervisor, store, warned)

    head = person(PHONE)
    log_in(head, HEAD)
    answer_on_the_phone(head, store, followup_id)

    accept_the_answer(supervisor, store, followup_id)
    head_name, supervisor_name = (value(store, "SELECT name FROM users WHERE username = ?", [u]) for u in (HEAD, SUPERVISOR))
    assert rows(store, """SELECT s.action, s.text, u.name FROM followup_steps s JOIN users u ON u.id = s.user_id
        WHERE s.followup_id = ? ORDER BY s.id""", [followup_id]) == [
        {"action": "open", "text": REQUEST, "name": supervisor_name}, {"action": "answer", "text": ANSWER, "name": head_name},
        {"action": "accept", "text": NOTE, "name": supervisor_name}]
    assert value(store, "SELECT status FROM followups WHERE id = ?", [followup_id]) == "accepted"
    head.reload()
    assert head.locator("#followup h1 .badge").get_attribute("data-status") == "accepted"
