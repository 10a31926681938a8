"""The firm's and the supervisor's JSON API (SPEC §5): records with the quota, confirmation, evaluation,
complaints and the year's statistics."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import KNOWN_CODE as CODE
from conftest import add_enterprise, add_user, close, login, start, token_for, void

from logbook import accounts, feedback, rules
from logbook.db import row, rows, value

TZ = ZoneInfo("Asia/Shanghai")








def this_year():
    return datetime.now(TZ).year


@pytest.fixture
def firm(client, world):
    """firm1's bearer header."""
    return token_for(client, "firm1")


@pytest.fixture
def supervisor(client, world):
    return token_for(client, "super")


# ---- the firm's records -----------------------------------------------------------------------------


def test_firm_records_have_the_contract_shape(client, world, firm, mix):
    response = client.get(f"/api/v1/firm/inspections?year={this_year()}", headers=firm)

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"enterprise", "year", "quota", "inspections"}
    assert body["year"] == this_year()
    assert body["enterprise"]["usci"] == world["enterprise"]["usci"]
    assert body["enterprise"]["name"] == world["enterprise"]["name"]


def test_firm_records_list_every_inspection_newest_first_including_voided_and_exempt(client, firm, mix):
    body = client.get(f"/api/v1/firm/inspections?year={this_year()}", headers=firm).get_json()

    assert [(i["id"], i["kind"], i["status"], i["counted"]) for i in body["inspections"]] == [
        (mix["exempt"], "complaint", "open", False),
        (mix["voided"], "routine", "voided", True),
        (mix["counted"], "routine", "open", True)]
    assert body["inspections"][0]["reference"] == "投诉-2026-0042"
    assert body["inspections"][1]["void_reason"] == "扫错了企业"


def test_firm_records_are_ordered_by_start_time_not_by_when_they_were_recorded(client, store, world, firm):
    recorded_now = start(store, world["enterprise"])
    late = start(store, world["enterprise"], started_at=max(datetime.now(UTC) - timedelta(hours=2),
                                                            datetime(this_year(), 1, 1, tzinfo=TZ)),
                 reason="网络故障，补录")

    body = client.get("/api/v1/firm/inspections", headers=firm).get_json()

    assert [i["id"] for i in body["inspections"]] == [recorded_now, late]


def test_firm_records_show_inspectors_items_with_basis_and_the_result(client, store, world, firm):
    inspection_id = start(store, world["enterprise"], items=("SCJG-001", "SCJG-002"))
    due = datetime.now(TZ).date() + timedelta(days=20)
    close(store, inspection_id, "rectify", "灭火器过期", due)

    shown = client.get("/api/v1/firm/inspections", headers=firm).get_json()["inspections"][0]

    assert shown["inspectors"] == [{"username": "ann", "name": "ann", "cert_no": "C-ann"},
                                   {"username": "bob", "name": "bob", "cert_no": "C-bob"}]
    assert shown["agencies"] == ["SCJG"]
    assert [(i["code"], i["basis"]) for i in shown["item_details"]] == [
        ("SCJG-001", "食品安全法第三十五条"), ("SCJG-002", "特种设备安全法第三十三条")]
    assert (shown["result"], shown["findings"], shown["rectify_by"]) == ("rectify", "灭火器过期", due.isoformat())
    assert shown["confirmed_at"] is None
    assert shown["evaluated"] is False
    assert "confirm_code" not in shown


def test_firm_quota_counts_only_unvoided_counted_inspections(client, firm, mix):
    quota = client.get("/api/v1/firm/inspections", headers=firm).get_json()["quota"]

    assert (quota["counted"], quota["max"], quota["exempt"], quota["total"]) == (1, 2, 1, 2)
    assert quota["window_start"] == f"{this_year()}-01-01T00:00:00+08:00"
    assert quota["window_end"] == f"{this_year() + 1}-01-01T00:00:00+08:00"
    assert [(r["scope"], r["used"], r["max"]) for r in quota["rules"]] == [("all", 1, 2)]


def test_firm_records_of_the_previous_year_hold_none_of_this_years(client, firm, mix):
    body = client.get(f"/api/v1/firm/inspections?year={this_year() - 1}", headers=firm).get_json()

    assert body["year"] == this_year() - 1
    assert body["inspections"] == []
    assert (body["quota"]["counted"], body["quota"]["total"]) == (0, 0)
    assert body["quota"]["window_start"].startswith(f"{this_year() - 1}-01-01")


def test_firm_records_default_to_this_year(client, firm, mix):
    body = client.get("/api/v1/firm/inspections", headers=firm).get_json()

    assert body["year"] == this_year()
    assert len(body["inspections"]) == 3


@pytest.mark.parametrize("year", ["1999", "abc", "2101"])
def test_firm_records_refuse_an_impossible_year(client, firm, year):
    response = client.get(f"/api/v1/firm/inspections?year={year}", headers=firm)

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid"


def test_firm_records_mark_rated_and_confirmed_inspections(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])
    client.post(f"/api/v1/inspections/{inspection_id}/confirm", headers=firm, json={"code": CODE})
    close(store, inspection_id)
    client.post(f"/api/v1/inspections/{inspection_id}/evaluation", headers=firm, json={"rating": 5})

    shown = client.get("/api/v1/firm/inspections", headers=firm).get_json()["inspections"][0]

    assert shown["evaluated"] is True
    assert shown["confirmed_at"] is not None


# ---- confirmation -----------------------------------------------------------------------------------

def test_confirm_with_the_right_code_answers_the_inspection(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])

    response = client.post(f"/api/v1/inspections/{inspection_id}/confirm", headers=firm, json={"code": CODE})

    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == inspection_id
    assert body["confirmed_at"] is not None
    assert "confirm_code" not in body
    assert value(store, "SELECT confirmed_at FROM inspections WHERE id = ?", [inspection_id]) == body["confirmed_at"]
    assert value(store, "SELECT action FROM journal ORDER BY id DESC LIMIT 1") == "confirm"
    assert body["journal_hash"] == value(store, "SELECT hash FROM journal ORDER BY id DESC LIMIT 1")


def test_confirm_with_a_wrong_code_is_422_bad_code(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])

    response = client.post(f"/api/v1/inspections/{inspection_id}/confirm", headers=firm, json={"code": "000000"})

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "bad_code"
    assert value(store, "SELECT confirmed_at FROM inspections WHERE id = ?", [inspection_id]) is None


def test_confirm_is_429_after_five_wrong_codes_even_with_the_right_one(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])
    path = f"/api/v1/inspections/{inspection_id}/confirm"
    statuses = [client.post(path, headers=firm, json={"code": f"00000{n}"}).status_code for n in range(5)]

    response = client.post(path, headers=firm, json={"code": CODE})

    assert statuses == [422] * 5
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "too_many_requests"
    assert value(store, "SELECT confirmed_at FROM inspections WHERE id = ?", [inspection_id]) is None


def test_wrong_codes_older_than_the_window_no_longer_block(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])
    path = f"/api/v1/inspections/{inspection_id}/confirm"
    for n in range(5):
        client.post(path, headers=firm, json={"code": f"00000{n}"})
    long_ago = (datetime.now(UTC) - feedback.CONFIRM_WINDOW - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    store.execute("UPDATE confirm_failures SET failed_at = ?", [long_ago])

    response = client.post(path, headers=firm, json={"code": CODE})

    assert response.status_code == 200


def test_confirming_again_with_the_right_code_changes_nothing(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])
    path = f"/api/v1/inspections/{inspection_id}/confirm"
    first = client.post(path, headers=firm, json={"code": CODE}).get_json()

    response = client.post(path, headers=firm, json={"code": CODE})

    assert response.status_code == 200
    assert response.get_json()["confirmed_at"] == first["confirmed_at"]
    assert value(store, "SELECT count(*) FROM journal WHERE action = 'confirm'") == 1


def test_a_wrong_code_for_a_confirmed_inspection_is_still_bad_code(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])
    path = f"/api/v1/inspections/{inspection_id}/confirm"
    client.post(path, headers=firm, json={"code": CODE})

    response = client.post(path, headers=firm, json={"code": "000000"})

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "bad_code"
    assert value(store, "SELECT count(*) FROM confirm_failures") == 1


def test_confirming_a_voided_inspection_is_409(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])
    void(store, inspection_id)

    response = client.post(f"/api/v1/inspections/{inspection_id}/confirm", headers=firm, json={"code": CODE})

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "not_confirmable"


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": 583104}, {"code": CODE, "extra": 1}, ["583104"]])
def test_confirm_with_a_malformed_body_is_422(client, store, world, firm, body):
    inspection_id = start(store, world["enterprise"])

    response = client.post(f"/api/v1/inspections/{inspection_id}/confirm", headers=firm, json=body)

    assert response.status_code == 422
    assert value(store, "SELECT confirmed_at FROM inspections WHERE id = ?", [inspection_id]) is None


def test_confirm_with_a_non_ascii_code_is_a_plain_bad_code(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])

    response = client.post(f"/api/v1/inspections/{inspection_id}/confirm", headers=firm, json={"code": "五八三一〇四"})

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "bad_code"


# ---- evaluation -------------------------------------------------------------------------------------

def test_evaluation_of_a_closed_inspection_is_201(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])
    close(store, inspection_id)

    response = client.post(f"/api/v1/inspections/{inspection_id}/evaluation", headers=firm,
                           json={"rating": 4, "comment": "规范"})

    assert response.status_code == 201
    assert response.get_json() == {"inspection_id": inspection_id, "rating": 4, "comment": "规范"}
    assert rows(store, "SELECT inspection_id, rating, comment, user_id FROM evaluations") == [
        {"inspection_id": inspection_id, "rating": 4, "comment": "规范",
         "user_id": accounts.user_by_username(store, "firm1")["id"]}]


@pytest.mark.parametrize("comment, stored", [("  规范  ", "规范"), ("   ", None), (None, None)])
def test_evaluation_answers_the_comment_as_stored(client, store, world, firm, comment, stored):
    inspection_id = start(store, world["enterprise"])
    close(store, inspection_id)

    response = client.post(f"/api/v1/inspections/{inspection_id}/evaluation", headers=firm,
                           json={"rating": 3, "comment": comment})

    assert response.status_code == 201
    assert response.get_json() == {"inspection_id": inspection_id, "rating": 3, "comment": stored}
    assert value(store, "SELECT comment FROM evaluations") == stored


def test_evaluation_before_closing_is_409_not_closed(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])

    response = client.post(f"/api/v1/inspections/{inspection_id}/evaluation", headers=firm, json={"rating": 4})

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "not_closed"
    assert value(store, "SELECT count(*) FROM evaluations") == 0


def test_evaluation_of_a_voided_inspection_is_409_not_closed(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])
    void(store, inspection_id)

    response = client.post(f"/api/v1/inspections/{inspection_id}/evaluation", headers=firm, json={"rating": 4})

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "not_closed"


def test_a_second_evaluation_is_409_already_evaluated(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])
    close(store, inspection_id)
    client.post(f"/api/v1/inspections/{inspection_id}/evaluation", headers=firm, json={"rating": 4})

    response = client.post(f"/api/v1/inspections/{inspection_id}/evaluation", headers=firm, json={"rating": 1})

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "already_evaluated"
    assert rows(store, "SELECT rating FROM evaluations") == [{"rating": 4}]


def test_a_second_firm_user_cannot_rate_again(client, store, world, firm):
    add_user(store, "firm1b", "firm", usci_code=world["enterprise"]["usci"])
    inspection_id = start(store, world["enterprise"])
    close(store, inspection_id)
    client.post(f"/api/v1/inspections/{inspection_id}/evaluation", headers=firm, json={"rating": 4})

    response = client.post(f"/api/v1/inspections/{inspection_id}/evaluation", headers=token_for(client, "firm1b"),
                           json={"rating": 1})

    assert response.status_code == 409
    assert value(store, "SELECT count(*) FROM evaluations") == 1


@pytest.mark.parametrize("rating", [0, 6, "5", 4.5, None, True])
def test_evaluation_with_a_rating_outside_one_to_five_is_422(client, store, world, firm, rating):
    inspection_id = start(store, world["enterprise"])
    close(store, inspection_id)

    response = client.post(f"/api/v1/inspections/{inspection_id}/evaluation", headers=firm, json={"rating": rating})

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid"
    assert "rating" in response.get_json()["error"]["fields"]
    assert value(store, "SELECT count(*) FROM evaluations") == 0


def test_evaluation_validates_the_body_before_the_state(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])  # open: a valid body would be 409

    response = client.post(f"/api/v1/inspections/{inspection_id}/evaluation", headers=firm, json={"rating": 0})

    assert response.status_code == 422


# ---- complaints -------------------------------------------------------------------------------------

def test_complaint_is_201_with_id_and_open_status(client, store, world, firm):
    inspection_id = start(store, world["enterprise"])

    response = client.post("/api/v1/complaints", headers=firm,
                           json={"category": "too_frequent", "text": "一个月三次", "inspection_id": inspection_id})

    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "open"
    assert row(store, "SELECT id, enterprise_id, inspection_id, category, text, status FROM complaints") == {
        "id": body["id"], "enterprise_id": world["enterprise"]["id"], "inspection_id": inspection_id,
        "category": "too_frequent", "text": "一个月三次", "status": "open"}


def test_complaint_without_an_inspection_is_201(client, store, firm):
    response = client.post("/api/v1/complaints", headers=firm, json={"category": "no_scan", "text": "未扫码就检查"})

    assert response.status_code == 201
    assert value(store, "SELECT inspection_id FROM complaints") is None


@pytest.mark.parametrize("body, field", [
    ({"category": "bribery", "text": "x"}, "category"),
    ({"text": "x"}, "category"),
    ({"category": "other", "text": ""}, "text"),
    ({"category": "other", "text": "   "}, "text"),
    ({"category": "other"}, "text"),
    ({"category": "other", "text": "x", "inspection_id": 999999}, "inspection_id"),
    ({"category": "other", "text": "x", "inspection_id": "1"}, "inspection_id"),
])
def test_complaint_with_a_bad_field_is_422_naming_it(client, store, firm, body, field):
    response = client.post("/api/v1/complaints", headers=firm, json=body)

    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert value(store, "SELECT count(*) FROM complaints") == 0


def test_complaints_are_listed_newest_first_with_their_answers(client, store, firm):
    first = client.post("/api/v1/complaints", headers=firm, json={"category": "no_scan", "text": "第一件"}).get_json()
    second = client.post("/api/v1/complaints", headers=firm, json={"category": "other", "text": "第二件"}).get_json()
    feedback.answer_complaint(store, first["id"], accounts.user_by_username(store, "super"), "resolved", "已处理",
                              datetime.now(UTC))

    response = client.get("/api/v1/complaints", headers=firm)

    assert response.status_code == 200
    assert [(c["id"], c["status"], c["text"], c["answer"]) for c in response.get_json()] == [
        (second["id"], "open", "第二件", None), (first["id"], "resolved", "第一件", "已处理")]


# ---- the supervisor's statistics --------------------------------------------------------------------

@pytest.fixture
def known_mix(client, store, world):
    """This year, at the world's firm: a joint SCJG+YJGL routine inspection, an exempt complaint inspection and a
    routine SCJG one (the cap of 2 is now reached), then a refused YJGL attempt; at a second firm a voided one;
    and last year one routine inspection and one refused attempt."""
    firm = world["enterprise"]
    start(store, firm, by="ann", others=("cat",), agencies=["SCJG", "YJGL"], items=("SCJG-001", "YJGL-001"))
    start(store, firm, kind="complaint", reference="投诉-2026-0042")
    start(store, firm)
    refused = client.post("/api/v1/inspections", headers=token_for(client, "cat"), json={
        "qr_token": firm["qr_token"], "kind": "routine", "inspectors": ["dan"], "items": ["YJGL-001"]})
    assert refused.status_code == 409
    other = add_enterprise(store, name="别家化工有限公司")
    void(store, start(store, other))
    last_year = datetime(this_year() - 1, 6, 1, 10, 0, tzinfo=TZ)
    second = add_enterprise(store, name="去年的企业")
    start(store, second, now=last_year)
    start(store, second, now=last_year + timedelta(days=1))
    with pytest.raises(rules.CapReached):
        start(store, second, now=last_year + timedelta(days=2))


def test_stats_have_the_contract_shape_and_numbers(client, supervisor, known_mix):
    response = client.get(f"/api/v1/stats?year={this_year()}", headers=supervisor)

    assert response.status_code == 200
    today = datetime.now(TZ).date()
    every = {"late": 0, "manual": 0, "joint": 1, "confirmed_share": 0.0, "rating": None, "merged_tasks": 0}
    assert response.get_json() == {
        "year": this_year(),
        "filters": {},
        "inspections": {"total": 3, "counted": 2, "exempt": 1, "voided": 1, "joint": 1},
        "refused": 1,
        "by_month": [{"month": f"{this_year()}-{m:02d}", "total": 3 if m == today.month else 0,
                      "counted": 2 if m == today.month else 0} for m in range(1, 13)],
        # last year's two counted inspections were on 1 and 2 June: the same period holds them from 2 June on
        "change": 0.0 if (today.month, today.day) >= (6, 2) else 1.0 if (today.month, today.day) == (6, 1) else None,
        "joint_share": 0.3333, "confirmed_share": 0.0, "merged_tasks": 0,
        "by_agency": [every | {"agency": "SCJG", "name": "市场监督管理局", "total": 3, "counted": 2, "exempt": 1,
                               "exempt_share": 0.3333, "refused": 0},
                      every | {"agency": "YJGL", "name": "应急管理局", "total": 1, "counted": 1, "exempt": 0,
                               "exempt_share": 0.0, "refused": 1}],
        "previous_year": {"total": 2, "counted": 2, "by_month": [
            {"month": f"{this_year() - 1}-{m:02d}", "total": 2 if m == 6 else 0, "counted": 2 if m == 6 else 0}
            for m in range(1, 13)]},
    }


def test_stats_of_the_previous_year(client, supervisor, known_mix):
    body = client.get(f"/api/v1/stats?year={this_year() - 1}", headers=supervisor).get_json()

    assert body["year"] == this_year() - 1
    assert body["inspections"] == {"total": 2, "counted": 2, "exempt": 0, "voided": 0, "joint": 0}
    assert body["refused"] == 1
    assert {k: body["by_agency"][0][k] for k in ("agency", "total", "counted", "exempt", "refused")} == {
        "agency": "SCJG", "total": 2, "counted": 2, "exempt": 0, "refused": 1}
    assert body["change"] is None  # nothing the year before
    assert body["previous_year"]["total"] == body["previous_year"]["counted"] == 0


def test_stats_default_to_this_year(client, supervisor, known_mix):
    body = client.get("/api/v1/stats", headers=supervisor).get_json()

    assert body["year"] == this_year()
    assert body["inspections"]["total"] == 3


def test_stats_of_an_empty_year_are_zeros_for_every_agency(client, supervisor, world):
    body = client.get("/api/v1/stats?year=2001", headers=supervisor).get_json()

    assert body["inspections"] == {"total": 0, "counted": 0, "exempt": 0, "voided": 0, "joint": 0}
    assert body["refused"] == 0
    assert [a["agency"] for a in body["by_agency"]] == ["SCJG", "YJGL"]
    assert all(a["total"] == a["refused"] == 0 for a in body["by_agency"])


def test_stats_refuse_an_impossible_year(client, supervisor, world):
    response = client.get("/api/v1/stats?year=20260", headers=supervisor)

    assert response.status_code == 422


def test_the_supervisor_dashboard_shows_the_same_numbers(app, known_mix):
    page_client = app.test_client()
    page_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(page_client, "super")

    page = page_client.get("/supervisor/").get_data(as_text=True)

    totals = page.split('id="totals"', 1)[1].split("</dl>", 1)[0]
    assert 'show=all">3</a>' in totals and 'show=counted">2</a>' in totals and "last year: 2" in totals
    scjg = page.split('id="agency-SCJG"', 1)[1].split("</tr>", 1)[0]
    assert "市场监督管理局" in scjg
    assert 'show=all&amp;agency=SCJG">3</a>' in scjg and 'show=exempt&amp;agency=SCJG">1</a>' in scjg
    yjgl = page.split('id="agency-YJGL"', 1)[1].split("</tr>", 1)[0]
    assert "应急管理局" in yjgl and 'show=all&amp;agency=YJGL">1</a>' in yjgl
