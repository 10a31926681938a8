"""Who may see and do what on the firm's side (SPEC §2, issue 3): a firm sees only its own enterprise and
gets 404 for anything else, cannot act as an inspector, inspectors never see ratings, and the firm never
sees the confirmation code."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import KNOWN_CODE, add_enterprise, add_user, close, csrf_from, login, start, token_for

from logbook import accounts, feedback
from logbook.db import row, value

TZ = ZoneInfo("Asia/Shanghai")
COMMENT = "评价-紫色长颈鹿-7Q3X"      # a distinctive rating comment that must never reach an inspector
CODE = KNOWN_CODE                     # the confirmation code start() gives, so its absence can be asserted






def rate(store, inspection_id, username="firm1", rating=2, comment=COMMENT):
    """The firm's rating of a closed inspection, through the domain."""
    feedback.evaluate(store, inspection_id, accounts.user_by_username(store, username), rating, comment,
                      datetime.now(UTC))


def set_code(store, inspection_id, code=CODE):
    """Give the inspection a known confirmation code."""
    store.execute("UPDATE inspections SET confirm_code = ? WHERE id = ?", [code, inspection_id])


def status_of(store, inspection_id):
    return value(store, "SELECT status FROM inspections WHERE id = ?", [inspection_id])


def web_client(app, username):
    """A test client logged in through the web form as the user."""
    client = app.test_client()
    login(client, username)
    return client


def csrf(client, page):
    """A CSRF token of the client's session, taken from a page it may see."""
    return csrf_from(client.get(page).get_data(as_text=True))


@pytest.fixture
def other(store, world):
    """Another enterprise with its own firm user and an open routine inspection of it."""
    enterprise = add_enterprise(store, name="别家化工有限公司")
    add_user(store, "firm2", "firm", usci_code=enterprise["usci"])
    inspection_id = start(store, enterprise)
    set_code(store, inspection_id)
    return {"enterprise": enterprise, "inspection_id": inspection_id}


@pytest.fixture
def ours(store, world):
    """An open routine inspection of the world's enterprise (firm1's), with the known code."""
    inspection_id = start(store, world["enterprise"])
    set_code(store, inspection_id)
    return inspection_id


@pytest.fixture
def rated(store, world):
    """A closed inspection of firm1's enterprise that firm1 rated with COMMENT."""
    inspection_id = start(store, world["enterprise"])
    set_code(store, inspection_id)
    close(store, inspection_id, result="rectify", findings="消防通道堵塞",
          rectify_by=datetime.now(TZ).date() + timedelta(days=30))
    rate(store, inspection_id)
    return inspection_id


# ---- the firm through the API: its own enterprise only ------------------------------------------------

def test_firm_reads_its_own_inspection_through_the_api(client, ours):
    response = client.get(f"/api/v1/inspections/{ours}", headers=token_for(client, "firm1"))

    assert response.status_code == 200
    assert response.get_json()["id"] == ours


def test_firm_gets_404_for_another_enterprises_inspection(client, other):
    response = client.get(f"/api/v1/inspections/{other['inspection_id']}", headers=token_for(client, "firm1"))

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert other["enterprise"]["name"] not in response.get_data(as_text=True)


def test_firm_gets_the_same_404_for_another_enterprises_inspection_as_for_a_missing_one(client, other):
    headers = token_for(client, "firm1")

    theirs = client.get(f"/api/v1/inspections/{other['inspection_id']}", headers=headers)
    missing = client.get("/api/v1/inspections/999999", headers=headers)

    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json() == missing.get_json()


def test_firm_cannot_confirm_another_enterprises_inspection_even_with_its_code(client, store, other):
    response = client.post(f"/api/v1/inspections/{other['inspection_id']}/confirm",
                           headers=token_for(client, "firm1"), json={"code": CODE})

    assert response.status_code == 404
    assert value(store, "SELECT confirmed_at FROM inspections WHERE id = ?", [other["inspection_id"]]) is None


def test_firm_cannot_rate_another_enterprises_inspection(client, store, other):
    close(store, other["inspection_id"])

    response = client.post(f"/api/v1/inspections/{other['inspection_id']}/evaluation",
                           headers=token_for(client, "firm1"), json={"rating": 1, "comment": "不是我们的"})

    assert response.status_code == 404
    assert value(store, "SELECT count(*) FROM evaluations") == 0


def test_firm_cannot_complain_about_another_enterprises_inspection_through_the_api(client, store, other):
    response = client.post("/api/v1/complaints", headers=token_for(client, "firm1"),
                           json={"category": "misconduct", "text": "态度恶劣", "inspection_id": other["inspection_id"]})

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid"
    assert set(response.get_json()["error"]["fields"]) == {"inspection_id"}
    assert value(store, "SELECT count(*) FROM complaints") == 0


def test_firm_records_list_only_its_own_enterprise(client, world, ours, other):
    response = client.get("/api/v1/firm/inspections", headers=token_for(client, "firm1"))

    assert response.status_code == 200
    body = response.get_json()
    assert body["enterprise"]["id"] == world["enterprise"]["id"]
    assert [i["id"] for i in body["inspections"]] == [ours]


def test_firm_complaints_list_only_its_own_enterprise(client, store, world, other):
    firm2 = accounts.user_by_username(store, "firm2")
    feedback.file_complaint(store, firm2, "other", "别家的投诉", None, datetime.now(UTC))

    response = client.get("/api/v1/complaints", headers=token_for(client, "firm1"))

    assert response.status_code == 200
    assert response.get_json() == []


def test_firm_cannot_start_an_inspection(client, store, world):
    response = client.post("/api/v1/inspections", headers=token_for(client, "firm1"), json={
        "qr_token": world["enterprise"]["qr_token"], "kind": "routine", "inspectors": ["bob"], "items": ["SCJG-001"]})

    assert response.status_code == 404
    assert value(store, "SELECT count(*) FROM inspections") == 0


def test_firm_cannot_close_its_own_inspection(client, store, ours):
    response = client.post(f"/api/v1/inspections/{ours}/close", headers=token_for(client, "firm1"),
                           json={"result": "no_issue"})

    assert response.status_code == 404
    assert status_of(store, ours) == "open"


def test_firm_cannot_void_its_own_inspection(client, store, ours):
    response = client.post(f"/api/v1/inspections/{ours}/void", headers=token_for(client, "firm1"),
                           json={"reason": "企业不想要这条记录"})

    assert response.status_code == 404
    assert status_of(store, ours) == "open"


def test_firm_cannot_scan_even_its_own_code(client, world):
    response = client.get(f"/api/v1/scan/{world['enterprise']['qr_token']}", headers=token_for(client, "firm1"))

    assert response.status_code == 404
    assert world["enterprise"]["name"] not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/v1/stats", "/api/v1/journal/verify"])
def test_firm_gets_404_on_supervisor_api_endpoints(client, world, path):
    response = client.get(path, headers=token_for(client, "firm1"))

    assert response.status_code == 404


# ---- the firm through the web: its own enterprise only ------------------------------------------------

def test_firm_page_for_another_enterprises_inspection_is_404(app, other):
    firm = web_client(app, "firm1")

    response = firm.get(f"/firm/inspections/{other['inspection_id']}")

    assert response.status_code == 404
    assert other["enterprise"]["name"] not in response.get_data(as_text=True)


def test_firm_confirm_page_for_another_enterprises_inspection_is_404(app, other):
    firm = web_client(app, "firm1")

    response = firm.get(f"/firm/confirm/{other['inspection_id']}?code={CODE}")

    assert response.status_code == 404


def test_firm_cannot_confirm_another_enterprises_inspection_through_the_web(app, store, other):
    firm = web_client(app, "firm1")

    response = firm.post(f"/firm/confirm/{other['inspection_id']}",
                         data={"code": CODE, "csrf_token": csrf(firm, "/firm/complaints")})

    assert response.status_code == 404
    assert value(store, "SELECT confirmed_at FROM inspections WHERE id = ?", [other["inspection_id"]]) is None


def test_firm_cannot_rate_another_enterprises_inspection_through_the_web(app, store, other):
    close(store, other["inspection_id"])
    firm = web_client(app, "firm1")

    response = firm.post(f"/firm/inspections/{other['inspection_id']}/rate",
                         data={"rating": "1", "comment": "x", "csrf_token": csrf(firm, "/firm/complaints")})

    assert response.status_code == 404
    assert value(store, "SELECT count(*) FROM evaluations") == 0


def test_firm_complaint_form_refuses_another_enterprises_inspection_on_its_field(app, store, other):
    firm = web_client(app, "firm1")

    response = firm.post("/firm/complaints", headers={"Accept-Language": "en"}, data={
        "category": "misconduct", "text": "态度恶劣", "inspection_id": str(other["inspection_id"]),
        "csrf_token": csrf(firm, "/firm/complaints")})

    assert response.status_code == 422
    assert "no inspection of your enterprise has this id" in response.get_data(as_text=True)
    assert value(store, "SELECT count(*) FROM complaints") == 0


def test_firm_posters_are_its_own_only(app, world, other):
    firm = web_client(app, "firm1")

    assert firm.get(f"/admin/enterprises/{world['enterprise']['id']}/poster").status_code == 200
    assert firm.get(f"/admin/enterprises/{other['enterprise']['id']}/poster").status_code == 404
    assert firm.get(f"/admin/enterprises/{other['enterprise']['id']}/qr.svg").status_code == 404


def test_firm_scanning_another_enterprises_code_sees_only_the_public_landing(app, other):
    firm = web_client(app, "firm1")

    response = firm.get(f"/q/{other['enterprise']['qr_token']}", headers={"Accept-Language": "en"})

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert other["enterprise"]["name"] in page
    assert 'id="quota"' not in page
    assert "C-bob" not in page


@pytest.mark.parametrize("path", ["/inspector/", "/inspector/search?q=株洲", "/inspector/manual/{usci}",
                                  "/inspector/inspections/{id}"])
def test_firm_gets_404_on_inspector_pages(app, world, ours, path):
    firm = web_client(app, "firm1")

    response = firm.get(path.format(usci=world["enterprise"]["usci"], id=ours))

    assert response.status_code == 404


def test_firm_cannot_start_an_inspection_through_the_web(app, store, world):
    firm = web_client(app, "firm1")

    response = firm.post("/inspector/start", data={
        "qr_token": world["enterprise"]["qr_token"], "kind": "routine", "agencies": "SCJG", "inspectors": "bob",
        "items": "SCJG-001", "csrf_token": csrf(firm, "/firm/complaints")})

    assert response.status_code == 404
    assert value(store, "SELECT count(*) FROM inspections") == 0


@pytest.mark.parametrize("action, data", [("close", {"result": "no_issue"}), ("void", {"reason": "误扫"})])
def test_firm_cannot_close_or_void_through_the_web(app, store, ours, action, data):
    firm = web_client(app, "firm1")

    response = firm.post(f"/inspector/inspections/{ours}/{action}",
                         data=data | {"csrf_token": csrf(firm, "/firm/complaints")})

    assert response.status_code == 404
    assert status_of(store, ours) == "open"


@pytest.mark.parametrize("path", ["/supervisor/", "/supervisor/complaints", "/supervisor/complaints/{complaint}",
                                  "/supervisor/ratings", "/admin/"])
def test_firm_gets_404_on_supervisor_and_admin_pages(app, store, world, path):
    firm1 = accounts.user_by_username(store, "firm1")
    complaint_id = feedback.file_complaint(store, firm1, "other", "我们的投诉", None, datetime.now(UTC))
    firm = web_client(app, "firm1")

    response = firm.get(path.format(complaint=complaint_id))

    assert response.status_code == 404


def test_firm_cannot_issue_an_activation_letter(app, store, world):
    firm = web_client(app, "firm1")

    response = firm.post(f"/admin/enterprises/{world['enterprise']['id']}/activation",
                         data={"csrf_token": csrf(firm, "/firm/complaints")})

    assert response.status_code == 404
    assert value(store, "SELECT count(*) FROM activation_codes") == 0


@pytest.mark.parametrize("path", ["/firm/", "/firm/complaints", "/firm/inbox"])
def test_anonymous_visitor_of_a_firm_page_is_sent_to_log_in(client, world, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


# ---- inspectors and the firm's side -------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/firm/", "/firm/inspections/{id}", "/firm/confirm/{id}", "/firm/complaints",
                                  "/firm/inbox", "/supervisor/", "/supervisor/complaints", "/supervisor/ratings",
                                  "/supervisor/complaints/{complaint}"])
def test_inspector_gets_404_on_firm_and_supervisor_pages(app, store, ours, path):
    firm1 = accounts.user_by_username(store, "firm1")
    complaint_id = feedback.file_complaint(store, firm1, "other", "投诉", ours, datetime.now(UTC))
    inspector = web_client(app, "ann")

    response = inspector.get(path.format(id=ours, complaint=complaint_id))

    assert response.status_code == 404


def test_inspector_cannot_confirm_through_the_firm_page_even_with_the_code(app, store, ours):
    inspector = web_client(app, "ann")

    response = inspector.post(f"/firm/confirm/{ours}", data={"code": CODE, "csrf_token": csrf(inspector, "/inspector/")})

    assert response.status_code == 404
    assert value(store, "SELECT confirmed_at FROM inspections WHERE id = ?", [ours]) is None


def test_inspector_cannot_rate_or_complain_through_the_firm_pages(app, store, ours):
    close(store, ours)
    inspector = web_client(app, "ann")
    token = csrf(inspector, "/inspector/")

    rated = inspector.post(f"/firm/inspections/{ours}/rate", data={"rating": "5", "csrf_token": token})
    complained = inspector.post("/firm/complaints", data={"category": "other", "text": "x", "csrf_token": token})

    assert rated.status_code == complained.status_code == 404
    assert value(store, "SELECT count(*) FROM evaluations") == 0
    assert value(store, "SELECT count(*) FROM complaints") == 0


def test_inspector_gets_404_on_answering_a_complaint(app, store, ours):
    firm1 = accounts.user_by_username(store, "firm1")
    complaint_id = feedback.file_complaint(store, firm1, "misconduct", "投诉", ours, datetime.now(UTC))
    inspector = web_client(app, "ann")

    response = inspector.post(f"/supervisor/complaints/{complaint_id}", data={
        "status": "rejected", "answer": "驳回", "csrf_token": csrf(inspector, "/inspector/")})

    assert response.status_code == 404
    assert row(store, "SELECT status, answer FROM complaints WHERE id = ?", [complaint_id]) == {
        "status": "open", "answer": None}


@pytest.mark.parametrize("method, path, body", [
    ("get", "/api/v1/firm/inspections", None),
    ("post", "/api/v1/inspections/{id}/confirm", {"code": CODE}),
    ("post", "/api/v1/inspections/{id}/evaluation", {"rating": 5}),
    ("post", "/api/v1/complaints", {"category": "other", "text": "x"}),
    ("get", "/api/v1/complaints", None),
    ("get", "/api/v1/stats", None),
    ("get", "/api/v1/stats?year=2025", None),
    ("get", "/api/v1/journal/verify", None),
])
def test_inspector_gets_404_on_firm_and_supervisor_api_endpoints(client, store, ours, method, path, body):
    close(store, ours)
    headers = token_for(client, "ann")

    response = getattr(client, method)(path.format(id=ours), headers=headers, json=body)

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert value(store, "SELECT confirmed_at FROM inspections WHERE id = ?", [ours]) is None
    assert value(store, "SELECT count(*) FROM evaluations") == 0
    assert value(store, "SELECT count(*) FROM complaints") == 0


def test_inspector_of_another_agency_gets_404_for_an_inspection_they_did_not_take_part_in(app, client, ours):
    response = client.get(f"/api/v1/inspections/{ours}", headers=token_for(client, "cat"))
    page = web_client(app, "cat").get(f"/inspector/inspections/{ours}")

    assert response.status_code == 404
    assert page.status_code == 404


# ---- ratings are for supervisors only ------------------------------------------------------------------

def test_inspector_api_views_never_contain_the_rating(client, world, rated):
    headers = token_for(client, "ann")

    inspection = client.get(f"/api/v1/inspections/{rated}", headers=headers)
    scan = client.get(f"/api/v1/scan/{world['enterprise']['qr_token']}", headers=headers)

    assert inspection.status_code == scan.status_code == 200
    for response in (inspection, scan):
        assert COMMENT not in response.get_data(as_text=True)
    for shown in [inspection.get_json()] + scan.get_json()["recent"]:
        assert not {"rating", "comment", "evaluation", "evaluated"} & set(shown)


def test_co_inspector_api_view_never_contains_the_rating(client, rated):
    response = client.get(f"/api/v1/inspections/{rated}", headers=token_for(client, "bob"))

    assert response.status_code == 200
    assert COMMENT not in response.get_data(as_text=True)
    assert "rating" not in response.get_json()


def test_inspector_pages_never_contain_the_rating(app, world, rated):
    inspector = web_client(app, "ann")

    pages = [inspector.get(f"/inspector/inspections/{rated}"), inspector.get(f"/q/{world['enterprise']['qr_token']}"),
             inspector.get("/inspector/"), inspector.get(f"/inspector/manual/{world['enterprise']['usci']}")]

    for response in pages:
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert COMMENT not in html
        assert "★" not in html
    assert "消防通道堵塞" in pages[0].get_data(as_text=True)  # the page does show the inspection itself


def test_supervisor_sees_the_rating_and_its_comment(app, rated):
    supervisor = web_client(app, "super")

    response = supervisor.get("/supervisor/ratings")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert COMMENT in html
    assert "★★</td>" in html


def test_firm_sees_its_own_rating_on_the_inspection_page(app, rated):
    firm = web_client(app, "firm1")

    response = firm.get(f"/firm/inspections/{rated}")

    assert response.status_code == 200
    assert COMMENT in response.get_data(as_text=True)


def test_agency_average_rating_exists_only_with_five_ratings_behind_it(store, world):
    for n in range(feedback.MIN_RATINGS):
        assert feedback.agency_rating(store, "SCJG") == (None, n)
        inspection_id = start(store, world["enterprise"], kind="complaint", reference=f"投诉-{n}")
        close(store, inspection_id)
        rate(store, inspection_id, rating=4 if n else 1)

    assert feedback.agency_rating(store, "SCJG") == (3.4, 5)
    assert feedback.agency_rating(store, "YJGL") == (None, 0)


# ---- the confirmation code is the inspector's, never the firm's ------------------------------------------

def test_confirm_code_is_absent_from_every_firm_api_response(client, ours):
    headers = token_for(client, "firm1")

    responses = [client.get(f"/api/v1/inspections/{ours}", headers=headers),
                 client.get("/api/v1/firm/inspections", headers=headers),
                 client.post(f"/api/v1/inspections/{ours}/confirm", headers=headers, json={"code": CODE})]

    assert [r.status_code for r in responses] == [200, 200, 200]
    for response in responses:
        assert CODE not in response.get_data(as_text=True)
        assert "confirm_code" not in response.get_data(as_text=True)


def test_confirm_code_is_absent_from_every_firm_page(app, ours):
    firm = web_client(app, "firm1")

    for path in ("/firm/", f"/firm/inspections/{ours}", f"/firm/confirm/{ours}", "/firm/inbox", "/firm/complaints"):
        response = firm.get(path)
        assert response.status_code == 200, path
        assert CODE not in response.get_data(as_text=True), path


def test_confirm_code_is_absent_from_the_supervisors_api_view(client, ours):
    response = client.get(f"/api/v1/inspections/{ours}", headers=token_for(client, "super"))

    assert response.status_code == 200
    assert "confirm_code" not in response.get_json()


def test_participating_inspectors_see_the_confirm_code(app, client, ours):
    response = client.get(f"/api/v1/inspections/{ours}", headers=token_for(client, "bob"))
    page = web_client(app, "ann").get(f"/inspector/inspections/{ours}")

    assert response.get_json()["confirm_code"] == CODE
    assert f'id="confirm-code">{CODE}<' in page.get_data(as_text=True)


def test_an_agency_sees_its_average_rating_only_with_at_least_five_ratings(store, world, app):
    """Individual ratings stay with the supervisor; the inspector's home shows an average from 5 ratings on."""
    login_client = app.test_client()
    login(login_client, "ann")
    for n in range(5):
        inspection_id = start(store, add_enterprise(store, name=f"评价企业{n}"))
        close(store, inspection_id)
        firm_user = f"rater{n}"
        add_user(store, firm_user, "firm", usci_code=value(store, "SELECT usci FROM enterprises ORDER BY id DESC LIMIT 1"))
        page = login_client.get("/inspector/", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "Average" not in page
        feedback.evaluate(store, inspection_id, accounts.user_by_username(store, firm_user), 4 if n else 2,
                          COMMENT, datetime.now(UTC))
    page = login_client.get("/inspector/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Average 3.6 of 5, from 5 ratings." in page
    assert COMMENT not in page
