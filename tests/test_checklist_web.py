"""The checklist at the door through the test client (SPEC §10): the page lists every checkpoint, each answer is saved
as it is given, closing without JavaScript records the answers or shows what is wrong and changes nothing, photos are
taken at a checkpoint and stored without their location, and a reported rectification offers the recheck."""

import io
import os
import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import TZ, csrf_from, login, start
from PIL import ExifTags, Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from logbook import accounts, checkpoints, feedback, inspections
from logbook.db import rows, value

CHECKLIST = """agency,item_code,item_name,basis,checkpoint,standard
SCJG,SCJG-001,食品经营许可检查,食品安全法第三十五条,食品经营许可证是否在有效期内,许可证在有效期内
SCJG,SCJG-001,食品经营许可检查,食品安全法第三十五条,从业人员是否持有有效健康证明,每年进行健康检查
SCJG,SCJG-002,特种设备检查,特种设备安全法第三十三条,电梯是否在检验有效期内,检验合格标志在有效期内
SCJG,SCJG-002,特种设备检查,特种设备安全法第三十三条,压力容器是否办理使用登记,
"""
IN_A_MONTH = (datetime.now(TZ) + timedelta(days=30)).date().isoformat()


@pytest.fixture
def open_inspection(store, world):
    """An open inspection by ann and bob of two items with four checkpoints; returns its id and checkpoint ids."""
    checkpoints.import_checkpoints(store, checkpoints.parse_csv(store, CHECKLIST))
    inspection_id = start(store, world["enterprise"], items=("SCJG-001", "SCJG-002"))
    return {"id": inspection_id, "checkpoints": [c["id"] for c in inspections.inspection(store, inspection_id)["checkpoints"]]}


@pytest.fixture
def ann(app, client, world):
    """ann's client, reading the pages in English (the new texts' Chinese comes with the catalogue)."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, "ann")
    return client


def page(client, inspection_id):
    response = client.get(f"/inspector/inspections/{inspection_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def saved(store, inspection_id):
    """The saved answers of an inspection's checklist, in checklist order."""
    return [(r["outcome"], r["note"]) for r in rows(store, """SELECT ic.outcome, ic.note FROM inspection_checkpoints ic
        JOIN checkpoints c ON c.id = ic.checkpoint_id WHERE ic.inspection_id = ? ORDER BY c.item_id, c.position""",
                                                     [inspection_id])]


def answer(client, inspection_id, csrf, **body):
    return client.post(f"/inspector/inspections/{inspection_id}/answers", json=body, headers={"X-CSRFToken": csrf})


# ---- the page --------------------------------------------------------------------------------------------------

def test_the_open_inspection_lists_every_checkpoint_by_item_with_three_buttons_a_note_and_a_camera(ann, open_inspection):
    html = page(ann, open_inspection["id"])
    checklist = html.split('id="checklist"', 1)[1]
    for text in ("食品经营许可检查", "食品安全法第三十五条", "食品经营许可证是否在有效期内", "许可证在有效期内",
                 "特种设备检查", "特种设备安全法第三十三条", "压力容器是否办理使用登记"):
        assert text in checklist, text
    assert checklist.index("食品经营许可检查") < checklist.index("从业人员是否持有有效健康证明") < checklist.index("特种设备检查")
    for checkpoint in open_inspection["checkpoints"]:
        for outcome in ("pass", "fail", "na"):
            assert f'name="outcome-{checkpoint}" value="{outcome}"' in checklist
        assert f'name="note-{checkpoint}"' in checklist
        assert f'id="camera-{checkpoint}"' in checklist
    assert checklist.count('capture="environment"') == 5  # one per checkpoint and one for the whole inspection
    assert ">0 of 4 answered<" in html
    assert ">Pass<" in checklist and ">Fail<" in checklist and ">Not applicable<" in checklist
    assert 'src="/static/checklist.js"' in html


def test_the_page_shows_the_answers_saved_so_far(ann, store, open_inspection):
    first, second = open_inspection["checkpoints"][:2]
    checkpoints.answer_checkpoint(store, open_inspection["id"], accounts.user_by_username(store, "bob"), first, "pass", None)
    checkpoints.answer_checkpoint(store, open_inspection["id"], accounts.user_by_username(store, "bob"), second, "fail",
                                  "健康证过期")
    html = page(ann, open_inspection["id"])
    assert f'name="outcome-{first}" value="pass" checked' in html
    assert f'name="outcome-{second}" value="fail" checked' in html
    assert ">健康证过期</textarea>" in html
    assert ">2 of 4 answered<" in html


# ---- saved as given --------------------------------------------------------------------------------------------

def test_an_answer_is_saved_as_given_and_can_be_cleared(ann, store, open_inspection):
    csrf = csrf_from(page(ann, open_inspection["id"]))
    checkpoint = open_inspection["checkpoints"][1]
    response = answer(ann, open_inspection["id"], csrf, checkpoint=checkpoint, outcome="fail", note=" 两人健康证过期 ")
    assert response.status_code == 204 and response.get_data() == b""
    assert saved(store, open_inspection["id"])[1] == ("fail", "两人健康证过期")
    assert answer(ann, open_inspection["id"], csrf, checkpoint=checkpoint, outcome=None, note=None).status_code == 204
    assert saved(store, open_inspection["id"]) == [(None, None)] * 4


@pytest.mark.parametrize("body", [
    {"outcome": "maybe"},
    {"outcome": 1},
    {"checkpoint": "1"},
    {"checkpoint": 999999},
])
def test_a_bad_answer_is_refused_with_422_and_nothing_is_saved(ann, store, open_inspection, body):
    csrf = csrf_from(page(ann, open_inspection["id"]))
    response = answer(ann, open_inspection["id"], csrf, **({"checkpoint": open_inspection["checkpoints"][0],
                                                             "outcome": "pass"} | body))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid"
    assert saved(store, open_inspection["id"]) == [(None, None)] * 4


def test_a_body_that_is_not_an_answer_is_refused_with_422(ann, store, open_inspection):
    csrf = csrf_from(page(ann, open_inspection["id"]))
    response = ann.post(f"/inspector/inspections/{open_inspection['id']}/answers", data="[1]",
                        content_type="application/json", headers={"X-CSRFToken": csrf})
    assert response.status_code == 422


def test_an_inspector_who_does_not_take_part_gets_404_and_nothing_is_saved(client, store, open_inspection):
    login(client, "cat")
    csrf = csrf_from(client.get("/inspector/").get_data(as_text=True))
    response = answer(client, open_inspection["id"], csrf, checkpoint=open_inspection["checkpoints"][0], outcome="pass")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert saved(store, open_inspection["id"]) == [(None, None)] * 4


def test_an_answer_to_a_closed_inspection_is_refused_with_409(ann, store, open_inspection):
    csrf = csrf_from(page(ann, open_inspection["id"]))
    checks = [{"checkpoint": c, "outcome": "pass"} for c in open_inspection["checkpoints"]]
    inspections.close_inspection(store, open_inspection["id"], accounts.user_by_username(store, "ann"), "no_issue", None,
                                 None, datetime.now(UTC), TZ, checks)
    response = answer(ann, open_inspection["id"], csrf, checkpoint=open_inspection["checkpoints"][0], outcome="fail",
                      note="晚了")
    assert response.status_code == 409
    assert response.get_json()["error"] == {"code": "not_open", "message": "This inspection is no longer open."}
    assert saved(store, open_inspection["id"]) == [("pass", None)] * 4


def test_an_answer_without_the_csrf_token_is_refused_with_400(ann, store, open_inspection):
    response = ann.post(f"/inspector/inspections/{open_inspection['id']}/answers",
                        json={"checkpoint": open_inspection["checkpoints"][0], "outcome": "pass"})
    assert response.status_code == 400
    assert saved(store, open_inspection["id"]) == [(None, None)] * 4


# ---- closing without JavaScript ----------------------------------------------------------------------------------

def close_form(inspection, csrf, outcomes, notes=None, **fields):
    """The close form as the page posts it: the checklist's radios and notes, then the result."""
    data = {"csrf_token": csrf, "result": "rectify", "findings": "两名从业人员健康证明过期", "rectify_by": IN_A_MONTH}
    for checkpoint, outcome in zip(inspection["checkpoints"], outcomes):
        if outcome:
            data[f"outcome-{checkpoint}"] = outcome
        data[f"note-{checkpoint}"] = (notes or {}).get(checkpoint, "")
    return data | fields


def test_closing_without_javascript_records_every_answer(ann, store, open_inspection):
    csrf = csrf_from(page(ann, open_inspection["id"]))
    failed = open_inspection["checkpoints"][1]
    response = ann.post(f"/inspector/inspections/{open_inspection['id']}/close",
                        data=close_form(open_inspection, csrf, ["pass", "fail", "na", "pass"], {failed: "两人健康证过期"}))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/inspector/inspections/{open_inspection['id']}"
    assert saved(store, open_inspection["id"]) == [("pass", None), ("fail", "两人健康证过期"), ("na", None), ("pass", None)]
    assert value(store, "SELECT status FROM inspections WHERE id = ?", [open_inspection["id"]]) == "closed"
    html = page(ann, open_inspection["id"])
    assert "Inspection closed." in html
    assert "两人健康证过期" in html and 'name="outcome-' not in html
    for endpoint in ("record", "record.pdf", "result", "result.pdf"):
        assert f'href="/inspections/{open_inspection["id"]}/{endpoint}"' in html


@pytest.mark.parametrize("outcomes, notes, result, message, where", [
    (["pass", "pass", None, "pass"], {}, "rectify", "1 checkpoints are not answered yet.", 2),
    (["pass", "fail", "pass", "pass"], {}, "rectify", "Say what failed: a failed checkpoint needs a note.", 1),
    (["pass", "fail", "pass", "pass"], {1: "健康证过期"}, "no_issue",
     "A failed checkpoint rules out the result “No issue found”.", None),
])
def test_a_refused_close_shows_why_keeps_what_was_entered_and_changes_nothing(ann, store, open_inspection, outcomes,
                                                                             notes, result, message, where):
    csrf = csrf_from(page(ann, open_inspection["id"]))
    ids = open_inspection["checkpoints"]
    response = ann.post(f"/inspector/inspections/{open_inspection['id']}/close",
                        data=close_form(open_inspection, csrf, outcomes, {ids[n]: text for n, text in notes.items()},
                                        result=result))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'class="error-text"[^>]*>{re.escape(message)}<', html)
    if where is not None:  # the checkpoint the problem is about is marked
        assert re.search(rf'<li id="checkpoint-{ids[where]}" [^>]*class="door-check[^"]* problem"', html)
    for checkpoint, outcome in zip(ids, outcomes):
        if outcome:
            assert f'name="outcome-{checkpoint}" value="{outcome}" checked' in html
    for text in notes.values():
        assert f">{text}</textarea>" in html
    assert f'<option selected value="{result}">' in html
    assert value(store, "SELECT status FROM inspections WHERE id = ?", [open_inspection["id"]]) == "open"
    assert saved(store, open_inspection["id"]) == [(None, None)] * 4
    assert value(store, "SELECT count(*) FROM journal WHERE inspection_id = ? AND action = 'close'",
                 [open_inspection["id"]]) == 0


def test_closing_with_no_answer_at_all_names_them_all(ann, store, open_inspection):
    csrf = csrf_from(page(ann, open_inspection["id"]))
    response = ann.post(f"/inspector/inspections/{open_inspection['id']}/close",
                        data=close_form(open_inspection, csrf, [None] * 4))
    assert response.status_code == 422
    assert '<p class="error-text" id="checks-error" role="alert">4 checkpoints are not answered yet.</p>' in \
        response.get_data(as_text=True)
    assert value(store, "SELECT status FROM inspections WHERE id = ?", [open_inspection["id"]]) == "open"


# ---- photos ------------------------------------------------------------------------------------------------------

def jpeg_with_location():
    """A small JPEG as a phone takes it: with EXIF GPS (株洲, about 27.83° N, 113.15° E) and a camera model."""
    picture = Image.new("RGB", (320, 240), (176, 180, 186))
    picture.paste((200, 30, 30), (130, 60, 190, 220))
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "Phone X"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (27.0, 49.0, 48.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (113.0, 9.0, 0.0)
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as taken:
        assert taken.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test photo does carry its location
    return data


def post_photo(client, inspection_id, csrf, data, filename="IMG_0001.jpg", checkpoint=None, headers=None):
    form = {"csrf_token": csrf, "file": FileStorage(io.BytesIO(data), filename)}
    if checkpoint is not None:
        form["checkpoint"] = str(checkpoint)
    # encoded in memory: given a large file, the test client spools it to a temporary file it never closes
    boundary, body = encode_multipart(form)
    return client.post(f"/inspector/inspections/{inspection_id}/photos", data=body, headers=headers or {},
                       content_type=f"multipart/form-data; boundary={boundary}")


def stored_files(app):
    folder = app.config["LOGBOOK_PHOTOS"]
    return sorted(os.path.join(d, f) for d, _, files in os.walk(folder) for f in files) if os.path.isdir(folder) else []


def test_a_photo_taken_at_a_checkpoint_is_stored_without_its_location(app, ann, store, open_inspection):
    csrf = csrf_from(page(ann, open_inspection["id"]))
    checkpoint = open_inspection["checkpoints"][1]
    response = post_photo(ann, open_inspection["id"], csrf, jpeg_with_location(), checkpoint=checkpoint)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/inspector/inspections/{open_inspection['id']}#checkpoint-{checkpoint}"
    photo = rows(store, "SELECT id, checkpoint_id, purpose, sha256, media_type FROM photos")
    assert [(p["checkpoint_id"], p["purpose"], p["media_type"]) for p in photo] == [(checkpoint, "evidence", "image/jpeg")]
    [path] = stored_files(app)
    with Image.open(path) as kept:
        assert not kept.getexif() and "exif" not in kept.info
    with open(path, "rb") as f:
        assert b"Phone X" not in f.read()
    html = page(ann, open_inspection["id"])
    assert "Photo saved." in html
    listed = html.split(f'id="photos-{checkpoint}"', 1)[1].split("</ul>", 1)[0]
    assert f'src="/inspections/{open_inspection["id"]}/photos/{photo[0]["id"]}"' in listed


def test_the_pages_script_gets_the_photo_as_json(app, ann, store, open_inspection):
    csrf = csrf_from(page(ann, open_inspection["id"]))
    response = post_photo(ann, open_inspection["id"], csrf, jpeg_with_location(), headers={"Accept": "application/json"})
    assert response.status_code == 201
    body = response.get_json()
    photo_id = value(store, "SELECT id FROM photos WHERE checkpoint_id IS NULL")
    assert body == {"id": photo_id, "sha256": value(store, "SELECT sha256 FROM photos"),
                    "url": f"/inspections/{open_inspection['id']}/photos/{photo_id}"}
    shown = ann.get(body["url"])
    shown.close()
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"


@pytest.mark.parametrize("json", [False, True])
def test_a_text_file_is_refused_clearly_and_nothing_is_stored(app, ann, store, open_inspection, json):
    csrf = csrf_from(page(ann, open_inspection["id"]))
    response = post_photo(ann, open_inspection["id"], csrf, "检查记录".encode(), filename="notes.txt",
                          checkpoint=open_inspection["checkpoints"][0],
                          headers={"Accept": "application/json"} if json else None)
    if json:
        assert response.status_code == 415
        assert response.get_json()["error"]["message"] == "This file is not a JPEG or PNG photo."
    else:
        assert response.status_code == 302
        assert "This file is not a JPEG or PNG photo." in page(ann, open_inspection["id"])
    assert value(store, "SELECT count(*) FROM photos") == 0 and stored_files(app) == []


@pytest.mark.parametrize("json", [False, True])
def test_a_photo_past_the_size_limit_is_refused_clearly(app, ann, store, open_inspection, json):
    csrf = csrf_from(page(ann, open_inspection["id"]))
    response = post_photo(ann, open_inspection["id"], csrf, b"\xff\xd8" + b"0" * (11 * 1024 * 1024),
                          headers={"Accept": "application/json"} if json else None)
    if json:
        assert response.status_code == 413
        assert response.get_json()["error"]["message"] == "The photo is too large: at most 10 MB."
    else:
        assert response.status_code == 302
        assert response.headers["Location"] == f"/inspector/inspections/{open_inspection['id']}#photos"
        assert "The photo is too large: at most 10 MB." in page(ann, open_inspection["id"])
    assert value(store, "SELECT count(*) FROM photos") == 0 and stored_files(app) == []


def test_a_photo_without_a_file_or_for_another_checklist_is_refused(app, ann, store, open_inspection):
    csrf = csrf_from(page(ann, open_inspection["id"]))
    empty = ann.post(f"/inspector/inspections/{open_inspection['id']}/photos", content_type="multipart/form-data",
                     data={"csrf_token": csrf, "file": (io.BytesIO(b""), "")})
    assert empty.status_code == 302 and "Take or choose a photo first." in page(ann, open_inspection["id"])
    for checkpoint in ("999999", "abc"):
        response = post_photo(ann, open_inspection["id"], csrf, jpeg_with_location(), checkpoint=checkpoint)
        assert response.status_code == 302
        assert "This checkpoint is not on the inspection&#39;s checklist." in page(ann, open_inspection["id"])
    assert value(store, "SELECT count(*) FROM photos") == 0


def test_a_photo_by_an_inspector_who_does_not_take_part_is_404(client, app, store, open_inspection):
    login(client, "cat")
    csrf = csrf_from(client.get("/inspector/").get_data(as_text=True))
    assert post_photo(client, open_inspection["id"], csrf, jpeg_with_location()).status_code == 404
    assert value(store, "SELECT count(*) FROM photos") == 0


def test_a_photo_for_a_closed_inspection_is_refused(ann, store, open_inspection):
    csrf = csrf_from(page(ann, open_inspection["id"]))
    checks = [{"checkpoint": c, "outcome": "pass"} for c in open_inspection["checkpoints"]]
    inspections.close_inspection(store, open_inspection["id"], accounts.user_by_username(store, "ann"), "no_issue", None,
                                 None, datetime.now(UTC), TZ, checks)
    refused = post_photo(ann, open_inspection["id"], csrf, jpeg_with_location(), headers={"Accept": "application/json"})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "not_open"
    assert post_photo(ann, open_inspection["id"], csrf, jpeg_with_location()).status_code == 302
    assert "This inspection is no longer open." in page(ann, open_inspection["id"])
    assert value(store, "SELECT count(*) FROM photos") == 0


def test_a_photo_without_the_csrf_token_is_refused(ann, store, open_inspection):
    response = post_photo(ann, open_inspection["id"], "", jpeg_with_location())
    assert response.status_code == 400
    assert value(store, "SELECT count(*) FROM photos") == 0


# ---- the closed inspection and the recheck ---------------------------------------------------------------------------

@pytest.fixture
def rectified(app, store, open_inspection):
    """The open inspection closed with a rectification order, and the firm's report that it has rectified."""
    checks = [{"checkpoint": c, "outcome": "fail" if n == 1 else "pass", "note": "健康证过期" if n == 1 else None}
              for n, c in enumerate(open_inspection["checkpoints"])]
    inspections.close_inspection(store, open_inspection["id"], accounts.user_by_username(store, "ann"), "rectify",
                                 "两名从业人员健康证明过期", datetime.now(TZ).date() + timedelta(days=15),
                                 datetime.now(UTC), TZ, checks)
    feedback.report_rectification(store, app.config["LOGBOOK_PHOTOS"], open_inspection["id"],
                                  accounts.user_by_username(store, "firm1"), "两名员工已补办健康证明。\n附体检报告。",
                                  [jpeg_with_location()], datetime.now(UTC))
    return open_inspection


def test_a_closed_inspection_shows_the_outcomes_the_photos_and_the_firms_report(ann, store, rectified):
    html = page(ann, rectified["id"])
    assert "健康证过期" in html and "两名员工已补办健康证明。" in html
    rectification_photo = value(store, "SELECT id FROM photos WHERE purpose = 'rectification'")
    assert f'/inspections/{rectified["id"]}/photos/{rectification_photo}' in html
    assert 'id="close-form"' not in html and 'name="outcome-' not in html


def test_the_home_page_offers_the_recheck_of_a_reported_rectification(ann, world, rectified):
    html = ann.get("/inspector/").get_data(as_text=True)
    offered = html.split('id="rechecks"', 1)[1].split("</section>", 1)[0]
    assert world["enterprise"]["name"] in offered
    assert f'href="/inspector/inspections/{rectified["id"]}"' in offered
    assert "两名员工已补办健康证明。" in offered and "附体检报告" not in offered  # the report's first line


def test_the_scan_page_starts_the_recheck_with_one_tap_and_then_offers_it_no_more(ann, store, world, rectified):
    token = world["enterprise"]["qr_token"]
    html = ann.get(f"/q/{token}").get_data(as_text=True)
    offered = html.split('id="rechecks"', 1)[1].split("</section>", 1)[0]
    form = offered.split(f'id="start-recheck-{rectified["id"]}"', 1)[0].rsplit("<form", 1)[1]
    fields = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form)
    data = {}
    for name, field_value in fields:
        data.setdefault(name, []).append(field_value)
    assert data["kind"] == ["recheck"] and data["recheck_of"] == [str(rectified["id"])]
    response = ann.post("/inspector/start", data=data)
    assert response.status_code == 302
    recheck = value(store, "SELECT id FROM inspections WHERE recheck_of = ?", [rectified["id"]])
    assert response.headers["Location"] == f"/inspector/inspections/{recheck}"
    assert inspections.inspection(store, recheck)["items"] == ["SCJG-001", "SCJG-002"]
    assert 'id="rechecks"' not in ann.get(f"/q/{token}").get_data(as_text=True)
    assert 'id="rechecks"' not in ann.get("/inspector/").get_data(as_text=True)
