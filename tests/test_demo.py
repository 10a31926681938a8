"""The demo's story (issue 11): a city of 300 firms whose counted inspections fell by about 40% under the caps, with
the supervisor's warnings of several kinds, one follow-up in each state, ratings enough for averages, and a journal
that `flask journal verify` finds intact."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from logbook import alerts, db, demo, demo_city, stats, thresholds, usci
from logbook.db import rows, value

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Zhuzhou: a fixed day, so the story is the same in every run
TODAY = date(2026, 11, 30)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The demo loaded once, as of NOW, into a database of its own."""
    store = db.connect(str(tmp_path_factory.mktemp("demo") / "demo.db"))
    db.migrate(store)
    demo.load(store, TODAY, NOW, TZ, hash_method="pbkdf2:sha256:1000")
    yield store
    store.conn.close()


def test_counted_inspections_are_down_about_forty_percent_against_last_year(city):
    year = stats.year_stats(city, 2026, TZ, today=TODAY)
    assert -0.5 < year["change"] < -0.35
    assert year["previous_year"]["counted"] > 700 and year["inspections"]["counted"] > 350
    assert year["refused"] > 0 and year["merged_tasks"] > 0 and year["joint_share"] > 0.05
    assert 0.3 < year["confirmed_share"] < 0.9
    assert all(m["total"] > 0 for m in year["by_month"][:11])  # every month so far


def test_some_agencies_have_enough_ratings_for_an_average(city):
    rated = [a for a in stats.year_stats(city, 2026, TZ, today=TODAY)["by_agency"] if a["rating"] is not None]
    assert len(rated) >= 3
    assert all(1 <= a["rating"] <= 5 for a in rated)


def test_the_supervisor_is_warned_of_several_kinds(city):
    kinds = {w["kind"] for w in alerts.warnings_of(city, 2026, NOW, TZ, thresholds.DEFAULTS)}
    assert {"frequent", "high_exempt_share", "open_too_long", "late_entries", "unconfirmed", "far_from_site",
            "complaints_waiting", "approval_overdue", "repeated_no_issue"} <= kinds
    exempt = {w["agency"] for w in alerts.warnings_of(city, 2026, NOW, TZ, thresholds.DEFAULTS)
              if w["kind"] == "high_exempt_share"}
    assert exempt == {"XFJY"}  # the fire brigade, whose visits come as complaints since the caps


def test_there_is_one_follow_up_in_each_state(city):
    assert sorted(r["status"] for r in rows(city, "SELECT status FROM followups")) == [
        "accepted", "answered", "open", "returned"]
    assert value(city, "SELECT count(*) FROM followup_steps") == 4 + 2 + 1 + 2 + 0


def test_the_firms_are_spread_over_the_five_districts_with_valid_codes(city):
    firms = demo_city.city_firms()
    assert len({f["usci"] for f in firms}) == len({f["name"] for f in firms}) == demo_city.FIRMS
    assert all(usci.validate(f["usci"]) == f["usci"] for f in firms)
    assert {r["district"] for r in rows(city, "SELECT DISTINCT district FROM enterprises")} >= set(demo_city.DISTRICTS)
    assert not [f for f in firms if "明辉" in f["name"]]  # the browser tests find the demo firm by name


def test_the_cast_of_the_demo_stays_apart_from_the_city(city):
    first = demo.demo_usci(demo.ENTERPRISES[0][0])
    assert value(city, "SELECT count(*) FROM inspections i JOIN enterprises e ON e.id = i.enterprise_id "
                       "WHERE e.usci = ?", [first]) == 1  # 王强's, today: the firm's quota still has room


def test_flask_demo_leaves_the_journal_intact(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    result = runner.invoke(args=["journal", "verify"])
    assert result.exit_code == 0, result.output
    assert "Journal intact" in result.output
