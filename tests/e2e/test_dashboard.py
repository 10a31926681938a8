"""The supervisor's dashboard in a real browser, on a phone (390 px) and on a projector (1366 px): its charts are
pictures with a name and labelled axes, nothing scrolls sideways, axe-core finds nothing serious, a number leads to
its records, and the annual report prints on A4 with the journal's head."""

import io
import re
from pathlib import Path

import pypdfium2
import pytest

from logbook import audit, db

from .conftest import LAPTOP, PHONE, log_in
from .test_pages import serious_violations

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"  # the latest 4.x, as test_pages.py uses
SIZES = {"phone": PHONE, "projector": LAPTOP}


@pytest.fixture(scope="module")
def supervisor(browser, server):
    """A logged-in supervisor's browser context (Chinese, as the bureau reads it)."""
    context = browser.new_context(base_url=server["url"], viewport=PHONE, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, "supervisor")
    page.close()
    yield context
    context.close()


def open_page(context, path, viewport):
    """A page at the size with axe-core loaded (an init script: the CSP refuses injected inline scripts) and the
    console recorded."""
    page = context.new_page()
    page.add_init_script(path=str(AXE))
    page.console_messages = []
    page.on("console", lambda message: page.console_messages.append(message.text))
    page.set_viewport_size(viewport)
    response = page.goto(path)
    assert response.status == 200, f"{path}: {response.status}"
    return page


def width(page):
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("size", SIZES)
def test_the_charts_are_named_pictures_with_labelled_axes(supervisor, size):
    page = open_page(supervisor, "/supervisor/", SIZES[size])
    try:
        months = page.get_by_role("img", name=re.compile(r"按月|by month", re.IGNORECASE))
        assert months.count() == 1 and months.is_visible()
        labels = page.locator("svg#months text.axis-label").all_text_contents()
        assert len(labels) == 2 and all(label.strip() for label in labels)
        assert page.locator("svg#months text.month").count() == 12
        assert page.locator("svg#months desc").text_content().count(":") == 2  # this year's and last year's numbers
        box = months.bounding_box()
        assert box["width"] > 300 and box["x"] >= 0 and box["x"] + box["width"] <= SIZES[size]["width"]
        assert page.locator("svg#agencies[role=img]").count() == 1
        assert page.locator("#change .big").inner_text().strip()
        assert not [m for m in page.console_messages if "Content Security Policy" in m]
    finally:
        page.close()


@pytest.mark.parametrize("path", ["/supervisor/", "/supervisor/?agency=SCJG", "/supervisor/records?show=counted",
                                  "/supervisor/report"])
@pytest.mark.parametrize("size", SIZES)
def test_nothing_scrolls_sideways_and_axe_finds_nothing_serious(supervisor, path, size):
    page = open_page(supervisor, path, SIZES[size])
    try:
        assert width(page) <= SIZES[size]["width"], f"{path} is {width(page)} px wide at {SIZES[size]['width']} px"
        assert serious_violations(page) == []
    finally:
        page.close()


def test_the_projector_shows_the_numbers_beside_each_other_and_the_charts_side_by_side(supervisor):
    page = open_page(supervisor, "/supervisor/", LAPTOP)
    try:
        tiles = page.locator("#totals .tile")
        first, second = tiles.nth(0).bounding_box(), tiles.nth(1).bounding_box()
        assert first["y"] == second["y"] and second["x"] > first["x"]
        months, agencies = page.locator("#by-month").bounding_box(), page.locator("#agency-chart").bounding_box()
        assert months["y"] == agencies["y"] and agencies["x"] > months["x"] + months["width"] - 1
    finally:
        page.close()


def test_a_number_opens_the_records_behind_it(supervisor):
    page = open_page(supervisor, "/supervisor/", PHONE)
    try:
        link = page.locator("#totals a[href*='show=all']").first
        shown = int(link.inner_text().replace(",", ""))
        with page.expect_navigation():
            link.click()
        assert "/supervisor/records" in page.url
        assert page.locator("li.record").count() == min(shown, 50)
        assert re.findall(r"\d+", page.locator("#matching").inner_text().replace(",", "")) == [str(shown)]
    finally:
        page.close()


def test_the_annual_report_prints_on_a4_with_the_journal_head(supervisor, server):
    page = open_page(supervisor, "/supervisor/report", LAPTOP)
    try:
        store = db.connect(server["database"])
        head = audit.head(store)["hash"]
        store.conn.close()
        pdf = pypdfium2.PdfDocument(io.BytesIO(page.pdf(format="A4")))
        text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        assert round(pdf[0].get_width() / 72 * 25.4) == 210 and round(pdf[0].get_height() / 72 * 25.4) == 297
        assert head[:16] in text.replace("\r", "").replace("\n", "")
        assert "概览" not in text  # the supervisor's tabs are left out of the print
        assert len(pdf) <= 6
    finally:
        page.close()
