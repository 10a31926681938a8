"""A task's whole life in real browsers: 张伟 plans an inspection of 明辉机械 on his phone with 李娜 and notice on, the
head of 市场监督管理局 approves it on a laptop, the firm reads the notice on its phone and proposes a day, 张伟 accepts
the day, and at the firm's door the scan page offers the task and starts it with one tap.

The server is a gunicorn of its own with LOGBOOK_NOTICE_DAYS=0, so one task whose window opens today can both give
notice and be started today (with the default of 3 days the window would have to open 3 days after the approval);
its database holds the demo data and a head of SCJG, and no other test's rows.
"""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from logbook import accounts, db, demo
from logbook.db import rows, value

from .conftest import HASH, LAPTOP, PASSWORD, gunicorn, log_in, watched_pages

TZ = ZoneInfo("Asia/Shanghai")  # the server's LOGBOOK_TIMEZONE: task windows are its local dates
INSPECTOR, INSPECTOR_NAME, INSPECTOR_CERT = "zhang.wei", "张伟", "43020001"
COLLEAGUE, COLLEAGUE_NAME, COLLEAGUE_CERT = "li.na", "李娜", "43020002"
FIRM_USER = "firm.minghui"  # the firm login of the first demo enterprise
HEAD, HEAD_NAME = "head.scjg", "市监局长"  # created unless the demo data has a head of SCJG (it has: head.scjg)
AGENCY, AGENCY_NAME = "SCJG", "市场监督管理局"
ITEM, ITEM_NAME, ITEM_BASIS = "SCJG-001", "食品经营许可情况检查", "《中华人民共和国食品安全法》第三十五条"
REASON = "年度抽查计划：核查食品经营许可"
NOTE = "同意，按期检查"
RIGHTS = ["陈述、申辩的权利", "申请与本单位有利害关系的执法人员回避的权利", "要求执法人员出示执法证件的权利",
          "对违法或不当检查在本平台或向司法行政部门投诉的权利"]


@pytest.fixture(scope="module")
def notice_server(tmp_path_factory):
    """A gunicorn of its own (two workers) with LOGBOOK_NOTICE_DAYS=0 on a fresh database with the demo data and
    a head of SCJG; yields its URL, its database path and the head's username."""
    folder = tmp_path_factory.mktemp("tasks")
    path = str(folder / "logbook.db")
    store = db.connect(path)
    db.migrate(store)
    demo.load(store, datetime.now(TZ).date(), datetime.now(UTC), TZ, hash_method=HASH)
    head = value(store, """SELECT u.username FROM users u JOIN agencies a ON a.id = u.agency_id
        WHERE u.role = 'head' AND u.active = 1 AND a.code = ? ORDER BY u.id LIMIT 1""", [AGENCY])
    if head is None:
        accounts.add_user(store, HEAD, PASSWORD, "head", name=HEAD_NAME, agency=AGENCY, hash_method=HASH)
        head = HEAD
    store.conn.close()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LOGBOOK_NOTICE_DAYS", "0")  # gunicorn() hands os.environ to the server
        with gunicorn(path, folder, workers=2) as url:
            yield {"url": url, "database": path, "head": head}


@pytest.fixture
def store(notice_server):
    """A connection to that server's database, to read the rows the pages wrote."""
    connection = db.connect(notice_server["database"])
    yield connection
    connection.conn.close()


@pytest.fixture
def person(browser, notice_server):
    """Open a browser of one's own (own cookies, Chinese, phone size unless told) on that server; returns its page.
    Every console error, CSP violation (Chromium reports them as console errors) or uncaught script error on any
    of these pages fails the test at its end."""
    with watched_pages(browser, notice_server["url"]) as open_page:
        yield open_page


def flash(page):
    """The success message the page shows after a form (a missing one times out)."""
    return page.locator(".flash.success").inner_text()


def fact(page, term):
    """The text of a fact in a `dl.facts` (the dd after the dt reading `term`)."""
    return page.locator(f'dl.facts dt:text-is("{term}") + dd').inner_text()


def list_under(page, term):
    """The lines of the list in the dd after the dt reading `term` (the notice's items, inspectors, rights)."""
    return page.locator(f'dl.facts dt:text-is("{term}") + dd li').all_inner_texts()


def steps(store, task_id):
    return [r["action"] for r in rows(store, "SELECT action FROM task_steps WHERE task_id = ? ORDER BY id", [task_id])]


def plan_the_inspection(page, store, firm, window_start, window_end):
    """Step 1, 张伟 on his phone: from his home to the plan form, the firm found by part of its name; window,
    one item and 李娜 ticked, the reason written, notice left on; submitted, the task waits for approval."""
    page.get_by_role("link", name="计划一次检查", exact=True).click()
    page.wait_for_url("**/tasks/new")
    assert page.get_by_text("计划检查：先找到企业。").is_visible()
    page.get_by_label("统一社会信用代码或企业名称").fill("明辉机械")
    with page.expect_navigation():
        page.get_by_role("button", name="搜索").click()
    with page.expect_navigation():
        page.get_by_role("link", name=firm["name"]).click()
    assert page.locator("h1").inner_text() == "计划一次检查"
    assert page.locator("h1 + p").inner_text() == f"{firm['name']}\n{firm['usci']}"

    assert page.get_by_label("检查类型").input_value() == "routine"
    page.get_by_label("开始日期").fill(window_start)
    page.get_by_label("结束日期（含）").fill(window_end)
    item = page.locator(f'input[name=items][value="{ITEM}"]')
    assert item.locator("xpath=ancestor::label").inner_text().strip() == ITEM_NAME
    item.check()
    colleague = page.locator(f'input[name=inspectors][value="{COLLEAGUE}"]')
    assert colleague.locator("xpath=ancestor::label").inner_text().strip() == f"{COLLEAGUE_NAME} · {COLLEAGUE_CERT}"
    colleague.check()
    page.get_by_label("依据和事由").fill(REASON)
    notice = page.get_by_label("提前通知企业（检查预告）")
    assert notice.is_checked(), "notice is on by default"
    submit = page.locator("#submit-task")
    assert submit.is_visible() and submit.inner_text() == "提交审批"
    with page.expect_navigation() as navigation:
        submit.click()
    assert navigation.value.status == 200, page.inner_text("main")

    found = re.search(r"/tasks/(\d+)$", page.url)
    assert found, f"not on a task's page after submitting: {page.url}"
    task_id = int(found[1])
    assert flash(page) == "任务已提交本机关负责人审批。"
    assert page.locator("#task h1").inner_text() == f"任务 {task_id} 等待审批"
    assert fact(page, "企业") == f"{firm['name']} {firm['usci']}"
    assert fact(page, "期间") == f"{window_start} – {window_end}"
    assert fact(page, "执法人员") == f"{COLLEAGUE_NAME} ({COLLEAGUE_CERT})、{INSPECTOR_NAME} ({INSPECTOR_CERT})"
    assert fact(page, "检查事项") == f"{ITEM_NAME} ({ITEM_BASIS})"
    assert fact(page, "提前通知企业") == "是"
    assert page.locator("#approve").count() == 0, "the drafter does not approve his own task"
    assert page.locator("#cancel").is_visible(), "the drafter may cancel it"

    assert rows(store, """SELECT kind, window_start, window_end, reason, notice, status, source FROM tasks
        WHERE id = ?""", [task_id]) == [{"kind": "routine", "window_start": window_start, "window_end": window_end,
                                         "reason": REASON, "notice": 1, "status": "submitted", "source": "manual"}]
    assert steps(store, task_id) == ["draft"]
    return task_id


def approve_the_task(page, store, firm, task_id, head, window_start, window_end):
    """Step 2, the head on a laptop: the home is the approvals waiting, the task is there; opened and approved
    with a note; the firm gets the notice in its inbox."""
    assert page.url.endswith("/tasks/"), f"the head's home is {page.url}"
    assert page.locator(".tabs a[aria-current=page]").inner_text() == "等待审批"
    # the demo's own waiting tasks are listed too: this one is the row linking to it
    waiting = page.locator("ul.records li", has=page.locator(f'a[href="/tasks/{task_id}"]'))
    assert waiting.locator("a").inner_text() == firm["name"]
    assert waiting.locator(".badge").inner_text() == "等待审批"
    assert f"日常检查 · {window_start} – {window_end} · {AGENCY_NAME}" in waiting.inner_text()
    with page.expect_navigation():
        waiting.get_by_role("link", name=firm["name"]).click()
    assert page.url.endswith(f"/tasks/{task_id}")
    assert fact(page, "依据和事由") == REASON
    for button, text in (("#approve", "批准"), ("#reject", "不予批准"), ("#cancel", "取消任务")):
        assert page.locator(button).is_visible(), f"the head sees no {button} button"
        assert page.locator(button).inner_text() == text
    page.get_by_label("意见（不予批准或取消时必填）").fill(NOTE)
    with page.expect_navigation() as navigation:
        page.locator("#approve").click()
    assert navigation.value.status == 200, page.inner_text("main")

    assert page.url.endswith(f"/tasks/{task_id}")
    assert flash(page) == "任务已批准。"
    assert page.locator("#task h1 .badge").inner_text() == "已批准"
    assert page.locator("#approve").count() == 0, "an approved task is not approved twice"
    head_id, head_name = rows(store, "SELECT id, name FROM users WHERE username = ?", [head])[0].values()
    assert page.locator("#steps li").last.inner_text().split(" · ", 1)[1] == f"已批准 · {head_name}\n{NOTE}"

    assert rows(store, "SELECT status, decided_by, note FROM tasks WHERE id = ?", [task_id]) == [
        {"status": "approved", "decided_by": head_id, "note": NOTE}]
    assert rows(store, "SELECT enterprise_id, kind FROM notifications WHERE task_id = ?", [task_id]) == [
        {"enterprise_id": firm["id"], "kind": "notice"}]


def read_the_notice_and_propose_a_day(page, store, task_id, firm, window_start, window_end, day):
    """Step 3, the firm on its phone: the notice in the inbox and among the notices; the notice itself names the
    agency, the items with their basis, the inspectors with their certificates and the firm's rights; a day inside
    the window is proposed."""
    inbox = page.get_by_role("link", name=re.compile(r"^消息"))
    assert re.fullmatch(r"消息 \(\d+\)", inbox.inner_text()), "the unread notice shows on the inbox tab"
    with page.expect_navigation():
        inbox.click()
    message = page.locator("ul.records li", has=page.locator(f'a[href="/firm/notices/{task_id}"]'))
    assert f"检查预告：{AGENCY_NAME} 将于 {window_start} 至 {window_end} 期间入企检查。" in message.inner_text()
    assert message.get_by_role("link").inner_text() == "查看"

    with page.expect_navigation():
        page.get_by_role("link", name="检查预告", exact=True).click()
    assert page.locator("h1").inner_text() == "检查预告"
    listed = page.locator("ul.records li", has=page.locator(f'a[href="/firm/notices/{task_id}"]'))
    assert listed.inner_text().splitlines() == [f"{AGENCY_NAME} · {window_start} – {window_end}", ITEM_NAME]
    with page.expect_navigation():
        listed.get_by_role("link", name=AGENCY_NAME).click()

    assert page.url.endswith(f"/firm/notices/{task_id}")
    assert page.locator("#notice h1").inner_text() == f"{AGENCY_NAME}\n行政检查通知书"
    assert page.get_by_text(f"{firm['name']}（统一社会信用代码 {firm['usci']}）：").is_visible()
    assert page.get_by_text(f"根据有关法律规定，本机关将于 {window_start} 至 {window_end} 期间对你单位进行行政检查。"
                            ).is_visible()
    assert list_under(page, "检查事项及依据") == [f"{ITEM_NAME}（{ITEM_BASIS}）"]
    assert list_under(page, "执法人员") == [f"{COLLEAGUE_NAME} · 执法证 {COLLEAGUE_CERT}",
                                          f"{INSPECTOR_NAME} · 执法证 {INSPECTOR_CERT}"]
    assert list_under(page, "你单位享有的权利") == RIGHTS
    assert fact(page, "依据和事由") == REASON

    day_input = page.get_by_label("企业方便的日期")
    assert (day_input.get_attribute("min"), day_input.get_attribute("max")) == (window_start, window_end)
    day_input.fill(day)
    propose = page.locator("#propose-day")
    assert propose.is_visible() and propose.inner_text() == "提交建议日期"
    with page.expect_navigation() as navigation:
        propose.click()
    assert navigation.value.status == 200, page.inner_text("main")
    assert flash(page) == "建议日期已发送给执法人员。"
    assert page.locator("#proposal").inner_text() == f"你单位建议 {day} · 等待执法人员答复"
    assert rows(store, "SELECT proposed_day, proposal_answer FROM tasks WHERE id = ?", [task_id]) == [
        {"proposed_day": day, "proposal_answer": None}]


def accept_the_day(page, store, task_id, day):
    """Step 4, 张伟 on his phone: his task page shows the day the firm proposed; he accepts it."""
    page.goto(f"/tasks/{task_id}")
    assert page.locator("#task h1 .badge").inner_text() == "已批准"
    assert page.locator("#proposal").inner_text().strip() == f"企业建议 {day}。"
    assert page.locator("#decline-day").is_visible()
    accept = page.locator("#accept-day")
    assert accept.is_visible() and accept.inner_text() == "同意该日期"
    with page.expect_navigation():
        accept.click()
    assert page.url.endswith(f"/tasks/{task_id}")
    assert flash(page) == "执法人员已同意"
    assert page.locator("#proposal").inner_text().startswith(f"企业建议 {day}。 执法人员已同意")
    assert page.get_by_text("到企业后扫码：扫码页面会提示执行此任务。").is_visible()
    assert rows(store, "SELECT proposed_day, proposal_answer FROM tasks WHERE id = ?", [task_id]) == [
        {"proposed_day": day, "proposal_answer": "accepted"}]


def start_at_the_door(page, store, firm, task_id, window_start, window_end):
    """Step 5, 张伟 at the firm's door: the scan page offers the approved task covering today; one tap starts it."""
    page.goto(f"/q/{firm['qr_token']}")
    assert page.locator("h1").inner_text() == firm["name"]
    ready = page.locator("#tasks-ready")
    assert ready.is_visible(), "the scan page offers no task"
    assert ready.locator("h2").inner_text() == "今天可执行的已批准任务"
    offered = ready.locator("li", has=page.locator(f"#start-task-{task_id}"))
    assert offered.inner_text().splitlines()[:2] == [  # the day agreed with the firm (step 4) is today
        f"日常检查 · {window_start} – {window_end} · 已与企业约定 {window_start}",
        f"{ITEM_NAME} · {COLLEAGUE_NAME}、{INSPECTOR_NAME}"]
    start = page.locator(f"#start-task-{task_id}")
    assert start.is_visible() and start.inner_text() == "执行此任务"
    with page.expect_navigation() as navigation:
        start.click()
    assert navigation.value.status == 200, page.inner_text("main")

    inspection_id = value(store, "SELECT inspection_id FROM tasks WHERE id = ?", [task_id])
    assert inspection_id is not None, "the task names no inspection"
    assert page.url.endswith(f"/inspector/inspections/{inspection_id}")
    assert flash(page) == "检查已登记。请向企业出示确认码。"
    assert page.locator("h1").inner_text() == firm["name"]
    assert fact(page, "执法人员") == f"{COLLEAGUE_NAME} ({COLLEAGUE_CERT})、{INSPECTOR_NAME} ({INSPECTOR_CERT})"
    assert fact(page, "检查事项") == ITEM_NAME
    assert page.locator("#confirm-code").is_visible()
    return inspection_id


def test_a_task_is_planned_approved_announced_agreed_with_the_firm_and_started_at_the_door_with_one_tap(
        person, notice_server, store):
    """张伟 plans it on his phone (notice on, 李娜 with him), the head approves it with a note, the firm reads the
    notice (agency, items and basis, inspectors and certificates, rights) and proposes today, 张伟 accepts, and the
    scan page starts the task: the inspection has the task's item and both inspectors, and the task is done."""
    today = datetime.now(TZ).date()
    window_start, window_end, day = today.isoformat(), (today + timedelta(days=7)).isoformat(), today.isoformat()
    firm = rows(store, "SELECT id, usci, name, qr_token FROM enterprises WHERE usci = ?",
                [demo.demo_usci(demo.ENTERPRISES[0][0])])[0]  # the enterprise firm.minghui speaks for

    inspector = person()
    log_in(inspector, INSPECTOR)
    task_id = plan_the_inspection(inspector, store, firm, window_start, window_end)

    head = person(LAPTOP)
    log_in(head, notice_server["head"])
    approve_the_task(head, store, firm, task_id, notice_server["head"], window_start, window_end)

    firm_page = person()
    log_in(firm_page, FIRM_USER)
    read_the_notice_and_propose_a_day(firm_page, store, task_id, firm, window_start, window_end, day)

    accept_the_day(inspector, store, task_id, day)
    firm_page.reload()
    assert firm_page.locator("#proposal").inner_text() == f"你单位建议 {day}: 执法人员已同意"

    inspection_id = start_at_the_door(inspector, store, firm, task_id, window_start, window_end)
    assert rows(store, "SELECT enterprise_id, entry, kind, counted, status FROM inspections WHERE id = ?",
                [inspection_id]) == [{"enterprise_id": firm["id"], "entry": "scan", "kind": "routine", "counted": 1,
                                      "status": "open"}]
    assert [r["username"] for r in rows(store, """SELECT u.username FROM inspection_inspectors ii
        JOIN users u ON u.id = ii.user_id WHERE ii.inspection_id = ? ORDER BY u.username""", [inspection_id])] == [
        COLLEAGUE, INSPECTOR]
    assert [r["code"] for r in rows(store, """SELECT it.code FROM inspection_items ii JOIN items it ON it.id = ii.item_id
        WHERE ii.inspection_id = ?""", [inspection_id])] == [ITEM]
    assert [r["code"] for r in rows(store, """SELECT a.code FROM inspection_agencies ia
        JOIN agencies a ON a.id = ia.agency_id WHERE ia.inspection_id = ?""", [inspection_id])] == [AGENCY]
    assert rows(store, "SELECT status, inspection_id FROM tasks WHERE id = ?", [task_id]) == [
        {"status": "done", "inspection_id": inspection_id}]
    assert steps(store, task_id) == ["draft", "approved", "proposed", "accepted", "done"]

    inspector.goto(f"/tasks/{task_id}")
    assert inspector.locator("#task h1 .badge").inner_text() == "已执行"
    assert fact(inspector, "检查") == str(inspection_id)
