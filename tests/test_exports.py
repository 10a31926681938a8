"""CSV downloads: the firm gets its own records, the supervisor every inspection of the year, in batches."""

import csv
import io
from datetime import UTC, datetime, timedelta

from conftest import TZ, add_enterprise, close, login, start

from logbook import exports
from web import supervisor


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
