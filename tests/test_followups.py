"""Follow-ups (督办, SPEC §11) in the domain: the supervisor addresses one to an agency about a warning or a
complaint, the agency's head answers, the supervisor returns or accepts it; each step is kept, steps out of order
are refused and change nothing, and only the supervisor, that agency's head and the complaining firm see it."""

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import add_enterprise, add_user

from logbook import accounts, feedback, followups
from logbook.db import rows, value
from logbook.errors import FollowupState, Invalid, NotFound

NOW = datetime(2027, 4, 1, 2, 0, tzinfo=UTC)
TODAY = date(2027, 4, 1)


@pytest.fixture
def who(store, world):
    """The supervisor, the heads of SCJG and YJGL, the world's firm user and another firm's."""
    add_user(store, "head.scjg", "head", agency="SCJG")
    add_user(store, "head.yjgl", "head", agency="YJGL")
    add_user(store, "firm2", "firm", usci_code=add_enterprise(store)["usci"])
    return {name: accounts.user_by_username(store, name) for name in
            ("super", "head.scjg", "head.yjgl", "firm1", "firm2", "ann")}


def create(store, who, **source):
    return followups.create_followup(store, who["super"], "SCJG", "该企业一周内被检查三次，请说明", TODAY + timedelta(days=7),
                                     TODAY, NOW, **(source or {"warning_key": "w1"}))


def test_a_follow_up_goes_round_and_every_step_is_kept(store, who):
    followup_id = create(store, who)
    followups.step_followup(store, followup_id, who["head.scjg"], "answer", "系投诉件复查，已合并", NOW)
    followups.step_followup(store, followup_id, who["super"], "return", "请附投诉编号", NOW)
    assert value(store, "SELECT status FROM followups WHERE id = ?", [followup_id]) == "returned"
    followups.step_followup(store, followup_id, who["head.scjg"], "answer", "投诉编号 2027-0042", NOW)
    followups.step_followup(store, followup_id, who["super"], "accept", "", NOW)
    found = followups.followup_for(store, followup_id, who["super"])
    assert found["status"] == "accepted" and found["agency_name"] == "市场监督管理局"
    assert [(s["action"], s["text"]) for s in found["steps"]] == [
        ("open", "该企业一周内被检查三次，请说明"), ("answer", "系投诉件复查，已合并"), ("return", "请附投诉编号"),
        ("answer", "投诉编号 2027-0042"), ("accept", None)]


@pytest.mark.parametrize("user, action", [("super", "answer"), ("head.scjg", "accept"), ("head.scjg", "return")])
def test_each_step_belongs_to_one_role(store, who, user, action):
    followup_id = create(store, who)
    with pytest.raises(NotFound):
        followups.step_followup(store, followup_id, who[user], action, "x", NOW)
    assert value(store, "SELECT count(*) FROM followup_steps") == 1


def test_a_step_out_of_order_is_refused_and_changes_nothing(store, who):
    followup_id = create(store, who)
    with pytest.raises(FollowupState):
        followups.step_followup(store, followup_id, who["super"], "accept", "", NOW)
    followups.step_followup(store, followup_id, who["head.scjg"], "answer", "已说明", NOW)
    with pytest.raises(FollowupState):
        followups.step_followup(store, followup_id, who["head.scjg"], "answer", "再说明", NOW)
    followups.step_followup(store, followup_id, who["super"], "accept", None, NOW)
    for user, action in (("head.scjg", "answer"), ("super", "return"), ("super", "accept")):
        with pytest.raises(FollowupState):
            followups.step_followup(store, followup_id, who[user], action, "x", NOW)
    assert value(store, "SELECT count(*) FROM followup_steps") == 3


def test_only_the_supervisor_the_agencys_head_and_the_complaining_firm_see_it(store, who):
    complaint = feedback.file_complaint(store, who["firm1"], "too_frequent", "一周三次", None, NOW)
    followup_id = create(store, who, complaint_id=complaint)
    for user in ("super", "head.scjg", "firm1"):
        assert followups.followup_for(store, followup_id, who[user])["id"] == followup_id
    for user in ("head.yjgl", "firm2", "ann"):
        with pytest.raises(NotFound):
            followups.followup_for(store, followup_id, who[user])
    assert [f["id"] for f in followups.followups_for(store, who["head.scjg"])] == [followup_id]
    assert followups.followups_for(store, who["head.yjgl"]) == []
    assert followups.followups_for(store, who["firm1"]) == []
    [outcome] = followups.followups_of_complaint(store, complaint)
    assert outcome["last_step"]["action"] == "open"
    warning_only = create(store, who)
    with pytest.raises(NotFound):
        followups.followup_for(store, warning_only, who["firm1"])


@pytest.mark.parametrize("change, field", [
    ({"agency": "NOPE"}, "agency"),
    ({"due_on": TODAY - timedelta(days=1)}, "due_on"),
    ({"due_on": TODAY + timedelta(days=400)}, "due_on"),
    ({"text": "  "}, "text"),
    ({"text": "长" * 2001}, "text"),
    ({"warning_key": None}, "source"),
    ({"complaint_id": 12345}, "source"),
])
def test_a_bad_follow_up_is_refused_and_nothing_is_stored(store, who, change, field):
    fields = {"agency": "SCJG", "text": "请说明", "due_on": TODAY + timedelta(days=7), "warning_key": "w1"} | change
    if "complaint_id" in change:
        fields["warning_key"] = None
    with pytest.raises(Invalid) as refused:
        followups.create_followup(store, who["super"], fields["agency"], fields["text"], fields["due_on"], TODAY, NOW,
                                  warning_key=fields["warning_key"], complaint_id=fields.get("complaint_id"))
    assert field in refused.value.fields
    assert rows(store, "SELECT id FROM followups") == []


def test_the_lists_page_by_id_and_filter_by_status(store, who):
    ids = [create(store, who) for _ in range(5)]
    followups.step_followup(store, ids[0], who["head.scjg"], "answer", "已说明", NOW)
    assert [f["id"] for f in followups.followups_for(store, who["super"], limit=2)] == ids[:-3:-1]
    assert [f["id"] for f in followups.followups_for(store, who["super"], limit=2, before=ids[3])] == [ids[2], ids[1]]
    assert [f["id"] for f in followups.followups_for(store, who["super"], status="answered")] == [ids[0]]
