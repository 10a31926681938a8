"""The supervisor's numbers (SPEC §11) on a hand-made data set whose right answers are written here: months and the
year's edge in Beijing time, the change against the same period of last year (a leap day included), shares, the
agencies by name, and the filters by agency, district, industry and risk level."""

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import KNOWN_CODE, TZ, add_enterprise, add_user, close, start, void

from logbook import accounts, feedback, inspections, stats


def beijing(*args):
    """An aware instant given as Beijing wall-clock time."""
    return datetime(*args, tzinfo=TZ)


@pytest.fixture
def people(store, world):
    """Inspectors whose certificates hold until 2030, for inspections on dates far from today."""
    for username, agency in (("far1", "SCJG"), ("far2", "SCJG"), ("far3", "YJGL")):
        add_user(store, username, "inspector", agency=agency, cert_days=3 * 365 + 800)


def far(store, enterprise, at, **extra):
    """An inspection by far1 and far2 of SCJG (or as `extra` says) started at `at`."""
    return start(store, enterprise, by="far1", others=("far2",), now=at.astimezone(UTC), **extra)


def test_the_year_edge_is_midnight_in_beijing_and_the_months_add_up(store, world, people):
    late_in_december, early_in_january = add_enterprise(store), add_enterprise(store)
    far(store, late_in_december, beijing(2025, 12, 31, 23, 59))
    far(store, early_in_january, beijing(2026, 1, 1, 0, 0))
    far(store, early_in_january, beijing(2026, 3, 15, 10, 0), kind="complaint", reference="投诉-1")
    old = stats.year_stats(store, 2025, TZ)
    new = stats.year_stats(store, 2026, TZ, today=date(2026, 12, 31))
    assert old["by_month"][11] == {"month": "2025-12", "total": 1, "counted": 1}
    assert sum(m["total"] for m in old["by_month"]) == old["inspections"]["total"] == 1
    assert new["by_month"][0] == {"month": "2026-01", "total": 1, "counted": 1}
    assert new["by_month"][2] == {"month": "2026-03", "total": 1, "counted": 0}
    assert [m["month"] for m in new["by_month"]] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert sum(m["total"] for m in new["by_month"]) == new["inspections"]["total"] == 2
    assert new["inspections"] == {"total": 2, "counted": 1, "exempt": 1, "voided": 0, "visits": 0, "joint": 0}


def test_the_change_compares_the_same_period_of_last_year_through_a_leap_day(store, world, people):
    firms = [add_enterprise(store) for _ in range(5)]
    far(store, firms[0], beijing(2027, 2, 28, 12, 0))   # last year, inside the same period
    far(store, firms[1], beijing(2027, 3, 1, 9, 0))     # last year, after it
    far(store, firms[2], beijing(2028, 1, 10, 9, 0))    # this year
    far(store, firms[3], beijing(2028, 2, 29, 23, 30))  # the leap day itself
    far(store, firms[4], beijing(2028, 2, 29, 9, 0), kind="referral", reference="移送-1")  # exempt: not counted
    on_leap_day = stats.year_stats(store, 2028, TZ, today=date(2028, 2, 29))
    assert on_leap_day["change"] == 1.0  # 2 counted to 29 February against 1 to 28 February: up 100 %
    whole_year = stats.year_stats(store, 2028, TZ, today=date(2029, 1, 5))
    assert whole_year["change"] == 0.0  # a past year compares whole years: 2 against 2
    assert stats.year_stats(store, 2027, TZ, today=date(2029, 1, 5))["change"] is None  # nothing in 2026


def test_a_drop_is_a_negative_fraction(store, world, people):
    firms = [add_enterprise(store) for _ in range(5)]
    for firm in firms:
        far(store, firm, beijing(2025, 5, 1, 10, 0))
    for firm in firms[:3]:
        far(store, firm, beijing(2026, 5, 1, 10, 0))
    assert stats.year_stats(store, 2026, TZ, today=date(2026, 6, 1))["change"] == -0.4
    assert stats.year_stats(store, 2026, TZ, today=date(2026, 4, 30))["change"] is None  # nothing yet last year


def test_shares_and_the_agencies_by_name(store, world):
    enterprise, other = world["enterprise"], add_enterprise(store)
    joint = start(store, enterprise, others=("cat",), agencies=["SCJG", "YJGL"], items=("SCJG-001", "YJGL-001"))
    start(store, enterprise, kind="complaint", reference="投诉-7")
    alone = start(store, other)
    void(store, start(store, other))
    feedback.confirm_inspection(store, joint, accounts.user_by_username(store, "firm1"), KNOWN_CODE,
                                datetime.now(UTC), TZ)
    close(store, alone)
    found = stats.year_stats(store, datetime.now(TZ).year, TZ, today=datetime.now(TZ).date())
    assert found["inspections"] == {"total": 3, "counted": 2, "exempt": 1, "voided": 1, "visits": 0, "joint": 1}
    assert found["joint_share"] == 0.3333 and found["confirmed_share"] == 0.3333
    scjg, yjgl = found["by_agency"]
    assert (scjg["agency"], scjg["name"], scjg["total"], scjg["exempt"], scjg["exempt_share"], scjg["joint"]) == (
        "SCJG", "市场监督管理局", 3, 1, 0.3333, 1)
    assert (yjgl["name"], yjgl["total"], yjgl["confirmed_share"], yjgl["rating"]) == ("应急管理局", 1, 1.0, None)


def test_an_agencys_average_rating_shows_from_five_ratings(store, world):
    firm = accounts.user_by_username(store, "firm1")
    for n in range(5):
        inspection_id = start(store, world["enterprise"], kind="complaint", reference=f"投诉-{n}")
        close(store, inspection_id)
        if n < 4:
            feedback.evaluate(store, inspection_id, firm, 4, None, datetime.now(UTC))
            assert stats.year_stats(store, datetime.now(TZ).year, TZ)["by_agency"][0]["rating"] is None
        else:
            feedback.evaluate(store, inspection_id, firm, 2, None, datetime.now(UTC))
    assert stats.year_stats(store, datetime.now(TZ).year, TZ)["by_agency"][0]["rating"] == 3.6


def test_late_and_manual_entries_are_counted_per_agency(store, world):
    ann = accounts.user_by_username(store, "ann")
    inspections.record_inspection(store, ann, inspections.StartRequest(
        usci=world["enterprise"]["usci"], kind="complaint", reference="投诉-9", inspectors=["bob"],
        items=["SCJG-001"]), datetime.now(UTC), TZ)
    inspections.record_inspection(store, ann, inspections.StartRequest(
        qr_token=world["enterprise"]["qr_token"], kind="complaint", reference="投诉-10", inspectors=["bob"],
        items=["SCJG-001"], started_at=datetime.now(UTC) - timedelta(hours=3), reason="现场无信号"),
        datetime.now(UTC), TZ)
    scjg = stats.year_stats(store, datetime.now(TZ).year, TZ)["by_agency"][0]
    assert (scjg["manual"], scjg["late"]) == (1, 1)


def test_filters_narrow_every_number(store, world):
    food = add_enterprise(store, industry="餐饮", risk_level="A", district="430211")
    plant = add_enterprise(store, industry="制造业", risk_level="C")  # district 430200, from its USCI
    start(store, food)
    start(store, food, kind="complaint", reference="投诉-1")
    start(store, plant, by="cat", others=("dan",), items=("YJGL-001",), agencies=["YJGL"])
    year, today = datetime.now(TZ).year, datetime.now(TZ).date()

    def totals(**filters):
        found = stats.year_stats(store, year, TZ, today=today, filters=filters)
        return found["inspections"]["total"], found["inspections"]["counted"], found["filters"]

    assert totals() == (3, 2, {})
    assert totals(industry="餐饮") == (2, 1, {"industry": "餐饮"})
    assert totals(risk_level="C") == (1, 1, {"risk_level": "C"})
    assert totals(district="430211") == (2, 1, {"district": "430211"})
    assert totals(district=plant["usci"][2:8]) == (1, 1, {"district": plant["usci"][2:8]})
    assert totals(agency="YJGL") == (1, 1, {"agency": "YJGL"})
    assert totals(agency="YJGL", industry="餐饮") == (0, 0, {"agency": "YJGL", "industry": "餐饮"})
    narrowed = stats.year_stats(store, year, TZ, today=today, filters={"agency": "SCJG", "unknown": "x"})
    assert [a["agency"] for a in narrowed["by_agency"]] == ["SCJG"] and narrowed["filters"] == {"agency": "SCJG"}
    assert stats.year_stats(store, year, TZ, filters={"industry": "餐饮"})["refused"] is None


def test_an_unknown_agency_narrows_everything_to_nothing(store, world):
    start(store, world["enterprise"])
    found = stats.year_stats(store, datetime.now(TZ).year, TZ, filters={"agency": "NOPE"})
    assert found["inspections"]["total"] == 0 and found["by_agency"] == [] and found["refused"] == 0
