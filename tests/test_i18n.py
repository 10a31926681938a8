"""Every user-facing string has a Chinese translation, and pages follow the browser's language."""

import os

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOGUE = os.path.join(ROOT, "translations", "zh", "LC_MESSAGES", "messages.po")
METHODS = [("**/.venv/**", "ignore"), ("tests/**", "ignore"), ("bench/**", "ignore"),
           ("**.py", "python"), ("templates/**.html", "jinja2")]


def source_messages():
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(ROOT, METHODS, keywords=keywords):
        ids = message if isinstance(message, tuple) else (message,)
        for msgid in ids:
            if msgid:
                found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def test_every_user_facing_string_has_a_chinese_translation():
    with open(CATALOGUE, "rb") as f:
        catalogue = read_po(f, locale="zh")
    translated = {m.id: m.string for m in catalogue if m.id and not m.fuzzy}
    missing = {msgid: where for msgid, where in source_messages().items() if not translated.get(msgid)}
    assert not missing, f"add these to the zh catalogue (make messages): {missing}"


def test_pages_are_chinese_by_default_and_english_on_request(client):
    chinese = client.get("/login")
    assert '<html lang="zh-CN">' in chinese.get_data(as_text=True)
    assert "用户名" in chinese.get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "Username" in english.get_data(as_text=True)


def test_the_language_switch_is_remembered_in_a_cookie(client):
    response = client.get("/language/en?next=/login")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_the_language_switch_never_redirects_off_site(client):
    response = client.get("/language/en?next=https://evil.example/")
    assert response.headers["Location"] == "/"


def test_dates_are_written_the_readers_way_in_beijing_time(app):
    from web import local_date, local_time

    stored = "2026-12-31T16:30:00Z"  # 1 January 2027, 00:30 in Beijing
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert local_time(stored) == "2027/1/1 00:30"
        assert local_date(stored) == "2027年1月1日"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert local_time(stored) == "1/1/27, 12:30\u202fAM"
        assert local_date(stored) == "Jan 1, 2027"


def test_the_login_prompt_is_translated(client, world):
    response = client.get("/firm/", follow_redirects=True)
    assert "请登录后查看此页面。" in response.get_data(as_text=True)
