"""Browser tests: a real gunicorn on a fresh database, driven by Debian's Chromium through Playwright.

No browser is downloaded: Playwright drives /usr/bin/chromium (`apt-get install chromium`), and a missing
browser fails the run instead of skipping it. The camera is Chromium's fake capture device playing a
one-frame Y4M file written here from any image, so no ffmpeg is needed either.
"""

import io
import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from playwright.sync_api import sync_playwright

from logbook import accounts, db, demo, enterprises, usci

HERE = Path(__file__).resolve().parent
REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
HASH = "pbkdf2:sha256:1000"  # cheap hashing: these tests log in many times
PASSWORD = demo.PASSWORD
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
NARROW = {"width": 360, "height": 740}
_serial = itertools.count(1)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items):
    """Mark every test in this folder `browser`, so `make check` leaves out whatever needs Chromium."""
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.browser)


def free_port():
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(url, server, log_path, seconds=20):
    """Poll /healthz until it answers ok; fail with gunicorn's log if it dies or never answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer {url}/healthz within {seconds} s:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A real gunicorn (two workers) serving a fresh database with the demo data; yields its base URL and path."""
    folder = tmp_path_factory.mktemp("server")
    path = str(folder / "logbook.db")
    store = db.connect(path)
    db.migrate(store)
    tz = ZoneInfo("Asia/Shanghai")
    demo.load(store, date.today(), datetime.now(UTC), tz, hash_method=HASH, photo_store=str(folder / "photos"))
    store.conn.close()
    with gunicorn(path, folder, workers=2) as url:
        yield {"url": url, "database": path}


@contextmanager
def gunicorn(database, folder, workers=1):
    """A real gunicorn serving the database at `database`, its log in `folder`; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, LOGBOOK_DATABASE=database, LOGBOOK_PHOTOS=str(folder / "photos"),
               LOGBOOK_PDF_CACHE=str(folder / "pdf-cache"),
               LOGBOOK_SECRET_KEY="e2e-secret", LOGBOOK_BASE_URL=url, LOGBOOK_PASSWORD_HASH=HASH)
    log_path = folder / "gunicorn.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
             "--no-control-socket", "app:create_app()"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_health(url, process, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def store(server):
    """A connection to the server's database, for building each test's own enterprises and checking rows."""
    connection = db.connect(server["database"])
    yield connection
    connection.conn.close()


def add_enterprise(store, first17=None, **overrides):
    """A fresh enterprise with a valid USCI, so no test sees another test's inspections."""
    first17 = first17 or f"91430200MA{os.getpid() % 1000:03d}{next(_serial):04d}"
    fields = {"name": f"株洲测试{next(_serial)}号机械有限公司", "address": "株洲市天元区测试路 1 号",
              "industry": "制造业", "risk_level": "B"} | overrides
    return enterprises.add_enterprise(store, first17 + usci.check_character(first17), **fields)


def add_firm_user(store, enterprise):
    """A login for the enterprise's own person; returns the username."""
    username = f"firm-{enterprise['id']}"
    accounts.add_user(store, username, PASSWORD, "firm", name="测试企业办公室", usci_code=enterprise["usci"],
                      hash_method=HASH)
    return username


@pytest.fixture(scope="session")
def playwright():
    """Playwright's driver, started once (it talks to Chromium; it downloads nothing)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium); "
                    "the browser tests do not download a browser and must not be skipped.", pytrace=False)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright):
    """One Chromium without a camera for the page tests; each test opens its own context."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def new_context(browser, server):
    """Open a fresh browser context (own cookies) in Chinese at phone size; all are closed after the test."""
    opened = []

    def open_context(viewport=PHONE, locale="zh-CN"):
        context = browser.new_context(base_url=server["url"], viewport=viewport, locale=locale)
        context.set_default_timeout(10_000)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


def y4m_frame(image):
    """A one-frame 640x480 Y4M video of the image (scaled to fit on grey); Chromium loops it as the camera."""
    picture = image.convert("L")
    picture.thumbnail((600, 440), Image.Resampling.LANCZOS)
    frame = Image.new("L", (640, 480), 200)
    frame.paste(picture, ((640 - picture.width) // 2, (480 - picture.height) // 2))
    luma = frame.point(lambda p: 16 + p * 219 // 255).tobytes()  # studio range, as Y4M players expect
    chroma = bytes([128]) * (320 * 240)  # neutral colour: a grey picture
    return b"YUV4MPEG2 W640 H480 F15:1 Ip A1:1 C420jpeg\nFRAME\n" + luma + chroma + chroma


@pytest.fixture
def camera(playwright, server, tmp_path):
    """Launch a Chromium whose camera shows `image` (PIL image or PNG bytes); None = Chromium's test pattern,
    allow=False = the user refuses the camera. Returns a logged-out page; everything is closed after the test."""
    launched = []

    def launch(image=None, allow=True):
        args = list(BROWSER_ARGS)
        if allow:
            args.append("--use-fake-ui-for-media-stream")  # answers the permission prompt with "allow"
        args.append("--use-fake-device-for-media-stream")
        if image is not None:
            if isinstance(image, bytes):
                image = Image.open(io.BytesIO(image))
            video = tmp_path / f"camera-{len(launched)}.y4m"
            video.write_bytes(y4m_frame(image))
            args.append(f"--use-file-for-fake-video-capture={video}")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        launched.append(chromium)
        context = chromium.new_context(base_url=server["url"], viewport=PHONE, locale="zh-CN")
        context.set_default_timeout(10_000)
        return context.new_page()

    yield launch
    for chromium in launched:
        chromium.close()


@contextmanager
def watched_pages(browser, url, size=PHONE):
    """open_page(viewport): a browser of one's own (own cookies, Chinese) on the server at `url`, returning its page.
    Every console error, CSP violation (Chromium reports them as console errors) or uncaught script error on any of
    these pages fails the test at the end of the block."""
    errors, contexts = [], []

    def open_page(viewport=size):
        context = browser.new_context(base_url=url, viewport=viewport, locale="zh-CN")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and errors.append(
            f"{message.text} ({message.location.get('url')})"))
        page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == [], "the pages logged errors:\n" + "\n".join(errors)


def log_in(page, username, password=PASSWORD):
    """Log in through the form and wait until the role's home page has loaded."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button.primary-action")
    assert "/login" not in page.url, page.inner_text("main")


def today_plus(days):
    """A date as the date inputs take it."""
    return (date.today() + timedelta(days=days)).isoformat()
