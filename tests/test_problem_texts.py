"""Every problem the logbook raises has a Chinese text, and the pages show it in Chinese, never in English."""

import ast
import io
import os
import re

import pytest
from conftest import csrf_from, login, make_usci
from flask_babel import force_locale

from logbook import enterprises, errors
from logbook.db import value
from logbook.rules import Problem
from web.problems import TEXTS, problem_text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def raised_problems():
    """{code: parameter names} of every Problem("code", ...) written in logbook/ and web/, and of the problems
    errors.py's classes give when raised without one."""
    found = {}
    for folder in ("logbook", "web"):
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if not name.endswith(".py"):
                continue
            with open(os.path.join(ROOT, folder, name), encoding="utf-8") as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                callee = getattr(node, "func", None)
                if getattr(callee, "id", getattr(callee, "attr", None)) != "Problem" or not node.args:
                    continue
                if not isinstance(node.args[0], ast.Constant):  # only errors.py's default, Problem(self.code(), ...)
                    assert name == "errors.py", f"{folder}/{name}:{node.lineno}: write the code as a literal"
                    continue
                found.setdefault(node.args[0].value, set()).update(k.arg for k in node.keywords)
    for cls in _subclasses(errors.LogbookError)[1:]:  # the base class itself is never raised
        if cls not in (errors.Invalid, errors.ImportFailed):  # these carry fields or lines, never a default
            found.setdefault(cls().problem.code, set())
    return found


def _subclasses(cls):
    return [cls] + [s for sub in cls.__subclasses__() for s in _subclasses(sub)]


RAISED = raised_problems()


def sample(code):
    """A Problem of the code with a distinctive value for each parameter."""
    return Problem(code, code, **{name: f"<{name}>" for name in RAISED[code]})


def test_the_source_scan_finds_the_problems_of_every_layer():
    assert {"usci_check", "import_line", "username_taken", "bad_window", "no_text", "no_target_value",
            "not_found"} <= set(RAISED)


def test_every_problem_raised_has_a_text():
    assert sorted(set(RAISED) - set(TEXTS)) == []


def test_every_text_belongs_to_a_problem_that_is_raised():
    assert sorted(set(TEXTS) - set(RAISED)) == []


@pytest.mark.parametrize("code", sorted(RAISED))
def test_every_problem_reads_in_chinese_with_what_the_english_says(app, code):
    with app.app_context():
        with force_locale("en"):
            english = problem_text(sample(code))
        with force_locale("zh"):
            chinese = problem_text(sample(code))
    assert chinese != english
    assert "%(" not in chinese and "%(" not in english
    assert set(re.findall(r"<\w+>", chinese)) == set(re.findall(r"<\w+>", english))


def test_an_import_line_is_translated_down_to_the_reason_inside_it(app):
    with pytest.raises(errors.ImportFailed) as refused:
        enterprises.parse_csv("usci,name\n914403001922038217,校验位错误\n")
    problem = refused.value.problems[0]
    assert problem == "line 2: usci '914403001922038217': the check character should be 6, not 7: a character is mistyped"
    with app.app_context(), force_locale("zh"):
        assert problem_text(problem) == ("第 2 行：统一社会信用代码 '914403001922038217' 有误："
                                         "校验码应为 6 而不是 7，可能有字符输错")


def test_a_problem_without_a_parameter_its_text_names_falls_back_to_english(app):
    with app.app_context(), force_locale("zh"):
        assert problem_text(Problem("username_taken", "username taken")) == "username taken"
        assert problem_text("a plain message") == "a plain message"


# ---- the pages, in Chinese (the default language) -----------------------------------------------------

def errors_on(response):
    """The error texts a page shows."""
    return " ".join(re.findall(r'class="error-text"[^>]*>([^<]*)<', response.get_data(as_text=True)))


def admin_form(client, path):
    login(client, "admin")
    return csrf_from(client.get(path).get_data(as_text=True))


def test_a_taken_username_is_refused_in_chinese(client, store, world):
    csrf = admin_form(client, "/admin/users")
    response = client.post("/admin/users", data={"csrf_token": csrf, "username": "ann", "role": "inspector",
                                                 "agency": "SCJG", "password": "long-enough-1"})
    assert response.status_code == 422
    assert "用户名 ann 已被占用。" in errors_on(response)
    assert "taken" not in response.get_data(as_text=True)


def test_a_rule_window_out_of_range_is_refused_in_chinese(client, store, world):
    csrf = admin_form(client, "/admin/rules")
    response = client.post("/admin/rules", data={"csrf_token": csrf, "max": "1", "agency": "", "target": "all",
                                                 "value": "", "window": "days:99999999"})
    assert response.status_code == 422
    assert "期间必须为 year（自然年），或 days:N（滚动 N 天，N 为 1 至 3660）。" in errors_on(response)
    assert "window must be" not in response.get_data(as_text=True).lower()
    assert value(store, "SELECT count(*) FROM limit_rules") == 1


def test_an_item_of_an_unknown_agency_is_refused_in_chinese(client, store, world):
    csrf = admin_form(client, "/admin/agencies")
    response = client.post("/admin/agencies", data={"csrf_token": csrf, "item-agency": "NOPE", "item-code": "NOPE-001",
                                                    "item-name": "某检查事项"})
    assert response.status_code == 422
    assert "不是有效的选择" in errors_on(response)
    assert "valid choice" not in response.get_data(as_text=True) and "unknown agency" not in errors_on(response).lower()
    assert value(store, "SELECT count(*) FROM items WHERE code = 'NOPE-001'") == 0


def test_an_item_code_of_another_agency_is_refused_in_chinese(client, store, world):
    csrf = admin_form(client, "/admin/agencies")
    response = client.post("/admin/agencies", data={"csrf_token": csrf, "item-agency": "YJGL", "item-code": "SCJG-001",
                                                    "item-name": "某检查事项"})
    assert response.status_code == 422
    assert "事项编码 SCJG-001 已属于其他执法部门。" in errors_on(response)
    assert "already belongs" not in response.get_data(as_text=True)


def test_the_bad_lines_of_an_import_are_listed_in_chinese(client, store, world):
    csrf = admin_form(client, "/admin/enterprises/import")
    text = f"usci,name\n{make_usci()},甲公司\n91430200MA0000001X,乙公司\n{make_usci()},\n"
    response = client.post("/admin/enterprises/import", content_type="multipart/form-data", data={
        "csrf_token": csrf, "file": (io.BytesIO(text.encode("utf-8-sig")), "firms.csv")})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<li>第 3 行：统一社会信用代码 &#39;91430200MA0000001X&#39; 有误：校验码应为" in page
    assert "<li>第 4 行：企业名称为空</li>" in page
    assert "line 3" not in page and "check character" not in page and "name is empty" not in page
    assert value(store, "SELECT count(*) FROM enterprises") == 1


def complaint_page(client):
    login(client, "firm1")
    return csrf_from(client.get("/firm/complaints").get_data(as_text=True))


def test_a_complaint_without_text_is_refused_in_chinese(client, store, world):
    csrf = complaint_page(client)
    response = client.post("/firm/complaints", data={"csrf_token": csrf, "category": "other", "text": "  "})
    assert response.status_code == 422
    assert "该字段是必填字段。" in errors_on(response)
    assert "required" not in errors_on(response) and "describe what happened" not in errors_on(response).lower()
    assert value(store, "SELECT count(*) FROM complaints") == 0


def test_a_complaint_about_an_inspection_not_of_the_firm_is_refused_in_chinese(client, store, world):
    csrf = complaint_page(client)
    response = client.post("/firm/complaints", data={"csrf_token": csrf, "category": "other", "text": "检查人员未出示证件",
                                                     "inspection_id": "999999"})
    assert response.status_code == 422
    assert "请核对编号：贵企业没有这个编号的检查。" in errors_on(response)
    assert "no inspection of your enterprise" not in response.get_data(as_text=True).lower()
    assert value(store, "SELECT count(*) FROM complaints") == 0
