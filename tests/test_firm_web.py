"""The firm's pages through the test client (issue 3): records and the quota meter, year navigation,
confirmation, rating, complaints and the supervisor's answer, the inbox, activation, and the public landing.

Pages are asked for in English (Accept-Language: en), so the assertions do not depend on how complete the
Chinese catalogue is at the moment.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import KNOWN_CODE as CODE
from conftest import (
    PASSWORD,
    add_enterprise,
    add_user,
    close,
    csrf_from,
    html,
    login,
    section,
    start,
    token_for,
    void,
    web_client,
)

from logbook import accounts, feedback, rules
from logbook.db import row, rows, value

TZ = ZoneInfo("Asia/Shanghai")


def today():
    return datetime.now(TZ).date()


@pytest.fixture
def firm(app, world):
    """firm1 logged in through the web, asking for English."""
    return web_client(app, "firm1")


# ---- records and the quota meter ------------------------------------------------------------------------


def test_quota_meter_counts_only_the_unvoided_counted_inspections(firm, mix):
    response = firm.get("/firm/")

    assert response.status_code == 200
    meter = section(html(response), 'id="quota"')
    assert "Used 1/2" in meter
    assert "Exempt inspections: 1 · inspections in total: 2" in meter


def test_quota_meter_lists_exempt_visits_with_kind_and_reference(firm, mix):
    exempt = section(html(firm.get("/firm/")), 'id="exempt"')

    assert "<li>Complaint or report" in exempt and "· 投诉-2026-0042 ·" in exempt
    assert exempt.count("<li>") == 1


def test_records_list_every_inspection_of_the_year_including_voided_and_exempt(firm, mix):
    page = html(firm.get("/firm/"))

    records = section(page, f"Every inspection in {today().year}")
    assert records.count('class="record"') == 3
    assert records.count("badge voided") == records.count("badge counted") == records.count("badge exempt") == 1
    ids = [int(part.split('"')[0]) for part in records.split('href="/firm/inspections/')[1:]]
    assert ids == [mix["exempt"], mix["voided"], mix["counted"]]  # newest first


def test_records_show_inspectors_with_their_certificate_numbers(firm, mix):
    records = html(firm.get("/firm/"))

    assert "ann <span class=\"muted\">(certificate C-ann)</span>" in records
    assert "bob <span class=\"muted\">(certificate C-bob)</span>" in records
    assert "市场监督管理局" in records


def test_quota_meter_is_full_after_two_counted_inspections(store, world, firm):
    start(store, world["enterprise"])
    start(store, world["enterprise"])

    meter = section(html(firm.get("/firm/")), 'id="quota"')

    assert 'class="meter full"' in meter
    assert "Used 2/2" in meter


def test_inspection_page_shows_items_with_their_legal_basis_and_the_result(store, world, firm):
    inspection_id = start(store, world["enterprise"], items=("SCJG-001", "SCJG-002"))
    close(store, inspection_id, "rectify", "灭火器过期", today() + timedelta(days=20))

    page = html(firm.get(f"/firm/inspections/{inspection_id}"))

    assert "食品经营许可检查" in page and "食品安全法第三十五条" in page
    assert "特种设备检查" in page and "特种设备安全法第三十三条" in page
    assert "Rectification ordered" in page
    assert '<dd id="findings">灭火器过期</dd>' in page
    assert (today() + timedelta(days=20)).isoformat() in page


def test_previous_year_shows_none_of_this_years_records(firm, mix):
    year = today().year

    response = firm.get(f"/firm/?year={year - 1}")

    assert response.status_code == 200
    page = html(response)
    assert f"Every inspection in {year - 1}" in page
    assert "No inspections recorded in this year." in page
    assert "/firm/inspections/" not in page
    assert "Used 0/2" in section(page, 'id="quota"')
    assert 'id="exempt"' not in page
    assert f'href="/firm/?year={year}"' in page  # the way back to this year


def test_a_future_year_shows_this_year(firm, mix):
    page = html(firm.get(f"/firm/?year={today().year + 3}"))

    assert f"Every inspection in {today().year}" in page
    assert page.count('class="record"') == 3


def test_this_year_links_to_the_previous_year_but_not_the_next(firm, world):
    page = html(firm.get("/firm/"))

    assert f'href="/firm/?year={today().year - 1}"' in page
    assert f'href="/firm/?year={today().year + 1}"' not in page


# ---- confirmation ---------------------------------------------------------------------------------------

def confirm(firm, inspection_id, code):
    """POST the confirmation form with a CSRF token taken from its page."""
    token = csrf_from(html(firm.get(f"/firm/confirm/{inspection_id}")))
    return firm.post(f"/firm/confirm/{inspection_id}", data={"code": code, "csrf_token": token})


def test_the_inspectors_qr_link_fills_in_the_code(store, world, firm):
    inspection_id = start(store, world["enterprise"])

    page = html(firm.get(f"/firm/confirm/{inspection_id}?code=123456"))

    assert 'name="code"' in page and 'value="123456"' in page


def test_wrong_confirmation_code_is_refused_with_a_message(store, world, firm):
    inspection_id = start(store, world["enterprise"])

    response = confirm(firm, inspection_id, "000000")

    assert response.status_code == 422
    assert "This code is wrong. Check the number on the inspector&#39;s screen." in html(response)
    assert value(store, "SELECT confirmed_at FROM inspections WHERE id = ?", [inspection_id]) is None
    assert value(store, "SELECT count(*) FROM confirm_failures") == 1


def test_right_confirmation_code_confirms_the_visit(store, world, firm):
    inspection_id = start(store, world["enterprise"])

    response = confirm(firm, inspection_id, CODE)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/firm/inspections/{inspection_id}"
    confirmed = row(store, "SELECT confirmed_at, confirmed_by FROM inspections WHERE id = ?", [inspection_id])
    assert confirmed["confirmed_at"] is not None
    assert confirmed["confirmed_by"] == accounts.user_by_username(store, "firm1")["id"]
    journal = rows(store, "SELECT action FROM journal WHERE inspection_id = ? ORDER BY id", [inspection_id])
    assert [j["action"] for j in journal] == ["start", "confirm"]
    page = html(firm.get(response.headers["Location"]))
    assert "Thank you: you confirmed this visit." in page
    assert "You confirmed this visit on" in page


def test_confirmation_keeps_the_journal_intact(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])

    confirm(firm, inspection_id, CODE)

    verified = client.get("/api/v1/journal/verify", headers=token_for(client, "super")).get_json()
    assert verified["ok"] is True
    assert verified["entries"] == 2


def test_five_wrong_codes_block_even_the_right_code(store, world, firm):
    inspection_id = start(store, world["enterprise"])
    for wrong in ("000001", "000002", "000003", "000004", "000005"):
        assert confirm(firm, inspection_id, wrong).status_code == 422

    response = confirm(firm, inspection_id, CODE)

    assert response.status_code == 429
    assert "Too many wrong codes. Please wait 15 minutes." in html(response)
    assert value(store, "SELECT confirmed_at FROM inspections WHERE id = ?", [inspection_id]) is None


def test_a_voided_inspection_cannot_be_confirmed(store, world, firm):
    inspection_id = start(store, world["enterprise"])
    void(store, inspection_id)

    response = confirm(firm, inspection_id, CODE)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/firm/inspections/{inspection_id}"
    assert "A voided inspection cannot be confirmed." in html(firm.get(response.headers["Location"]))
    assert value(store, "SELECT confirmed_at FROM inspections WHERE id = ?", [inspection_id]) is None


# ---- rating ---------------------------------------------------------------------------------------------

def rate(firm, inspection_id, rating="4", comment="检查规范，态度良好"):
    """POST the rating form with a CSRF token taken from the inspection's page."""
    token = csrf_from(html(firm.get(f"/firm/inspections/{inspection_id}")))
    return firm.post(f"/firm/inspections/{inspection_id}/rate",
                     data={"rating": rating, "comment": comment, "csrf_token": token})


def test_an_open_inspection_cannot_be_rated(store, world, firm):
    inspection_id = start(store, world["enterprise"])

    response = rate(firm, inspection_id)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/firm/inspections/{inspection_id}"
    page = html(firm.get(response.headers["Location"]))
    assert "You can rate an inspection once it is closed." in page
    assert value(store, "SELECT count(*) FROM evaluations") == 0


def test_a_closed_inspection_is_rated_once(store, world, firm):
    inspection_id = start(store, world["enterprise"])
    close(store, inspection_id)

    response = rate(firm, inspection_id, "4", "检查规范，态度良好")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/firm/inspections/{inspection_id}"
    page = html(firm.get(response.headers["Location"]))
    assert "Thank you for your rating. Only the supervising justice bureau sees it." in page
    assert "Your rating: ★★★★" in page
    assert rows(store, "SELECT inspection_id, rating, comment FROM evaluations") == [
        {"inspection_id": inspection_id, "rating": 4, "comment": "检查规范，态度良好"}]


def test_a_second_rating_is_refused(store, world, firm):
    inspection_id = start(store, world["enterprise"])
    close(store, inspection_id)
    rate(firm, inspection_id, "4", "第一次")
    token = csrf_from(html(firm.get("/firm/complaints")))

    response = firm.post(f"/firm/inspections/{inspection_id}/rate",
                         data={"rating": "1", "comment": "第二次", "csrf_token": token})

    assert response.status_code == 302
    assert "You have already rated this inspection." in html(firm.get(response.headers["Location"]))
    assert rows(store, "SELECT rating, comment FROM evaluations") == [{"rating": 4, "comment": "第一次"}]


def test_a_rating_outside_the_stars_is_refused(store, world, firm):
    inspection_id = start(store, world["enterprise"])
    close(store, inspection_id)

    response = rate(firm, inspection_id, "9")

    assert response.status_code == 422
    assert value(store, "SELECT count(*) FROM evaluations") == 0


# ---- complaints -----------------------------------------------------------------------------------------

def complain(firm, text, category="too_frequent", inspection_id=""):
    """POST the complaint form with a CSRF token taken from its page."""
    token = csrf_from(html(firm.get("/firm/complaints")))
    return firm.post("/firm/complaints", data={"category": category, "text": text,
                                               "inspection_id": str(inspection_id), "csrf_token": token})


def test_filing_a_complaint_shows_it_with_its_status(store, world, firm):
    inspection_id = start(store, world["enterprise"])

    response = complain(firm, "一个月内来了三次", inspection_id=inspection_id)

    assert response.status_code == 302
    assert response.headers["Location"] == "/firm/complaints"
    assert rows(store, "SELECT enterprise_id, inspection_id, category, text, status, answer FROM complaints") == [
        {"enterprise_id": world["enterprise"]["id"], "inspection_id": inspection_id, "category": "too_frequent",
         "text": "一个月内来了三次", "status": "open", "answer": None}]
    page = html(firm.get("/firm/complaints"))
    assert "Your complaint has been sent to the supervising justice bureau." in page
    ours = section(page, "Our complaints")
    assert "Too frequent inspections" in ours
    assert '<span class="badge">open</span>' in ours
    assert "一个月内来了三次" in ours
    assert f"inspection {inspection_id}" in ours


def test_an_empty_complaint_is_refused(store, world, firm):
    response = complain(firm, "   ")

    assert response.status_code == 422
    assert value(store, "SELECT count(*) FROM complaints") == 0


def test_the_supervisors_answer_reaches_the_firm(app, store, world, firm):
    complain(firm, "检查人员索要好处费", category="fees_demanded")
    complaint_id = value(store, "SELECT id FROM complaints")
    supervisor = web_client(app, "super")
    assert "检查人员索要好处费" in html(supervisor.get("/supervisor/complaints"))
    token = csrf_from(html(supervisor.get(f"/supervisor/complaints/{complaint_id}")))

    response = supervisor.post(f"/supervisor/complaints/{complaint_id}", data={
        "status": "resolved", "answer": "已核实并约谈相关执法人员", "csrf_token": token})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/supervisor/complaints/{complaint_id}"
    assert "Answer saved; the enterprise sees it in its complaints." in html(supervisor.get(response.headers["Location"]))
    assert row(store, "SELECT status, answer, answered_by FROM complaints WHERE id = ?", [complaint_id]) == {
        "status": "resolved", "answer": "已核实并约谈相关执法人员",
        "answered_by": accounts.user_by_username(store, "super")["id"]}
    ours = section(html(firm.get("/firm/complaints")), "Our complaints")
    assert '<span class="badge">resolved</span>' in ours
    assert "<strong>Answer:</strong> 已核实并约谈相关执法人员" in ours


def test_a_supervisor_answer_without_text_is_refused(app, store, world):
    firm1 = accounts.user_by_username(store, "firm1")
    complaint_id = feedback.file_complaint(store, firm1, "other", "投诉", None, datetime.now(UTC))
    supervisor = web_client(app, "super")
    token = csrf_from(html(supervisor.get(f"/supervisor/complaints/{complaint_id}")))

    response = supervisor.post(f"/supervisor/complaints/{complaint_id}",
                               data={"status": "resolved", "answer": "", "csrf_token": token})

    assert response.status_code == 422
    assert row(store, "SELECT status, answer FROM complaints WHERE id = ?", [complaint_id]) == {
        "status": "open", "answer": None}


def test_the_supervisor_filters_complaints_by_status(app, store, world):
    firm1 = accounts.user_by_username(store, "firm1")
    first = feedback.file_complaint(store, firm1, "other", "第一件投诉", None, datetime.now(UTC))
    feedback.file_complaint(store, firm1, "other", "第二件投诉", None, datetime.now(UTC))
    feedback.answer_complaint(store, first, accounts.user_by_username(store, "super"), "rejected", "不属实",
                              datetime.now(UTC))
    supervisor = web_client(app, "super")

    page = html(supervisor.get("/supervisor/complaints?status=open"))

    assert "第二件投诉" in page
    assert "第一件投诉" not in page


def test_the_dashboard_counts_every_open_complaint(app, store, world):
    firm1 = accounts.user_by_username(store, "firm1")
    for n in range(201):
        feedback.file_complaint(store, firm1, "other", f"投诉 {n}", None, datetime.now(UTC))
    supervisor = web_client(app, "super")

    page = html(supervisor.get("/supervisor/"))

    assert '<a href="/supervisor/complaints?status=open">201</a>' in page


# ---- the inbox ------------------------------------------------------------------------------------------

def test_inbox_shows_started_closed_and_an_approaching_deadline(store, world, firm):
    due = today() + timedelta(days=2)
    inspection_id = start(store, world["enterprise"])
    close(store, inspection_id, "rectify", "安全出口堵塞", due)

    response = firm.get("/firm/inbox")

    assert response.status_code == 200
    page = html(response)
    assert "An inspection started: 市场监督管理局 (Routine" in page
    assert "An inspection was closed: 市场监督管理局, result: Rectification ordered." in page
    assert f"Rectification is due by {due.isoformat()}." in page
    assert {r["kind"] for r in rows(store, "SELECT kind FROM notifications WHERE inspection_id = ?", [inspection_id])} == {
        "started", "closed", "deadline"}


def test_a_distant_deadline_gives_no_reminder_yet(store, world, firm):
    inspection_id = start(store, world["enterprise"])
    close(store, inspection_id, "rectify", "安全出口堵塞", today() + timedelta(days=20))

    page = html(firm.get("/firm/inbox"))

    assert "Rectification is due by" not in page
    assert value(store, "SELECT count(*) FROM notifications WHERE kind = 'deadline'") == 0


def test_reading_the_inbox_marks_its_messages_read(store, world, firm):
    start(store, world["enterprise"])
    assert "Inbox (1)" in html(firm.get("/firm/"))

    firm.get("/firm/inbox")

    assert value(store, "SELECT count(*) FROM notifications WHERE read_at IS NULL") == 0
    assert "Inbox (" not in html(firm.get("/firm/"))


def test_inbox_holds_only_the_firms_own_messages(store, world, firm):
    elsewhere = add_enterprise(store, name="别家化工有限公司")
    start(store, elsewhere)

    page = html(firm.get("/firm/inbox"))

    assert "No messages." in page


# ---- activation -----------------------------------------------------------------------------------------

def issue_letter(admin, enterprise_id):
    """The admin issues an activation letter; return (response, code shown on it)."""
    token = csrf_from(html(admin.get("/admin/")))
    response = admin.post(f"/admin/enterprises/{enterprise_id}/activation", data={"csrf_token": token})
    code = html(response).split('id="activation-code">', 1)[1].split("<", 1)[0] if response.status_code == 200 else None
    return response, code


def activate(client, usci, code, username="newfirm", name="张会计"):
    """Fill in the activation form; the password is conftest's, so `login` works afterwards."""
    token = csrf_from(html(client.get("/activate")))
    return client.post("/activate", data={"usci": usci, "code": code, "name": name, "username": username,
                                          "password": PASSWORD, "csrf_token": token})


@pytest.fixture
def admin(app, world):
    return web_client(app, "admin")


def test_activation_letter_shows_a_new_code(store, world, admin):
    response, code = issue_letter(admin, world["enterprise"]["id"])

    assert response.status_code == 200
    page = html(response)
    assert world["enterprise"]["name"] in page
    assert world["enterprise"]["usci"] in page
    assert len(code) == 19 and code.count("-") == 3
    stored = row(store, "SELECT code_hash, expires_at FROM activation_codes")
    assert stored["code_hash"] != code  # only a digest is kept
    assert stored["expires_at"][:10] in page


def test_activation_code_creates_a_firm_user_who_can_log_in(app, store, world, admin):
    _, code = issue_letter(admin, world["enterprise"]["id"])
    visitor = web_client(app)

    response = activate(visitor, world["enterprise"]["usci"], code)

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    user = accounts.user_by_username(store, "newfirm")
    assert (user["role"], user["enterprise_id"], user["name"]) == ("firm", world["enterprise"]["id"], "张会计")
    assert value(store, "SELECT used_by FROM activation_codes") == user["id"]
    assert "Your account is ready." in html(visitor.get("/login"))
    login(visitor, "newfirm")
    assert world["enterprise"]["name"] in html(visitor.get("/firm/"))


def test_activation_code_typed_in_lower_case_with_spaces_works(app, store, world, admin):
    _, code = issue_letter(admin, world["enterprise"]["id"])

    response = activate(web_client(app), world["enterprise"]["usci"].lower(), f" {code.lower().replace('-', ' - ')} ")

    assert response.status_code == 302
    assert accounts.user_by_username(store, "newfirm") is not None


def test_activation_code_works_only_once(app, store, world, admin):
    _, code = issue_letter(admin, world["enterprise"]["id"])
    activate(web_client(app), world["enterprise"]["usci"], code, username="first")

    response = activate(web_client(app), world["enterprise"]["usci"], code, username="second")

    assert response.status_code == 422
    assert "This activation code is wrong, used or expired. Ask for a new letter." in html(response)
    assert accounts.user_by_username(store, "second") is None


def test_a_new_letter_invalidates_the_old_code(app, store, world, admin):
    _, old = issue_letter(admin, world["enterprise"]["id"])
    _, new = issue_letter(admin, world["enterprise"]["id"])

    refused = activate(web_client(app), world["enterprise"]["usci"], old, username="old")
    accepted = activate(web_client(app), world["enterprise"]["usci"], new, username="new")

    assert old != new
    assert refused.status_code == 422
    assert accounts.user_by_username(store, "old") is None
    assert accepted.status_code == 302
    assert accounts.user_by_username(store, "new")["enterprise_id"] == world["enterprise"]["id"]


def test_an_expired_activation_code_is_refused(app, store, world, admin):
    _, code = issue_letter(admin, world["enterprise"]["id"])
    store.execute("UPDATE activation_codes SET expires_at = ?", [(datetime.now(UTC) - timedelta(minutes=1))
                                                                 .strftime("%Y-%m-%dT%H:%M:%SZ")])

    response = activate(web_client(app), world["enterprise"]["usci"], code)

    assert response.status_code == 422
    assert "This activation code is wrong, used or expired." in html(response)
    assert accounts.user_by_username(store, "newfirm") is None


def test_an_activation_code_works_only_for_its_own_enterprise(app, store, world, admin):
    elsewhere = add_enterprise(store, name="别家化工有限公司")
    _, code = issue_letter(admin, world["enterprise"]["id"])

    response = activate(web_client(app), elsewhere["usci"], code)

    assert response.status_code == 422
    assert accounts.user_by_username(store, "newfirm") is None


def test_activation_with_a_taken_username_is_refused_and_keeps_the_code(app, store, world, admin):
    _, code = issue_letter(admin, world["enterprise"]["id"])

    refused = activate(web_client(app), world["enterprise"]["usci"], code, username="firm1")
    accepted = activate(web_client(app), world["enterprise"]["usci"], code, username="newfirm")

    assert refused.status_code == 422
    assert "username firm1 is taken" in html(refused)
    assert accepted.status_code == 302


# ---- the public landing ---------------------------------------------------------------------------------

def test_anonymous_landing_shows_the_name_and_login_links_but_no_records_or_counts(app, store, world):
    inspection_id = start(store, world["enterprise"])
    close(store, inspection_id, "rectify", "仓库消防通道堵塞", today() + timedelta(days=5))
    start(store, world["enterprise"], kind="complaint", reference="投诉-2026-0042")
    token = world["enterprise"]["qr_token"]

    response = web_client(app).get(f"/q/{token}")

    assert response.status_code == 200
    page = html(response)
    assert world["enterprise"]["name"] in page
    assert "Log in as inspector" in page and "Log in as the enterprise" in page
    assert page.count(f'href="/login?next=/q/{token}"') == 2
    for secret in ('id="quota"', "Used ", "仓库消防通道堵塞", "投诉-2026-0042", "C-ann", "C-bob", "Routine",
                   "Complaint or report", "Rectification", "市场监督管理局", "1/2"):
        assert secret not in page


def test_anonymous_landing_is_chinese_by_default(app, world):
    response = app.test_client().get(f"/q/{world['enterprise']['qr_token']}")

    assert response.status_code == 200
    assert '<html lang="zh-CN">' in html(response)


def test_the_firm_scanning_its_own_code_goes_to_its_records(world, firm):
    response = firm.get(f"/q/{world['enterprise']['qr_token']}")

    assert response.status_code == 302
    assert response.headers["Location"] == "/firm/"


def test_a_firm_user_added_by_the_admin_sees_the_same_records(app, store, world):
    inspection_id = start(store, world["enterprise"])
    add_user(store, "firm1b", "firm", usci_code=world["enterprise"]["usci"])

    page = html(web_client(app, "firm1b").get("/firm/"))

    assert f'href="/firm/inspections/{inspection_id}"' in page


def test_the_supervisor_sees_refused_attempts_and_manual_entries(app, store, world):
    ent = world["enterprise"]
    start(store, ent)
    start(store, ent, usci=ent["usci"], qr_token=None)
    with pytest.raises(rules.CapReached):
        start(store, ent, by="cat", others=("dan",), items=("YJGL-001",))
    page = web_client(app, "super").get("/supervisor/").get_data(as_text=True)
    refusals = section(page, 'id="refusals"')
    assert "cat" in refusals and ent["name"] in refusals and "rule 1: 2 of 2 used" in refusals
    flagged = section(page, 'id="flagged"')
    assert "<td>市场监督管理局</td><td><a href=\"/supervisor/records?year=" in flagged
    assert "&amp;show=manual&amp;agency=SCJG\">1</a></td><td>0</td>" in flagged


def test_the_supervisor_finds_a_firm_and_reads_everything_about_an_inspection(app, store, world):
    ent = world["enterprise"]
    inspection_id = start(store, ent)
    close(store, inspection_id, result="rectify", findings="灭火器过期", rectify_by=today() + timedelta(days=20))
    feedback.evaluate(store, inspection_id, accounts.user_by_username(store, "firm1"), 2, "态度生硬", datetime.now(UTC))
    supervisor = web_client(app, "super")
    found = html(supervisor.get("/supervisor/enterprises", query_string={"q": ent["name"][:4]}))
    assert f"/supervisor/enterprises/{ent['id']}" in found
    records = html(supervisor.get(f"/supervisor/enterprises/{ent['id']}"))
    assert f"/supervisor/inspections/{inspection_id}" in records and "Used 1/2" in records
    detail = html(supervisor.get(f"/supervisor/inspections/{inspection_id}"))
    assert "灭火器过期" in detail and "态度生硬" in detail
    assert row(store, "SELECT journal_hash FROM inspections WHERE id = ?", [inspection_id])["journal_hash"] in detail


def test_only_supervisors_open_the_supervisor_enterprise_pages(app, store, world):
    inspection_id = start(store, world["enterprise"])
    for username in ("ann", "firm1", "admin"):
        client = web_client(app, username)
        assert client.get(f"/supervisor/enterprises/{world['enterprise']['id']}").status_code == 404
        assert client.get(f"/supervisor/inspections/{inspection_id}").status_code == 404


def test_the_supervisor_pages_through_every_complaint(app, store, world):
    for n in range(55):
        feedback.file_complaint(store, accounts.user_by_username(store, "firm1"), "other", f"投诉第{n}号", None,
                                datetime.now(UTC) + timedelta(seconds=n))
    supervisor = web_client(app, "super")
    first = html(supervisor.get("/supervisor/complaints?status=open"))
    assert "投诉第54号" in first and "投诉第4号" not in first and 'rel="next"' in first
    assert "status=open" in first.split('rel="next"')[0].rsplit("href=", 1)[1]
    second = html(supervisor.get("/supervisor/complaints?status=open&page=2"))
    assert "投诉第4号" in second and "投诉第0号" in second and 'rel="next"' not in second
