"""Downloads: the firm gets its own records as CSV; the supervisor every inspection of a year, the year's statistics and
its warnings as CSV and XLSX, no cell of which a spreadsheet runs as a formula."""

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
from conftest import TZ, add_enterprise, close, login, start

from logbook import accounts, agencies, alerts, exports
from web import supervisor, supervisor_exports

EXEMPT = {"kind": "complaint", "reference": "投诉-2026-0042"}  # exempt inspections: the cap never refuses them
FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2", "=1+1"]


def download(client, username, path):
    login(client, username)
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_the_firm_downloads_only_its_own_records(client, store, world):
    ours = start(store, world["enterprise"])
    start(store, add_enterprise(store, name="别家公司"))
    records = download(client, "firm1", "/firm/records.csv")
    assert [int(r["id"]) for r in records] == [ours]
    assert records[0]["enterprise_usci"] == world["enterprise"]["usci"]
    assert records[0]["inspectors"] == "ann bob" and records[0]["certificates"] == "C-ann C-bob"


def test_the_supervisor_downloads_every_inspection_of_the_year_in_batches(client, store, world, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 2)
    ids = [start(store, add_enterprise(store, name=f"企业{n}")) for n in range(5)]
    close(store, ids[0], result="case_filed", findings='含逗号, 和"引号"的发现')
    records = download(client, "super", "/supervisor/inspections.csv")
    assert [int(r["id"]) for r in records] == ids
    assert records[0]["result"] == "case_filed" and records[0]["findings"] == '含逗号, 和"引号"的发现'


def test_other_roles_cannot_download(client, world):
    login(client, "ann")
    assert client.get("/supervisor/inspections.csv").status_code == 404
    assert client.get("/firm/records.csv").status_code == 404


def test_inspections_started_in_the_same_second_are_all_exported_once_across_batches(client, store, world, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 2)
    at = datetime.now(UTC).replace(microsecond=0)
    ids = [start(store, add_enterprise(store, name=f"企业{n}"), now=at) for n in range(5)]
    assert [int(r["id"]) for r in download(client, "super", "/supervisor/inspections.csv")] == ids


def test_the_supervisor_downloads_one_month_a_city_year_being_too_big_for_one_request(client, store, world):
    last_month = datetime.now(TZ).replace(day=1) - timedelta(days=1)
    earlier = start(store, world["enterprise"], kind="complaint", reference="投诉-1",
                    now=last_month.astimezone(UTC))
    this_month = start(store, world["enterprise"])
    login(client, "super")
    year, month = datetime.now(TZ).year, datetime.now(TZ).month
    assert [int(r["id"]) for r in download(client, "super", f"/supervisor/inspections.csv?year={year}&month={month}")
            ] == [this_month]
    if last_month.year == year:
        assert [int(r["id"]) for r in download(
            client, "super", f"/supervisor/inspections.csv?year={year}&month={last_month.month}")] == [earlier]
    page = client.get("/supervisor/").get_data(as_text=True)
    assert f"/supervisor/inspections.csv?year={year}&amp;month=1" in page


def test_a_year_too_big_for_one_download_is_offered_month_by_month(client, store, world, monkeypatch):
    monkeypatch.setattr(supervisor, "CSV_YEAR_ROWS", 2)
    for n in range(3):
        start(store, world["enterprise"], kind="complaint", reference=f"投诉-{n}")
    login(client, "super")
    year = datetime.now(TZ).year
    response = client.get(f"/supervisor/inspections.csv?year={year}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "年有 3 次检查" in page
    assert f"/supervisor/inspections.csv?year={year}&amp;month=12" in page


# ---- XLSX, statistics and warnings ----------------------------------------------------------------------------

def this_year():
    return datetime.now(TZ).year


def fetch(client, path, mimetype):
    """The response to a GET, read whole and closed (which deletes an XLSX's temporary file)."""
    with client.get(path) as response:
        assert response.status_code == 200, (path, response.status_code)
        assert response.mimetype == mimetype
        response.get_data()
    return response


def csv_rows(client, path):
    """The rows of a CSV download, header included."""
    text = fetch(client, path, "text/csv").get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def workbook(client, path, filename=None):
    """The only sheet of an XLSX download, after checking its file name and that no cell of it is a formula."""
    response = fetch(client, path, supervisor_exports.XLSX_MIMETYPE)
    if filename:
        assert response.headers["Content-Disposition"] == f"attachment; filename={filename}"
    data = response.data
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        sheets = [n for n in package.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in package.read(n) or b"<f " in package.read(n) for n in sheets)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert not [c for r in sheet.iter_rows() for c in r if c.data_type == "f"]
    return sheet


def values(sheet):
    """The rows of a sheet as text, the way the CSV has them ("" for an empty cell)."""
    return [["" if c.value is None else str(c.value) for c in r] for r in sheet.iter_rows()]


def test_the_supervisor_downloads_the_year_as_xlsx_with_the_rows_of_the_csv(client, store, world):
    ids = [start(store, add_enterprise(store, name=f"企业{n}")) for n in range(3)]
    close(store, ids[1], result="case_filed", findings='含逗号, 和"引号"的发现')
    login(client, "super")
    year = this_year()
    sheet = workbook(client, f"/supervisor/inspections.xlsx?year={year}", f"inspections-{year}.xlsx")
    table = values(sheet)
    assert table[0] == exports.COLUMNS
    named = dict(zip(table[0], table[1]))  # the columns in the reader's language (Chinese by default)
    assert named["enterprise_usci"] == "统一社会信用代码" and named["findings"] == "检查发现"
    assert table[2:] == csv_rows(client, f"/supervisor/inspections.csv?year={year}")[1:]
    assert [int(r[0]) for r in table[2:]] == ids
    assert sheet.cell(row=4, column=1).data_type == "n" and table[3][exports.COLUMNS.index("result")] == "case_filed"


def test_the_xlsx_of_a_month_holds_that_month_only(client, store, world):
    last_month = datetime.now(TZ).replace(day=1) - timedelta(days=1)
    start(store, world["enterprise"], now=last_month.astimezone(UTC), **EXEMPT)
    this_month = start(store, world["enterprise"])
    login(client, "super")
    now = datetime.now(TZ)
    table = values(workbook(client, f"/supervisor/inspections.xlsx?year={now.year}&month={now.month}",
                            f"inspections-{now.year}-{now.month:02d}.xlsx"))
    assert [int(r[0]) for r in table[2:]] == [this_month]


def test_formulas_in_inspections_come_out_as_inert_text_in_csv_and_xlsx(client, store, world):
    enterprise = add_enterprise(store, name=FORMULAS[0])
    ids = [start(store, enterprise, **EXEMPT) for _ in FORMULAS[1:]]
    for inspection_id, findings in zip(ids, FORMULAS[1:]):
        close(store, inspection_id, result="case_filed", findings=findings)
    login(client, "super")
    year = this_year()
    at = exports.COLUMNS.index
    records = csv_rows(client, f"/supervisor/inspections.csv?year={year}")[1:]
    assert {r[at("enterprise_name")] for r in records} == {"'" + FORMULAS[0]}
    assert [r[at("findings")] for r in records] == ["'" + f for f in FORMULAS[1:]]
    sheet = workbook(client, f"/supervisor/inspections.xlsx?year={year}")
    for row in sheet.iter_rows(min_row=3):
        for column in ("enterprise_name", "findings"):
            cell = row[at(column)]
            assert cell.data_type == "s" and cell.value.startswith("'") and cell.value[1:] in FORMULAS


def test_text_a_spreadsheet_would_misread_stays_text_in_xlsx(client, store, world):
    inspection_id = start(store, world["enterprise"])
    close(store, inspection_id, result="case_filed", findings="#N/A")
    bad = start(store, world["enterprise"], **EXEMPT)
    close(store, bad, result="case_filed", findings="控制\x01字符\x1f=1")  # XML cannot carry \x01: it is dropped
    login(client, "super")
    sheet = workbook(client, f"/supervisor/inspections.xlsx?year={this_year()}")
    findings = [r[exports.COLUMNS.index("findings")] for r in sheet.iter_rows(min_row=3)]
    assert [(c.value, c.data_type) for c in findings] == [("#N/A", "s"), ("控制字符=1", "s")]


def test_a_period_too_big_for_one_xlsx_is_offered_in_parts_that_add_up_to_it(client, store, world, monkeypatch):
    monkeypatch.setattr(supervisor_exports, "XLSX_ROWS", 2)
    year = this_year() - 1
    ids = [start(store, add_enterprise(store), now=datetime(year, 1, day, 10, tzinfo=TZ).astimezone(UTC), **EXEMPT)
           for day in (5, 5, 6)]
    login(client, "super")
    for path, csv_link in [(f"?year={year}", f"?year={year}"), (f"?year={year}&month=1", f"?year={year}&amp;month=1")]:
        page = fetch(client, f"/supervisor/inspections.xlsx{path}", "text/html").get_data(as_text=True)
        assert f"/supervisor/inspections.csv{csv_link}" in page
        assert f"/supervisor/inspections.xlsx?from={year}-01-01&amp;to={year}-01-05" in page
        assert f"/supervisor/inspections.xlsx?from={year}-01-06&amp;to={year}-01-31" in page
    first = values(workbook(client, f"/supervisor/inspections.xlsx?from={year}-01-01&to={year}-01-05",
                            f"inspections-{year}-01-01-to-{year}-01-05.xlsx"))
    rest = values(workbook(client, f"/supervisor/inspections.xlsx?from={year}-01-06&to={year}-01-31"))
    assert [int(r[0]) for r in first[2:] + rest[2:]] == ids


def test_a_day_busier_than_the_limit_still_comes_whole(client, store, world, monkeypatch):
    monkeypatch.setattr(supervisor_exports, "XLSX_ROWS", 2)
    ids = [start(store, world["enterprise"], **EXEMPT) for _ in range(3)]
    login(client, "super")
    today = datetime.now(TZ).date().isoformat()
    assert [int(r[0]) for r in values(workbook(client, f"/supervisor/inspections.xlsx?from={today}&to={today}"))[2:]
            ] == ids


def test_tabs_and_returns_that_could_start_a_formula_are_neutralised_too(tmp_path):
    with open(tmp_path / "t.xlsx", "wb") as out:
        exports.write_xlsx(out, "t", ["a", "b", "c"], [[["\t=1+1", "\r=1+1", "#REF!"]]])
    cells = list(openpyxl.load_workbook(tmp_path / "t.xlsx").active.iter_rows(min_row=2))[0]
    # (an XML reader turns the carriage return into a line feed)
    assert [(c.value, c.data_type) for c in cells] == [("'\t=1+1", "s"), ("'\n=1+1", "s"), ("#REF!", "s")]
    assert "".join(exports.csv_chunks(["a", "b"], [[["\t=1+1", "\r=1+1"]]])) == '\ufeffa,b\r\n\'\t=1+1,"\'\r=1+1"\r\n'


def test_parts_are_whole_months_and_runs_of_days_of_a_busy_month(store, world):
    year = this_year() - 1
    for month, day in [(1, 5), (1, 5), (1, 6), (1, 9), (2, 3)]:
        at = datetime(year, month, day, 10, tzinfo=TZ).astimezone(UTC)
        start(store, add_enterprise(store), now=at, **EXEMPT)
    found = exports.parts(store, date(year, 1, 1), date(year, 12, 31), 2)
    assert [(p["first"], p["last"], p["rows"]) for p in found[:4]] == [
        (date(year, 1, 1), date(year, 1, 5), 2), (date(year, 1, 6), date(year, 1, 31), 2),
        (date(year, 2, 1), date(year, 2, 28 + (year % 4 == 0)), 1), (date(year, 3, 1), date(year, 3, 31), 0)]
    assert len(found) == 13 and found[-1]["last"] == date(year, 12, 31) and sum(p["rows"] for p in found) == 5
    assert exports.parts(store, date(year, 1, 1), date(year, 12, 31), 5) == [
        {"first": date(year, 1, 1), "last": date(year, 12, 31), "rows": 5}]


def numbers(table):
    """The cells of rows with numbers as floats (the CSV writes a share of 0 as "0.0", XLSX reads it back as 0)."""
    def number(text):
        try:
            return float(text)
        except ValueError:
            return text
    return [[number(c) for c in r] for r in table]


def test_the_supervisor_downloads_the_years_statistics(client, store, world, mix):
    login(client, "super")
    year = this_year()
    table = csv_rows(client, f"/supervisor/stats.csv?year={year}")
    assert table[0] == exports.STATS_COLUMNS
    rows = [dict(zip(table[0], r)) for r in table[1:]]
    assert [r["scope"] for r in rows] == ["year"] + ["month"] * 12 + ["agency"] * 2
    assert {k: rows[0][k] for k in ("key", "total", "counted", "exempt", "voided")} == {
        "key": str(year), "total": "2", "counted": "1", "exempt": "1", "voided": "1"}
    month = next(r for r in rows if r["key"] == datetime.now(TZ).strftime("%Y-%m"))
    assert (month["total"], month["counted"]) == ("2", "1")
    assert [(r["key"], r["name"], r["total"]) for r in rows if r["scope"] == "agency"] == [
        ("SCJG", "市场监督管理局", "2"), ("YJGL", "应急管理局", "0")]
    sheet = values(workbook(client, f"/supervisor/stats.xlsx?year={year}", f"stats-{year}.xlsx"))
    assert sheet[0] == table[0] and numbers(sheet[2:]) == numbers(table[1:])


def test_the_statistics_are_narrowed_by_the_dashboards_filters(client, store, world, mix):
    login(client, "super")
    table = csv_rows(client, f"/supervisor/stats.csv?year={this_year()}&agency=YJGL&risk_level=B&district=bogus")
    rows = [dict(zip(table[0], r)) for r in table[1:]]
    assert [(r["scope"], r["key"], r["name"]) for r in rows[:2]] == [("filter", "agency", "YJGL"),
                                                                      ("filter", "risk_level", "B")]
    assert rows[2]["scope"] == "year" and rows[2]["total"] == "0"
    assert [r["key"] for r in rows if r["scope"] == "agency"] == ["YJGL"]


def test_formulas_in_agency_names_come_out_inert_in_the_statistics(client, store, world):
    agencies.add_agency(store, "ZZZ", "@SUM(A1)")
    login(client, "super")
    table = csv_rows(client, f"/supervisor/stats.csv?year={this_year()}")
    assert table[-1][:3] == ["agency", "ZZZ", "'@SUM(A1)"]
    last = list(workbook(client, f"/supervisor/stats.xlsx?year={this_year()}").iter_rows())[-1]
    assert (last[2].value, last[2].data_type) == ("'@SUM(A1)", "s")


def test_the_supervisor_downloads_the_years_warnings_the_dismissed_ones_too(client, store, world):
    enterprise = add_enterprise(store, name=FORMULAS[0])
    ids = [start(store, enterprise, **EXEMPT) for _ in range(3)]
    found = alerts.warnings_of(store, this_year(), datetime.now(UTC), TZ, alerts.thresholds.DEFAULTS)
    day = next(w for w in found if w["kind"] == "frequent" and w["period"] == "day")
    alerts.dismiss(store, day["key"], this_year(), accounts.user_by_username(store, "super"), "=联合检查", datetime.now(UTC))
    login(client, "super")
    table = csv_rows(client, f"/supervisor/warnings.csv?year={this_year()}")
    assert table[0] == exports.WARNING_COLUMNS
    rows = {r[0]: dict(zip(table[0], r)) for r in table[1:]}
    warning = rows[day["key"]]
    assert {k: warning[k] for k in ("kind", "period", "enterprise_usci", "enterprise_name", "count", "inspections",
                                    "dismissed_by", "dismiss_reason")} == {
        "kind": "frequent", "period": "day", "enterprise_usci": enterprise["usci"], "enterprise_name": "'" + FORMULAS[0],
        "count": "3", "inspections": " ".join(str(i) for i in ids), "dismissed_by": "super", "dismiss_reason": "'=联合检查"}
    sheet = workbook(client, f"/supervisor/warnings.xlsx?year={this_year()}", f"warnings-{this_year()}.xlsx")
    assert values(sheet)[2:] == table[1:]
    assert all(c.data_type == "s" for r in sheet.iter_rows() for c in r if str(c.value).startswith("'"))


NEW_DOWNLOADS = ["/supervisor/inspections.xlsx", "/supervisor/stats.csv", "/supervisor/stats.xlsx",
                 "/supervisor/warnings.csv", "/supervisor/warnings.xlsx"]


@pytest.mark.parametrize("username", ["ann", "firm1", "admin"])
def test_nobody_but_a_supervisor_downloads_the_exports(client, world, username):
    login(client, username)
    assert [status(client, path) for path in NEW_DOWNLOADS] == [404] * len(NEW_DOWNLOADS)


def test_downloads_without_logging_in_go_to_the_login_page(client, world):
    assert {status(client, path) for path in NEW_DOWNLOADS} == {302}


@pytest.mark.parametrize("query", ["year=abc", "year=1999", "year=99999999999999999999", "year=", "month=",
                                   "agency=%00&district=abc&industry=" + "x" * 500 + "&risk_level=Z"])
def test_a_bad_year_or_filter_falls_back_to_this_year_unfiltered(client, world, query):
    login(client, "super")
    for path in NEW_DOWNLOADS:
        with client.get(f"{path}?{query}") as response:
            assert response.status_code == 200, (path, query)
            assert f"-{this_year()}." in response.headers["Content-Disposition"]


@pytest.mark.parametrize("query", ["month=13", "month=0", "month=abc", "from=2026-13-01&to=2026-12-31",
                                   "from=abc", "to=2026-01-01", "from=2026-03-02&to=2026-03-01",
                                   "from=2025-01-01&to=2026-01-02", "from=1999-12-31&to=2000-01-01",
                                   "from=2026-01-01&to=" + "9" * 100])
def test_a_month_or_days_that_make_no_sense_answer_400(client, world, query):
    login(client, "super")
    assert status(client, f"/supervisor/inspections.xlsx?{query}") == 400


def status(client, path):
    with client.get(path) as response:
        return response.status_code
