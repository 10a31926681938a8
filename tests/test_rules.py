"""The pure rules as tables: caps, windows, which limit rules apply, certificates, lateness and the checks."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from logbook import rules
from logbook.rules import CapReached, Facts, LimitRule

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 Beijing time
TODAY = date(2026, 3, 1)

WHITELISTED = "914403001922038216"
ENTERPRISE = {"usci": "91110108551385082Q", "risk_level": "B", "industry": "制造业"}


def utc(*parts):
    """An aware UTC datetime."""
    return datetime(*parts, tzinfo=UTC)


# ---- caps ---------------------------------------------------------------------------------------

DEFAULT = LimitRule(id=1, max=2)


@pytest.mark.parametrize("used", [0, 1])
def test_an_inspection_under_the_cap_is_allowed(used):
    assert rules.check_caps([(DEFAULT, used)]) is None


def test_the_third_inspection_under_a_max_of_two_is_refused_with_the_numbers():
    with pytest.raises(CapReached) as refused:
        rules.check_caps([(DEFAULT, 2)])
    assert (refused.value.rule, refused.value.used, refused.value.max) == (DEFAULT, 2, 2)
    assert "2 of 2" in str(refused.value)
    assert "rule 1: max 2 per calendar year, all agencies, all enterprises" in str(refused.value)


def test_the_first_rule_that_would_be_exceeded_is_the_one_reported():
    agency_rule = LimitRule(id=5, max=1, agency="SCJG")
    with pytest.raises(CapReached) as refused:
        rules.check_caps([(DEFAULT, 1), (agency_rule, 1)])
    assert (refused.value.rule.id, refused.value.used, refused.value.max) == (5, 1, 1)


def test_a_white_listed_firm_refuses_even_the_first_inspection():
    whitelist = LimitRule(id=2, max=0, target="enterprise", value=WHITELISTED)
    with pytest.raises(CapReached) as refused:
        rules.check_caps([(whitelist, 0)])
    assert (refused.value.used, refused.value.max) == (0, 0)


def test_no_applicable_rules_means_no_cap():
    assert rules.check_caps([]) is None


@pytest.mark.parametrize("rule, text", [
    (LimitRule(id=1, max=2), "rule 1: max 2 per calendar year, all agencies, all enterprises"),
    (LimitRule(id=3, max=1, agency="SCJG", target="risk", value="A", window="days:30"),
     "rule 3: max 1 per 30 days, SCJG, risk A"),
    (LimitRule(id=4, max=0, target="enterprise", value=WHITELISTED),
     f"rule 4: max 0 per calendar year, all agencies, enterprise {WHITELISTED}"),
])
def test_a_rule_describes_itself_with_its_numbers(rule, text):
    assert rule.describe() == text


# ---- windows ------------------------------------------------------------------------------------

@pytest.mark.parametrize("at, start, end", [
    # 31 December 23:59 Beijing time is still 2025 ...
    (datetime(2025, 12, 31, 23, 59, tzinfo=SHANGHAI), utc(2024, 12, 31, 16), utc(2025, 12, 31, 16)),
    (utc(2025, 12, 31, 15, 59, 59), utc(2024, 12, 31, 16), utc(2025, 12, 31, 16)),
    # ... 1 January 00:00 Beijing time (16:00 UTC the day before) is 2026
    (datetime(2026, 1, 1, 0, 0, tzinfo=SHANGHAI), utc(2025, 12, 31, 16), utc(2026, 12, 31, 16)),
    (utc(2025, 12, 31, 16, 0), utc(2025, 12, 31, 16), utc(2026, 12, 31, 16)),
    # a leap day sits inside its own year
    (datetime(2028, 2, 29, 12, 0, tzinfo=SHANGHAI), utc(2027, 12, 31, 16), utc(2028, 12, 31, 16)),
])
def test_the_calendar_year_window_follows_beijing_time(at, start, end):
    assert rules.window_bounds("year", at, SHANGHAI) == (start, end)
    assert start <= at < end


def test_new_years_eve_and_new_years_day_fall_in_different_windows():
    eve = rules.window_bounds("year", datetime(2025, 12, 31, 23, 59, tzinfo=SHANGHAI), SHANGHAI)
    morning = rules.window_bounds("year", datetime(2026, 1, 1, 0, 0, tzinfo=SHANGHAI), SHANGHAI)
    assert eve[1] == morning[0]
    assert eve != morning


@pytest.mark.parametrize("year, days", [(2025, 365), (2028, 366), (2100, 365), (2000, 366)])
def test_a_leap_year_window_is_one_day_longer(year, days):
    start, end = rules.year_bounds(year, SHANGHAI)
    assert end - start == timedelta(days=days)


@pytest.mark.parametrize("before, inside", [
    (timedelta(0), True),
    (timedelta(days=29, hours=23, minutes=59), True),
    (timedelta(days=30) - timedelta(seconds=1), True),
    (timedelta(days=30), False),
    (timedelta(days=31), False),
    (-timedelta(seconds=1), False),
])
def test_a_rolling_window_covers_the_last_n_days_up_to_the_instant(before, inside):
    start, end = rules.window_bounds("days:30", NOW, SHANGHAI)
    assert (start <= NOW - before < end) is inside


def test_a_rolling_window_across_a_leap_day_counts_it_as_a_day():
    at = datetime(2028, 3, 1, 12, 0, tzinfo=SHANGHAI)
    start, _ = rules.window_bounds("days:2", at, SHANGHAI)
    assert start <= datetime(2028, 2, 28, 12, 0, 1, tzinfo=SHANGHAI)
    assert start > datetime(2028, 2, 28, 12, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize("text, parsed", [("year", ("year", None)), ("days:30", ("days", 30)),
                                          ("days:1", ("days", 1)), ("days:365", ("days", 365))])
def test_a_window_is_a_year_or_a_number_of_days(text, parsed):
    assert rules.parse_window(text) == parsed


@pytest.mark.parametrize("text", ["", "Year", "month", "days", "days:", "days:0", "days:-3", "days:1.5",
                                  "days:x", " year", "days:30 ", None, 30])
def test_a_malformed_window_is_refused_with_a_message(text):
    with pytest.raises(ValueError, match="window must be 'year' or 'days:N'"):
        rules.parse_window(text)


# ---- which rules apply ----------------------------------------------------------------------------

ALL = LimitRule(id=1, max=2)
WHITELIST = LimitRule(id=2, max=0, target="enterprise", value=WHITELISTED)
RISK_A = LimitRule(id=3, max=1, target="risk", value="A")
FOOD = LimitRule(id=4, max=3, target="industry", value="食品")
SCJG = LimitRule(id=5, max=1, agency="SCJG")
YJGL = LimitRule(id=6, max=1, agency="YJGL")
ROLLING = LimitRule(id=7, max=1, window="days:30")
SCJG_WHITELIST = LimitRule(id=8, max=0, agency="SCJG", target="enterprise", value=WHITELISTED)
RISK_C_LOOSE = LimitRule(id=9, max=4, target="risk", value="C")
FOOD_TIGHT = LimitRule(id=10, max=1, target="industry", value="食品")


def firm(usci=ENTERPRISE["usci"], risk="B", industry="制造业"):
    """An enterprise mapping as applicable_rules takes it."""
    return {"usci": usci, "risk_level": risk, "industry": industry}


@pytest.mark.parametrize("rule_set, enterprise, expected", [
    ([ALL], firm(), [ALL]),
    # 无事不扰: the enterprise's own max 0 beats the max 2 for all enterprises
    ([ALL, WHITELIST], firm(usci=WHITELISTED), [WHITELIST]),
    ([WHITELIST, ALL], firm(usci=WHITELISTED), [WHITELIST]),
    ([ALL, WHITELIST], firm(), [ALL]),
    # a risk level or industry beats "all", even with a higher max
    ([ALL, RISK_A], firm(risk="A"), [RISK_A]),
    ([ALL, RISK_A], firm(risk="B"), [ALL]),
    ([ALL, FOOD], firm(industry="食品"), [FOOD]),
    ([ALL, FOOD], firm(industry="制造业"), [ALL]),
    # a tie between equally specific rules takes the lower max, whatever the order
    ([ALL, RISK_A, FOOD], firm(risk="A", industry="食品"), [RISK_A]),
    ([FOOD, RISK_A, ALL], firm(risk="A", industry="食品"), [RISK_A]),
    ([ALL, RISK_C_LOOSE, FOOD_TIGHT], firm(risk="C", industry="食品"), [FOOD_TIGHT]),
    ([ALL, FOOD, FOOD_TIGHT], firm(industry="食品"), [FOOD_TIGHT]),
    # the enterprise beats both risk level and industry
    ([RISK_A, FOOD, WHITELIST], firm(usci=WHITELISTED, risk="A", industry="食品"), [WHITELIST]),
    # different windows are different rules: both hold
    ([ALL, ROLLING], firm(), [ROLLING, ALL]),
    # no matching rule, no limit
    ([RISK_A, FOOD], firm(), []),
    ([], firm(), []),
])
def test_the_most_specific_rule_per_scope_and_window_applies(rule_set, enterprise, expected):
    assert rules.applicable_rules(rule_set, enterprise) == expected


@pytest.mark.parametrize("agencies, expected", [
    (["SCJG"], [ALL, SCJG]),
    (["YJGL"], [ALL, YJGL]),
    (["XFJY"], [ALL]),
    # a joint inspection: the all-agency rule once, plus each participating agency's rule
    (["SCJG", "YJGL"], [ALL, SCJG, YJGL]),
    (["YJGL", "SCJG", "XFJY"], [ALL, SCJG, YJGL]),
    (None, [ALL, SCJG, YJGL]),
])
def test_agency_rules_apply_only_when_that_agency_takes_part(agencies, expected):
    assert rules.applicable_rules([YJGL, ALL, SCJG], firm(), agencies) == expected


def test_a_white_listed_firm_keeps_a_rule_per_scope_in_a_joint_inspection():
    chosen = rules.applicable_rules([ALL, WHITELIST, SCJG, SCJG_WHITELIST, YJGL], firm(usci=WHITELISTED),
                                    ["SCJG", "YJGL"])
    assert chosen == [WHITELIST, SCJG_WHITELIST, YJGL]


@pytest.mark.parametrize("rule, enterprise, matches", [
    (RISK_A, {"usci": WHITELISTED, "risk_level": None, "industry": None}, False),
    (FOOD, {"usci": WHITELISTED}, False),
    (WHITELIST, {"usci": WHITELISTED}, True),
    (ALL, {}, True),
])
def test_a_rule_matches_only_enterprises_with_its_value(rule, enterprise, matches):
    assert rule.matches(enterprise) is matches


# ---- kinds ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, counted_kinds, counted, exempt", [
    ("routine", rules.COUNTED_KINDS, True, False),
    ("special", rules.COUNTED_KINDS, True, False),
    ("complaint", rules.COUNTED_KINDS, False, True),
    ("recheck", rules.COUNTED_KINDS, False, True),
    ("visit", rules.COUNTED_KINDS, False, False),
    # which kinds count is configuration
    ("complaint", ("routine", "complaint"), True, False),
    ("special", ("routine",), False, True),
])
def test_counted_and_exempt_kinds_follow_the_configuration(kind, counted_kinds, counted, exempt):
    assert rules.is_counted(kind, counted_kinds) is counted
    assert rules.is_exempt(kind, counted_kinds) is exempt


# ---- certificates and lateness --------------------------------------------------------------------

@pytest.mark.parametrize("cert_no, expires, day, valid", [
    ("C-1", "2026-03-01", TODAY, True),                  # expires today: still valid today
    ("C-1", "2026-03-02", TODAY, True),
    ("C-1", "2026-02-28", TODAY, False),                 # expired yesterday
    ("C-1", date(2026, 3, 1), TODAY, True),
    ("C-1", date(2026, 2, 28), TODAY, False),
    ("", "2027-01-01", TODAY, False),                    # no number
    (None, "2027-01-01", TODAY, False),
    ("C-1", None, TODAY, False),                         # no expiry
    ("C-1", "", TODAY, False),
    ("C-1", "2028-02-29", date(2028, 2, 29), True),      # leap day
    ("C-1", "2028-02-29", date(2028, 3, 1), False),
])
def test_a_certificate_is_valid_through_its_expiry_day(cert_no, expires, day, valid):
    assert rules.certificate_valid(cert_no, expires, day) is valid


@pytest.mark.parametrize("offset, late, problem", [
    (timedelta(minutes=6), False, "the start time is in the future"),
    (timedelta(minutes=4), False, None),                  # a phone clock a little fast
    (timedelta(0), False, None),
    (-timedelta(minutes=1), False, None),
    (-timedelta(minutes=10), False, None),
    (-timedelta(minutes=11), True, None),
    (-timedelta(hours=1), True, None),
    (-timedelta(days=10), True, None),
    (-timedelta(days=10, seconds=1), False, "a late entry may go back at most 10 days"),
    (-timedelta(days=11), False, "a late entry may go back at most 10 days"),
])
def test_a_start_time_in_the_past_is_late_and_too_far_is_refused(offset, late, problem):
    assert rules.lateness(NOW + offset, NOW) == (late, problem)


# ---- the checks before an inspection starts -------------------------------------------------------

ANN = {"username": "ann", "agency": "SCJG", "cert_no": "C-ann", "cert_expires_on": "2027-01-01"}
BOB = {"username": "bob", "agency": "SCJG", "cert_no": "C-bob", "cert_expires_on": "2027-01-01"}
CAT = {"username": "cat", "agency": "YJGL", "cert_no": "C-cat", "cert_expires_on": "2027-01-01"}
EXPIRED_BOB = dict(BOB, cert_expires_on="2026-02-28")
UNCERTIFIED_BOB = dict(BOB, cert_no=None, cert_expires_on=None)
RECTIFIED = {"enterprise_id": 1, "status": "closed", "result": "rectify"}


def facts(**overrides):
    """A routine single-agency inspection by ann and bob that passes every check; overrides break it."""
    fields = dict(kind="routine", agencies=["SCJG"], known_agencies={"SCJG", "YJGL", "XFJY"},
                  caller_agency="SCJG", inspectors=[ANN, BOB], unknown_inspectors=[], items=["SCJG-001"],
                  item_agencies={"SCJG-001": "SCJG", "SCJG-002": "SCJG", "YJGL-001": "YJGL"},
                  reference=None, reason=None, late=False, enterprise_id=1, day=TODAY)
    return Facts(**(fields | overrides))


@pytest.mark.parametrize("overrides", [
    {},
    {"agencies": ["SCJG", "YJGL"], "inspectors": [ANN, CAT], "items": ["SCJG-001", "YJGL-001"]},
    {"kind": "complaint", "reference": "12345-2026-001"},
    {"kind": "recheck", "reference": "株市监改〔2026〕3号", "recheck_of": 7, "recheck_target": RECTIFIED},
    {"late": True, "reason": "network was down"},
    {"kind": "visit", "inspectors": [ANN], "items": []},      # a visit needs no items nor two inspectors
    {"kind": "visit", "inspectors": [dict(ANN, cert_no=None)], "items": []},
    {"inspectors": [ANN, BOB, UNCERTIFIED_BOB | {"username": "eve"}]},  # two certified are enough
])
def test_a_well_formed_inspection_has_no_problems(overrides):
    assert rules.inspection_problems(facts(**overrides)) == {}


@pytest.mark.parametrize("overrides, field, message", [
    ({"inspectors": [ANN]}, "inspectors",
     "at least 2 inspectors with a valid certificate must take part; 1 do"),
    ({"inspectors": [ANN, EXPIRED_BOB]}, "inspectors",
     "at least 2 inspectors with a valid certificate must take part; 1 do"),
    ({"inspectors": [ANN, UNCERTIFIED_BOB]}, "inspectors",
     "at least 2 inspectors with a valid certificate must take part; 1 do"),
    ({"inspectors": [ANN, BOB, CAT]}, "inspectors", "not of a participating agency: cat"),
    ({"unknown_inspectors": ["zed"]}, "inspectors", "not an active inspector: zed"),
    ({"items": ["YJGL-001"]}, "items", "not on a participating agency's active list: YJGL-001"),
    ({"items": ["SCJG-001", "GONE-9"]}, "items", "not on a participating agency's active list: GONE-9"),
    ({"items": []}, "items", "name at least one item of the inspection list"),
    ({"kind": "complaint"}, "reference", "a complaint inspection needs a reference"),
    ({"kind": "emergency", "reference": "   "}, "reference", "a emergency inspection needs a reference"),
    ({"kind": "recheck", "reference": "R-1"}, "recheck_of", "a recheck must name the inspection it rechecks"),
    ({"kind": "recheck", "reference": "R-1", "recheck_of": 99, "recheck_target": None}, "recheck_of",
     "no earlier inspection of this enterprise ended in rectify"),
    ({"kind": "recheck", "reference": "R-1", "recheck_of": 7, "recheck_target": RECTIFIED | {"enterprise_id": 2}},
     "recheck_of", "no earlier inspection of this enterprise ended in rectify"),
    ({"kind": "recheck", "reference": "R-1", "recheck_of": 7, "recheck_target": RECTIFIED | {"result": "no_issue"}},
     "recheck_of", "no earlier inspection of this enterprise ended in rectify"),
    ({"late": True}, "reason", "a late entry needs a reason"),
    ({"late": True, "reason": " "}, "reason", "a late entry needs a reason"),
    ({"agencies": ["YJGL"], "inspectors": [ANN, CAT], "items": ["YJGL-001"]}, "agencies",
     "your own agency must take part"),
    ({"agencies": ["SCJG", "NOPE"]}, "agencies", "unknown agency: NOPE"),
    ({"problems": {"location": "lat must be between -90 and 90"}}, "location", "lat must be between -90 and 90"),
])
def test_a_malformed_inspection_is_refused_field_by_field(overrides, field, message):
    problems = rules.inspection_problems(facts(**overrides))
    assert message in problems[field]


def test_every_problem_is_reported_at_once():
    problems = rules.inspection_problems(facts(kind="complaint", inspectors=[ANN], items=[], late=True))
    assert set(problems) == {"inspectors", "items", "reference", "reason"}


# ---- closing and voiding --------------------------------------------------------------------------

@pytest.mark.parametrize("result, findings, rectify_by, expected", [
    ("no_issue", None, None, set()),
    ("no_issue", "", None, set()),
    ("rectify", "灭火器过期", TODAY, set()),
    ("rectify", "灭火器过期", TODAY + timedelta(days=30), set()),
    ("case_filed", "无证经营", None, set()),
    ("rectify", "灭火器过期", TODAY - timedelta(days=1), {"rectify_by"}),
    ("rectify", "灭火器过期", None, {"rectify_by"}),
    ("rectify", "  ", None, {"findings", "rectify_by"}),
    ("case_filed", None, None, {"findings"}),
    ("fine", "x", None, {"result"}),
    (None, None, None, {"result", "findings"}),
])
def test_closing_needs_a_known_result_findings_and_a_future_deadline(result, findings, rectify_by, expected):
    assert set(rules.close_problems(result, findings, rectify_by, TODAY)) == expected


@pytest.mark.parametrize("status, recorded_before, problem", [
    ("open", timedelta(0), None),
    ("open", timedelta(minutes=30), None),
    ("open", timedelta(minutes=31), "an inspection can be voided only within 30 minutes of being recorded"),
    ("open", timedelta(days=1), "an inspection can be voided only within 30 minutes of being recorded"),
    ("closed", timedelta(minutes=1), "only an open inspection can be voided"),
    ("voided", timedelta(minutes=1), "only an open inspection can be voided"),
])
def test_only_a_fresh_open_inspection_can_be_voided(status, recorded_before, problem):
    assert rules.void_problem(status, NOW - recorded_before, NOW) == problem


def _at(day, hour=12):
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.mark.parametrize("times, at, days, expected", [
    ([], _at(10), 30, 0),                                          # nothing yet
    ([_at(1), _at(5)], _at(10), 30, 2),                            # the usual case: both look back into the window
    ([_at(1)], _at(10), 5, 0),                                     # too old for a 5-day window
    ([_at(12)], _at(10), 5, 1),                                    # a late entry sees the inspection after it
    ([_at(16)], _at(10), 5, 0),                                    # ... unless it is beyond the window's reach
    ([_at(6), _at(12)], _at(10), 5, 1),                            # no single 5-day window holds both
    ([_at(8), _at(12)], _at(10), 5, 2),                            # one 5-day window holds both
], ids=["empty", "look-back", "too-old", "late-sees-later", "later-out-of-reach", "split", "together"])
def test_busiest_rolling_window_around_a_start(times, at, days, expected):
    assert rules.busiest_window(times, at, days) == expected


def test_a_month_runs_from_its_first_midnight_to_the_next_months_in_local_time():
    assert rules.month_bounds(2026, 12, SHANGHAI) == (datetime(2026, 11, 30, 16, tzinfo=UTC),
                                                      datetime(2026, 12, 31, 16, tzinfo=UTC))
    assert rules.month_bounds(2027, 2, SHANGHAI)[1] == datetime(2027, 2, 28, 16, tzinfo=UTC)
