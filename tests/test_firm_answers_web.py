"""The firm's answers on the web (SPEC §10): the record with the checklist results and photos, the statement
(陈述申辩) once within the period, the rectification report with its photos, and the supervisor's view of them.

Pages are asked for in English (Accept-Language: en), so the assertions do not depend on how complete the
Chinese catalogue is at the moment.
"""

import io
import os
from datetime import UTC, datetime, timedelta

import pytest
from babel.dates import format_date
from conftest import TZ, add_enterprise, add_user, csrf_from, html, section, start, web_client
from PIL import Image

import web
from logbook import accounts, checkpoints, feedback, inspections, photos
from logbook.db import rows, value

CHECKLIST = """agency,item_code,item_name,basis,checkpoint,standard
SCJG,SCJG-001,食品经营许可检查,食品安全法第三十五条,许可证是否在有效期内,在有效期内
SCJG,SCJG-001,食品经营许可检查,食品安全法第三十五条,从业人员是否持健康证明,每年体检
SCJG,SCJG-001,食品经营许可检查,食品安全法第三十五条,是否设置冷藏设施,
"""
FAIL_NOTE = "两名从业人员健康证明过期"


def a_jpeg(colour=(200, 30, 30)):
    """A small JPEG, as a phone would send."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return out.getvalue()


def close_with_checks(store, inspection_id, result="case_filed", findings=None, now=None):
    """Close through the domain (at `now`, default now): checkpoint 2 fails with FAIL_NOTE (passes for no_issue), 3 is
    not applicable, the rest pass; an order to rectify is due in 15 days."""
    found = inspections.inspection(store, inspection_id)
    failed = 1 if result != "no_issue" else None
    checks = [{"checkpoint": c["id"], "outcome": "fail" if n == failed else "na" if n == 2 else "pass",
               "note": FAIL_NOTE if n == failed else None} for n, c in enumerate(found["checkpoints"])]
    at = now or datetime.now(UTC)
    rectify_by = (at.astimezone(TZ) + timedelta(days=15)).date() if result == "rectify" else None
    inspections.close_inspection(store, inspection_id, accounts.user_by_username(store, "ann"), result,
                                 findings or ("消防通道堵塞" if result != "no_issue" else None), rectify_by, at, TZ,
                                 checks=checks)


@pytest.fixture
def checked(store, world):
    """An open inspection of the world's enterprise with the three checkpoints of CHECKLIST."""
    checkpoints.import_checkpoints(store, checkpoints.parse_csv(store, CHECKLIST))
    return start(store, world["enterprise"])


@pytest.fixture
def closed(store, checked):
    """The inspection, closed with a case filed."""
    close_with_checks(store, checked)
    return checked


@pytest.fixture
def ordered(store, checked):
    """The inspection, closed with an order to rectify."""
    close_with_checks(store, checked, "rectify")
    return checked


@pytest.fixture
def firm(app, world):
    return web_client(app, "firm1")


@pytest.fixture
def other_firm(app, store, world):
    """A firm user of another enterprise."""
    other = add_enterprise(store, name="另一家公司")
    add_user(store, "firm2", "firm", usci_code=other["usci"])
    return web_client(app, "firm2")


def state(client, inspection_id, text="检查当日已更换健康证明，详见附件。", csrf=True):
    """POST the statement form, with a CSRF token from the inspection's page unless told otherwise."""
    data = {"statement": text}
    if csrf:
        data["csrf_token"] = csrf_from(html(client.get(f"/firm/inspections/{inspection_id}")))
    return client.post(f"/firm/inspections/{inspection_id}/statement", data=data)


def report(client, inspection_id, files=(), text="已清理消防通道，并张贴警示标识。"):
    """POST the rectification form with the files [(bytes, name)], CSRF token from the inspection's page."""
    csrf = csrf_from(html(client.get(f"/firm/inspections/{inspection_id}")))
    return client.post(f"/firm/inspections/{inspection_id}/rectify", content_type="multipart/form-data", data={
        "csrf_token": csrf, "text": text, "photos": [(io.BytesIO(data), name) for data, name in files]})


def statements(store):
    return rows(store, "SELECT inspection_id, text FROM statements")


# ---- the record ------------------------------------------------------------------------------------------------

def test_the_record_shows_each_checkpoints_outcome_and_note_with_the_fail_standing_out(firm, closed):
    results = section(html(firm.get(f"/firm/inspections/{closed}")), 'id="results"')

    assert "Checkpoints not compliant: 1" in results
    assert "食品经营许可检查" in results and "食品安全法第三十五条" in results
    fail = results.split('class="checkpoint fail"')[1].split("</li>")[0]
    assert "non-compliant" in fail and "从业人员是否持健康证明" in fail and FAIL_NOTE in fail
    assert "Standard: 每年体检" in fail
    assert results.count('class="checkpoint pass"') == 1 and results.count('class="checkpoint na"') == 1
    assert "not applicable" in results.split('class="checkpoint na"')[1].split("</li>")[0]


def test_the_photos_show_as_thumbnails_linking_to_the_image(app, store, firm, checked):
    cp = inspections.inspection(store, checked)["checkpoints"][1]["id"]
    store_dir, ann = app.config["LOGBOOK_PHOTOS"], accounts.user_by_username(store, "ann")
    of_checkpoint = photos.add_photo(store, store_dir, checked, ann, a_jpeg(), cp, datetime.now(UTC))["id"]
    loose = photos.add_photo(store, store_dir, checked, ann, a_jpeg((20, 90, 20)), None, datetime.now(UTC))["id"]
    close_with_checks(store, checked)

    results = section(html(firm.get(f"/firm/inspections/{checked}")), 'id="results"')

    fail = results.split('class="checkpoint fail"')[1].split("</li>")[0]
    assert f'<a href="/inspections/{checked}/photos/{of_checkpoint}"' in fail
    assert f'<img src="/inspections/{checked}/photos/{of_checkpoint}"' in fail
    assert f'<img src="/inspections/{checked}/photos/{loose}"' in results.split("<h3>Photos</h3>")[1]
    with firm.get(f"/inspections/{checked}/photos/{of_checkpoint}") as image:
        assert image.status_code == 200 and image.mimetype == "image/jpeg"


def test_the_record_shows_the_findings_the_deadline_and_links_to_both_documents(firm, ordered):
    page = html(firm.get(f"/firm/inspections/{ordered}"))

    assert '<dd id="findings">消防通道堵塞</dd>' in page
    due = (datetime.now(TZ) + timedelta(days=15)).date().isoformat()
    assert f"To be rectified by {due}." in section(page, 'id="rectification"')
    documents = section(page, 'id="documents"')
    for path in ("record", "record.pdf", "result", "result.pdf"):
        assert f'href="/inspections/{ordered}/{path}"' in documents


def test_an_open_inspection_links_only_to_its_record_and_offers_no_statement_yet(firm, checked):
    page = html(firm.get(f"/firm/inspections/{checked}"))

    assert f'href="/inspections/{checked}/record"' in page and f'/inspections/{checked}/result' not in page
    assert "You can answer the findings in writing once the inspection is closed." in page
    assert 'name="statement"' not in page and 'id="rectification"' not in page


# ---- the statement (陈述申辩) -------------------------------------------------------------------------------------

def test_a_closed_inspection_offers_the_statement_once_until_the_end_of_the_period(firm, closed):
    answer = section(html(firm.get(f"/firm/inspections/{closed}")), 'id="answer"')

    assert "Answer the findings (陈述申辩)" in answer
    until = format_date((datetime.now(TZ) + timedelta(days=5)).date(), "medium", locale="en")
    assert f"You can do this once, until {until}" in answer and "(5 days after the inspection was closed)" in answer
    assert f'action="/firm/inspections/{closed}/statement"' in answer and 'name="statement"' in answer


def test_the_statement_is_recorded_and_shown_beside_the_findings(store, firm, closed):
    response = state(firm, closed)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/firm/inspections/{closed}"
    assert statements(store) == [{"inspection_id": closed, "text": "检查当日已更换健康证明，详见附件。"}]
    assert value(store, "SELECT count(*) FROM journal WHERE inspection_id = ? AND action = 'statement'", [closed]) == 1
    page = html(firm.get(response.headers["Location"]))
    assert "Your statement has been recorded; it is shown beside the findings." in page
    answer = section(page, 'id="answer"')
    assert "Your statement of " in answer and "检查当日已更换健康证明，详见附件。" in answer
    assert 'name="statement"' not in answer


def test_a_second_statement_is_refused_and_the_first_kept(store, firm, closed):
    state(firm, closed, "第一次陈述")

    response = state(firm, closed, "第二次陈述")

    assert response.status_code == 409
    assert "You have already answered these findings: a statement can be made only once." in html(response)
    assert "第一次陈述" in section(html(response), 'id="answer"')
    assert statements(store) == [{"inspection_id": closed, "text": "第一次陈述"}]


def test_no_statement_before_the_inspection_is_closed(store, firm, checked):
    response = state(firm, checked)

    assert response.status_code == 409
    assert "The findings cannot be answered now" in html(response)
    assert statements(store) == []


def test_no_statement_after_the_period(app, store, world, firm):
    checkpoints.import_checkpoints(store, checkpoints.parse_csv(store, CHECKLIST))
    long_ago = datetime.now(UTC) - timedelta(days=7)
    inspection_id = start(store, world["enterprise"], now=long_ago)
    close_with_checks(store, inspection_id, now=long_ago + timedelta(days=1, hours=2))  # 5 days + 22 hours ago
    assert app.config["LOGBOOK_STATEMENT_DAYS"] == 5

    page = html(firm.get(f"/firm/inspections/{inspection_id}"))
    ended = format_date((long_ago + timedelta(days=6, hours=2)).astimezone(TZ).date(), "medium", locale="en")
    assert f"The period to answer the findings ended on {ended}" in page and 'name="statement"' not in page

    response = state(firm, inspection_id)

    assert response.status_code == 409
    assert "The findings cannot be answered now" in html(response)
    assert statements(store) == []


def test_the_period_follows_the_setting(app, store, firm, closed):
    app.config["LOGBOOK_STATEMENT_DAYS"] = 0

    response = state(firm, closed)

    assert response.status_code == 409 and statements(store) == []


def test_an_empty_statement_is_refused_on_the_page(store, firm, closed):
    response = state(firm, closed, "   ")

    assert response.status_code == 422
    assert 'class="error-text"' in section(html(response), 'id="answer"')
    assert statements(store) == []


def test_a_statement_without_csrf_token_is_400(store, firm, closed):
    response = state(firm, closed, csrf=False)

    assert response.status_code == 400
    assert statements(store) == []


def test_another_firm_can_neither_see_nor_answer(store, other_firm, closed):
    assert other_firm.get(f"/firm/inspections/{closed}").status_code == 404
    csrf = csrf_from(html(other_firm.get("/firm/complaints")))

    response = other_firm.post(f"/firm/inspections/{closed}/statement", data={"csrf_token": csrf, "statement": "x"})

    assert response.status_code == 404
    assert statements(store) == []


def test_the_supervisor_sees_the_checklist_the_statement_and_the_documents(app, firm, closed):
    state(firm, closed)

    page = html(web_client(app, "super").get(f"/supervisor/inspections/{closed}"))

    assert FAIL_NOTE in section(page, 'id="results"')
    answer = section(page, 'id="answer"')
    assert "The enterprise's statement of " in answer and "检查当日已更换健康证明，详见附件。" in answer
    assert 'name="statement"' not in page
    assert f'href="/inspections/{closed}/result.pdf"' in section(page, 'id="documents"')


def test_the_supervisor_sees_no_answer_section_before_the_firm_answers(app, closed):
    page = html(web_client(app, "super").get(f"/supervisor/inspections/{closed}"))

    assert 'id="answer"' not in page and 'id="results"' in page


# ---- the rectification report ------------------------------------------------------------------------------------

def test_the_rectification_form_is_offered_for_an_order_to_rectify_only(firm, ordered, store, world):
    page = html(firm.get(f"/firm/inspections/{ordered}"))
    form = section(page, 'id="rectification"')
    assert f'action="/firm/inspections/{ordered}/rectify"' in form and 'enctype="multipart/form-data"' in form
    assert 'accept="image/*"' in form and 'capture="environment"' in form and "multiple" in form
    assert 'name="photos"' in form and 'type="file"' in form

    no_issue = start(store, world["enterprise"], kind="complaint", reference="投诉-1")
    close_with_checks(store, no_issue, "no_issue")
    assert 'id="rectification"' not in html(firm.get(f"/firm/inspections/{no_issue}"))


def test_the_rectification_is_reported_with_its_photos(app, store, firm, ordered):
    response = report(firm, ordered, [(a_jpeg(), "one.jpg"), (a_jpeg((30, 30, 200)), "two.jpg")])

    assert response.status_code == 302
    assert response.headers["Location"] == f"/firm/inspections/{ordered}"
    assert rows(store, "SELECT inspection_id, text FROM rectifications") == [
        {"inspection_id": ordered, "text": "已清理消防通道，并张贴警示标识。"}]
    stored = rows(store, "SELECT id, purpose, sha256, media_type, checkpoint_id FROM photos WHERE inspection_id = ?",
                  [ordered])
    assert [(p["purpose"], p["media_type"], p["checkpoint_id"]) for p in stored] == [
        ("rectification", "image/jpeg", None)] * 2
    for p in stored:
        assert os.path.isfile(photos.photo_path(app.config["LOGBOOK_PHOTOS"], p["sha256"], p["media_type"]))
    assert [r["inspection_id"] for r in feedback.rechecks_offered(store, accounts.user_by_username(store, "ann")["id"])] \
        == [ordered]

    page = html(firm.get(response.headers["Location"]))
    assert "Your rectification report has been sent, and the recheck has been offered to the inspectors." in page
    shown = section(page, 'id="rectification"')
    assert "Reported by the enterprise on " in shown and "已清理消防通道，并张贴警示标识。" in shown
    assert "The recheck has been offered to the inspectors." in shown and 'name="photos"' not in shown
    for p in stored:
        assert f'<img src="/inspections/{ordered}/photos/{p["id"]}"' in shown
    assert 'id="results"' in page and f'/photos/{stored[0]["id"]}"' not in section(page, 'id="results"')


def test_the_supervisor_sees_the_rectification_report(app, firm, ordered):
    report(firm, ordered, [(a_jpeg(), "one.jpg")])

    shown = section(html(web_client(app, "super").get(f"/supervisor/inspections/{ordered}")), 'id="rectification"')

    assert "已清理消防通道，并张贴警示标识。" in shown and "The recheck has been offered to the inspectors." in shown
    assert "<img src=" in shown


def test_a_rectification_is_not_reported_for_an_inspection_without_an_order(store, firm, closed):
    response = report(firm, closed, [(a_jpeg(), "one.jpg")])

    assert response.status_code == 409
    assert "Only an inspection closed with an order to rectify takes a rectification report." in html(response)
    assert value(store, "SELECT count(*) FROM rectifications") == 0
    assert value(store, "SELECT count(*) FROM photos") == 0


def test_a_file_that_is_not_a_photo_is_refused_and_nothing_stored(store, firm, ordered):
    response = report(firm, ordered, [(a_jpeg(), "one.jpg"), (b"%PDF-1.4 not a photo", "scan.pdf")])

    assert response.status_code == 415
    errors = section(html(response), 'id="rectification"')
    assert "Only photos can be attached (JPEG or PNG): one of the files is not a photo." in errors
    assert 'name="photos"' in errors  # the form is there to try again
    assert value(store, "SELECT count(*) FROM rectifications") == 0
    assert value(store, "SELECT count(*) FROM photos") == 0


def test_a_photo_over_10_mb_is_refused_and_nothing_stored(monkeypatch, store, firm, ordered):
    monkeypatch.setattr(photos, "MAX_BYTES", 20_000)  # the same refusal without a 10 MB body in the test client

    response = report(firm, ordered, [(a_jpeg(), "small.jpg"), (b"\xff\xd8" + bytes(20_000), "huge.jpg")])

    assert response.status_code == 413
    assert "A photo is too large: each may be at most 10 MB." in section(html(response), 'id="rectification"')
    assert value(store, "SELECT count(*) FROM rectifications") == 0
    assert value(store, "SELECT count(*) FROM photos") == 0


def test_photos_past_the_body_limit_are_refused_on_the_page(monkeypatch, store, firm, ordered):
    monkeypatch.setitem(web.BODY_LIMITS, "firm.rectify", 20_000)

    response = report(firm, ordered, [(os.urandom(30_000), "big.jpg")])

    assert response.status_code == 413
    assert "A photo is too large: each may be at most 10 MB." in section(html(response), 'id="rectification"')
    assert value(store, "SELECT count(*) FROM rectifications") == 0


def test_more_than_six_photos_are_refused(store, firm, ordered):
    response = report(firm, ordered, [(a_jpeg((n * 30, 0, 0)), f"{n}.jpg") for n in range(7)])

    assert response.status_code == 422
    assert "Attach at most 6 photos." in html(response)
    assert value(store, "SELECT count(*) FROM rectifications") == 0
    assert value(store, "SELECT count(*) FROM photos") == 0


def test_a_report_without_text_is_refused(store, firm, ordered):
    response = report(firm, ordered, [(a_jpeg(), "one.jpg")], text=" ")

    assert response.status_code == 422
    assert 'class="error-text"' in section(html(response), 'id="rectification"')
    assert value(store, "SELECT count(*) FROM rectifications") == 0


def test_the_rectification_is_reported_once(store, firm, ordered):
    report(firm, ordered, [], text="第一次报告")

    response = report(firm, ordered, [], text="第二次报告")

    assert response.status_code == 409
    assert "You have already reported the rectification of this inspection." in html(response)
    assert rows(store, "SELECT text FROM rectifications") == [{"text": "第一次报告"}]


def test_the_records_list_says_what_is_still_to_report(firm, ordered):
    assert "rectification to report" in html(firm.get("/firm/"))
    report(firm, ordered)
    page = html(firm.get("/firm/"))
    assert "rectification reported" in page and "rectification to report" not in page


# ---- who may use the firm's pages ----------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["cat", "ann"])  # an inspector not taking part, and one taking part
def test_inspectors_get_404_on_the_firms_pages(app, store, ordered, username):
    client = web_client(app, username)
    csrf = csrf_from(html(client.get("/inspector/")))

    assert client.get(f"/firm/inspections/{ordered}").status_code == 404
    assert client.post(f"/firm/inspections/{ordered}/statement",
                       data={"csrf_token": csrf, "statement": "x"}).status_code == 404
    assert client.post(f"/firm/inspections/{ordered}/rectify", data={"csrf_token": csrf, "text": "x"}).status_code == 404
    assert statements(store) == [] and value(store, "SELECT count(*) FROM rectifications") == 0


def test_another_firm_cannot_report_the_rectification(store, other_firm, ordered):
    csrf = csrf_from(html(other_firm.get("/firm/complaints")))

    response = other_firm.post(f"/firm/inspections/{ordered}/rectify", content_type="multipart/form-data",
                               data={"csrf_token": csrf, "text": "x", "photos": [(io.BytesIO(a_jpeg()), "a.jpg")]})

    assert response.status_code == 404
    assert value(store, "SELECT count(*) FROM rectifications") == 0 and value(store, "SELECT count(*) FROM photos") == 0
