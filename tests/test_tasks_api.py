"""Tasks before the door through the JSON API (SPEC §9): drafting, the head's decision, cancelling, joint visits,
starting from a task, LOGBOOK_TASK_REQUIRED and the repeated-clean-inspections rule. One behaviour per test; every
refusal is also checked in the database."""

from datetime import datetime, timedelta

import pytest
from conftest import TZ, add_enterprise, add_user
from conftest import close as close_inspection
from conftest import start as record

from app import create_app
from logbook import agencies, limits
from logbook.db import rows, value

API = "/api/v1"
TASK_KEYS = {"id", "agency", "enterprise", "kind", "items", "inspectors", "window_start", "window_end", "status",
             "notice", "source", "reason", "note", "inspection_id", "joint_with"}
CREWS = {"SCJG": (["bob"], ["SCJG-001"]), "YJGL": (["dan"], ["YJGL-001"])}  # each agency's usual colleague and item
HEADS = {"SCJG": "head1", "YJGL": "head2"}
SAYING = {"approve": {"note": "同意"}, "reject": {"reason": "本季度已检查过"}, "cancel": {"reason": "计划调整"}}  # valid bodies
DRAFTERS = {"SCJG": "ann", "YJGL": "cat"}


# ---- helpers ---------------------------------------------------------------------------------------

def error_of(response, status, code):
    """Assert the status and the one error shape {"error": {"code", "message", ...}}; return the inner object."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert list(body) == ["error"]
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"].strip()
    return body["error"]


def day(offset=0):
    """The local date (Asia/Shanghai) `offset` days from today, as the API writes it."""
    return (datetime.now(TZ).date() + timedelta(days=offset)).isoformat()


def task_count(store):
    return value(store, "SELECT count(*) FROM tasks")


def status_of(store, task_id):
    return value(store, "SELECT status FROM tasks WHERE id = ?", [task_id])


def steps_of(store, task_id):
    return [r["action"] for r in rows(store, "SELECT action FROM task_steps WHERE task_id = ? ORDER BY id", [task_id])]


def move_window(store, task_id, start, end):
    """Put a task's window elsewhere (a window in the past cannot be drafted, only reached by time passing)."""
    store.execute("UPDATE tasks SET window_start = ?, window_end = ? WHERE id = ?", [start, end, task_id])
    store.conn.commit()


@pytest.fixture
def crew(store, world):
    """The world, plus a head per agency, a third agency with its head, and eve: an SCJG inspector in no task."""
    add_user(store, "head1", "head", agency="SCJG")
    add_user(store, "head2", "head", agency="YJGL")
    agencies.add_agency(store, "ZJJ", "住房和城乡建设局")
    add_user(store, "head3", "head", agency="ZJJ")
    add_user(store, "eve", "inspector", agency="SCJG")
    return world


@pytest.fixture
def auth(auth, crew):
    """conftest's auth, once the crew (heads, a third agency, eve) exists."""
    return auth


@pytest.fixture
def draft(client, crew, auth):
    """draft(agency="SCJG", **body overrides, a field given as ... left out) -> the response to POST /tasks by that
    agency's usual drafter (or `by`)."""
    def post(agency="SCJG", by=None, enterprise=None, **overrides):
        inspectors, items = CREWS[agency]
        body = {"qr_token": (enterprise or crew["enterprise"])["qr_token"], "kind": "routine", "items": items,
                "inspectors": inspectors, "window_start": day(5), "window_end": day(20)} | overrides
        body = {key: v for key, v in body.items() if v is not ...}  # `...` leaves a field out
        return client.post(f"{API}/tasks", headers=auth(by or DRAFTERS[agency]), json=body)
    return post


@pytest.fixture
def approved(client, auth, draft):
    """approved(agency="SCJG", **body overrides) -> a task drafted and approved by the agency's head, as returned."""
    def make(agency="SCJG", **overrides):
        drafted = draft(agency, **overrides)
        assert drafted.status_code == 201, drafted.get_json()
        response = client.post(f"{API}/tasks/{drafted.get_json()['id']}/approve", headers=auth(HEADS[agency]), json={})
        assert response.status_code == 200, response.get_json()
        return response.get_json()
    return make


@pytest.fixture
def act(client, auth):
    """act(username, task_id, verb, **body) -> the response to POST /tasks/{id}/{verb}."""
    def post(username, task_id, verb, /, **body):
        return client.post(f"{API}/tasks/{task_id}/{verb}", headers=auth(username), json=body)
    return post


@pytest.fixture
def strict(app):
    """A client of the same installation with LOGBOOK_TASK_REQUIRED=routine: routine starts need an approved task."""
    settings = {key: app.config[key] for key in ("LOGBOOK_DATABASE", "LOGBOOK_SECRET_KEY", "LOGBOOK_PASSWORD_HASH",
                                                 "LOGBOOK_BASE_URL")}
    return create_app(settings | {"TESTING": True, "LOGBOOK_TASK_REQUIRED": "routine"}).test_client()


def start_body(enterprise, **overrides):
    """A routine inspection by ann and bob of SCJG."""
    return {"qr_token": enterprise["qr_token"], "kind": "routine", "inspectors": ["bob"], "items": ["SCJG-001"]} | overrides


# ---- drafting --------------------------------------------------------------------------------------

def test_an_inspector_drafts_a_task_and_gets_201_with_the_submitted_task(store, crew, draft):
    response = draft(reason="年度双随机抽查计划", notice=True)
    assert response.status_code == 201
    task = response.get_json()
    assert set(task) == TASK_KEYS
    enterprise = crew["enterprise"]
    assert task["enterprise"] == {"id": enterprise["id"], "usci": enterprise["usci"], "name": enterprise["name"]}
    assert (task["agency"], task["kind"], task["status"], task["source"], task["notice"]) == (
        "SCJG", "routine", "submitted", "manual", True)
    assert (task["window_start"], task["window_end"]) == (day(5), day(20))
    assert task["items"] == ["SCJG-001"] and task["reason"] == "年度双随机抽查计划"
    assert task["inspectors"] == [{"username": "ann", "name": "ann", "cert_no": "C-ann"},
                                  {"username": "bob", "name": "bob", "cert_no": "C-bob"}]
    assert task["joint_with"] == [] and task["inspection_id"] is None
    assert steps_of(store, task["id"]) == ["draft"]


def test_a_task_can_name_its_enterprise_by_usci_in_any_case(crew, draft):
    response = draft(qr_token=..., usci=crew["enterprise"]["usci"].lower(), kind="special", items=["SCJG-002"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["enterprise"]["id"] == crew["enterprise"]["id"]
    assert response.get_json()["kind"] == "special"


def test_an_empty_task_body_is_422_naming_every_missing_field_and_writes_nothing(store, client, crew, auth):
    error = error_of(client.post(f"{API}/tasks", headers=auth("ann"), json={}), 422, "invalid")
    assert {"qr_token", "kind", "items", "inspectors", "window_start", "window_end"} <= set(error["fields"])
    assert task_count(store) == 0


@pytest.mark.parametrize(("overrides", "field"), [
    ({"inspectors": []}, "inspectors"),                                  # ann alone: two certified inspectors needed
    ({"inspectors": ["old"]}, "inspectors"),                             # old's certificate has expired
    ({"inspectors": ["cat"]}, "inspectors"),                             # not of the agency
    ({"inspectors": ["nobody"]}, "inspectors"),
    ({"items": []}, "items"),
    ({"items": ["YJGL-001"]}, "items"),                                  # another agency's item
    ({"window_start": day(5), "window_end": day(4)}, "window_end"),
    ({"window_start": day(-10), "window_end": day(-1)}, "window_end"),   # already passed
    ({"window_start": day(1), "window_end": day(367)}, "window_end"),    # longer than a year
    ({"kind": "visit"}, "kind"),
    ({"kind": "raid"}, "kind"),
    ({"window_start": "next week"}, "window_start"),
    ({"window_end": "1999-12-31"}, "window_end"),
    ({"notice": "perhaps"}, "notice"),
    ({"reason": "x" * 1001}, "reason"),
    ({"inspector": "bob"}, "inspector"),                                 # unknown fields are refused
    ({"qr_token": ...}, "qr_token"),                                     # neither qr_token nor usci
    ({"qr_token": None}, "qr_token"),
    ({"qr_token": ""}, "qr_token"),
    ({"qr_token": ..., "usci": "91430200MA0000000X"}, "usci"),           # no such USCI
])
def test_a_bad_draft_is_422_naming_the_field_and_writes_nothing(store, crew, draft, overrides, field):
    add_user(store, "old", "inspector", agency="SCJG", cert_days=-1)
    error = error_of(draft(**overrides), 422, "invalid")
    assert field in error["fields"], error
    assert task_count(store) == 0


def test_an_unknown_qr_token_is_404_unknown_code(store, crew, draft):
    error_of(draft(enterprise={"qr_token": "no-such-code"}), 404, "unknown_code")
    assert task_count(store) == 0


@pytest.mark.parametrize("username", ["head1", "firm1", "super", "admin"])
def test_only_inspectors_draft_tasks(store, crew, draft, username):
    error_of(draft(by=username), 404, "not_found")
    assert task_count(store) == 0


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/tasks"), ("GET", "/tasks"), ("GET", "/tasks/matches"), ("POST", "/tasks/1/cancel"),
    ("POST", "/tasks/1/approve"), ("POST", "/tasks/1/reject"), ("POST", "/tasks/1/join")])
def test_every_task_endpoint_answers_401_before_looking_anything_up(client, store, approved, method, path):
    approved()
    response = client.open(API + path, method=method, json={} if method == "POST" else None,
                           headers={"Authorization": "Bearer not-a-token"})
    error_of(response, 401, "unauthorized")
    assert status_of(store, 1) == "approved"


def test_the_task_endpoints_are_in_the_openapi_document(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    for path, methods in {"/tasks": {"get", "post"}, "/tasks/matches": {"get"}, "/tasks/{task_id}/cancel": {"post"},
                          "/tasks/{task_id}/approve": {"post"}, "/tasks/{task_id}/reject": {"post"},
                          "/tasks/{task_id}/join": {"post"}}.items():
        assert methods <= set(paths[API + path]), path
        for method in methods:
            assert paths[API + path][method]["security"] == [{"bearerAuth": []}]
    assert "task_id" in client.get(f"{API}/openapi.json").get_json()["components"]["schemas"]["InspectionRequest"][
        "properties"]


# ---- listing ---------------------------------------------------------------------------------------

@pytest.fixture
def two_tasks(draft):
    """An SCJG task drafted by ann (with bob), then a YJGL task drafted by cat (with dan)."""
    return draft().get_json()["id"], draft("YJGL").get_json()["id"]


@pytest.mark.parametrize(("username", "expected"), [
    ("ann", [0]), ("bob", [0]), ("cat", [1]), ("dan", [1]), ("eve", []),
    ("head1", [0]), ("head2", [1]), ("head3", []), ("super", [1, 0])])
def test_each_role_lists_the_tasks_it_deals_with_newest_first(client, auth, two_tasks, username, expected):
    response = client.get(f"{API}/tasks", headers=auth(username))
    assert response.status_code == 200
    assert [t["id"] for t in response.get_json()["tasks"]] == [two_tasks[i] for i in expected]


@pytest.mark.parametrize("username", ["firm1", "admin"])
def test_firms_and_admins_get_404_for_the_task_list(client, auth, two_tasks, username):
    error_of(client.get(f"{API}/tasks", headers=auth(username)), 404, "not_found")


def test_the_list_filters_by_status_as_of_today(client, store, auth, approved, draft):
    old = approved()["id"]
    current = approved(window_start=day(0), window_end=day(3))["id"]
    waiting = draft().get_json()["id"]
    move_window(store, old, day(-9), day(-1))

    def listed(status):
        response = client.get(f"{API}/tasks", headers=auth("head1"), query_string={"status": status})
        assert response.status_code == 200
        return [(t["id"], t["status"]) for t in response.get_json()["tasks"]]
    assert listed("expired") == [(old, "expired")]
    assert listed("approved") == [(current, "approved")]
    assert listed("submitted") == [(waiting, "submitted")]
    error = error_of(client.get(f"{API}/tasks", headers=auth("head1"), query_string={"status": "lost"}), 422, "invalid")
    assert "status" in error["fields"]


def test_the_list_pages_with_before(client, auth, two_tasks):
    response = client.get(f"{API}/tasks", headers=auth("super"), query_string={"before": two_tasks[1]})
    assert [t["id"] for t in response.get_json()["tasks"]] == [two_tasks[0]]


# ---- approving and rejecting -----------------------------------------------------------------------

def test_the_agencys_head_approves_a_submitted_task(store, crew, draft, act):
    task_id = draft().get_json()["id"]
    response = act("head1", task_id, "approve", note="同意，注意安全")
    assert response.status_code == 200
    task = response.get_json()
    assert set(task) == TASK_KEYS | {"approved_by", "approved_at"}
    assert (task["status"], task["approved_by"], task["note"]) == ("approved", "head1", "同意，注意安全")
    assert abs(datetime.fromisoformat(task["approved_at"].replace("Z", "+00:00")) - datetime.now(TZ)) < timedelta(
        minutes=1)
    assert steps_of(store, task_id) == ["draft", "approved"]


def test_approving_needs_no_body(client, crew, draft, auth):
    task_id = draft().get_json()["id"]
    assert client.post(f"{API}/tasks/{task_id}/approve", headers=auth("head1")).status_code == 200


@pytest.mark.parametrize("verb", ["approve", "reject"])
@pytest.mark.parametrize("username", ["head2", "head3", "ann", "bob", "eve", "super", "firm1", "admin"])
def test_nobody_but_the_agencys_head_decides_404(store, crew, draft, act, verb, username):
    task_id = draft().get_json()["id"]
    error_of(act(username, task_id, verb, **SAYING[verb]), 404, "not_found")
    assert status_of(store, task_id) == "submitted"
    assert steps_of(store, task_id) == ["draft"]


@pytest.mark.parametrize(("first", "second"), [
    ("approve", "approve"), ("approve", "reject"), ("reject", "approve"), ("reject", "reject"), ("cancel", "approve")])
def test_a_second_decision_is_409_not_submitted_and_keeps_the_first(store, crew, draft, act, first, second):
    task_id = draft().get_json()["id"]
    assert act("head1", task_id, first, **SAYING[first]).status_code == 200
    before = status_of(store, task_id)
    error = error_of(act("head1", task_id, second, **SAYING[second]), 409, "not_submitted")
    assert before in error["message"]
    assert status_of(store, task_id) == before


def test_the_head_rejects_a_task_saying_why(store, crew, draft, act):
    task_id = draft().get_json()["id"]
    task = act("head1", task_id, "reject", reason="本季度已检查过").get_json()
    assert (task["status"], task["note"]) == ("rejected", "本季度已检查过")
    assert "approved_by" not in task and "approved_at" not in task
    assert steps_of(store, task_id) == ["draft", "rejected"]


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": 7}])
def test_rejecting_without_a_reason_is_422(store, crew, draft, act, body):
    task_id = draft().get_json()["id"]
    error = error_of(act("head1", task_id, "reject", **body), 422, "invalid")
    assert "reason" in error["fields"]
    assert status_of(store, task_id) == "submitted"


def test_a_bad_body_is_422_before_the_409_of_a_decided_task(crew, draft, act):
    task_id = draft().get_json()["id"]
    act("head1", task_id, "approve")
    error_of(act("head1", task_id, "reject"), 422, "invalid")
    error_of(act("head1", task_id, "approve", note=["not", "text"]), 422, "invalid")


@pytest.mark.parametrize(("opens_in", "status"), [(2, 422), (3, 201), (10, 201)])
def test_a_task_with_notice_is_drafted_only_notice_days_ahead(store, crew, draft, opens_in, status):
    response = draft(notice=True, window_start=day(opens_in), window_end=day(30))
    assert response.status_code == status, response.get_json()
    if status == 422:
        assert error_of(response, 422, "invalid")["fields"]["window_start"].startswith("with notice")
        assert task_count(store) == 0


@pytest.mark.parametrize(("opens_in", "status"), [(2, 422), (3, 200)])
def test_notice_is_checked_again_on_approval(store, crew, draft, act, opens_in, status):
    task_id = draft(notice=True, window_start=day(5), window_end=day(30)).get_json()["id"]
    move_window(store, task_id, day(opens_in), day(30))  # days went by while it waited for the head
    response = act("head1", task_id, "approve")
    assert response.status_code == status, response.get_json()
    if status == 422:
        assert error_of(response, 422, "invalid")["fields"]["window_start"].startswith("with notice")
        assert status_of(store, task_id) == "submitted"


def test_notice_days_come_from_the_setting(app, store, crew, draft, act):
    late = draft(notice=True, window_start=day(6), window_end=day(30)).get_json()["id"]
    in_time = draft(notice=True, window_start=day(7), window_end=day(30)).get_json()["id"]
    app.config["LOGBOOK_NOTICE_DAYS"] = 7
    error = error_of(act("head1", late, "approve"), 422, "invalid")
    assert "7 days" in error["fields"]["window_start"]
    assert act("head1", in_time, "approve").status_code == 200
    assert "window_start" in error_of(draft(notice=True, window_start=day(6), window_end=day(30)), 422, "invalid")[
        "fields"]


def test_a_task_without_notice_can_be_approved_for_today(crew, draft, act):
    task_id = draft(window_start=day(0), window_end=day(0)).get_json()["id"]
    assert act("head1", task_id, "approve").get_json()["status"] == "approved"


@pytest.mark.parametrize("task_id", ["424242", str(10**30)])
@pytest.mark.parametrize("verb", ["approve", "reject", "cancel", "join"])
def test_an_unknown_or_huge_task_id_is_404(crew, act, task_id, verb):
    error_of(act("head1", task_id, verb, **SAYING.get(verb, {"task_id": 1})), 404, "not_found")


# ---- cancelling ------------------------------------------------------------------------------------

def test_the_drafter_cancels_a_submitted_task(store, crew, draft, act):
    task_id = draft().get_json()["id"]
    response = act("ann", task_id, "cancel", reason="企业已停业")
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled" and "approved_by" not in response.get_json()
    assert steps_of(store, task_id) == ["draft", "cancelled"]
    assert value(store, "SELECT note FROM task_steps WHERE action = 'cancelled'") == "企业已停业"


def test_the_agencys_head_cancels_an_approved_task_which_keeps_its_approval_on_record(crew, approved, act):
    task_id = approved()["id"]
    task = act("head1", task_id, "cancel", reason="计划调整").get_json()
    assert (task["status"], task["approved_by"]) == ("cancelled", "head1")


@pytest.mark.parametrize("username", ["bob", "eve", "cat", "head2", "super", "firm1", "admin"])
def test_nobody_else_cancels_404(store, crew, draft, act, username):
    task_id = draft().get_json()["id"]
    error_of(act(username, task_id, "cancel", reason="不想去"), 404, "not_found")
    assert status_of(store, task_id) == "submitted"


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  "}])
def test_cancelling_without_a_reason_is_422(store, crew, draft, act, body):
    task_id = draft().get_json()["id"]
    assert "reason" in error_of(act("ann", task_id, "cancel", **body), 422, "invalid")["fields"]
    assert status_of(store, task_id) == "submitted"


@pytest.mark.parametrize("first", ["cancel", "reject"])
def test_cancelling_a_cancelled_or_rejected_task_is_409_task_closed(store, crew, draft, act, first):
    task_id = draft().get_json()["id"]
    act("head1", task_id, first, **SAYING[first])
    before = status_of(store, task_id)
    error_of(act("ann", task_id, "cancel", reason="再取消"), 409, "task_closed")
    assert status_of(store, task_id) == before


def test_cancelling_a_done_task_is_409_task_closed_after_body_validation(client, store, crew, auth, approved, act):
    task_id = approved(window_start=day(0), window_end=day(5))["id"]
    started = client.post(f"{API}/inspections", headers=auth("ann"),
                          json={"qr_token": crew["enterprise"]["qr_token"], "task_id": task_id})
    assert started.status_code == 201, started.get_json()
    error_of(act("ann", task_id, "cancel"), 422, "invalid")
    error = error_of(act("head1", task_id, "cancel", reason="太迟了"), 409, "task_closed")
    assert "done" in error["message"]
    assert status_of(store, task_id) == "done"


# ---- joint visits ----------------------------------------------------------------------------------

@pytest.fixture
def pair(approved):
    """An approved SCJG task (day 5 to 20) and an approved YJGL task (day 10 to 25) for the same enterprise."""
    return approved()["id"], approved("YJGL", window_start=day(10), window_end=day(25))["id"]


def matches_of(client, auth, username):
    response = client.get(f"{API}/tasks/matches", headers=auth(username))
    assert response.status_code == 200, response.get_json()
    return [(m["enterprise"]["id"], [t["id"] for t in m["tasks"]]) for m in response.get_json()["matches"]]


@pytest.mark.parametrize(("username", "offered"), [
    ("head1", True), ("head2", True), ("ann", True), ("bob", True), ("cat", True), ("dan", True),
    ("eve", False), ("head3", False)])
def test_overlapping_approved_tasks_of_two_agencies_are_offered_to_their_heads_and_inspectors(
        client, crew, auth, pair, username, offered):
    assert matches_of(client, auth, username) == ([(crew["enterprise"]["id"], list(pair))] if offered else [])


def test_a_match_shows_the_enterprise_and_full_tasks(client, crew, auth, pair):
    match = client.get(f"{API}/tasks/matches", headers=auth("head1")).get_json()["matches"][0]
    enterprise = crew["enterprise"]
    assert match["enterprise"] == {"id": enterprise["id"], "usci": enterprise["usci"], "name": enterprise["name"]}
    assert [(t["agency"], t["status"], t["joint_with"]) for t in match["tasks"]] == [
        ("SCJG", "approved", []), ("YJGL", "approved", [])]
    assert all(TASK_KEYS | {"approved_by", "approved_at"} == set(t) for t in match["tasks"])


@pytest.mark.parametrize("username", ["super", "firm1", "admin"])
def test_only_inspectors_and_heads_see_matches(client, auth, pair, username):
    error_of(client.get(f"{API}/tasks/matches", headers=auth(username)), 404, "not_found")


@pytest.mark.parametrize(("theirs", "offered"), [
    ({"window_start": day(20), "window_end": day(30)}, True),    # touching on day 20: they overlap
    ({"window_start": day(1), "window_end": day(5)}, True),
    ({"window_start": day(21), "window_end": day(30)}, False),   # one day apart
    ({"window_start": day(0), "window_end": day(4)}, False),
])
def test_windows_that_touch_are_offered_and_windows_apart_are_not(client, auth, approved, theirs, offered):
    approved(), approved("YJGL", **theirs)
    assert bool(matches_of(client, auth, "head1")) is offered


def test_submitted_same_agency_joined_expired_and_other_enterprises_tasks_are_not_offered(
        client, store, auth, approved, draft):
    approved()
    draft("YJGL")                                                   # only submitted
    approved(window_start=day(8), window_end=day(9))                # same agency
    elsewhere = add_enterprise(store, name="另一家企业")
    approved("YJGL", enterprise=elsewhere)                          # another enterprise
    expired = approved("YJGL", window_start=day(0), window_end=day(30))["id"]
    move_window(store, expired, day(-3), day(-1))
    assert matches_of(client, auth, "head1") == []


def test_the_head_joins_two_tasks_into_one_visit(client, store, crew, auth, pair, act):
    mine, theirs = pair
    response = act("head1", mine, "join", task_id=theirs)
    assert response.status_code == 200
    task = response.get_json()
    assert (task["id"], task["joint_with"], task["status"]) == (mine, [theirs], "approved")
    assert rows(store, "SELECT id, joint_id FROM tasks ORDER BY id") == [
        {"id": mine, "joint_id": mine}, {"id": theirs, "joint_id": mine}]
    assert steps_of(store, mine) == steps_of(store, theirs) == ["draft", "approved", "joined"]
    listed = client.get(f"{API}/tasks", headers=auth("head2")).get_json()["tasks"]
    assert [(t["id"], t["joint_with"]) for t in listed] == [(theirs, [mine])]
    assert matches_of(client, auth, "head1") == [] and matches_of(client, auth, "cat") == []


def test_the_other_agencys_head_may_join_too_and_the_joint_id_is_the_smaller(store, pair, act):
    mine, theirs = pair
    task = act("head2", theirs, "join", task_id=mine).get_json()
    assert task["joint_with"] == [mine]
    assert {r["joint_id"] for r in rows(store, "SELECT joint_id FROM tasks")} == {min(pair)}


@pytest.mark.parametrize("username", ["head3", "ann", "cat", "super", "firm1", "admin"])
def test_nobody_but_a_head_of_either_agency_joins_404(store, pair, act, username):
    error_of(act(username, pair[0], "join", task_id=pair[1]), 404, "not_found")
    assert value(store, "SELECT count(*) FROM tasks WHERE joint_id IS NOT NULL") == 0


def test_a_task_of_another_enterprise_is_404_to_a_head_of_one_side(store, approved, act):
    elsewhere = add_enterprise(store, name="另一家企业")
    mine, theirs = approved()["id"], approved("YJGL", enterprise=elsewhere)["id"]
    error_of(act("head1", mine, "join", task_id=theirs), 404, "not_found")
    error_of(act("head2", theirs, "join", task_id=mine), 404, "not_found")


@pytest.mark.parametrize(("theirs", "problem"), [
    ({"window_start": day(21), "window_end": day(30)}, "do not overlap"),
    ({"agency": "SCJG", "window_start": day(10), "window_end": day(11)}, "same agency"),
    ({"submitted": True}, "approved"),
    ({"rejected": True}, "approved"),
    ({"expired": True}, "approved"),
    ({"cancelled": True}, "approved"),
])
def test_tasks_that_cannot_be_joined_are_409_not_matchable(store, approved, draft, act, theirs, problem):
    mine = approved()["id"]
    agency = theirs.pop("agency", "YJGL")
    if {"submitted", "rejected", "cancelled"} & set(theirs):
        other = draft(agency).get_json()["id"]
        if "rejected" in theirs:
            act(HEADS[agency], other, "reject", reason="不批")
        if "cancelled" in theirs:
            act(HEADS[agency], other, "cancel", reason="不去了")
    elif theirs.pop("expired", False):
        other = approved(agency, window_start=day(0), window_end=day(20))["id"]
        move_window(store, other, day(-5), day(-1))
        move_window(store, mine, day(-5), day(20))
    else:
        other = approved(agency, **theirs)["id"]
    error = error_of(act("head1", mine, "join", task_id=other), 409, "not_matchable")
    assert problem in error["message"]
    assert value(store, "SELECT count(*) FROM tasks WHERE joint_id IS NOT NULL") == 0


def test_a_task_joins_one_other_agencys_task_only(store, approved, pair, act):
    third = approved("YJGL", window_start=day(12), window_end=day(14))["id"]
    assert act("head1", pair[0], "join", task_id=pair[1]).status_code == 200
    error = error_of(act("head1", pair[0], "join", task_id=third), 409, "not_matchable")
    assert "already joined" in error["message"]
    error_of(act("head2", third, "join", task_id=pair[0]), 409, "not_matchable")
    assert value(store, "SELECT joint_id FROM tasks WHERE id = ?", [third]) is None


def test_a_task_does_not_join_itself(pair, act):
    error_of(act("head1", pair[0], "join", task_id=pair[0]), 409, "not_matchable")


@pytest.mark.parametrize("body", [{}, {"task_id": "2"}, {"task_id": 0}, {"task_id": 2, "with": 3}])
def test_a_bad_join_body_is_422(store, pair, act, body):
    error_of(act("head1", pair[0], "join", **body), 422, "invalid")
    assert value(store, "SELECT count(*) FROM tasks WHERE joint_id IS NOT NULL") == 0


def test_starting_a_joined_task_records_one_joint_inspection_and_marks_both_done(client, store, crew, auth, approved,
                                                                                 act, strict):
    mine = approved(window_start=day(0), window_end=day(10))["id"]
    theirs = approved("YJGL", window_start=day(0), window_end=day(5))["id"]
    assert act("head2", theirs, "join", task_id=mine).status_code == 200
    response = client.post(f"{API}/inspections", headers=auth("ann"),
                           json={"qr_token": crew["enterprise"]["qr_token"], "task_id": mine})
    assert response.status_code == 201, response.get_json()
    inspection = response.get_json()
    assert (inspection["kind"], inspection["counted"], inspection["agencies"]) == ("routine", True, ["SCJG", "YJGL"])
    assert [i["username"] for i in inspection["inspectors"]] == ["ann", "bob", "cat", "dan"]
    assert inspection["items"] == ["SCJG-001", "YJGL-001"]
    assert rows(store, "SELECT status, inspection_id FROM tasks ORDER BY id") == [
        {"status": "done", "inspection_id": inspection["id"]}] * 2
    assert steps_of(store, theirs)[-1] == "done"
    quota = client.get(f"{API}/scan/{crew['enterprise']['qr_token']}", headers=auth("cat")).get_json()["quota"]
    assert quota["counted"] == 1  # one visit, counted once
    listed = client.get(f"{API}/tasks", headers=auth("cat")).get_json()["tasks"]
    assert [(t["status"], t["inspection_id"]) for t in listed] == [("done", inspection["id"])]
    refused = strict.post(f"{API}/inspections", headers=auth("cat"), json={
        "qr_token": crew["enterprise"]["qr_token"], "task_id": theirs})
    error_of(refused, 409, "task_required")
    assert value(store, "SELECT count(*) FROM inspections") == 1


# ---- starting from a task --------------------------------------------------------------------------

def test_starting_from_a_task_takes_its_kind_items_and_inspectors_and_marks_it_done(client, store, crew, auth,
                                                                                     approved):
    task_id = approved(kind="special", items=["SCJG-002"], window_start=day(0), window_end=day(3))["id"]
    response = client.post(f"{API}/inspections", headers=auth("bob"),
                           json={"qr_token": crew["enterprise"]["qr_token"], "task_id": task_id})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["kind"], body["items"], body["agencies"]) == ("special", ["SCJG-002"], ["SCJG"])
    assert [i["username"] for i in body["inspectors"]] == ["ann", "bob"]
    assert (status_of(store, task_id), value(store, "SELECT inspection_id FROM tasks")) == ("done", body["id"])
    assert steps_of(store, task_id) == ["draft", "approved", "done"]


def test_a_start_names_its_kind_or_its_task_422(client, store, crew, auth):
    for body in ({"qr_token": crew["enterprise"]["qr_token"]}, {"qr_token": crew["enterprise"]["qr_token"], "kind": None}):
        error = error_of(client.post(f"{API}/inspections", headers=auth("ann"), json=body), 422, "invalid")
        assert "kind" in error["fields"]
    error = error_of(client.post(f"{API}/inspections", headers=auth("ann"), json=start_body(
        crew["enterprise"], task_id="1")), 422, "invalid")
    assert "task_id" in error["fields"]
    assert value(store, "SELECT count(*) FROM inspections") == 0


def test_without_the_setting_a_routine_start_needs_no_task_and_leaves_approved_tasks_alone(client, store, crew, auth,
                                                                                            approved):
    task_id = approved(window_start=day(0), window_end=day(3))["id"]
    response = client.post(f"{API}/inspections", headers=auth("ann"), json=start_body(crew["enterprise"]))
    assert response.status_code == 201
    assert status_of(store, task_id) == "approved"


@pytest.mark.parametrize("which", ["submitted", "rejected", "cancelled", "expired", "not yet", "done",
                                   "other enterprise"])
def test_a_task_that_cannot_be_started_is_409_task_required_and_writes_nothing(client, store, crew, auth, approved,
                                                                              draft, act, which):
    if which in ("submitted", "rejected", "cancelled"):
        task_id = draft(window_start=day(0), window_end=day(3)).get_json()["id"]
        verb = {"rejected": "reject", "cancelled": "cancel"}.get(which)
        if verb:
            act("head1", task_id, verb, reason="不去")
    elif which == "other enterprise":
        elsewhere = add_enterprise(store, name="另一家企业")
        task_id = approved(enterprise=elsewhere, window_start=day(0), window_end=day(3))["id"]
    else:
        task_id = approved(window_start=day(1) if which == "not yet" else day(0), window_end=day(3))["id"]
        if which == "expired":
            move_window(store, task_id, day(-3), day(-1))
        if which == "done":
            first = client.post(f"{API}/inspections", headers=auth("ann"),
                                json={"qr_token": crew["enterprise"]["qr_token"], "task_id": task_id})
            assert first.status_code == 201
    before = value(store, "SELECT count(*) FROM inspections")
    status = status_of(store, task_id)
    response = client.post(f"{API}/inspections", headers=auth("ann"),
                           json={"qr_token": crew["enterprise"]["qr_token"], "task_id": task_id})
    error_of(response, 409, "task_required")
    assert value(store, "SELECT count(*) FROM inspections") == before
    assert status_of(store, task_id) == status


@pytest.mark.parametrize("username", ["eve", "cat"])
def test_a_task_the_caller_is_not_named_in_is_404(client, store, crew, auth, approved, username):
    task_id = approved(window_start=day(0), window_end=day(3))["id"]
    body = {"qr_token": crew["enterprise"]["qr_token"], "task_id": task_id, "kind": "routine",
            "items": ["SCJG-001"], "inspectors": ["bob"] if username == "eve" else ["dan"]}
    error_of(client.post(f"{API}/inspections", headers=auth(username), json=body), 404, "not_found")
    assert status_of(store, task_id) == "approved"
    assert value(store, "SELECT count(*) FROM inspections") == 0


def test_an_unknown_task_id_is_404(client, crew, auth):
    response = client.post(f"{API}/inspections", headers=auth("ann"), json=start_body(crew["enterprise"], task_id=999))
    error_of(response, 404, "not_found")


# ---- LOGBOOK_TASK_REQUIRED -------------------------------------------------------------------------

def test_with_the_setting_a_routine_start_without_a_task_is_409_task_required(store, crew, auth, strict):
    response = strict.post(f"{API}/inspections", headers=auth("ann"), json=start_body(crew["enterprise"]))
    error = error_of(response, 409, "task_required")
    assert "routine" in error["message"]
    assert value(store, "SELECT count(*) FROM inspections") == 0
    assert value(store, "SELECT count(*) FROM refusals") == 0


@pytest.mark.parametrize("extra", [{"kind": "complaint", "reference": "投诉-2026-0042"}, {"kind": "special"},
                                   {"kind": "visit", "items": []}])
def test_with_the_setting_kinds_not_listed_go_ahead_without_a_task(crew, auth, strict, extra):
    response = strict.post(f"{API}/inspections", headers=auth("ann"), json=start_body(crew["enterprise"], **extra))
    assert response.status_code == 201, response.get_json()


def test_with_the_setting_a_start_from_an_approved_task_is_201_and_the_task_done(store, crew, auth, approved, strict):
    task_id = approved(window_start=day(0), window_end=day(3))["id"]
    response = strict.post(f"{API}/inspections", headers=auth("ann"),
                           json={"qr_token": crew["enterprise"]["qr_token"], "task_id": task_id})
    assert response.status_code == 201, response.get_json()
    assert status_of(store, task_id) == "done"


def test_with_the_setting_a_start_without_task_id_uses_the_oldest_approved_task_covering_today(store, crew, auth,
                                                                                               approved, strict):
    later = approved(window_start=day(0), window_end=day(9))["id"]
    older = approved(window_start=day(0), window_end=day(3))["id"]
    move_window(store, older, day(-2), day(3))
    response = strict.post(f"{API}/inspections", headers=auth("ann"), json=start_body(crew["enterprise"]))
    assert response.status_code == 201, response.get_json()
    assert (status_of(store, older), status_of(store, later)) == ("done", "approved")
    assert value(store, "SELECT inspection_id FROM tasks WHERE id = ?", [older]) == response.get_json()["id"]


@pytest.mark.parametrize("task", [{"agency": "YJGL"}, {"window_start": day(1)}, {"submitted": True}])
def test_with_the_setting_a_task_of_another_agency_not_yet_open_or_not_approved_does_not_count(
        store, crew, auth, approved, draft, strict, task):
    if task.pop("submitted", False):
        draft(window_start=day(0), window_end=day(3))
    else:
        approved(task.pop("agency", "SCJG"), **({"window_start": day(0), "window_end": day(3)} | task))
    response = strict.post(f"{API}/inspections", headers=auth("ann"), json=start_body(crew["enterprise"]))
    error_of(response, 409, "task_required")
    assert value(store, "SELECT count(*) FROM inspections") == 0


def test_with_the_setting_a_bad_body_is_422_before_409(crew, auth, strict):
    response = strict.post(f"{API}/inspections", headers=auth("ann"), json=start_body(crew["enterprise"], items="x"))
    error_of(response, 422, "invalid")


# ---- three clean inspections in a row ------------------------------------------------------------------

@pytest.fixture
def clean_three(store, crew):
    """Three closed routine inspections of the enterprise by SCJG that found nothing (its cap raised to 10)."""
    enterprise = crew["enterprise"]
    limits.add_rule(store, 10, usci_code=enterprise["usci"])
    for _ in range(3):
        close_inspection(store, record(store, enterprise))
    return enterprise


def test_after_three_clean_inspections_the_next_counted_one_by_that_agency_needs_a_reason(client, store, auth,
                                                                                         clean_three):
    response = client.post(f"{API}/inspections", headers=auth("ann"), json=start_body(clean_three))
    error = error_of(response, 422, "invalid")
    assert "SCJG" in error["fields"]["reason"] and "three times" in error["fields"]["reason"]
    assert value(store, "SELECT count(*) FROM inspections") == 3


def test_with_a_reason_the_fourth_clean_streak_inspection_is_201(client, auth, clean_three):
    response = client.post(f"{API}/inspections", headers=auth("bob"),
                           json=start_body(clean_three, inspectors=["ann"], reason="群众举报后专项复核"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["reason"] == "群众举报后专项复核"


def test_another_agency_is_not_held_back_by_one_agencys_clean_streak(client, auth, clean_three):
    response = client.post(f"{API}/inspections", headers=auth("cat"), json=start_body(
        clean_three, inspectors=["dan"], items=["YJGL-001"]))
    assert response.status_code == 201, response.get_json()


def test_an_exempt_inspection_after_a_clean_streak_needs_no_reason(client, auth, clean_three):
    response = client.post(f"{API}/inspections", headers=auth("ann"), json=start_body(
        clean_three, kind="complaint", reference="投诉-2026-0042"))
    assert response.status_code == 201, response.get_json()


def test_a_finding_in_the_last_three_ends_the_streak(client, store, auth, clean_three):
    close_inspection(store, record(store, clean_three, reason="复查"), result="rectify", findings="灭火器过期",
                     rectify_by=datetime.now(TZ).date() + timedelta(days=10))
    response = client.post(f"{API}/inspections", headers=auth("ann"), json=start_body(clean_three))
    assert response.status_code == 201, response.get_json()


def test_exempt_clean_inspections_count_toward_the_streak(client, store, crew, auth):
    for _ in range(3):
        close_inspection(store, record(store, crew["enterprise"], kind="complaint", reference="投诉-1"))
    response = client.post(f"{API}/inspections", headers=auth("ann"), json=start_body(crew["enterprise"]))
    assert "reason" in error_of(response, 422, "invalid")["fields"]
