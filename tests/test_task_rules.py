"""The pure task rules of SPEC §9 as tables: a task's status, its window, drafting, notice, matching two agencies'
tasks into one visit, three clean inspections in a row, and the reproducible random draw."""

import hashlib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from logbook import rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 1)


def d(offset):
    """TODAY moved by `offset` days."""
    return TODAY + timedelta(days=offset)


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


# ---- status as of today ----------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "window_end", "expected"), [
    ("approved", d(1), "approved"),
    ("approved", d(0), "approved"),      # the window's last day is still inside it
    ("approved", d(-1), "expired"),      # the day after: passed unused
    ("approved", d(-400), "expired"),
    ("submitted", d(-1), "submitted"),   # only an approved task expires
    ("rejected", d(-1), "rejected"),
    ("done", d(-1), "done"),
    ("cancelled", d(-1), "cancelled"),
])
def test_an_approved_task_whose_window_has_passed_is_expired(status, window_end, expected):
    assert rules.task_status(status, window_end, TODAY) == expected


# ---- the window --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "covered"), [
    (d(-1), False), (d(0), True), (d(3), True), (d(7), True), (d(8), False)])
def test_a_window_covers_both_of_its_ends(day, covered):
    assert rules.covers(d(0), d(7), day) is covered


def test_a_one_day_window_covers_that_day_only():
    assert [rules.covers(TODAY, TODAY, d(n)) for n in (-1, 0, 1)] == [False, True, False]


@pytest.mark.parametrize(("instant", "window", "covered"), [
    # 2026-12-31T16:00Z is already 2027-01-01 00:00 in Beijing: a January window covers it, a December one does not,
    # though the UTC date still says 31 December
    (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), (date(2027, 1, 1), date(2027, 1, 31)), True),
    (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), (date(2026, 12, 1), date(2026, 12, 31)), False),
    (datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC), (date(2027, 1, 1), date(2027, 1, 31)), False),
    (datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC), (date(2026, 12, 1), date(2026, 12, 31)), True),
    (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), (date(2026, 12, 28), date(2027, 1, 3)), True),  # across New Year
    (datetime(2026, 12, 27, 15, 59, tzinfo=UTC), (date(2026, 12, 28), date(2027, 1, 3)), False),
])
def test_the_local_date_in_beijing_is_what_a_window_covers(instant, window, covered):
    assert rules.covers(*window, instant.astimezone(SHANGHAI).date()) is covered


# ---- drafting ----------------------------------------------------------------------------------------

GOOD = {"kind": "routine", "window_start": d(3), "window_end": d(30), "today": TODAY, "certified": 2,
        "items": ["SCJG-001"]}


def problems_of(**overrides):
    f = GOOD | overrides
    return rules.task_problems(f["kind"], f["window_start"], f["window_end"], f["today"], f["certified"], f["items"])


def test_a_good_draft_has_no_problems():
    assert problems_of() == {}


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"kind": "visit"}, {"kind": "bad_kind"}),                         # a service visit is never planned as a task
    ({"kind": "raid"}, {"kind": "bad_kind"}),
    ({"kind": "complaint"}, {}),                                       # exempt kinds may be planned too
    ({"window_start": None}, {"window_end": "bad_task_window"}),
    ({"window_end": None}, {"window_end": "bad_task_window"}),
    ({"window_start": d(5), "window_end": d(4)}, {"window_end": "bad_task_window"}),
    ({"window_start": d(5), "window_end": d(5)}, {}),                  # one day
    ({"window_start": d(-10), "window_end": d(-1)}, {"window_end": "window_passed"}),
    ({"window_start": d(-10), "window_end": d(0)}, {}),                # ends today: still usable
    ({"window_start": d(0), "window_end": d(365)}, {}),                # 366 days, both ends included
    ({"window_start": d(0), "window_end": d(366)}, {"window_end": "window_too_long"}),
    ({"certified": 1}, {"inspectors": "too_few_inspectors"}),
    ({"certified": 0, "items": []}, {"inspectors": "too_few_inspectors", "items": "no_items"}),
    ({"certified": 5}, {}),
])
def test_draft_problems_name_each_field_with_its_code(overrides, expected):
    assert {field: p.code for field, p in problems_of(**overrides).items()} == expected


# ---- notice --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("window_start", "notice_days", "late"), [
    (d(3), 3, False),     # exactly notice_days ahead
    (d(2), 3, True),      # one day short
    (d(30), 3, False),
    (d(0), 3, True),
    (d(-1), 3, True),     # already open
    (d(0), 0, False),     # no notice period: today is fine
    (d(-1), 0, True),
    (d(7), 7, False),
    (d(6), 7, True),
])
def test_notice_must_reach_the_firm_notice_days_before_the_window_opens(window_start, notice_days, late):
    problem = rules.notice_problem(window_start, TODAY, notice_days)
    assert (problem is not None) is late
    if late:
        assert problem.code == "notice_too_late" and problem.params == {"days": notice_days}


# ---- matching two agencies' tasks ------------------------------------------------------------------------

def task(agency="SCJG", start=5, end=20, status="approved", enterprise_id=1):
    return {"agency": agency, "enterprise_id": enterprise_id, "status": status, "window_start": d(start),
            "window_end": d(end)}


MINE = task()  # SCJG, approved, day 5 to day 20


@pytest.mark.parametrize(("mine", "theirs", "code"), [
    (MINE, task("YJGL", 10, 25), None),
    (MINE, task("YJGL", 20, 30), None),                         # touching on my last day: they overlap
    (MINE, task("YJGL", 0, 5), None),                           # touching on my first day
    (MINE, task("YJGL", 8, 9), None),                           # inside
    (MINE, task("YJGL", 0, 30), None),                          # around
    (MINE, task("YJGL", 21, 30), "windows_apart"),              # one day apart
    (MINE, task("YJGL", 0, 4), "windows_apart"),
    (MINE, task("SCJG", 10, 25), "same_agency_tasks"),          # the same agency never matches
    (MINE, task("YJGL", 10, 25, enterprise_id=2), "other_enterprise_tasks"),
    (MINE, task("YJGL", 10, 25, status="submitted"), "tasks_not_approved"),
    (MINE, task("YJGL", 10, 25, status="rejected"), "tasks_not_approved"),
    (MINE, task("YJGL", 10, 25, status="done"), "tasks_not_approved"),
    (MINE, task("YJGL", 10, 25, status="cancelled"), "tasks_not_approved"),
    (task(start=-9, end=3), task("YJGL", -10, -1), "tasks_not_approved"),  # theirs overlapped mine, but has expired
    (task(start=-9, end=3), task("YJGL", -10, 0), None),                  # ends today: not expired yet
    (task(start=-9, end=-1), task("YJGL", -9, 5), "tasks_not_approved"),  # mine has expired
])
def test_two_tasks_match_only_when_approved_of_different_agencies_for_one_firm_with_overlapping_windows(
        mine, theirs, code):
    for a, b in ((mine, theirs), (theirs, mine)):  # matching is symmetric
        problem = rules.match_problem(a, b, TODAY)
        assert (problem.code if problem else None) == code


def test_the_same_agency_is_named_first_even_for_another_firm_and_status():
    problem = rules.match_problem(task(), task(enterprise_id=2, status="submitted", start=40, end=50), TODAY)
    assert problem.code == "same_agency_tasks"


# ---- three clean inspections in a row (newest first) -----------------------------------------------------

@pytest.mark.parametrize(("results", "streak"), [
    ([], False),
    (["no_issue"], False),
    (["no_issue", "no_issue"], False),                              # fewer than three
    (["no_issue"] * 3, True),
    (["no_issue"] * 5, True),
    (["rectify", "no_issue", "no_issue", "no_issue"], False),       # the newest found something: reset
    (["no_issue", "case_filed", "no_issue", "no_issue"], False),
    (["no_issue", "no_issue", "rectify"], False),
    (["no_issue", "no_issue", "no_issue", "rectify"], True),        # only the last three count
    ([None, "no_issue", "no_issue", "no_issue"], False),            # an open one (no result yet) is not clean
    (["no_issue", None, "no_issue"], False),
])
def test_three_clean_results_in_a_row_make_a_streak(results, streak):
    assert rules.clean_streak(results) is streak


# ---- the random draw (双随机) ------------------------------------------------------------------------------

USCIS = ["91430200MA0000003X", "91430200MA0000001A", "91430200MA0000002B", "91430200MA0000004C"]


def test_the_candidates_hash_is_the_sha256_of_the_sorted_uscis_joined_by_newlines():
    assert rules.candidates_hash(USCIS) == sha("\n".join(sorted(USCIS)))
    assert rules.candidates_hash(list(reversed(USCIS))) == rules.candidates_hash(USCIS)  # order given does not matter
    assert rules.candidates_hash(USCIS[:3]) != rules.candidates_hash(USCIS)
    assert rules.candidates_hash([]) == sha("")


@pytest.mark.parametrize("count", [0, 1, 2, 4, 9])
def test_the_firms_drawn_are_those_with_the_smallest_hash_of_seed_and_usci(count):
    expected = sorted(USCIS, key=lambda u: sha(f"seed-1|{u}"))[:count]
    assert rules.drawn("seed-1", USCIS, count) == expected
    assert rules.drawn("seed-1", list(reversed(USCIS)), count) == expected  # whatever order the candidates come in


def test_a_draw_is_reproducible_and_depends_on_its_seed():
    assert rules.drawn("2026-03-01", USCIS, 4) == rules.drawn("2026-03-01", USCIS, 4)
    orders = {tuple(rules.drawn(f"seed-{n}", USCIS, 4)) for n in range(10)}
    assert len(orders) > 1
    assert rules.drawn("seed", USCIS, -1) == []


def test_a_firms_pair_is_the_two_inspectors_with_the_smallest_hash_of_seed_usci_and_username():
    names = ["ann", "bob", "cat", "dan", "eve"]
    expected = sorted(names, key=lambda n: sha(f"s|{USCIS[0]}|{n}"))[:2]
    assert rules.pair("s", USCIS[0], names) == expected == rules.pair("s", USCIS[0], list(reversed(names)))
    assert len({tuple(rules.pair("s", u, names)) for u in USCIS} | {tuple(rules.pair(f"s{n}", USCIS[0], names))
                                                                  for n in range(10)}) > 1


@pytest.mark.parametrize(("names", "size"), [([], 0), (["ann"], 1), (["ann", "bob"], 2)])
def test_with_fewer_than_two_inspectors_the_pair_is_whoever_there_is(names, size):
    assert sorted(rules.pair("s", USCIS[0], names)) == sorted(names)
    assert len(rules.pair("s", USCIS[0], names)) == size
