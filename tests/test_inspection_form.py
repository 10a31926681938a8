"""The inspection form of SPEC §10 through the API: the close rules over the checklist, photos (types, sizes, metadata,
the journal), the firm's statement and its window, and who may see what."""

import hashlib
import io
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from conftest import TZ, add_enterprise, add_user, start
from PIL import Image
from test_api import API, error_of
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from logbook import accounts, audit, checkpoints, inspections
from logbook.db import rows, value

CHECKLIST = ("agency,item_code,item_name,basis,checkpoint,standard\n"
             "SCJG,SCJG-001,食品经营许可检查,食品安全法第三十五条,许可证是否在有效期内,在有效期内\n"
             "SCJG,SCJG-001,食品经营许可检查,食品安全法第三十五条,从业人员是否持健康证明,每年体检\n"
             "SCJG,SCJG-001,食品经营许可检查,食品安全法第三十五条,是否落实进货查验,有记录\n")
GPS = 0x8825  # the EXIF tag of the GPS block


@pytest.fixture
def checklist(store, world):
    """SCJG-001 with three checkpoints, and an open inspection of it by ann and bob: {id, checkpoints}."""
    checkpoints.import_checkpoints(store, checkpoints.parse_csv(store, CHECKLIST))
    inspection_id = start(store, world["enterprise"])
    return {"id": inspection_id, "checkpoints": [c["id"] for c in inspections.inspection(store, inspection_id)["checkpoints"]]}


@pytest.fixture
def started(store, world):
    """An open inspection of an item without checkpoints: {id}."""
    return {"id": start(store, world["enterprise"], items=("SCJG-002",))}


def all_pass(ids, first=None):
    """Checks passing every checkpoint, the first one changed by `first` ({outcome, note})."""
    return [{"checkpoint": c, "outcome": "pass"} | ((first or {}) if n == 0 else {}) for n, c in enumerate(ids)]


def close(client, auth, inspection_id, who="ann", **body):
    return client.post(f"{API}/inspections/{inspection_id}/close", headers=auth(who),
                       json={"result": "no_issue"} | body)


def jpeg(size=(64, 48), gps=True, color=(200, 30, 30)):
    """A JPEG from a phone: with EXIF, including a GPS position unless gps=False."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if gps:
        exif[GPS] = {1: "N", 2: (27.0, 50.0, 0.0), 3: "E", 4: (113.0, 8.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def upload(client, auth, inspection_id, data, who="ann", filename="photo.jpg", **form):
    # encoded here in memory: the test client would spool a big body to a temporary file it never closes
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename)} | form)
    return client.post(f"{API}/inspections/{inspection_id}/photos", headers=auth(who), data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def stored_file(app, sha256, ext=".jpg"):
    return os.path.join(app.config["LOGBOOK_PHOTOS"], sha256[:2], sha256 + ext)


def answers(store, inspection_id):
    return rows(store, "SELECT checkpoint_id, outcome, note FROM inspection_checkpoints WHERE inspection_id = ? "
                       "ORDER BY checkpoint_id", [inspection_id])


# ---- closing over the checklist ---------------------------------------------------------------------

def test_closing_with_every_checkpoint_answered_records_them_and_the_journal_holds_them(client, store, auth, checklist):
    ids = checklist["checkpoints"]
    checks = all_pass(ids)
    checks[1] = {"checkpoint": ids[1], "outcome": "fail", "note": "两名员工健康证过期"}
    checks[2] = {"checkpoint": ids[2], "outcome": "na"}
    response = close(client, auth, checklist["id"], result="rectify", findings="健康证过期",
                     rectify_by=(datetime.now(TZ).date() + timedelta(days=7)).isoformat(), checks=checks)
    assert response.status_code == 200, response.get_json()
    shown = response.get_json()["checkpoints"]
    assert [(c["id"], c["outcome"], c["note"]) for c in shown] == [
        (ids[0], "pass", None), (ids[1], "fail", "两名员工健康证过期"), (ids[2], "na", None)]
    assert shown[0]["item"] == "SCJG-001" and shown[0]["standard"] == "在有效期内"
    assert shown[0]["basis"] == "食品安全法第三十五条"
    payload = json.loads(value(store, "SELECT payload FROM journal WHERE inspection_id = ? AND action = 'close'",
                               [checklist["id"]]))
    assert payload["checks"] == [{"checkpoint": ids[0], "outcome": "pass", "note": None},
                                 {"checkpoint": ids[1], "outcome": "fail", "note": "两名员工健康证过期"},
                                 {"checkpoint": ids[2], "outcome": "na", "note": None}]
    assert audit.verify_journal(store)["ok"]


@pytest.mark.parametrize("case, field, code", [
    ("missing", "checks", "checkpoint_unanswered"),
    ("left_out", "checks", "checks_missing"),
    ("fail_without_note", "checks", "fail_without_note"),
    ("fail_with_blank_note", "checks", "fail_without_note"),
    ("fail_with_no_issue", "result", "fail_but_no_issue"),
    ("unknown", "checks", "unknown_checkpoint"),
    ("twice", "checks", "checkpoint_twice"),
])
def test_a_close_that_breaks_a_checklist_rule_is_422_and_changes_nothing(client, store, auth, checklist, case, field,
                                                                          code):
    ids = checklist["checkpoints"]
    checks = {"missing": all_pass(ids)[:2], "left_out": None,
              "fail_without_note": all_pass(ids, {"outcome": "fail"}),
              "fail_with_blank_note": all_pass(ids, {"outcome": "fail", "note": "   "}),
              "fail_with_no_issue": all_pass(ids, {"outcome": "fail", "note": "过期"}),
              "unknown": all_pass(ids) + [{"checkpoint": 999999, "outcome": "pass"}],
              "twice": all_pass(ids) + [{"checkpoint": ids[0], "outcome": "na"}]}[case]
    body = {"result": "no_issue"} | ({"checks": checks} if checks is not None else {})
    journal_before = value(store, "SELECT count(*) FROM journal")
    response = client.post(f"{API}/inspections/{checklist['id']}/close", headers=auth("ann"), json=body)
    error = error_of(response, 422, "invalid")
    assert field in error["fields"]
    assert value(store, "SELECT status FROM inspections WHERE id = ?", [checklist["id"]]) == "open"
    assert all(a["outcome"] is None for a in answers(store, checklist["id"]))
    assert value(store, "SELECT count(*) FROM journal") == journal_before


def test_the_domain_names_the_rule_each_refusal_broke(store, world, checklist):
    ann = accounts.user_by_username(store, "ann")
    ids = checklist["checkpoints"]
    for checks, code in ((all_pass(ids)[:2], "checkpoint_unanswered"), (None, "checks_missing"),
                         (all_pass(ids, {"outcome": "fail"}), "fail_without_note")):
        with pytest.raises(inspections.Invalid) as refused:
            inspections.close_inspection(store, checklist["id"], ann, "no_issue", None, None, datetime.now(UTC), TZ,
                                         checks)
        assert refused.value.fields["checks"].code == code


def test_an_inspection_without_checkpoints_closes_without_checks(client, auth, started):
    assert close(client, auth, started["id"]).get_json()["checkpoints"] == []


def test_an_outcome_outside_pass_fail_na_is_refused_by_the_schema(client, store, auth, checklist):
    checks = all_pass(checklist["checkpoints"], {"outcome": "ok"})
    error_of(close(client, auth, checklist["id"], checks=checks), 422, "invalid")
    assert value(store, "SELECT status FROM inspections WHERE id = ?", [checklist["id"]]) == "open"


def test_answers_saved_while_open_are_not_the_record_until_closing(store, world, checklist):
    ann = accounts.user_by_username(store, "ann")
    first = checklist["checkpoints"][0]
    checkpoints.answer_checkpoint(store, checklist["id"], ann, first, "fail", " 证照过期 ")
    assert answers(store, checklist["id"])[0] == {"checkpoint_id": first, "outcome": "fail", "note": "证照过期"}
    checkpoints.answer_checkpoint(store, checklist["id"], ann, first, None, None)
    assert answers(store, checklist["id"])[0]["outcome"] is None
    with pytest.raises(inspections.NotFound):
        checkpoints.answer_checkpoint(store, checklist["id"], accounts.user_by_username(store, "cat"), first, "pass", "")
    assert audit.verify_journal(store)["ok"]  # drafts are not journaled, and not compared


def test_a_changed_answer_after_closing_breaks_the_journal(client, store, auth, checklist):
    assert close(client, auth, checklist["id"], checks=all_pass(checklist["checkpoints"])).status_code == 200
    store.execute("UPDATE inspection_checkpoints SET outcome = 'fail' WHERE inspection_id = ?", [checklist["id"]])
    store.conn.commit()
    problems = audit.verify_journal(store)["problems"]
    assert any(f"inspection {checklist['id']}: checks differ" in p for p in problems), problems


# ---- photos ------------------------------------------------------------------------------------------

def test_a_photo_is_stored_without_its_location_under_its_hash_which_the_journal_records(app, client, store, auth,
                                                                                         checklist):
    original = jpeg()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS)  # the phone's photo has a position
    response = upload(client, auth, checklist["id"], original, checkpoint=str(checklist["checkpoints"][1]))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"id", "sha256"}
    with open(stored_file(app, body["sha256"]), "rb") as f:
        kept = f.read()
    assert hashlib.sha256(kept).hexdigest() == body["sha256"]
    image = Image.open(io.BytesIO(kept))
    assert image.format == "JPEG" and image.size == (64, 48)
    assert not image.getexif() and "exif" not in image.info  # no GPS, no maker, nothing
    assert b"PhoneMaker" not in kept
    entry = json.loads(value(store, "SELECT payload FROM journal WHERE inspection_id = ? AND action = 'photo'",
                             [checklist["id"]]))
    assert entry == {"photo": body["id"], "sha256": body["sha256"], "checkpoint": checklist["checkpoints"][1],
                     "purpose": "evidence", "by": "ann"}
    shown = client.get(f"{API}/inspections/{checklist['id']}", headers=auth("ann")).get_json()["photos"]
    assert shown == [{"id": body["id"], "sha256": body["sha256"], "checkpoint": checklist["checkpoints"][1],
                      "purpose": "evidence"}]
    assert audit.verify_journal(store, photo_store=app.config["LOGBOOK_PHOTOS"])["ok"]


def test_a_large_photo_is_resized_and_a_png_stays_a_png(app, client, auth, checklist):
    out = io.BytesIO()
    Image.new("RGBA", (4000, 1000), (0, 90, 200, 255)).save(out, "PNG")
    body = upload(client, auth, checklist["id"], out.getvalue(), filename="screen.png").get_json()
    with Image.open(stored_file(app, body["sha256"], ".png")) as image:
        assert image.format == "PNG" and image.size == (2048, 512)


def test_a_file_that_is_not_a_jpeg_or_png_image_is_415_and_nothing_is_stored(app, client, store, auth, checklist):
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    for data in (b"%PDF-1.4 not a photo", jpeg()[:200], gif.getvalue(), b""):
        error_of(upload(client, auth, checklist["id"], data), 415, "unsupported_photo")
    assert value(store, "SELECT count(*) FROM photos") == 0
    assert not os.path.exists(app.config["LOGBOOK_PHOTOS"]) or not any(os.scandir(app.config["LOGBOOK_PHOTOS"]))


def test_a_photo_over_10_mb_or_40_megapixels_is_413_and_nothing_is_stored(client, store, auth, checklist):
    big = jpeg() + os.urandom(10 * 1024 * 1024)  # a JPEG with 10 MB of trailing bytes
    assert upload(client, auth, checklist["id"], big).status_code == 413
    bomb = io.BytesIO()
    Image.new("1", (10_000, 8_000)).save(bomb, "PNG")  # 80 megapixels in a few kilobytes
    assert len(bomb.getvalue()) < 100_000
    error_of(upload(client, auth, checklist["id"], bomb.getvalue(), filename="x.png"), 413, "photo_too_large")
    assert value(store, "SELECT count(*) FROM photos") == 0


def test_photos_are_taken_only_by_its_inspectors_while_it_is_open(client, store, auth, checklist):
    error_of(upload(client, auth, checklist["id"], jpeg(), who="cat"), 404, "not_found")
    error_of(upload(client, auth, checklist["id"], jpeg(), who="firm1"), 404, "not_found")
    error_of(upload(client, auth, checklist["id"], jpeg(), checkpoint="987654"), 422, "invalid")
    error_of(upload(client, auth, checklist["id"], jpeg(), checkpoint="one"), 422, "invalid")
    no_file = client.post(f"{API}/inspections/{checklist['id']}/photos", headers=auth("ann"), data={"checkpoint": "1"},
                          content_type="multipart/form-data")
    error_of(no_file, 422, "invalid")
    assert close(client, auth, checklist["id"], checks=all_pass(checklist["checkpoints"])).status_code == 200
    error_of(upload(client, auth, checklist["id"], jpeg()), 409, "not_open")
    assert value(store, "SELECT count(*) FROM photos") == 0


def test_a_photo_is_seen_by_its_inspectors_its_firm_and_supervisors_and_nobody_else(app, client, store, auth, world,
                                                                                     checklist):
    body = upload(client, auth, checklist["id"], jpeg()).get_json()
    other = add_enterprise(store, name="别家公司")
    add_user(store, "firm2", "firm", usci_code=other["usci"])
    url = f"{API}/inspections/{checklist['id']}/photos/{body['id']}"
    with open(stored_file(app, body["sha256"]), "rb") as f:
        kept = f.read()
    for who in ("ann", "bob", "firm1", "super"):
        with client.get(url, headers=auth(who)) as response:
            assert response.status_code == 200 and response.mimetype == "image/jpeg", who
            assert response.get_data() == kept
            assert "private" in response.headers["Cache-Control"]
    for who in ("cat", "firm2", "admin"):
        error_of(client.get(url, headers=auth(who)), 404, "not_found")
    error_of(client.get(f"{API}/inspections/{checklist['id']}/photos/{body['id'] + 1}", headers=auth("ann")), 404,
             "not_found")
    other_inspection = start(store, other)
    error_of(client.get(f"{API}/inspections/{other_inspection}/photos/{body['id']}", headers=auth("ann")), 404,
             "not_found")


def test_journal_verify_catches_a_replaced_or_missing_photo_file(app, client, store, auth, checklist):
    body = upload(client, auth, checklist["id"], jpeg()).get_json()
    path = stored_file(app, body["sha256"])
    with open(path, "wb") as f:
        f.write(jpeg(color=(0, 200, 0), gps=False))  # another picture in its place
    result = app.test_cli_runner().invoke(args=["journal", "verify"])
    assert result.exit_code == 1
    assert f"photo {body['id']} of inspection {checklist['id']}: its file was replaced or changed" in result.output
    os.remove(path)
    problems = audit.verify_journal(store, photo_store=app.config["LOGBOOK_PHOTOS"])["problems"]
    assert f"photo {body['id']} of inspection {checklist['id']}: its file is missing" in problems


def test_journal_verify_catches_a_photo_row_changed_or_slipped_in(app, client, store, auth, checklist):
    body = upload(client, auth, checklist["id"], jpeg()).get_json()
    store.execute("UPDATE photos SET checkpoint_id = ? WHERE id = ?", [checklist["checkpoints"][0], body["id"]])
    store.execute("""INSERT INTO photos (inspection_id, purpose, sha256, media_type, size, width, height, user_id,
                     created_at) SELECT inspection_id, purpose, sha256, media_type, size, width, height, user_id,
                     created_at FROM photos WHERE id = ?""", [body["id"]])
    store.conn.commit()
    problems = audit.verify_journal(store)["problems"]
    assert any(f"inspection {checklist['id']}: photos differ" in p for p in problems), problems


# ---- the firm's statement (陈述申辩) ------------------------------------------------------------------

def state(client, auth, inspection_id, who="firm1", text="健康证已补办，请予核实。"):
    return client.post(f"{API}/inspections/{inspection_id}/statement", headers=auth(who), json={"text": text})


def closed(store, inspection_id, days_ago=0):
    ann = accounts.user_by_username(store, "ann")
    inspections.close_inspection(store, inspection_id, ann, "case_filed", "无证经营", None,
                                 datetime.now(UTC) - timedelta(days=days_ago), TZ)


def test_the_firm_states_once_after_closing_and_the_statement_is_journaled_and_shown(client, store, auth, started):
    error_of(state(client, auth, started["id"]), 409, "statement_closed")  # still open
    closed(store, started["id"])
    response = state(client, auth, started["id"])
    assert response.status_code == 201
    body = response.get_json()
    assert body["text"] == "健康证已补办，请予核实。" and body["created_at"]
    error_of(state(client, auth, started["id"], text="再说一次"), 409, "already_stated")
    assert rows(store, "SELECT text FROM statements") == [{"text": "健康证已补办，请予核实。"}]
    entry = json.loads(value(store, "SELECT payload FROM journal WHERE inspection_id = ? AND action = 'statement'",
                             [started["id"]]))
    assert entry == {"text": "健康证已补办，请予核实。", "by": "firm1"}
    for who in ("ann", "super"):
        assert client.get(f"{API}/inspections/{started['id']}", headers=auth(who)).get_json()["statement"] == body
    assert audit.verify_journal(store)["ok"]
    store.execute("DELETE FROM statements")
    store.conn.commit()
    assert any("statement differ" in p for p in audit.verify_journal(store)["problems"])


@pytest.mark.parametrize("days_ago, status", [(4, 201), (6, 409)])
def test_the_statement_window_is_statement_days_after_closing(client, store, auth, started, days_ago, status):
    closed(store, started["id"], days_ago=days_ago)
    assert state(client, auth, started["id"]).status_code == status


def test_the_statement_window_is_a_setting(app, client, store, auth, started):
    app.config["LOGBOOK_STATEMENT_DAYS"] = 10
    closed(store, started["id"], days_ago=6)
    assert state(client, auth, started["id"]).status_code == 201


def test_only_the_enterprises_firm_may_state_and_an_empty_text_is_refused(client, store, auth, started):
    closed(store, started["id"])
    other = add_enterprise(store, name="别家公司")
    add_user(store, "firm2", "firm", usci_code=other["usci"])
    for who in ("firm2", "ann", "super"):
        error_of(state(client, auth, started["id"], who=who), 404, "not_found")
    error_of(state(client, auth, started["id"], text="  "), 422, "invalid")
    error_of(state(client, auth, started["id"], text="长" * 5001), 422, "invalid")
    assert value(store, "SELECT count(*) FROM statements") == 0


def test_the_inspection_json_carries_the_new_fields(client, auth, started):
    body = client.get(f"{API}/inspections/{started['id']}", headers=auth("ann")).get_json()
    assert body["checkpoints"] == [] and body["photos"] == [] and body["statement"] is None
