"""Stored text with HTML or script in it is shown escaped on every page that shows it, and the JSON API gives
it back as plain data (issue 3, "Must show").

Every stored field gets its own label and both payloads, so each assertion names the field it is about.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import add_enterprise, add_user, csrf_from, token_for, web_client
from markupsafe import escape

from logbook import accounts, feedback, inspections

TZ = ZoneInfo("Asia/Shanghai")
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
RAW = ("<script>alert(1)", "<img src=x onerror")


def evil(label):
    """Stored text for one field: a label, then both payloads."""
    return f"{label}{SCRIPT}{IMG}"


NAME = evil("恶意企业")
ADDRESS = evil("地址")
INSPECTOR = evil("检查员")
FINDINGS = evil("检查发现")
VOID_REASON = evil("作废原因")
REFERENCE = evil("投诉编号")
COMMENT = evil("评价")
COMPLAINT = evil("投诉内容")
ANSWER = evil("答复")


def assert_escaped(page, *shown):
    """No raw payload anywhere in the page, and each of the fields shown in its escaped form."""
    for raw in RAW:
        assert raw not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    for text in shown:
        assert str(escape(text)) in page, text[:8]


def start(store, enterprise, kind="routine", **extra):
    body = {"qr_token": enterprise["qr_token"], "kind": kind, "inspectors": ["eve"], "items": ["SCJG-001"]}
    return inspections.record_inspection(store, accounts.user_by_username(store, "ann"), inspections.StartRequest(**body | extra),
                                         datetime.now(UTC), TZ)


@pytest.fixture
def stored(store, world):
    """An enterprise, an inspector, and records whose every free text carries the payloads."""
    enterprise = add_enterprise(store, name=NAME, address=ADDRESS)
    add_user(store, "evilfirm", "firm", usci_code=enterprise["usci"])
    add_user(store, "eve", "inspector", agency="SCJG", name=INSPECTOR)
    ann, now = accounts.user_by_username(store, "ann"), datetime.now(UTC)
    closed = start(store, enterprise)
    inspections.close_inspection(store, closed, ann, "rectify", FINDINGS, datetime.now(TZ).date() + timedelta(days=9),
                                 now, TZ)
    firm = accounts.user_by_username(store, "evilfirm")
    feedback.evaluate(store, closed, firm, 1, COMMENT, now)
    voided = start(store, enterprise)
    inspections.void_inspection(store, voided, ann, VOID_REASON, now, TZ)
    exempt = start(store, enterprise, kind="complaint", reference=REFERENCE)
    start(store, enterprise, kind="referral", reference="转办-1")  # a third one: a "most inspected" enterprise
    complaint = feedback.file_complaint(store, firm, "misconduct", COMPLAINT, closed, now)
    feedback.answer_complaint(store, complaint, accounts.user_by_username(store, "super"), "in_progress", ANSWER, now)
    return {"enterprise": enterprise, "closed": closed, "voided": voided, "exempt": exempt, "complaint": complaint}


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


# ---- the firm's pages ----------------------------------------------------------------------------------

def test_firm_records_page_escapes_name_inspector_and_reference(app, stored):
    assert_escaped(page(web_client(app, "evilfirm"), "/firm/"), NAME, INSPECTOR, REFERENCE)


def test_firm_inspection_page_escapes_findings_inspector_and_comment(app, stored):
    assert_escaped(page(web_client(app, "evilfirm"), f"/firm/inspections/{stored['closed']}"),
                   FINDINGS, INSPECTOR, COMMENT)


def test_firm_inspection_page_escapes_the_void_reason(app, stored):
    assert_escaped(page(web_client(app, "evilfirm"), f"/firm/inspections/{stored['voided']}"), VOID_REASON)


def test_firm_confirm_page_escapes_a_code_from_the_link(app, stored):
    html = page(web_client(app, "evilfirm"), f"/firm/confirm/{stored['exempt']}?code=%3Cscript%3Ealert(1)%3C/script%3E")

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_firm_complaints_page_escapes_complaint_and_answer(app, stored):
    assert_escaped(page(web_client(app, "evilfirm"), "/firm/complaints"), COMPLAINT, ANSWER)


def test_a_complaint_form_shown_again_escapes_what_was_typed(app, stored):
    firm = web_client(app, "evilfirm")
    token = csrf_from(page(firm, "/firm/complaints"))

    response = firm.post("/firm/complaints", data={"category": "other", "text": COMPLAINT, "inspection_id": "999999",
                                                   "csrf_token": token})

    assert response.status_code == 422
    assert_escaped(response.get_data(as_text=True), COMPLAINT)


def test_poster_escapes_the_enterprise_name(app, stored):
    path = f"/admin/enterprises/{stored['enterprise']['id']}/poster"

    assert_escaped(page(web_client(app, "admin"), path), NAME)
    assert_escaped(page(web_client(app, "evilfirm"), path), NAME)


def test_activation_letter_escapes_the_enterprise_name(app, stored):
    admin = web_client(app, "admin")
    token = csrf_from(page(admin, "/admin/"))

    response = admin.post(f"/admin/enterprises/{stored['enterprise']['id']}/activation", data={"csrf_token": token})

    assert response.status_code == 200
    assert_escaped(response.get_data(as_text=True), NAME)


def test_admin_search_escapes_the_enterprise_name(app, stored):
    assert_escaped(page(web_client(app, "admin"), "/admin/?q=恶意企业"), NAME)


def test_public_landing_escapes_the_enterprise_name(app, stored):
    assert_escaped(page(web_client(app), f"/q/{stored['enterprise']['qr_token']}"), NAME)


# ---- the inspector's pages -----------------------------------------------------------------------------

def test_inspector_inspection_page_escapes_name_findings_and_inspector(app, stored):
    assert_escaped(page(web_client(app, "ann"), f"/inspector/inspections/{stored['closed']}"),
                   NAME, FINDINGS, INSPECTOR)


def test_inspector_inspection_page_escapes_the_void_reason(app, stored):
    assert_escaped(page(web_client(app, "ann"), f"/inspector/inspections/{stored['voided']}"), VOID_REASON)


def test_inspector_scan_page_escapes_name_address_and_inspectors(app, stored):
    assert_escaped(page(web_client(app, "ann"), f"/q/{stored['enterprise']['qr_token']}"), NAME, ADDRESS, INSPECTOR)


def test_inspector_manual_entry_page_escapes_name_and_address(app, stored):
    assert_escaped(page(web_client(app, "ann"), f"/inspector/manual/{stored['enterprise']['usci']}"), NAME, ADDRESS)


def test_inspector_search_and_home_escape_the_enterprise_name(app, stored):
    inspector = web_client(app, "ann")

    assert_escaped(page(inspector, "/inspector/search?q=恶意企业"), NAME, ADDRESS)
    assert_escaped(page(inspector, "/inspector/"), NAME)


def test_the_page_header_escapes_the_logged_in_inspectors_name(app, stored):
    assert_escaped(page(web_client(app, "eve"), "/inspector/"), INSPECTOR)


# ---- the supervisor's pages ----------------------------------------------------------------------------

def test_supervisor_ratings_escape_comment_and_enterprise_name(app, stored):
    assert_escaped(page(web_client(app, "super"), "/supervisor/ratings"), COMMENT, NAME)


def test_supervisor_complaints_list_escapes_complaint_and_enterprise_name(app, stored):
    assert_escaped(page(web_client(app, "super"), "/supervisor/complaints"), COMPLAINT, NAME)


def test_supervisor_complaint_page_escapes_complaint_answer_name_and_inspector(app, stored):
    assert_escaped(page(web_client(app, "super"), f"/supervisor/complaints/{stored['complaint']}"),
                   COMPLAINT, ANSWER, NAME, INSPECTOR)


def test_supervisor_dashboard_escapes_the_most_inspected_enterprises_name(app, stored):
    assert_escaped(page(web_client(app, "super"), "/supervisor/"), NAME)


# ---- the JSON API gives the text back as it was stored --------------------------------------------------

def assert_json(response):
    """A JSON success whose raw body was not HTML-escaped."""
    assert response.status_code in (200, 201)
    assert response.mimetype == "application/json"
    assert "&lt;" not in response.get_data(as_text=True)
    return response.get_json()


def test_api_inspection_returns_findings_names_and_void_reason_as_plain_data(client, stored):
    headers = token_for(client, "ann")

    closed = assert_json(client.get(f"/api/v1/inspections/{stored['closed']}", headers=headers))
    voided = assert_json(client.get(f"/api/v1/inspections/{stored['voided']}", headers=headers))

    assert closed["findings"] == FINDINGS
    assert closed["enterprise"]["name"] == NAME
    assert INSPECTOR in [i["name"] for i in closed["inspectors"]]
    assert voided["void_reason"] == VOID_REASON


def test_api_scan_returns_the_enterprise_as_plain_data(client, stored):
    body = assert_json(client.get(f"/api/v1/scan/{stored['enterprise']['qr_token']}", headers=token_for(client, "ann")))

    assert (body["enterprise"]["name"], body["enterprise"]["address"]) == (NAME, ADDRESS)
    assert REFERENCE in [r["reference"] for r in body["recent"]]


def test_api_firm_records_return_stored_text_as_plain_data(client, stored):
    body = assert_json(client.get("/api/v1/firm/inspections", headers=token_for(client, "evilfirm")))

    assert (body["enterprise"]["name"], body["enterprise"]["address"]) == (NAME, ADDRESS)
    by_id = {i["id"]: i for i in body["inspections"]}
    assert by_id[stored["closed"]]["findings"] == FINDINGS
    assert by_id[stored["voided"]]["void_reason"] == VOID_REASON
    assert by_id[stored["exempt"]]["reference"] == REFERENCE


def test_api_complaints_return_text_and_answer_as_plain_data(client, stored):
    headers = token_for(client, "evilfirm")

    listed = assert_json(client.get("/api/v1/complaints", headers=headers))
    filed = assert_json(client.post("/api/v1/complaints", headers=headers, json={"category": "other", "text": COMPLAINT}))

    assert (listed[0]["text"], listed[0]["answer"]) == (COMPLAINT, ANSWER)
    assert filed["text"] == COMPLAINT


def test_api_evaluation_returns_the_comment_as_plain_data(client, store, stored):
    other = start(store, stored["enterprise"], kind="complaint", reference="投诉-2")
    inspections.close_inspection(store, other, accounts.user_by_username(store, "ann"), "no_issue", None, None,
                                 datetime.now(UTC), TZ)

    body = assert_json(client.post(f"/api/v1/inspections/{other}/evaluation", headers=token_for(client, "evilfirm"),
                                   json={"rating": 3, "comment": COMMENT}))

    assert body["comment"] == COMMENT
