"""Follow-ups (督办, SPEC §11) on the web and in the API: the supervisor turns a warning or a complaint into a
follow-up to an agency, its head answers, the supervisor returns or accepts the answer; every step is listed, a step
out of order changes nothing, nobody else sees it, and the firm that complained sees the outcome."""

from datetime import datetime, timedelta

import pytest
from conftest import TZ, add_enterprise, add_user, csrf_from, login, start, token_for

from logbook import accounts, feedback
from logbook.db import row, rows, value

EN = {"Accept-Language": "en"}
EXEMPT = {"kind": "complaint", "reference": "投诉-2026-0042"}


def today():
    return datetime.now(TZ).date()


@pytest.fixture
def heads(store, world):
    add_user(store, "head1", "head", agency="SCJG", name="市监局长")
    add_user(store, "head2", "head", agency="YJGL", name="应急局长")


@pytest.fixture
def warning_key(store, world):
    """The key of a `frequent` warning: the world's enterprise inspected three times today."""
    for _ in range(3):
        start(store, world["enterprise"], **EXEMPT)
    return "w" + str(value(store, "SELECT id FROM warnings WHERE kind = 'frequent' AND period = 'day'"))


@pytest.fixture
def people(app, heads):
    """A logged-in test client for the supervisor and for each head."""
    clients = {}
    for username in ("super", "head1", "head2"):
        clients[username] = app.test_client()
        login(clients[username], username)
    return clients


def open_followup(client, query, **fields):
    """The supervisor fills in the follow-up form opened with `query` (warning=... or complaint=...)."""
    page = client.get(f"/followups/new?{query}").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "agency": "SCJG", "text": "请核查一日三次入企的原因并报告",
            "due_on": (today() + timedelta(days=7)).isoformat()} | fields
    return client.post(f"/followups/new?{query}", data=data, headers=EN)


def step(client, followup_id, action, text=""):
    page = client.get(f"/followups/{followup_id}").get_data(as_text=True)
    return client.post(f"/followups/{followup_id}/{action}", headers=EN,
                       data={"csrf_token": csrf_from(page), "text": text})


def steps(store, followup_id):
    return [r["action"] for r in rows(store, "SELECT action FROM followup_steps WHERE followup_id = ? ORDER BY id",
                                      [followup_id])]


def test_a_follow_up_goes_round_from_a_warning_to_the_head_and_back_until_accepted(people, store, warning_key):
    supervisor, head = people["super"], people["head1"]
    response = open_followup(supervisor, f"warning={warning_key}&year={today().year}")
    assert response.status_code == 302
    followup_id = value(store, "SELECT id FROM followups")
    assert response.headers["Location"] == f"/followups/{followup_id}"
    assert row(store, "SELECT warning_key, complaint_id, status, due_on FROM followups") == {
        "warning_key": warning_key, "complaint_id": None, "status": "open",
        "due_on": (today() + timedelta(days=7)).isoformat()}

    assert 'id="my-followups"' in head.get("/tasks/").get_data(as_text=True)
    listed = head.get("/followups/").get_data(as_text=True)
    assert f'id="followup-{followup_id}"' in listed and "请核查一日三次入企的原因并报告" in listed
    assert step(head, followup_id, "answer", "三次均为投诉核查，已合并处理").status_code == 302
    assert value(store, "SELECT status FROM followups") == "answered"

    page = supervisor.get(f"/followups/{followup_id}").get_data(as_text=True)
    assert 'id="accept"' in page and 'id="return"' in page and "三次均为投诉核查，已合并处理" in page
    assert step(supervisor, followup_id, "return", "请附上三次检查的投诉编号").status_code == 302
    assert value(store, "SELECT status FROM followups") == "returned"
    assert 'id="answer"' in head.get(f"/followups/{followup_id}").get_data(as_text=True)
    assert step(head, followup_id, "answer", "投诉编号：投诉-2026-0042").status_code == 302
    response = step(supervisor, followup_id, "accept", "")
    assert response.status_code == 302 and response.headers["Location"] == f"/followups/{followup_id}"

    assert value(store, "SELECT status FROM followups") == "accepted"
    assert steps(store, followup_id) == ["open", "answer", "return", "answer", "accept"]
    shown = head.get(f"/followups/{followup_id}", headers=EN).get_data(as_text=True)
    listed_steps = shown.split('id="steps"')[1].split("</ol>")[0]
    assert [part.split('"')[0] for part in listed_steps.split('data-action="')[1:]] == [
        "open", "answer", "return", "answer", "accept"]
    assert "请附上三次检查的投诉编号" in listed_steps and "投诉编号：投诉-2026-0042" in listed_steps
    assert 'data-status="accepted"' in shown
    assert 'id="answer"' not in shown and 'id="accept"' not in shown, "an accepted follow-up takes no more steps"


def test_another_agencys_head_inspectors_firms_and_the_wrong_role_for_a_step_get_404(
        app, people, store, world, warning_key):
    open_followup(people["super"], f"warning={warning_key}&year={today().year}")
    followup_id = value(store, "SELECT id FROM followups")
    other = people["head2"]
    assert other.get(f"/followups/{followup_id}").status_code == 404
    assert f'id="followup-{followup_id}"' not in other.get("/followups/").get_data(as_text=True)
    page = other.get("/followups/").get_data(as_text=True)
    assert other.post(f"/followups/{followup_id}/answer", data={"csrf_token": csrf_from(page),
                                                                "text": "x"}).status_code == 404
    for username in ("ann", "firm1", "admin"):
        client = app.test_client()
        login(client, username)
        assert client.get(f"/followups/{followup_id}").status_code == 404
        assert client.get("/followups/").status_code == 404
        assert client.get(f"/followups/new?warning={warning_key}").status_code == 404
    assert people["head1"].get(f"/followups/new?warning={warning_key}").status_code == 404, "heads do not open them"
    assert step(people["super"], followup_id, "answer", "supervisors do not answer").status_code == 404
    assert step(people["head1"], followup_id, "accept").status_code == 404, "heads do not accept their own answers"
    assert people["super"].get("/followups/99999999999999999999999").status_code == 404
    assert steps(store, followup_id) == ["open"]


def test_a_step_the_follow_up_is_not_waiting_for_answers_409_and_changes_nothing(people, store, warning_key):
    open_followup(people["super"], f"warning={warning_key}&year={today().year}")
    followup_id = value(store, "SELECT id FROM followups")
    response = step(people["super"], followup_id, "accept", "太早了")
    assert response.status_code == 409
    assert "it is not waiting for this step" in response.get_data(as_text=True)
    assert step(people["head1"], followup_id, "answer", "已核查").status_code == 302
    assert step(people["head1"], followup_id, "answer", "再答一次").status_code == 409
    assert (value(store, "SELECT status FROM followups"), steps(store, followup_id)) == ("answered", ["open", "answer"])


def test_an_answer_or_a_return_without_text_answers_422_and_changes_nothing(people, store, warning_key):
    open_followup(people["super"], f"warning={warning_key}&year={today().year}")
    followup_id = value(store, "SELECT id FROM followups")
    response = step(people["head1"], followup_id, "answer", "  ")
    assert response.status_code == 422 and "Describe what happened." in response.get_data(as_text=True)
    step(people["head1"], followup_id, "answer", "已核查")
    assert step(people["super"], followup_id, "return", "").status_code == 422
    assert (value(store, "SELECT status FROM followups"), steps(store, followup_id)) == ("answered", ["open", "answer"])


@pytest.mark.parametrize("fields, field", [
    ({"text": " "}, "Describe what happened."),
    ({"agency": ""}, "Unknown agency"),
    ({"due_on": "2000-01-01"}, "The deadline is a day from today to a year ahead."),
    ({"due_on": ""}, "This field is required."),
])
def test_a_follow_up_form_with_a_problem_answers_422_and_stores_nothing(people, store, warning_key, fields, field):
    response = open_followup(people["super"], f"warning={warning_key}&year={today().year}", **fields)
    assert response.status_code == 422
    assert field in response.get_data(as_text=True)
    assert value(store, "SELECT count(*) FROM followups") == 0


def test_the_firm_sees_the_outcome_of_the_follow_up_of_its_complaint_and_another_firm_does_not(
        app, people, store, world):
    inspection_id = start(store, world["enterprise"], **EXEMPT)
    complaint_id = feedback.file_complaint(store, accounts.user_by_username(store, "firm1"), "misconduct",
                                           "检查人员态度恶劣", inspection_id, datetime.now(TZ))
    other = add_enterprise(store, name="另一家企业有限公司")
    add_user(store, "firm2", "firm", usci_code=other["usci"])
    feedback.file_complaint(store, accounts.user_by_username(store, "firm2"), "other", "别的投诉", None, datetime.now(TZ))

    form = people["super"].get(f"/followups/new?complaint={complaint_id}").get_data(as_text=True)
    assert '<option selected value="SCJG">' in form, "the agency of the complaint's inspection is proposed"
    response = open_followup(people["super"], f"complaint={complaint_id}", text="请核查执法人员态度问题")
    assert response.status_code == 302
    followup_id = value(store, "SELECT id FROM followups")
    assert row(store, "SELECT complaint_id, enterprise_id FROM followups") == {
        "complaint_id": complaint_id, "enterprise_id": world["enterprise"]["id"]}
    step(people["head1"], followup_id, "answer", "已约谈相关执法人员并书面致歉")
    step(people["super"], followup_id, "accept", "答复属实，督办办结")

    firm = app.test_client()
    login(firm, "firm1")
    page = firm.get("/firm/complaints").get_data(as_text=True)
    outcome = page.split(f'id="complaint-followup-{followup_id}"')[1].split("</p>")[0]
    assert "市场监督管理局" in outcome and 'data-status="accepted"' in outcome and "答复属实，督办办结" in outcome
    detail = firm.get(f"/followups/{followup_id}")
    assert detail.status_code == 200 and "已约谈相关执法人员并书面致歉" in detail.get_data(as_text=True)
    assert 'id="next-step"' not in detail.get_data(as_text=True)

    stranger = app.test_client()
    login(stranger, "firm2")
    assert "complaint-followup-" not in stranger.get("/firm/complaints").get_data(as_text=True)
    assert stranger.get(f"/followups/{followup_id}").status_code == 404


def test_a_follow_up_needs_an_existing_warning_or_complaint(people, store):
    assert people["super"].get("/followups/new?complaint=999999").status_code == 404
    assert people["super"].get("/followups/new?warning=w999999").status_code == 404
    page = people["super"].get("/followups/new")
    assert page.status_code == 200 and 'name="complaint"' in page.get_data(as_text=True)
    assert 'id="send-followup"' not in page.get_data(as_text=True)


def test_the_list_filters_by_status_and_pages_by_id(people, store, warning_key):
    for n in range(3):
        open_followup(people["super"], f"warning={warning_key}&year={today().year}", text=f"第{n + 1}件")
    first, second, third = [r["id"] for r in rows(store, "SELECT id FROM followups ORDER BY id")]
    step(people["head1"], second, "answer", "已核查")
    answered = people["super"].get("/followups/?status=answered").get_data(as_text=True)
    assert f'id="followup-{second}"' in answered and f'id="followup-{first}"' not in answered
    older = people["super"].get(f"/followups/?before={third}").get_data(as_text=True)
    assert f'id="followup-{third}"' not in older and f'id="followup-{first}"' in older


# ---- the API ---------------------------------------------------------------------------------------------------

def test_the_api_takes_a_follow_up_round(client, store, heads, warning_key):
    supervisor, head = token_for(client, "super"), token_for(client, "head1")
    due = (today() + timedelta(days=5)).isoformat()
    response = client.post("/api/v1/followups", headers=supervisor, json={
        "agency": "SCJG", "text": "请说明情况", "due_on": due, "warning_key": warning_key})
    assert response.status_code == 201
    created = response.get_json()
    followup_id = created["id"]
    assert {k: created[k] for k in ("agency", "status", "text", "due_on", "warning_key", "complaint_id", "overdue",
                                    "enterprise")} == {
        "agency": "SCJG", "status": "open", "text": "请说明情况", "due_on": due, "warning_key": warning_key,
        "complaint_id": None, "overdue": False, "enterprise": None}
    assert [s["action"] for s in created["steps"]] == ["open"]

    listed = client.get("/api/v1/followups?status=open", headers=head).get_json()["followups"]
    assert [f["id"] for f in listed] == [followup_id]
    for action, headers, body, status in (("answer", head, {"text": "已核查"}, "answered"),
                                          ("return", supervisor, {"text": "请补充"}, "returned"),
                                          ("answer", head, {"text": "已补充"}, "answered"),
                                          ("accept", supervisor, {}, "accepted")):
        response = client.post(f"/api/v1/followups/{followup_id}/{action}", headers=headers, json=body)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == status
    shown = client.get(f"/api/v1/followups/{followup_id}", headers=head).get_json()
    assert [(s["action"], s["text"], s["by_role"]) for s in shown["steps"]] == [
        ("open", "请说明情况", "supervisor"), ("answer", "已核查", "head"), ("return", "请补充", "supervisor"),
        ("answer", "已补充", "head"), ("accept", None, "supervisor")]


def test_the_api_refuses_with_401_404_409_and_422(client, store, heads, warning_key):
    supervisor, head, other = token_for(client, "super"), token_for(client, "head1"), token_for(client, "head2")
    due = (today() + timedelta(days=5)).isoformat()
    body = {"agency": "SCJG", "text": "请说明情况", "due_on": due, "warning_key": warning_key}
    assert client.post("/api/v1/followups", json=body).status_code == 401
    assert client.get("/api/v1/followups").status_code == 401
    assert client.post("/api/v1/followups", headers=head, json=body).status_code == 404
    assert client.post("/api/v1/followups", headers=token_for(client, "ann"), json=body).status_code == 404
    about_complaint = {k: v for k, v in body.items() if k != "warning_key"}
    for bad in (body | {"text": ""}, body | {"text": "  "}, body | {"due_on": "2000-01-01"}, body | {"agency": "NONE"},
                body | {"complaint_id": 1}, body | {"warning_key": None}, body | {"extra": 1}, about_complaint,
                about_complaint | {"complaint_id": 999999}, [], "text"):
        response = client.post("/api/v1/followups", headers=supervisor, json=bad)
        assert response.status_code == 422, (bad, response.get_json())
        assert response.get_json()["error"]["code"] == "invalid"
    assert value(store, "SELECT count(*) FROM followups") == 0

    followup_id = client.post("/api/v1/followups", headers=supervisor, json=body).get_json()["id"]
    assert client.get(f"/api/v1/followups/{followup_id}", headers=other).status_code == 404
    assert client.get("/api/v1/followups", headers=other).get_json() == {"followups": []}
    assert client.post(f"/api/v1/followups/{followup_id}/answer", headers=other, json={"text": "x"}).status_code == 404
    assert client.post(f"/api/v1/followups/{followup_id}/answer", headers=supervisor,
                       json={"text": "x"}).status_code == 404
    assert client.post(f"/api/v1/followups/{followup_id}/answer", headers=head, json={}).status_code == 422
    response = client.post(f"/api/v1/followups/{followup_id}/accept", headers=supervisor, json={})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "followup_state"
    assert client.post(f"/api/v1/followups/{followup_id}/return", headers=supervisor,
                       json={"text": "x"}).status_code == 409
    assert client.get("/api/v1/followups/999999", headers=supervisor).status_code == 404
    assert (value(store, "SELECT status FROM followups"), steps(store, followup_id)) == ("open", ["open"])
