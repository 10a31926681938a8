"""Fixtures and small factories: a fresh SQLite file per test, and helpers that build the world."""

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app import create_app
from logbook import accounts, agencies, db, enterprises, inspections, usci, writer

PASSWORD = "correct-horse-9"
TZ = ZoneInfo("Asia/Shanghai")
KNOWN_CODE = "583104"  # the confirmation code start() gives, so a test can use it or assert its absence
_serial = itertools.count(1)


def make_usci(n=None):
    """A valid USCI, different for each call (or for each n)."""
    first17 = f"91430200MA{(n or next(_serial)):07d}"
    return first17 + usci.check_character(first17)


@pytest.fixture(autouse=True)
def known_confirm_code(monkeypatch):
    """Inspections recorded in tests get KNOWN_CODE as their confirmation code (so the journal covers it)."""
    monkeypatch.setattr(inspections, "new_confirm_code", lambda: KNOWN_CODE)


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "LOGBOOK_DATABASE": str(tmp_path / "logbook.db"),
                      "LOGBOOK_PHOTOS": str(tmp_path / "photos"), "LOGBOOK_PDF_CACHE": str(tmp_path / "pdf-cache"),
                      "LOGBOOK_SECRET_KEY": "test-secret",
                      "LOGBOOK_PASSWORD_HASH": "pbkdf2:sha256:1000", "LOGBOOK_BASE_URL": "https://logbook.example"})
    with app.app_context():
        db.migrate(db.for_thread(app.config["LOGBOOK_DATABASE"]))
    yield app
    db.close_thread_connections()
    writer.close_all()


def notes_database(path):
    """A fresh WAL database with one table of notes (id, unique text), for the write queue's tests; its path."""
    store = db.connect(str(path))
    store.execute("PRAGMA journal_mode = WAL")
    store.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)")
    store.conn.close()
    return str(path)


@pytest.fixture
def store(app):
    """The test database, as the logbook functions take it."""
    return db.for_thread(app.config["LOGBOOK_DATABASE"])


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(store):
    """Two agencies with items, three certified inspectors, one enterprise and its firm user, a supervisor."""
    agencies.add_agency(store, "SCJG", "市场监督管理局")
    agencies.add_agency(store, "YJGL", "应急管理局")
    agencies.add_item(store, "SCJG", "SCJG-001", "食品经营许可检查", "食品安全法第三十五条")
    agencies.add_item(store, "SCJG", "SCJG-002", "特种设备检查", "特种设备安全法第三十三条")
    agencies.add_item(store, "YJGL", "YJGL-001", "安全生产责任制", "安全生产法第二十二条")
    ent = add_enterprise(store, name="株洲测试机械有限公司", risk_level="B", industry="制造业")
    add_user(store, "ann", "inspector", agency="SCJG", cert_no="C-ann")
    add_user(store, "bob", "inspector", agency="SCJG", cert_no="C-bob")
    add_user(store, "cat", "inspector", agency="YJGL", cert_no="C-cat")
    add_user(store, "dan", "inspector", agency="YJGL", cert_no="C-dan")
    add_user(store, "firm1", "firm", usci_code=ent["usci"])
    add_user(store, "super", "supervisor")
    add_user(store, "admin", "admin")
    return {"enterprise": ent}


@pytest.fixture
def mix(store, world):
    """This year at the world's enterprise: one counted routine inspection, one voided routine inspection and
    one exempt complaint inspection, oldest first."""
    enterprise = world["enterprise"]
    counted = start(store, enterprise)
    voided = start(store, enterprise)
    void(store, voided)
    exempt = start(store, enterprise, kind="complaint", reference="投诉-2026-0042")
    return {"counted": counted, "voided": voided, "exempt": exempt}


def add_enterprise(store, **overrides):
    """An enterprise with a valid USCI; overrides set any column."""
    fields = {"name": "测试企业有限公司"} | overrides
    code = fields.pop("usci", None) or make_usci()
    return enterprises.add_enterprise(store, code, **fields)


def add_user(store, username, role, cert_days=365, **overrides):
    """A user with PASSWORD; inspectors get a certificate valid for cert_days unless overridden."""
    if role == "inspector":
        overrides.setdefault("cert_no", f"C-{username}")
        overrides.setdefault("cert_expires_on", (date.today() + timedelta(days=cert_days)).isoformat())
    return accounts.add_user(store, username, PASSWORD, role, hash_method="pbkdf2:sha256:1000", **overrides)


@pytest.fixture
def auth(client, world):
    """auth(username) -> the bearer header of that user (one token per user and test)."""
    issued = {}

    def header(username):
        if username not in issued:
            issued[username] = token_for(client, username)
        return issued[username]
    return header


def token_for(client, username):
    """A bearer header for the user, obtained through the API."""
    response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def login(client, username):
    """Log in through the web form (CSRF is on in tests, so fetch the form first)."""
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def web_client(app, username=None, language="en"):
    """A test client asking for `language` (English by default; None: the browser default, Chinese), logged in as the
    user if one is named."""
    client = app.test_client()
    if language:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    if username:
        login(client, username)
    return client


def html(response):
    """A response's body as text."""
    return response.get_data(as_text=True)


def section(page, marker):
    """The part of a page from the element carrying `marker` to the end of its section."""
    return page.split(marker, 1)[1].split("</section>", 1)[0]


def csrf_from(html):
    """The CSRF token of the first form in a page."""
    marker = 'name="csrf_token" type="hidden" value="'
    if marker in html:
        return html.split(marker)[1].split('"')[0]
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def start(store, enterprise, by="ann", others=("bob",), kind="routine", items=("SCJG-001",), now=None, **extra):
    """Record an inspection of the enterprise through the domain (at `now`, default now) and return its id; its
    confirmation code is KNOWN_CODE."""
    body = inspections.StartRequest(**{"qr_token": enterprise["qr_token"], "kind": kind, "inspectors": list(others),
                                       "items": list(items)} | extra)
    return inspections.record_inspection(store, accounts.user_by_username(store, by), body, now or datetime.now(UTC), TZ)


def close(store, inspection_id, result="no_issue", findings=None, rectify_by=None, by="ann"):
    """Close the inspection through the domain."""
    inspections.close_inspection(store, inspection_id, accounts.user_by_username(store, by), result, findings,
                                 rectify_by, datetime.now(UTC), TZ)


def void(store, inspection_id, reason="扫错了企业", by="ann", now=None):
    """Void the inspection through the domain."""
    inspections.void_inspection(store, inspection_id, accounts.user_by_username(store, by), reason,
                                now or datetime.now(UTC), TZ)
