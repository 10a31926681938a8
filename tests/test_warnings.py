"""The supervisor's warnings (SPEC §11) on hand-made data: Chengdu's frequency thresholds in Beijing days, a scan far
from the site, three clean inspections in a row, an agency's exempt share, late and manual entries, unconfirmed
visits, inspections open too long, complaints waiting, approvals and follow-ups overdue, and dismissing one."""

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import TZ, add_enterprise, add_user, close, start, void

from logbook import accounts, alerts, feedback, followups, inspections, tasks, thresholds
from logbook.errors import Invalid, NotFound

NOW = datetime.now(UTC)


def beijing(*args):
    return datetime(*args, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
def people(store, world):
    """Inspectors certified until 2030, for inspections on fixed dates."""
    for username, agency in (("far1", "SCJG"), ("far2", "SCJG"), ("far3", "YJGL"), ("far4", "YJGL")):
        add_user(store, username, "inspector", agency=agency, cert_days=3 * 365 + 800)


def complaint(store, enterprise, at, by="far1", others=("far2",), **extra):
    """An exempt inspection (no cap stands in the way) at `at`."""
    return start(store, enterprise, by=by, others=others, kind="complaint", reference="投诉", now=at, **extra)


def listed(store, year, at=NOW, limits=thresholds.DEFAULTS, **more):
    return alerts.warnings_of(store, year, at, TZ, limits, **more)


def of_kind(found, kind):
    return [w for w in found if w["kind"] == kind]


def test_twice_on_one_beijing_day_is_a_frequent_warning_but_either_side_of_midnight_is_not(store, world, people):
    firm, other = add_enterprise(store), add_enterprise(store)
    first = complaint(store, firm, beijing(2027, 3, 2, 9, 0))
    second = complaint(store, firm, beijing(2027, 3, 2, 23, 59))
    complaint(store, other, beijing(2027, 3, 2, 23, 59))
    complaint(store, other, beijing(2027, 3, 3, 0, 0))
    [day] = [w for w in of_kind(listed(store, 2027), "frequent") if w["period"] == "day"]
    assert (day["enterprise"]["id"], day["count"], day["inspections"]) == (firm["id"], 2, [first, second])
    assert day["since"] == "2027-03-02T01:00:00Z"


def test_three_in_seven_days_and_four_in_thirty_are_warnings_once_per_enterprise(store, world, people):
    firm = add_enterprise(store)
    ids = [complaint(store, firm, beijing(2027, 5, d, 10, 0)) for d in (1, 4, 7, 20)]
    frequent = {w["period"]: w for w in of_kind(listed(store, 2027), "frequent")}
    assert set(frequent) == {"week", "month"}
    assert (frequent["week"]["count"], frequent["week"]["inspections"]) == (3, ids[:3])
    assert (frequent["month"]["count"], frequent["month"]["inspections"]) == (4, ids)
    complaint(store, firm, beijing(2027, 5, 21, 10, 0))  # the same spell goes on: still one month warning
    months = [w for w in of_kind(listed(store, 2027), "frequent") if w["period"] == "month"]
    assert len(months) == 1 and months[0]["count"] == 5


def test_voided_inspections_and_service_visits_are_not_frequent(store, world, people):
    firm = add_enterprise(store)
    at = datetime.now(UTC)
    void(store, complaint(store, firm, at - timedelta(minutes=2)), by="far1", now=at)
    start(store, firm, by="far1", others=("far2",), kind="visit", now=at - timedelta(minutes=1))
    complaint(store, firm, at)
    assert of_kind(listed(store, at.astimezone(TZ).year), "frequent") == []


def test_voiding_an_inspection_takes_it_out_of_its_frequency_warnings_and_ends_those_it_alone_made(store, world,
                                                                                                 people):
    firm = add_enterprise(store)
    first, second, third = [complaint(store, firm, beijing(2027, 3, 2, 10, m)) for m in (0, 10, 20)]
    frequent = {w["period"]: w for w in of_kind(listed(store, 2027), "frequent")}
    assert {p: (w["count"], w["inspections"]) for p, w in frequent.items()} == {
        "day": (3, [first, second, third]), "week": (3, [first, second, third])}  # a month allows three
    void(store, first, by="far1", now=beijing(2027, 3, 2, 10, 25))
    frequent = {w["period"]: w for w in of_kind(listed(store, 2027), "frequent")}
    assert set(frequent) == {"day"}  # two in a week is within the limit: that warning is gone
    assert (frequent["day"]["count"], frequent["day"]["inspections"]) == (2, [second, third])
    assert frequent["day"]["since"] == "2027-03-02T02:10:00Z"
    assert alerts.counts_of(store, 2027) == {"frequent": 1}
    void(store, third, by="far1", now=beijing(2027, 3, 2, 10, 30))
    assert of_kind(listed(store, 2027), "frequent") == []
    assert alerts.counts_of(store, 2027) == {}


def test_a_scan_made_a_kilometre_from_the_site_is_a_warning(store, world, people):
    firm = add_enterprise(store, lat=27.8391, lon=113.1517)
    complaint(store, firm, NOW - timedelta(hours=2), location={"lat": 27.8391 + 0.0005, "lon": 113.1517})  # 56 m
    away = complaint(store, firm, NOW - timedelta(hours=1), location={"lat": 27.8391 + 0.009, "lon": 113.1517})
    [far] = of_kind(listed(store, NOW.astimezone(TZ).year), "far_from_site")
    assert far["inspections"] == [away] and 990 < far["count"] < 1010 and far["agency"] == "SCJG"
    wider = thresholds.Thresholds(site_radius_m=2000)
    assert thresholds.far_from_site({"lat": 27.8481, "lon": 113.1517}, (27.8391, 113.1517), wider) is None


def test_three_clean_inspections_in_a_row_by_one_agency_are_a_warning(store, world, people):
    firm = add_enterprise(store)
    ids = [complaint(store, firm, NOW - timedelta(days=20 - d)) for d in range(3)]
    for n, inspection_id in enumerate(ids):
        close(store, inspection_id, by="far1")
        assert bool(of_kind(listed(store, NOW.astimezone(TZ).year), "repeated_no_issue")) == (n == 2)
    [clean] = of_kind(listed(store, NOW.astimezone(TZ).year), "repeated_no_issue")
    assert (clean["agency"], clean["enterprise"]["id"], sorted(clean["inspections"])) == ("SCJG", firm["id"], ids)


def test_an_agency_whose_exempt_share_stands_out(store, world, people):
    year = 2027
    for n in range(10):  # SCJG: 8 of 10 exempt
        firm = add_enterprise(store)
        if n < 8:
            complaint(store, firm, beijing(year, 2, 1 + n, 10, 0))
        else:
            start(store, firm, by="far1", others=("far2",), now=beijing(year, 2, 1 + n, 10, 0))
    for n in range(20):  # YJGL: none of 20 exempt
        start(store, add_enterprise(store), by="far3", others=("far4",), items=("YJGL-001",), agencies=["YJGL"],
              now=beijing(year, 3, 1 + n % 28, 10, 0))
    [share] = of_kind(listed(store, year, at=beijing(year, 12, 31, 12, 0)), "high_exempt_share")
    assert (share["agency"], share["agency_name"], share["count"], share["total"]) == ("SCJG", "市场监督管理局", 8, 10)
    lenient = thresholds.Thresholds(exempt_factor=4.0)  # 0.8 is 3 times everyone's 8/30
    assert of_kind(listed(store, year, at=beijing(year, 12, 31, 12, 0), limits=lenient), "high_exempt_share") == []


def test_late_and_manual_entries_are_listed_per_agency_with_their_inspections(store, world):
    ann = accounts.user_by_username(store, "ann")
    manual = inspections.record_inspection(store, ann, inspections.StartRequest(
        usci=world["enterprise"]["usci"], kind="complaint", reference="投诉-9", inspectors=["bob"],
        items=["SCJG-001"]), NOW, TZ)
    late = inspections.record_inspection(store, ann, inspections.StartRequest(
        qr_token=world["enterprise"]["qr_token"], kind="complaint", reference="投诉-10", inspectors=["bob"],
        items=["SCJG-001"], started_at=NOW - timedelta(hours=3), reason="现场无信号"), NOW, TZ)
    [flagged] = of_kind(listed(store, NOW.astimezone(TZ).year), "late_entries")
    assert (flagged["agency"], flagged["count"], sorted(flagged["inspections"])) == ("SCJG", 2, sorted([manual, late]))


def test_visits_unconfirmed_after_a_week_and_inspections_open_too_long(store, world):
    old = start(store, world["enterprise"], kind="complaint", reference="投诉-1", now=NOW - timedelta(days=8))
    start(store, world["enterprise"], kind="complaint", reference="投诉-2", now=NOW - timedelta(days=2))
    found = listed(store, NOW.astimezone(TZ).year)
    [unconfirmed] = of_kind(found, "unconfirmed")
    assert (unconfirmed["agency"], unconfirmed["count"]) == ("SCJG", 1)
    [open_long] = of_kind(found, "open_too_long")
    assert (open_long["agency"], open_long["inspections"]) == ("SCJG", [old])
    close(store, old)
    assert of_kind(listed(store, NOW.astimezone(TZ).year), "open_too_long") == []


def test_complaints_waiting_approvals_and_follow_ups_overdue(store, world):
    firm, ann = accounts.user_by_username(store, "firm1"), accounts.user_by_username(store, "ann")
    waiting = feedback.file_complaint(store, firm, "too_frequent", "一周来了三次", None, NOW - timedelta(days=8))
    feedback.file_complaint(store, firm, "other", "刚提交", None, NOW - timedelta(days=1))
    ten_days_ago = (NOW - timedelta(days=10)).astimezone(TZ).date()
    task_id = tasks.draft_task(store, ann, tasks.TaskRequest(
        kind="routine", window_start=ten_days_ago + timedelta(days=20), window_end=ten_days_ago + timedelta(days=30),
        usci=world["enterprise"]["usci"], items=["SCJG-001"], inspectors=["bob"]), NOW - timedelta(days=10),
        ten_days_ago)
    add_user(store, "super2", "supervisor")
    followup_id = followups.create_followup(store, accounts.user_by_username(store, "super2"), "YJGL", "请说明",
                                            ten_days_ago + timedelta(days=5), ten_days_ago, NOW - timedelta(days=10),
                                            complaint_id=waiting)
    found = listed(store, NOW.astimezone(TZ).year)
    assert [w["complaints"] for w in of_kind(found, "complaints_waiting")] == [[waiting]]
    assert [(w["agency"], w["tasks"]) for w in of_kind(found, "approval_overdue")] == [("SCJG", [task_id])]
    assert [(w["agency"], w["followups"]) for w in of_kind(found, "followup_overdue")] == [("YJGL", [followup_id])]


def test_a_dismissed_warning_leaves_the_list_and_is_kept_with_its_reason(store, world, people):
    firm = add_enterprise(store)
    complaint(store, firm, beijing(2027, 3, 2, 9, 0))
    complaint(store, firm, beijing(2027, 3, 2, 15, 0))
    [warning] = listed(store, 2027)
    supervisor = accounts.user_by_username(store, "super")
    with pytest.raises(Invalid):
        alerts.dismiss(store, warning["key"], 2027, supervisor, "  ", NOW)
    for key in ("w999", "nonsense", "w" + "9" * 30, "frequent:" + "x" * 200):
        with pytest.raises(NotFound):
            alerts.dismiss(store, key, 2027, supervisor, "reason", NOW)
    alerts.dismiss(store, warning["key"], 2027, supervisor, "两次均为同一投诉的处理", NOW)
    assert listed(store, 2027) == []
    [kept] = listed(store, 2027, dismissed=True)
    assert kept["key"] == warning["key"] and kept["dismissal"]["reason"] == "两次均为同一投诉的处理"


def test_a_warning_belongs_to_the_beijing_year_of_its_last_inspection(store, world, people):
    firm = add_enterprise(store)
    complaint(store, firm, beijing(2027, 12, 29, 9, 0))
    complaint(store, firm, beijing(2027, 12, 31, 9, 0))
    complaint(store, firm, beijing(2028, 1, 1, 0, 30))  # 16:30 UTC on 31 December: already 2028 in Beijing
    assert [w["period"] for w in of_kind(listed(store, 2028, at=beijing(2028, 6, 1, 0, 0)), "frequent")] == ["week"]
    assert of_kind(listed(store, 2027, at=beijing(2028, 6, 1, 0, 0)), "frequent") == []


def test_the_frequency_rule_as_a_table():
    limits = thresholds.DEFAULTS
    at = beijing(2027, 5, 10, 10, 0)
    assert thresholds.frequency_breaches([at], at, TZ, limits) == []
    day = [at - timedelta(hours=5), at]
    assert thresholds.frequency_breaches(day, at, TZ, limits) == [("day", 2, day[0])]
    week = [at - timedelta(days=6, hours=23), at - timedelta(days=3), at]
    assert thresholds.frequency_breaches(week, at, TZ, limits) == [("week", 3, week[0])]
    a_week_apart = [at - timedelta(days=7), at - timedelta(days=3), at]  # the first has left the window
    assert thresholds.frequency_breaches(a_week_apart, at, TZ, limits) == []
    late_entry = [at - timedelta(days=2), at + timedelta(days=2)]  # a late entry between two later inspections
    assert thresholds.frequency_breaches(late_entry + [at], at, TZ, limits) == [("week", 3, late_entry[0])]
    assert date(2027, 5, 10) == at.astimezone(TZ).date()


def test_a_kinds_stored_warnings_come_a_page_at_a_time_newest_first(store, world, people):
    for n in range(3):
        firm = add_enterprise(store)
        complaint(store, firm, beijing(2027, 4, 1 + n, 9, 0))
        complaint(store, firm, beijing(2027, 4, 1 + n, 15, 0))
    assert alerts.counts_of(store, 2027) == {"frequent": 3}
    first = listed(store, 2027, kind="frequent", limit=2)
    assert [w["until"][:10] for w in first] == ["2027-04-03", "2027-04-02"]
    rest = listed(store, 2027, kind="frequent", limit=2, before=(first[-1]["until"], first[-1]["id"]))
    assert [w["until"][:10] for w in rest] == ["2027-04-01"]
    assert len(listed(store, 2027, limit=None)) == 3 and len(listed(store, 2027, limit=1)) == 1
    supervisor = accounts.user_by_username(store, "super")
    alerts.dismiss(store, first[0]["key"], 2027, supervisor, "同一投诉", NOW)
    assert alerts.counts_of(store, 2027) == {"frequent": 2}
    assert [w["key"] for w in listed(store, 2027, kind="frequent", limit=1)] == [first[1]["key"]]
    assert alerts.warning_by_key(store, first[0]["key"], 2027, NOW, TZ, thresholds.DEFAULTS)["dismissal"]["reason"] \
        == "同一投诉"
    assert alerts.warning_by_key(store, "w999", 2027, NOW, TZ, thresholds.DEFAULTS) is None
