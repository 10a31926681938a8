"""The supervisor's dashboard (SPEC §11): its charts, its numbers for a hand-made year, the filters, the records
behind every number, the printable report, and nobody else seeing any of it."""

import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import TZ, add_enterprise, login, start, void

from logbook import audit, records, rules, usci
from web import charts, supervisor

THIS_YEAR = datetime.now(TZ).year
YEAR = THIS_YEAR - 1  # a whole past year: its change is against the whole year before
RECORD = re.compile(r'href="/supervisor/inspections/(\d+)"')
COUNT_LINK = re.compile(r'<a href="(/supervisor/records\?[^"]+)">([\d,]+)</a>')


# ---- the charts ----------------------------------------------------------------------------------------

def bars(svg, size="height"):
    """The bars of a chart: [(their height, or width, and value)] in drawing order."""
    return [(float(m.group(1)), int(m.group(2))) for m in re.finditer(
        rf'<rect class="bar[^"]*" [^>]*? {size}="([\d.]+)"[^>]*? data-value="(\d+)"', svg)]


def month_chart(this_year=(3, 0, 6), last_year=(1, 2, 0), labels=("1月", "2月", "3月")):
    return str(charts.month_bars(list(this_year), list(last_year), list(labels), title="按月", series=("2025", "2024"),
                                 axis=("月份", "检查次数")))


def test_month_bars_are_as_tall_as_their_values():
    svg = month_chart()
    per_unit = {round(height / value, 1) for height, value in bars(svg) if value}
    assert len(per_unit) == 1  # drawn to two decimals: the same height per inspection, within 0.05
    assert [value for _, value in bars(svg)] == [3, 1, 0, 2, 6, 0]  # month by month, this year beside last year


@pytest.mark.parametrize("peak, top, step", [(1, 1, 1), (3, 3, 1), (7, 8, 2), (100, 100, 25), (5344, 6000, 2000)])
def test_the_value_axis_ends_on_a_round_number(peak, top, step):
    assert charts.nice_top(peak) == (top, step)


def test_month_bars_are_named_and_labelled_for_screen_readers():
    svg = month_chart()
    assert svg.startswith("<svg") and 'role="img"' in svg and 'aria-labelledby="months-title"' in svg
    assert '<title id="months-title">按月</title>' in svg
    assert "2025: 1月 3, 2月 0, 3月 6; 2024: 1月 1, 2月 2, 3月 0" in svg  # the numbers in words (<desc>)
    for text in ("1月", "2月", "3月", "月份", "检查次数", "2025", "2024"):
        assert f">{text}</text>" in svg  # the months, both axes and the legend


def test_a_chart_of_nothing_draws_empty_bars_without_dividing_by_zero():
    svg = month_chart((0, 0, 0), (0, 0, 0))
    assert [height for height, _ in bars(svg)] == [0] * 6
    assert ">0</text>" in svg  # the value axis still shows its zero
    empty = str(charts.agency_bars([("市场监督管理局", 0, 0)], title="t", series=("计入", "不计入"), axis="次数"))
    assert [width for width, _ in bars(empty, "width")] == [0, 0]
    assert "<svg" in str(charts.agency_bars([], title="t", series=("a", "b"), axis="x"))
    assert "<svg" in str(charts.month_bars([], [], [], title="t", series=("a", "b"), axis=("x", "y")))


def test_agency_bars_are_as_long_as_their_counts_with_the_total_at_the_end():
    svg = str(charts.agency_bars([("市场监督管理局", 6, 2), ("应急管理局", 3, 1)], title="按部门", series=("计入", "不计入"),
                                 axis="次数"))
    (counted_a, _), (exempt_a, _), (counted_b, _), (exempt_b, _) = bars(svg, "width")
    assert counted_a == pytest.approx(2 * counted_b, abs=0.02) and exempt_a == pytest.approx(2 * exempt_b, abs=0.02)
    assert counted_a == pytest.approx(3 * exempt_a, abs=0.02)
    assert ">市场监督管理局</text>" in svg and ">8</text>" in svg and ">4</text>" in svg


def test_every_word_in_a_chart_is_escaped():
    evil = '<script>alert("x")</script>&'
    svg = str(charts.month_bars([1], [2], [evil], title=evil, series=(evil, evil), axis=(evil, evil)))
    svg += str(charts.agency_bars([(evil, 1, 1)], title=evil, series=(evil, evil), axis=evil))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp;" in svg


def test_a_long_agency_name_is_shortened_in_the_picture_but_whole_in_its_title():
    name = "某某市某某区市场监督管理局综合行政执法大队第一中队食品安全科"
    svg = str(charts.agency_bars([(name, 1, 0)], title="t", series=("a", "b"), axis="x"))
    assert f"<title>{name}: 1 + 0</title>" in svg and f">{name[:27]}…</text>" in svg


# ---- a hand-made year ----------------------------------------------------------------------------------

def at(month, day=10, year=YEAR, minute=0):
    """10:00 Beijing time on a day of the year."""
    return datetime(year, month, day, 2, minute, tzinfo=UTC)


def enterprise_in(store, district, n, **fields):
    """An enterprise registered in a district (characters 3-8 of its USCI)."""
    first17 = f"91{district}MA{n:07d}"
    return add_enterprise(store, usci=first17 + usci.check_character(first17), **fields)


@pytest.fixture
def year(store, world):
    """YEAR at three enterprises, by SCJG (ann, bob) and YJGL (cat, dan), and ten counted inspections the year before:
    the ids of each record by what it is."""
    e1 = world["enterprise"]  # district 430200, 制造业, risk B
    e2 = enterprise_in(store, "430202", 1, name="荷塘区商贸有限公司", industry="批发和零售业", risk_level="A")
    e3 = enterprise_in(store, "430211", 2, name="天元区第三家企业", industry="制造业", risk_level="C")
    yjgl = {"by": "cat", "others": ("dan",), "items": ("YJGL-001",)}
    found = {"c1": start(store, e1, now=at(3)), "c2": start(store, e1, now=at(3, 11), **yjgl),
             "x1": start(store, e1, kind="complaint", reference="投诉-1", now=at(4)),
             "x2": start(store, e1, kind="complaint", reference="投诉-2", now=at(4)),  # the same second as x1
             "c3": start(store, e2, now=at(5)),
             "j1": start(store, e2, others=("cat",), agencies=["SCJG", "YJGL"], items=("SCJG-001", "YJGL-001"),
                         now=at(6)),
             "v1": start(store, e3, now=at(7))}
    void(store, found["v1"], now=at(7, minute=5))
    found["m1"] = start(store, e3, qr_token=None, usci=e3["usci"], now=at(8))
    found["l1"] = start(store, e3, kind="complaint", reference="投诉-3", started_at=at(9, 10), reason="网络中断",
                        now=at(9, 12), **yjgl)
    found["s1"] = start(store, e3, kind="visit", now=at(10))
    with pytest.raises(rules.CapReached):
        start(store, e1, now=at(11))  # a third counted inspection of e1: refused
    for n in range(5):
        firm = enterprise_in(store, "430200", 100 + n, name=f"前年企业{n}")
        for month in (2, 3):
            start(store, firm, now=at(month, year=YEAR - 1))
    return found


def supervisor_client(app, language="en"):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    login(client, "super")
    return client


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def part(html, element_id):
    """The page from the element with the id to the end of its section."""
    return html.split(f'id="{element_id}"', 1)[1].split("</section>", 1)[0]


def count_links(html):
    """Every count that links to its records: {(sorted query items): the number shown}."""
    return {tuple(sorted(parse_qsl(urlsplit(href.replace("&amp;", "&")).query))): int(n.replace(",", ""))
            for href, n in COUNT_LINK.findall(html)}


def link(**query):
    return tuple(sorted((k, str(v)) for k, v in query.items()))


def record_ids(client, url):
    """The ids a records list shows, following its pages to the end."""
    ids = []
    while url:
        html = page(client, url)
        ids += [int(i) for i in RECORD.findall(part(html, "records"))]
        older = re.search(r'<a href="([^"]+)" rel="next">', html)
        url = older.group(1).replace("&amp;", "&") if older else None
        assert len(ids) < 1000
    return ids


def test_the_dashboard_shows_the_years_numbers(app, year):
    html = page(supervisor_client(app), f"/supervisor/?year={YEAR}")
    links = count_links(part(html, "totals"))

    assert links[link(year=YEAR, show="counted")] == 5
    assert links[link(year=YEAR, show="exempt")] == 3
    assert links[link(year=YEAR, show="voided")] == 1
    assert links[link(year=YEAR, show="joint")] == 1
    assert links[link(year=YEAR, show="all")] == 8
    assert links[link(year=YEAR, show="visits")] == 1
    assert '<a href="#refusals">1</a>' in part(html, "totals")
    assert "last year: 10" in part(html, "totals")


def test_the_change_against_last_year_is_a_large_green_percentage_when_down(app, year):
    html = page(supervisor_client(app), f"/supervisor/?year={YEAR}")

    assert '<div class="change down" id="change">\n  <p class="big">−50%</p>' in html
    assert f"against the whole of {YEAR - 1}" in html


def test_the_change_is_a_dash_without_a_year_before(app, year):
    html = page(supervisor_client(app), f"/supervisor/?year={YEAR - 1}")

    assert '<div class="change none" id="change">\n  <p class="big">—</p>' in html


def test_agencies_are_shown_by_name_with_their_numbers_linked(app, year):
    html = page(supervisor_client(app), f"/supervisor/?year={YEAR}")
    table = part(html, "by-agency")
    links = count_links(table)

    assert "<th scope=\"row\">市场监督管理局</th>" in table and "<th scope=\"row\">应急管理局</th>" in table
    assert ">SCJG<" not in table
    assert [links[link(year=YEAR, show=s, agency="SCJG")] for s in ("all", "counted", "exempt", "manual", "joint")] == [
        6, 4, 2, 1, 1]
    assert [links[link(year=YEAR, show=s, agency="YJGL")] for s in ("all", "counted", "exempt", "late", "joint")] == [
        3, 2, 1, 1, 1]
    assert f'<a href="/supervisor/?year={YEAR}&amp;agency=SCJG#refusals">1</a>' in table
    assert "<td>—</td>" in table  # no agency has five ratings
    assert 'role="img"' in part(html, "agency-chart") and ">市场监督管理局</text>" in part(html, "agency-chart")


def test_the_monthly_chart_draws_this_year_against_last_year(app, year):
    html = page(supervisor_client(app), f"/supervisor/?year={YEAR}")
    chart = part(html, "by-month")

    assert f"Counted inspections by month, {YEAR} against {YEAR - 1}" in chart
    assert "<title" in chart and ">Month</text>" in chart and ">Inspections</text>" in chart
    assert f"{YEAR}: Jan 0, Feb 0, Mar 2, Apr 0, May 1, Jun 1, Jul 0, Aug 1," in chart
    assert f"{YEAR - 1}: Jan 0, Feb 5, Mar 5, Apr 0" in chart
    assert count_links(chart)[link(year=YEAR, show="all", month=4)] == 2


def test_every_number_on_the_dashboard_lists_exactly_that_many_records(app, year):
    client = supervisor_client(app)
    links = count_links(page(client, f"/supervisor/?year={YEAR}"))

    assert len(links) > 25
    for query, number in links.items():
        url = "/supervisor/records?" + "&".join(f"{k}={v}" for k, v in query)
        ids = record_ids(client, url)
        assert len(ids) == len(set(ids)) == number, (url, ids)


def test_the_records_page_lists_the_agencys_exempt_inspections(app, year):
    html = page(supervisor_client(app), f"/supervisor/records?year={YEAR}&agency=SCJG&show=exempt")

    assert [int(i) for i in RECORD.findall(part(html, "records"))] == [year["x2"], year["x1"]]
    assert "Exempt inspections" in html and "市场监督管理局" in part(html, "records-head")
    assert "2 in all" in html


@pytest.mark.parametrize("query, expected", [
    ("show=all", ["l1", "m1", "j1", "c3", "x2", "x1", "c2", "c1"]),
    ("show=counted&agency=YJGL", ["j1", "c2"]),
    ("show=voided", ["v1"]),
    ("show=late", ["l1"]),
    ("show=manual", ["m1"]),
    ("show=joint&agency=YJGL", ["j1"]),
    ("show=visits", ["s1"]),
    ("show=all&month=4", ["x2", "x1"]),
    ("show=counted&month=3&agency=SCJG", ["c1"]),
    ("show=exempt&month=5", []),
])
def test_the_records_page_lists_exactly_the_records_of_a_class(app, year, query, expected):
    client = supervisor_client(app)

    assert record_ids(client, f"/supervisor/records?year={YEAR}&{query}") == [year[k] for k in expected]


def test_the_records_page_pages_by_key_and_never_repeats_a_record(app, year, monkeypatch):
    monkeypatch.setattr(supervisor, "PAGE_SIZE", 3)
    client = supervisor_client(app)
    first = page(client, f"/supervisor/records?year={YEAR}")

    assert len(RECORD.findall(part(first, "records"))) == 3
    older = re.search(r'<a href="([^"]+)" rel="next">', first).group(1).replace("&amp;", "&")
    assert "before=" in older and "page=" not in older and "offset" not in older
    assert record_ids(client, f"/supervisor/records?year={YEAR}") == [
        year[k] for k in ("l1", "m1", "j1", "c3", "x2", "x1", "c2", "c1")]  # x1 and x2 share a second: by id
    second = page(client, older)
    assert 'rel="first"' in second and "Newest" in second


def test_the_records_list_reads_only_the_days_that_hold_its_records(store, year):
    statements = []
    store.conn.set_trace_callback(statements.append)
    try:
        found = records.records(store, YEAR, TZ, shown="voided")
    finally:
        store.conn.set_trace_callback(None)

    assert [r["id"] for r in found["inspections"]] == [year["v1"]] and found["matching"] == 1
    reads = [s for s in statements if "FROM inspections i WHERE i.started_at" in s]
    assert len(reads) == 1 and f"'{YEAR}-07-09T16:00:00Z'" in reads[0]  # only 10 July, Beijing time
    for statement in statements:
        if statement.lstrip().upper().startswith("SELECT"):
            plan = " ".join(str(r[3]) for r in store.conn.execute("EXPLAIN QUERY PLAN " + statement))
            assert "SCAN i" not in plan and "SCAN inspections" not in plan, (statement, plan)


def test_late_and_manual_entries_are_read_through_their_own_index(store, year):
    statements = []
    store.conn.set_trace_callback(statements.append)
    try:
        records.records(store, YEAR, TZ, shown="late")
        records.records(store, YEAR, TZ, shown="manual", agency="SCJG")
    finally:
        store.conn.set_trace_callback(None)
    for statement in [s for s in statements if "FROM inspections i WHERE" in s]:
        plan = " ".join(str(r[3]) for r in store.conn.execute("EXPLAIN QUERY PLAN " + statement))
        assert "inspections_flagged" in plan, plan


# ---- filters -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, total, counted", [
    ("agency=YJGL", 3, 2),
    ("district=430202", 2, 2),
    ("risk_level=A", 2, 2),
    ("industry=批发和零售业", 2, 2),
    ("industry=制造业&risk_level=C", 2, 1),
    ("district=430211&agency=YJGL", 1, 0),
])
def test_filters_narrow_the_numbers(app, year, query, total, counted):
    html = page(supervisor_client(app), f"/supervisor/?year={YEAR}&{query}")
    tiles = part(html, "totals")
    numbers = [int(n) for n in re.findall(r"<dt>(?:Counted|All inspections)</dt><dd>(?:<a [^>]+>)?(\d+)", tiles)]

    assert numbers == [counted, total]


def test_a_district_filter_keeps_the_numbers_but_not_their_links(app, year):
    html = page(supervisor_client(app), f"/supervisor/?year={YEAR}&district=430202")

    assert count_links(html) == {}
    assert 'id="unlinked"' in html
    assert "not counted by district, industry or risk level" in part(html, "totals")  # refusals have no district
    assert 'value="430202"' in html and "<option value=\"430202\">" in html  # kept in the form, offered in the list


def test_the_agency_filter_narrows_the_links_and_the_lists(app, year):
    html = page(supervisor_client(app), f"/supervisor/?year={YEAR}&agency=YJGL")
    links = count_links(part(html, "totals"))

    assert links[link(year=YEAR, show="all", agency="YJGL")] == 3
    assert "应急管理局" in part(html, "flagged") and "市场监督管理局" not in part(html, "flagged")
    assert "No attempt was refused" in part(html, "refusals")  # the refusal was SCJG's
    assert '<option value="YJGL" selected>应急管理局</option>' in html


def test_the_dashboard_links_to_the_report_and_the_exports_of_the_year_shown(app, year):
    html = page(supervisor_client(app), f"/supervisor/?year={YEAR}&agency=SCJG")

    assert f'href="/supervisor/report?year={YEAR}&amp;agency=SCJG"' in html
    assert f'href="/supervisor/inspections.csv?year={YEAR}"' in html
    assert f'href="/supervisor/?year={YEAR - 1}&amp;agency=SCJG"' in html


# ---- the report ----------------------------------------------------------------------------------------

def test_the_report_has_the_numbers_the_charts_and_the_journal_head(app, store, year):
    html = page(supervisor_client(app), f"/supervisor/report?year={YEAR}")

    assert f"Inspections in {YEAR}: annual report" in html
    assert audit.head(store)["hash"] in part(html, "journal-head") and "was read on" in part(html, "journal-head")
    assert html.count('role="img"') == 2 and "−50%" in html
    assert "<th scope=\"row\">市场监督管理局</th>" in html
    assert 'class="tabs no-print"' in html


# ---- who may look, and odd requests --------------------------------------------------------------------

@pytest.mark.parametrize("username", ["ann", "firm1", "admin"])
@pytest.mark.parametrize("path", ["/supervisor/", "/supervisor/records", "/supervisor/report",
                                  f"/supervisor/records?year={YEAR}&show=exempt"])
def test_nobody_but_a_supervisor_sees_the_dashboard(app, world, username, path):
    client = app.test_client()
    login(client, username)

    assert client.get(path).status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client, world):
    response = client.get("/supervisor/records")

    assert response.status_code == 302 and "/login" in response.headers["Location"]


ODD_QUERIES = [
    "year=abc", "year=99999999999999999999", "year=-1", "agency=<script>alert(1)</script>", "district=1'--",
    "district=430202'--", "industry=' OR 1=1 --", "industry=" + "行" * 500, "risk_level=Z", "risk_level=a",
    "month=13", "month=0", "month=x", "show=<b>", "show=__class__", "before=garbage", "before=2026-01-01T00:00:00Z,abc",
    "before=2026-01-01T00:00:00Z,-5", "before=2026-13-01T00:00:00Z,5", "before=,",
    "before=2026-01-01T00:00:00Z,99999999999999999999", "agency=SCJG&show=late&month=2&before=2020-01-01T00:00:00Z,1",
]


def test_odd_query_strings_never_break_a_page(app, year):
    client = supervisor_client(app)
    failures = []
    for path in ("/supervisor/", "/supervisor/records", "/supervisor/report"):
        for query in ODD_QUERIES:
            response = client.get(f"{path}?{query}")
            if response.status_code != 200 or "<script>alert" in response.get_data(as_text=True):
                failures.append((path, query, response.status_code))

    assert failures == []


def test_the_records_page_says_it_cannot_narrow_by_district(app, year):
    html = page(supervisor_client(app), f"/supervisor/records?year={YEAR}&district=430202&show=counted")

    assert "not narrowed by district, industry or risk level" in html
    assert len(RECORD.findall(part(html, "records"))) == 5


def test_an_empty_year_shows_zeros_and_empty_charts(app, world):
    html = page(supervisor_client(app), "/supervisor/?year=2001")

    assert count_links(html) == {}
    assert html.count('role="img"') == 2
    assert "No counted inspection in the same period of 2000" in html


def test_the_dashboard_is_in_chinese_by_default(app, year):
    html = page(supervisor_client(app, "zh-CN"), f"/supervisor/?year={YEAR}")

    assert '<html lang="zh-CN">' in html and "市场监督管理局" in html
    assert "1月" in part(html, "by-month")  # the months are named the reader's way
