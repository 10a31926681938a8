"""The official documents of an inspection (SPEC §10): the on-site record (现场检查笔录) and the result notice
(检查结果告知书), as printable pages and as PDF, for whoever may see the inspection and nobody else."""

import hashlib
import io
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
from conftest import TZ, add_enterprise, add_user, start, void, web_client
from PIL import Image, ImageDraw

from logbook import accounts, checkpoints, demo, feedback, inspections, pdf, photos
from logbook.db import value

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
CHECKLIST = """agency,item_code,item_name,basis,checkpoint,standard
SCJG,SCJG-001,食品经营许可检查,食品安全法第三十五条,食品经营许可证是否在有效期内并在显著位置公示,许可证在有效期内，悬挂于经营场所显著位置
SCJG,SCJG-001,食品经营许可检查,食品安全法第三十五条,从业人员是否持有有效健康证明,每年进行健康检查
SCJG,SCJG-002,特种设备检查,特种设备安全法第三十三条,电梯是否在检验有效期内,检验合格标志在有效期内
SCJG,SCJG-002,特种设备检查,特种设备安全法第三十三条,压力容器是否办理使用登记,
"""
FINDINGS = "员工食堂两名从业人员健康证明已过期；其余检查要点符合要求。"


def answer(found, notes):
    """Checklist answers in the order of the inspection's checkpoints: pass, unless `notes` gives a failure's note
    (fail) or None (na) for that position."""
    return [{"checkpoint": c["id"], "outcome": "pass" if n not in notes else ("fail" if notes[n] else "na"),
             "note": notes.get(n)} for n, c in enumerate(found["checkpoints"])]


def a_photo():
    """A small PNG that looks like something: a red extinguisher on a grey wall."""
    picture = Image.new("RGB", (640, 480), (176, 180, 186))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((270, 120, 370, 430), fill=(200, 30, 30))
    draw.rectangle((295, 80, 345, 120), fill=(40, 40, 40))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def close_with_checks(store, inspection_id, result, findings, notes, rectify_days=None, by="zhang.wei"):
    """Close the inspection through the domain with every checkpoint answered (see answer)."""
    found = inspections.inspection(store, inspection_id)
    rectify_by = (datetime.now(TZ) + timedelta(days=rectify_days)).date() if rectify_days else None
    inspections.close_inspection(store, inspection_id, accounts.user_by_username(store, by), result, findings,
                                 rectify_by, datetime.now(UTC), TZ, checks=answer(found, notes))


@pytest.fixture
def inspectors(store, world):
    """Two named inspectors of the market regulator with their certificate numbers, as the demo has them."""
    add_user(store, "zhang.wei", "inspector", agency="SCJG", name="张伟", cert_no="43020019001")
    add_user(store, "li.na", "inspector", agency="SCJG", name="李娜", cert_no="43020019002")


@pytest.fixture
def inspected(app, store, world, inspectors):
    """A demo-like closed inspection of the world's enterprise, started 90 minutes ago where the phone placed it:
    two items with four checkpoints, one failed with a note and one not applicable, a photo of the failed one,
    rectification ordered within 15 days."""
    checkpoints.import_checkpoints(store, checkpoints.parse_csv(store, CHECKLIST))
    inspection_id = start(store, world["enterprise"], by="zhang.wei", others=("li.na",), items=("SCJG-001", "SCJG-002"),
                          now=datetime.now(UTC) - timedelta(minutes=90), location={"lat": 27.8391, "lon": 113.1517})
    found = inspections.inspection(store, inspection_id)
    photos.add_photo(store, app.config["LOGBOOK_PHOTOS"], inspection_id, accounts.user_by_username(store, "zhang.wei"),
                     a_photo(), found["checkpoints"][1]["id"], datetime.now(UTC))
    close_with_checks(store, inspection_id, "rectify", FINDINGS, {1: "两名从业人员健康证明过期（2025年12月到期）", 3: None},
                      rectify_days=15)
    return inspections.inspection(store, inspection_id)


def page_of(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def pdf_text(data):
    """The text of every page of a PDF."""
    printed = pypdfium2.PdfDocument(data)
    try:
        return "\n".join(page.get_textpage().get_text_bounded() for page in printed)
    finally:
        printed.close()


# ---- what the documents say -----------------------------------------------------------------------------------

@pytest.mark.parametrize("document", ["record", "result"])
def test_both_documents_show_the_parties_the_checklist_the_findings_the_deadline_and_the_rights(app, inspected, document):
    page = page_of(web_client(app, "zhang.wei"), f"/inspections/{inspected['id']}/{document}")
    for text in ("市场监督管理局", "食品安全法第三十五条", "特种设备安全法第三十三条", "张伟", "43020019001", "李娜",
                 "43020019002", "株洲测试机械有限公司", inspected["enterprise"]["usci"], "食品经营许可证是否在有效期内",
                 "两名从业人员健康证明过期（2025年12月到期）", FINDINGS, "Rectification ordered", inspected["journal_hash"],
                 "latitude 27.8391, longitude 113.1517"):
        assert text in page, text
    checklist = page.split('id="checklist"', 1)[1].split("</table>", 1)[0]
    assert checklist.count(">Fail<") == 1 and checklist.count(">Not applicable<") == 1 and checklist.count(">Pass<") == 2
    deadline = (datetime.now(TZ) + timedelta(days=15)).date()
    assert f"by {deadline:%B} {deadline.day}, {deadline.year}" in page
    rights = page.split('id="rights"', 1)[1].split("</ol>", 1)[0]
    assert "within 5 days of the close" in rights and "within 60 days" in rights and "within 6 months" in rights


def test_the_statement_period_follows_the_setting(app, inspected):
    app.config["LOGBOOK_STATEMENT_DAYS"] = 7
    page = page_of(web_client(app, "firm1"), f"/inspections/{inspected['id']}/result")
    assert "within 7 days of the close" in page


def test_the_firms_statement_is_printed_once_made(app, store, inspected):
    feedback.make_statement(store, inspected["id"], accounts.user_by_username(store, "firm1"),
                            "两名员工已于检查当日补办健康证明，请予核实。", datetime.now(UTC))
    for document in ("record", "result"):
        page = page_of(web_client(app, "super"), f"/inspections/{inspected['id']}/{document}")
        assert "两名员工已于检查当日补办健康证明，请予核实。" in page.split('id="statement"', 1)[1]


def test_the_photos_are_an_appendix_with_their_sha256(app, inspected):
    page = page_of(web_client(app, "firm1"), f"/inspections/{inspected['id']}/record")
    appendix = page.split('id="photos"', 1)[1]
    photo = inspected["photos"][0]
    assert f'src="/inspections/{inspected["id"]}/photos/{photo["id"]}"' in appendix
    assert photo["sha256"] in appendix and inspected["checkpoints"][1]["text"] in appendix


def test_the_record_of_an_open_inspection_prints_as_a_draft_with_boxes_to_tick(app, store, world):
    checkpoints.import_checkpoints(store, checkpoints.parse_csv(store, CHECKLIST))
    inspection_id = start(store, world["enterprise"])
    page = page_of(web_client(app, "ann"), f"/inspections/{inspection_id}/record")
    assert 'id="mark"' in page and "DRAFT" in page
    assert "□Pass" in page and "□Fail" in page and "□Not applicable" in page
    assert "/result" not in page  # no link to a result notice that does not exist


def test_a_closed_inspections_record_is_no_draft(app, inspected):
    page = page_of(web_client(app, "zhang.wei"), f"/inspections/{inspected['id']}/record")
    assert 'id="mark"' not in page and "DRAFT" not in page and "□" not in page


@pytest.mark.parametrize("path", ["/inspections/{id}/result", "/inspections/{id}/result.pdf"])
def test_an_open_or_voided_inspection_has_no_result_notice(app, store, world, path):
    client = web_client(app, "ann", language=None)
    still_open = start(store, world["enterprise"])
    voided = start(store, world["enterprise"])
    void(store, voided)
    assert client.get(path.format(id=still_open)).status_code == 404
    assert client.get(path.format(id=voided)).status_code == 404


def test_a_voided_inspections_record_says_so_with_the_reason(app, store, world):
    voided = start(store, world["enterprise"])
    void(store, voided, reason="扫错了企业")
    page = page_of(web_client(app, "ann"), f"/inspections/{voided}/record")
    assert "VOIDED" in page and "扫错了企业" in page


# ---- who may see them -----------------------------------------------------------------------------------------

PATHS = ["/inspections/{id}/record", "/inspections/{id}/record.pdf", "/inspections/{id}/result",
         "/inspections/{id}/result.pdf", "/inspections/{id}/photos/{photo}"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("username", ["other-firm", "ann", "cat", "admin"])
def test_anyone_who_may_not_see_the_inspection_gets_404(app, store, inspected, path, username):
    if username == "other-firm":
        add_user(store, "other-firm", "firm", usci_code=add_enterprise(store, name="别家公司")["usci"])
    response = web_client(app, username, language=None).get(path.format(id=inspected["id"], photo=inspected["photos"][0]["id"]))
    assert response.status_code == 404


@pytest.mark.parametrize("path", PATHS)
def test_anonymous_users_are_sent_to_log_in(app, inspected, path):
    response = app.test_client().get(path.format(id=inspected["id"], photo=inspected["photos"][0]["id"]))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("username", ["zhang.wei", "li.na", "firm1", "super"])
def test_the_inspectors_the_firm_and_supervisors_see_both_documents(app, inspected, username):
    client = web_client(app, username, language=None)
    for document in ("record", "result"):
        assert client.get(f"/inspections/{inspected['id']}/{document}").status_code == 200


def test_an_unknown_inspection_or_photo_is_404(app, inspected):
    client = web_client(app, "super", language=None)
    assert client.get("/inspections/999999/record").status_code == 404
    assert client.get(f"/inspections/{inspected['id']}/photos/999999").status_code == 404
    assert client.get(f"/inspections/{inspected['id'] + 1}/photos/{inspected['photos'][0]['id']}").status_code == 404


def test_the_photo_is_served_privately_as_stored(app, inspected):
    photo = inspected["photos"][0]
    with web_client(app, "firm1", language=None).get(f"/inspections/{inspected['id']}/photos/{photo['id']}") as response:
        assert response.status_code == 200 and response.mimetype == photo["media_type"]
        assert response.cache_control.private and not response.cache_control.public and response.cache_control.max_age
        assert hashlib.sha256(response.get_data()).hexdigest() == photo["sha256"]


def test_user_text_is_escaped(app, store, world):
    checkpoints.import_checkpoints(store, checkpoints.parse_csv(store, CHECKLIST))
    inspection_id = start(store, world["enterprise"])
    close_with_checks(store, inspection_id, "case_filed", "<script>alert(1)</script>", {0: "<b>bold</b>"}, by="ann")
    for document in ("record", "result"):
        page = page_of(web_client(app, "ann", language=None), f"/inspections/{inspection_id}/{document}")
        assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<b>bold" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page


# ---- the PDF --------------------------------------------------------------------------------------------------

def test_the_record_as_pdf_is_the_same_document_with_its_photo(app, inspected):
    response = web_client(app, "firm1", language=None).get(f"/inspections/{inspected['id']}/record.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f"-{inspected['id']:06d}-record.pdf" in response.headers["Content-Disposition"]
    text = "".join(pdf_text(response.get_data()).split())  # the PDF's lines, as one string
    photo = inspected["photos"][0]["sha256"]
    for expected in ("现场检查笔录", "株洲测试机械有限公司", "43020019001", "两名从业人员健康证明过期", photo):
        assert expected in text, expected
    printed = pypdfium2.PdfDocument(response.get_data())
    try:
        images = sum(len(list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))) for page in printed)
        assert images == 1  # the photo, read from the store
    finally:
        printed.close()


def test_the_result_notice_as_pdf(app, inspected):
    response = web_client(app, "super", language=None).get(f"/inspections/{inspected['id']}/result.pdf")
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.get_data())
    assert "检查结果告知书" in text and "李娜" in text and "43020019002" in text


def test_a_pdf_asked_for_again_is_read_from_the_cache_until_what_it_shows_changes(app, store, inspected, monkeypatch):
    drawn, draw = [], pdf.from_html
    monkeypatch.setattr(pdf, "from_html", lambda *args: drawn.append(args[0]) or draw(*args))
    url = f"/inspections/{inspected['id']}/result.pdf"
    first = web_client(app, "firm1", language=None).get(url).get_data()
    assert web_client(app, "super", language=None).get(url).get_data() == first and len(drawn) == 1
    assert len(os.listdir(app.config["LOGBOOK_PDF_CACHE"])) == 1
    feedback.make_statement(store, inspected["id"], accounts.user_by_username(store, "firm1"),
                            "两名员工已于检查当日补办健康证明，请予核实。", datetime.now(UTC))
    answered = web_client(app, "firm1", language=None).get(url).get_data()
    assert len(drawn) == 2 and "两名员工已于检查当日补办健康证明" in "".join(pdf_text(answered).split())
    web_client(app, "firm1", language="en").get(url)  # another language: another document
    assert len(drawn) == 3 and len(os.listdir(app.config["LOGBOOK_PDF_CACHE"])) == 3


def test_the_cache_keeps_the_most_recently_used_documents(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "from_html", lambda html, base, files: html.encode())
    folder = str(tmp_path / "pdf-cache")
    for html in ["<p>1</p>", "<p>2</p>", "<p>1</p>", "<p>3</p>"]:
        pdf.cached(folder, html, "https://logbook.example/", {}, keep=2)
        time.sleep(0.01)  # distinct modification times, oldest first
    kept = sorted(Path(folder, name).read_bytes() for name in os.listdir(folder))
    assert kept == [b"<p>1</p>", b"<p>3</p>"]  # 2 was used least recently: 1 was read again after it

    def failing(html, base, files):
        raise RuntimeError("Pango failed")
    monkeypatch.setattr(pdf, "from_html", failing)
    with pytest.raises(RuntimeError):
        pdf.cached(folder, "<p>4</p>", "https://logbook.example/", {}, keep=2)
    assert len(os.listdir(folder)) == 2  # a render that fails leaves nothing behind


@pytest.fixture
def demo_inspection(app, store):
    """The demo's inspection walked with its checklist (a failed checkpoint, its photo, the firm's statement), as
    `make run` shows it; returns its id."""
    demo.load(store, datetime.now(TZ).date(), datetime.now(UTC), TZ, hash_method="pbkdf2:sha256:1000",
              photo_store=app.config["LOGBOOK_PHOTOS"])
    return value(store, "SELECT DISTINCT inspection_id FROM photos WHERE purpose = 'evidence'")


def test_page_one_of_the_demo_inspections_pdf_is_a_printed_page(app, demo_inspection):
    """Rendered to an image, page 1 has ink on it and is mostly paper; with UPDATE_SCREENSHOTS=1 it becomes the
    README's picture of the on-site record (docs/screenshots/document-record.png)."""
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = form.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/login", data={"username": "supervisor", "password": demo.PASSWORD,
                                       "csrf_token": token}).status_code == 302
    data = client.get(f"/inspections/{demo_inspection}/record.pdf").get_data()
    assert "现场检查笔录" in pdf_text(data) and "株洲市荷塘区明辉机械制造有限公司" in "".join(pdf_text(data).split())
    printed = pypdfium2.PdfDocument(data)
    try:
        picture = printed[0].render(scale=1.5).to_pil().convert("L")
    finally:
        printed.close()
    histogram = picture.histogram()
    pixels = picture.width * picture.height
    assert sum(histogram[:100]) > pixels * 0.01  # text and rules
    assert sum(histogram[230:]) > pixels * 0.7   # white paper
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / "document-record.png"
        picture.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)
        assert path.stat().st_size > 1000


def test_the_pdf_loads_nothing_but_its_own_photos():
    fetcher = pdf.FileFetcher({})
    for url in ("http://example.com/tracker.png", "file:///etc/passwd", "https://logbook.example/inspections/1/photos/1"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_without_pango_a_pdf_answers_503_with_a_clear_message_and_the_page_still_prints(app, inspected, monkeypatch):
    import sys

    import logbook

    monkeypatch.delattr(logbook, "pdf", raising=False)
    monkeypatch.setitem(sys.modules, "logbook.pdf", None)  # as when WeasyPrint cannot load Pango
    client = web_client(app, "super")
    response = client.get(f"/inspections/{inspected['id']}/record.pdf")
    assert response.status_code == 503
    assert "PDF documents are not available on this server yet" in response.get_data(as_text=True)
    assert client.get(f"/inspections/{inspected['id']}/record").status_code == 200
    assert web_client(app, "cat").get(f"/inspections/{inspected['id']}/record.pdf").status_code == 404
