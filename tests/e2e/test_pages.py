"""Every main page in a real browser: it renders, fits a 360 px phone without sideways scrolling, passes
axe-core without serious or critical violations, and the README's screenshots are taken from it."""

import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from logbook import accounts, db, feedback, inspections

from .conftest import LAPTOP, NARROW, PHONE, REPO, add_enterprise, add_firm_user, log_in

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
SCREENSHOTS = REPO / "docs" / "screenshots"


class Shown:
    """A page under test: who opens it, where, what must be on it, and whether the README shows it."""

    def __init__(self, name, role, path, key, screenshot=True, fits_phone=True):
        self.name, self.role, self.path, self.key = name, role, path, key
        self.screenshot, self.fits_phone = screenshot, fits_phone

    def __repr__(self):
        return self.name


PAGES = [
    Shown("landing", None, "/q/{token}", "h1"),
    Shown("login", None, "/login", "#username"),
    Shown("activate", None, "/activate", "#code", screenshot=False),
    Shown("inspector-home", "inspector", "/inspector/", "a[href='/inspector/scan']", screenshot=False),
    Shown("inspector-scan", "inspector", "/q/{token}", "#start-inspection"),
    Shown("inspector-inspection", "inspector", "/inspector/inspections/{open_id}", "#confirm-code"),
    Shown("scanner", "camera", "/inspector/scan", "#scanner-status[data-state=scanning]"),
    Shown("inspector-search", "inspector", "/inspector/search?q={usci}", "ul.records a", screenshot=False),
    Shown("firm-records", "firm", "/firm/", "li.record"),
    Shown("firm-inspection", "firm", "/firm/inspections/{closed_id}", "#evaluation form"),
    Shown("firm-complaints", "firm", "/firm/complaints", "#text", screenshot=False),
    Shown("firm-inbox", "firm", "/firm/inbox", "ul.records", screenshot=False),
    Shown("supervisor-dashboard", "supervisor", "/supervisor/", "#totals"),
    Shown("supervisor-complaints", "supervisor", "/supervisor/complaints", "h1", screenshot=False),
    Shown("supervisor-ratings", "supervisor", "/supervisor/ratings", "h1", screenshot=False),
    Shown("supervisor-enterprise", "supervisor", "/supervisor/enterprises/{enterprise_id}", "li.record", screenshot=False),
    Shown("supervisor-inspection", "supervisor", "/supervisor/inspections/{closed_id}", "#evaluation", screenshot=False),
    Shown("admin-home", "admin", "/admin/?q={usci}", "ul.records, table", screenshot=False),
    Shown("admin-import", "admin", "/admin/enterprises/import", "#file", screenshot=False),
    Shown("admin-agencies", "admin", "/admin/agencies", "#agency-code", screenshot=False),
    Shown("admin-users", "admin", "/admin/users", "table.data", screenshot=False),
    Shown("admin-rules", "admin", "/admin/rules", "#rule-1", screenshot=False),
    # The poster is an A4 sheet for printing (180 mm wide), so it is not meant to fit a phone's width.
    Shown("admin-poster", "admin", "/admin/enterprises/{enterprise_id}/poster", ".qr svg", fits_phone=False),
]
LOGINS = {"inspector": "zhang.wei", "camera": "zhang.wei", "supervisor": "supervisor", "admin": "admin"}


@pytest.fixture(scope="module")
def world(server):
    """One enterprise as the pages show it: a closed, confirmed routine inspection and an open exempt one."""
    store = db.connect(server["database"])
    tz, now = ZoneInfo("Asia/Shanghai"), datetime.now(UTC)
    # Wide letters (M, W, Q) in the USCI make it the widest line on the phone pages: it must still fit 360 px.
    enterprise = add_enterprise(store, "91430200MA4QWMH7N", name="株洲市荷塘区示例精密机械有限公司")
    firm_user = add_firm_user(store, enterprise)
    zhang = accounts.user_by_username(store, "zhang.wei")
    closed_id = inspections.record_inspection(store, zhang, inspections.StartRequest(
        qr_token=enterprise["qr_token"], kind="routine", inspectors=["li.na"], items=["SCJG-001", "SCJG-002"]),
        now - timedelta(hours=2), tz)
    passed = [{"checkpoint": c["id"], "outcome": "pass"} for c in inspections.inspection(store, closed_id)["checkpoints"]]
    inspections.close_inspection(store, closed_id, zhang, "rectify", "灭火器过期两具，安全出口堆放杂物。",
                                 (now + timedelta(days=30)).astimezone(tz).date(), now - timedelta(hours=1), tz, passed)
    code = inspections.inspection(store, closed_id)["confirm_code"]
    feedback.confirm_inspection(store, closed_id, accounts.user_by_username(store, firm_user), code,
                                now - timedelta(minutes=90), tz)
    open_id = inspections.record_inspection(store, zhang, inspections.StartRequest(
        qr_token=enterprise["qr_token"], kind="complaint", reference="12345热线 第2026-0815号",
        inspectors=["li.na"], items=["SCJG-001"]), now, tz)
    store.conn.close()
    return {"token": enterprise["qr_token"], "usci": enterprise["usci"], "enterprise_id": enterprise["id"],
            "open_id": open_id, "closed_id": closed_id, "firm_user": firm_user}


@pytest.fixture(scope="module")
def contexts(browser, server, world):
    """A browser context per role, logged in once for the whole module."""
    opened = {}

    def context_for(role):
        if role not in opened:
            context = browser.new_context(base_url=server["url"], viewport=NARROW, locale="zh-CN")
            context.set_default_timeout(10_000)
            opened[role] = context
            if role:
                page = context.new_page()
                log_in(page, world["firm_user"] if role == "firm" else LOGINS[role])
                page.close()
        return opened[role]

    yield context_for
    for context in opened.values():
        context.close()


@pytest.fixture
def open_page(contexts, camera, world):
    """Open a page as its role at 360 px wide; the scanner page gets a camera (Chromium's test pattern)."""
    def open_shown(shown):
        if shown.role == "camera":
            page = camera()
            log_in(page, LOGINS["camera"])
        else:
            page = contexts(shown.role).new_page()
        # axe arrives as an init script (the pages' Content-Security-Policy forbids injected inline scripts)
        page.add_init_script(path=AXE)
        page.console_messages = []
        page.on("console", lambda message: page.console_messages.append(message.text))
        page.set_viewport_size(NARROW)
        response = page.goto(shown.path.format(**world))
        assert response.status == 200, f"{shown.name}: {response.status}"
        page.locator(shown.key).first.wait_for()
        return page

    return open_shown


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory):
    """docs/screenshots when UPDATE_SCREENSHOTS=1 (`make screenshots`), else a scratch folder, so a test run
    leaves the committed pictures alone."""
    return SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path_factory.mktemp("screenshots")


def save_screenshot(page, folder, name, viewport):
    """The visible screen as a small 256-colour PNG (docs/screenshots holds the ones the README shows)."""
    page.set_viewport_size(viewport)
    page.wait_for_timeout(100)  # let the layout settle at the new width
    picture = Image.open(io.BytesIO(page.screenshot(animations="disabled", caret="hide")))
    folder.mkdir(parents=True, exist_ok=True)
    picture.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE).save(folder / f"{name}.png", optimize=True)
    assert (folder / f"{name}.png").stat().st_size > 1000


@pytest.mark.parametrize("shown", PAGES, ids=repr)
def test_page_renders_and_fits_a_360_px_phone(shown, open_page, screenshot_dir):
    page = open_page(shown)
    try:
        assert page.locator(shown.key).first.is_visible()
        assert response_headers_ok(page)
        blocked = [m for m in page.console_messages if "Content Security Policy" in m]
        assert blocked == [], f"{shown.name}: the page breaks its own Content-Security-Policy: {blocked}"
        width = page.evaluate("document.documentElement.scrollWidth")
        if shown.fits_phone:
            assert width <= NARROW["width"], f"{shown.name} scrolls sideways: {width} px wide at 360 px"
        if shown.screenshot:
            save_screenshot(page, screenshot_dir, f"{shown.name}-phone", PHONE)
            save_screenshot(page, screenshot_dir, f"{shown.name}-laptop", LAPTOP)
    finally:
        page.close()


def response_headers_ok(page):
    """The page came with the security headers (CSP, no framing, no referrer to other sites)."""
    headers = page.evaluate("""async () => { const r = await fetch(location.href, {credentials: "same-origin"});
        return {csp: r.headers.get("content-security-policy"), frame: r.headers.get("x-frame-options"),
                referrer: r.headers.get("referrer-policy")}; }""")
    return "script-src 'self'" in headers["csp"] and headers["frame"] == "DENY" and headers["referrer"] == "same-origin"


def serious_violations(page):
    """axe-core's violations of impact serious or critical on the page, with the elements concerned."""
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}))""")
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("shown", PAGES, ids=repr)
def test_page_has_no_serious_accessibility_violations(shown, open_page):
    page = open_page(shown)
    try:
        assert serious_violations(page) == []
    finally:
        page.close()


def test_readme_shows_every_screenshot_the_tests_take():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for shown in PAGES:
        if shown.screenshot:
            for size in ("phone", "laptop"):
                assert f"docs/screenshots/{shown.name}-{size}.png" in readme


def test_the_scan_page_answers_in_one_phone_screen(contexts, world):
    """Who the firm is, "已用 n/2", what was checked this year and the start button, all above the fold."""
    page = contexts("inspector").new_page()
    try:
        page.set_viewport_size(PHONE)
        page.goto(f"/q/{world['token']}")
        summary = page.locator("#summary")
        for needed in ("h1", "#meter", "ul.checked li", "a.primary-action"):
            box = summary.locator(needed).first.bounding_box()
            assert box is not None and box["y"] + box["height"] <= PHONE["height"], f"{needed} is below the fold"
        assert "已用 1/2" in summary.inner_text()
        page.locator("#summary a.primary-action").click()
        assert page.evaluate("location.hash") == "#start-form"
    finally:
        page.close()
