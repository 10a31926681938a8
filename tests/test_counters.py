"""The supervisor's counters: kept by every scan and void in the same transaction, equal to counting the
inspections themselves, local days at the year's edge, and rebuilt by `flask init-db` for an older database."""

from datetime import UTC, datetime, timedelta

import pytest
from conftest import KNOWN_CODE, TZ, add_enterprise, start, void

from logbook import accounts, db, errors, feedback, stats
from logbook.db import rows

NEW_YEAR = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 1 January 2027, 00:30 in Beijing


def counters(store):
    """Every counter row, in a fixed order."""
    return (rows(store, "SELECT * FROM inspection_counts ORDER BY agency_id, day, kind"),
            rows(store, "SELECT * FROM enterprise_counts ORDER BY year, enterprise_id"),
            rows(store, "SELECT * FROM segment_counts ORDER BY month, agency_id, district, industry, risk_level, kind"))


def from_inspections(store, year):
    """The year's totals counted from the inspections themselves, the slow way the counters replace."""
    start, end = (db.now_text(t) for t in (datetime(year, 1, 1, tzinfo=TZ), datetime(year + 1, 1, 1, tzinfo=TZ)))
    found = rows(store, """SELECT kind, counted, status, (SELECT count(*) FROM inspection_agencies a
        WHERE a.inspection_id = i.id) > 1 AS joint FROM inspections i WHERE started_at >= ? AND started_at < ?""",
                 [start, end])
    live = [i for i in found if i["kind"] != "visit" and i["status"] != "voided"]
    return {"total": len(live), "counted": sum(i["counted"] for i in live),
            "exempt": sum(1 - i["counted"] for i in live),
            "voided": sum(1 for i in found if i["kind"] != "visit" and i["status"] == "voided"),
            "visits": sum(1 for i in found if i["kind"] == "visit" and i["status"] != "voided"),
            "joint": sum(i["joint"] for i in live)}


def a_mixed_year(store, world, at):
    """Counted (one confirmed by the firm), exempt, joint, voided and manual-free visits at two enterprises."""
    other = add_enterprise(store, name="另一家企业", industry="餐饮", district="430211")
    confirmed = start(store, world["enterprise"], now=at)
    feedback.confirm_inspection(store, confirmed, accounts.user_by_username(store, "firm1"), KNOWN_CODE, at, TZ)
    voided = start(store, world["enterprise"], now=at)
    void(store, voided, now=at)
    start(store, world["enterprise"], kind="complaint", reference="投诉-1", now=at)
    start(store, other, others=("cat",), items=("SCJG-001", "YJGL-001"), agencies=["SCJG", "YJGL"], now=at)
    start(store, other, kind="visit", now=at)
    return other


def test_the_counters_give_the_same_numbers_as_the_inspections(store, world):
    at = datetime.now(UTC)
    a_mixed_year(store, world, at)
    year = at.astimezone(TZ).year
    found = stats.year_stats(store, year, TZ)
    assert found["inspections"] == from_inspections(store, year) == {
        "total": 3, "counted": 2, "exempt": 1, "voided": 1, "visits": 1, "joint": 1}
    by_agency = {a["agency"]: a for a in found["by_agency"]}
    assert (by_agency["SCJG"]["total"], by_agency["SCJG"]["counted"], by_agency["SCJG"]["exempt"]) == (3, 2, 1)
    assert (by_agency["YJGL"]["total"], by_agency["YJGL"]["counted"]) == (1, 1)  # the joint one counts for both


def test_the_most_inspected_enterprises_come_from_the_counters(store, world):
    at = datetime.now(UTC)
    a_mixed_year(store, world, at)
    top = stats.frequent_targets(store, at.astimezone(TZ).year, TZ, at_least=1)
    assert [(t["id"], t["total"], t["counted"]) for t in top] == [(world["enterprise"]["id"], 2, 1), (top[1]["id"], 1, 1)]


def test_an_inspection_after_midnight_on_new_years_eve_counts_in_the_new_local_year(store, world):
    start(store, world["enterprise"], now=NEW_YEAR)
    assert stats.year_stats(store, 2027, TZ)["inspections"]["total"] == 1
    assert stats.year_stats(store, 2026, TZ)["inspections"]["total"] == 0
    assert rows(store, "SELECT day FROM inspection_counts WHERE agency_id = 0") == [{"day": "2027-01-01"}]
    assert rows(store, "SELECT year FROM enterprise_counts") == [{"year": 2027}]


def test_a_recount_gives_exactly_the_counters_kept_by_the_scans(store, world):
    a_mixed_year(store, world, datetime.now(UTC))
    start(store, world["enterprise"], now=NEW_YEAR, kind="referral", reference="转-1")
    start(store, world["enterprise"], now=NEW_YEAR - timedelta(minutes=31))  # 23:59 on 31 December in Beijing
    kept = counters(store)
    store.execute("DELETE FROM inspection_counts")
    assert stats.recount(store, TZ) == 7
    assert counters(store) == kept
    assert stats.counted_in(store) == "Asia/Shanghai"
    every = {"agency_id": 0, "inspections": 1, "voided": 0, "manual": 0, "late": 0}
    assert every | {"joint": 1, "district": "430211", "industry": "餐饮"} in [
        {k: r[k] for k in ("agency_id", "inspections", "voided", "manual", "late", "joint", "district", "industry")}
        for r in kept[2] if r["kind"] == "routine"]
    assert sum(r["confirmed"] for r in kept[0] if r["agency_id"] == 0) == 1
    assert sum(r["joint"] for r in kept[0] if r["agency_id"] == 0) == 1


def test_init_db_fills_the_counters_of_a_database_from_before_them(app, store, world):
    start(store, world["enterprise"])
    kept = counters(store)
    store.execute("DELETE FROM inspection_counts")
    store.execute("DELETE FROM enterprise_counts")
    store.execute("UPDATE counts_state SET tz = NULL")
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "Counted 1 inspections" in result.output
    assert counters(store) == kept
    again = app.test_cli_runner().invoke(args=["init-db"])
    assert "Counted" not in again.output  # counted once, then kept by the scans


def test_a_refused_scan_changes_no_counter(store, world):
    start(store, world["enterprise"])
    start(store, world["enterprise"])
    kept = counters(store)
    with pytest.raises(errors.CapReached):
        start(store, world["enterprise"])
    assert counters(store) == kept
