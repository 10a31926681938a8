"""Benchmark: every page of every blueprint, as each role opens it, at SPEC §8 scale (4 million enterprises,
10 million inspections by default), against a real gunicorn.

It answers: how many bytes does each page send, and how long does the server take to make it (median and
worst), for the anonymous visitor, the inspector at the door, the firm, the supervisor and the admin? And is
that within budget: pages an inspector, a firm user or an anonymous visitor opens at most 50 ms of server time
and 100 KB (102,400 bytes) of HTML or JSON; supervisor and admin pages at most 300 ms; CSV exports and the
firm's yearly API answer are reported but judged "export" (no verdict).

    .venv/bin/python bench/pages.py                                        # generates 4M / 10M in a temporary file
    .venv/bin/python bench/pages.py --database big.db                      # generate big.db once, reuse it after
    .venv/bin/python bench/pages.py --database small.db --enterprises 40000 --inspections 100000 --repeat 3
    .venv/bin/python bench/pages.py --database big.db --markdown           # the table for bench/README.md

The database comes from bench/scale.py's `generate` (the same shape of data). Preparation is idempotent, so a
kept file can be benchmarked again, also from an older checkout (copy this file into its bench/): it migrates
the file, gives inspector i1 a known password, adds firm users for the busiest enterprise of this year and for a
typical one (1-3 inspections this year), a supervisor and an admin, and records a few inspections (one closed,
rated and complained about) so the inboxes, the journal and the supervisor's lists are not empty; in versions that
have them, a task, a draw, a photo (in a folder beside the database), the warnings this year's scans would have
recorded (scale.record_warnings, once) and a follow-up of one of them.

The server is our own gunicorn (`app:create_app()`, sync workers, the setup `make run` uses) in its own
process group, stopped at the end whatever happens. Each role logs in through the web form (the API through a
bearer token); each page is requested once to warm up, then up to --repeat times (less once a page has used
about 20 s). The server time of each request is gunicorn's own (`%(D)s` in its access log), not the client's.
"""

import argparse
import http.client
import inspect
import json
import os
import platform
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import namedtuple
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from scale import generate, record_warnings  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from logbook import accounts, db, feedback, inspections  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
PASSWORD = "bench-pages-password-1"
HASH = "pbkdf2:sha256:1000"
REFERENCE = "PAGES-BENCH"             # the reference of the inspections this script records
PAGE_SECONDS = 20                     # stop repeating a page once it has used this much time
FIELD_BUDGET = (50, 102_400)          # inspector, firm, anonymous: ms of server time, bytes of HTML or JSON
OFFICE_BUDGET = 300                   # supervisor, admin: ms of server time
FIRM_USERS = {"busiest": "bench_firm_busiest", "typical": "bench_firm_typical"}
SUPERVISOR, ADMIN, INSPECTOR, COLLEAGUE = "bench_supervisor", "bench_admin", "i1", "i2"
HEAD = "bench_head"  # the head of the inspector's agency (versions with tasks)

Page = namedtuple("Page", "role note path auth expect")        # auth: "session" or "bearer"
Answer = namedtuple("Answer", "status body size ctype headers seconds")
Result = namedtuple("Result", "page pattern endpoint status size ctype times killed")


# ---- the database ----------------------------------------------------------------------------------

def build(path, n_enterprises, n_inspections):
    """Generate the scale database at `path` with bench/scale.py (900 items where its generate takes n_items)."""
    print(f"generating {n_enterprises:,} enterprises and {n_inspections:,} inspections in {path}")
    extra = {"n_items": 900} if "n_items" in inspect.signature(generate).parameters else {}
    generate(path, n_enterprises, n_inspections, seed=1, **extra)


def year_text(at):
    """This calendar year's bounds, as stored timestamps."""
    year = at.astimezone(TZ).year
    start = datetime(year, 1, 1, tzinfo=TZ)
    end = datetime(year + 1, 1, 1, tzinfo=TZ)
    return db.now_text(start), db.now_text(end)


def pick_enterprises(store, at):
    """(busiest, typical) enterprise ids: remembered by our firm users, else chosen as scale.py's measure does."""
    remembered = {case: db.value(store, "SELECT enterprise_id FROM users WHERE username = ?", [name])
                  for case, name in FIRM_USERS.items()}
    if all(remembered.values()):
        return remembered["busiest"], remembered["typical"]
    start, end = year_text(at)
    t = time.perf_counter()
    busiest = db.value(store, """SELECT enterprise_id FROM inspections WHERE started_at >= ? AND started_at < ?
                                 GROUP BY enterprise_id ORDER BY count(*) DESC LIMIT 1""", [start, end])
    # 1-2 this year, so that it still has at most 3 after the one inspection we record there
    typical = db.value(store, """SELECT enterprise_id FROM inspections WHERE started_at >= ? AND started_at < ?
                                 AND enterprise_id > ? GROUP BY enterprise_id HAVING count(*) BETWEEN 1 AND 2
                                 LIMIT 1""", [start, end, (db.value(store, "SELECT max(id) FROM enterprises") or 0) // 3])
    if busiest is None or typical is None:
        raise SystemExit("no inspections this year in the database: cannot choose a busiest and a typical enterprise")
    print(f"chose the enterprises in {time.perf_counter() - t:.1f} s")
    return busiest, typical


def ensure_user(store, username, role, **fields):
    """The user exists with PASSWORD (a fast hash); created with accounts.add_user, else its hash is reset."""
    if db.value(store, "SELECT id FROM users WHERE username = ?", [username]) is None:
        accounts.add_user(store, username, PASSWORD, role, hash_method=HASH, **fields)
    else:
        with db.immediate(store):
            store.execute("UPDATE users SET password_hash = ?, active = 1 WHERE username = ?",
                          [generate_password_hash(PASSWORD, method=HASH), username])
    return accounts.user_by_username(store, username)


def bench_inspections(store, enterprise_id, at):
    """This year's inspections this script recorded at the enterprise, oldest first."""
    start, end = year_text(at)
    return db.rows(store, """SELECT id, status, confirm_code FROM inspections WHERE enterprise_id = ?
                             AND started_at >= ? AND started_at < ? AND reference = ? ORDER BY id""",
                   [enterprise_id, start, end, REFERENCE])


def record(store, inspector, enterprise_id, count, at):
    """Record inspections (exempt complaint inspections, so no cap refuses them) until the enterprise has `count`."""
    token = db.value(store, "SELECT qr_token FROM enterprises WHERE id = ?", [enterprise_id])
    item = db.value(store, "SELECT code FROM items WHERE agency_id = ? ORDER BY id LIMIT 1", [inspector["agency_id"]])
    for _ in range(count - len(bench_inspections(store, enterprise_id, at))):
        inspections.record_inspection(store, inspector, inspections.StartRequest(
            qr_token=token, kind="complaint", reference=REFERENCE, inspectors=[COLLEAGUE], items=[item]),
            datetime.now(UTC), TZ)
    return bench_inspections(store, enterprise_id, at)


def step(label, action):
    """Run one optional preparation step; a refusal (an older checkout, a changed rule) is reported, not fatal."""
    try:
        return action()
    except Exception as e:  # noqa: BLE001 - a benchmark reports what it could not prepare and goes on
        print(f"warning: could not {label}: {type(e).__name__}: {e}")
        return None


def init_db(path):
    """`flask init-db` on the file, as an operator upgrading does: it migrates and fills whatever a version derives
    from the rows (e.g. the supervisor's counters), which scale.py's bulk load does not."""
    t = time.perf_counter()
    env = dict(os.environ, LOGBOOK_DATABASE=str(path), LOGBOOK_SECRET_KEY="bench-pages")
    done = subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "app", "init-db"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    said = " / ".join(line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip())
    if done.returncode:
        print(f"warning: flask init-db failed ({done.returncode}): {said[-1000:]}")
    else:
        print(f"flask init-db in {time.perf_counter() - t:.1f} s: {said}")


def photo_folder(path):
    """Where the server and the preparation keep photos: a folder beside the database."""
    return Path(path).with_name(Path(path).stem + "-photos")


def add_photo(store, path, inspector, inspection_id, facts):
    """One photo of the open inspection (versions with photos), so the photo pages have something to send."""
    import io

    from PIL import Image

    from logbook import photos
    facts["photo"] = db.value(store, "SELECT min(id) FROM photos WHERE inspection_id = ?", [inspection_id])
    if facts["photo"] is None:
        picture = io.BytesIO()
        Image.new("RGB", (1280, 960), (180, 190, 200)).save(picture, "JPEG", quality=85)
        facts["photo"] = photos.add_photo(store, str(photo_folder(path)), inspection_id, inspector, picture.getvalue(),
                                          None, datetime.now(UTC))["id"]


def prepare(path):
    """Make the database ready (idempotent): migrate, users, a few inspections, a complaint and a rating.

    Returns what the pages need: the enterprises, tokens, USCIs, names and the ids of our inspections."""
    store = db.connect(str(path))
    try:
        t = time.perf_counter()
        db.migrate(store)
        init_db(path)
        at = datetime.now(UTC)
        expires = (date.today() + timedelta(days=365)).isoformat()
        with db.immediate(store):  # the generated users have password_hash 'x' and a certificate of generation day
            for name in (INSPECTOR, COLLEAGUE):
                store.execute("UPDATE users SET password_hash = ?, active = 1, cert_no = coalesce(cert_no, ?), "
                              "cert_expires_on = max(coalesce(cert_expires_on, ''), ?) WHERE username = ?",
                              [generate_password_hash(PASSWORD, method=HASH), f"C-{name}", expires, name])
        inspector = accounts.user_by_username(store, INSPECTOR)
        if inspector is None or inspector["agency"] is None:
            raise SystemExit("no inspector i1 with an agency: is this a database made by bench/scale.py?")
        busiest, typical = pick_enterprises(store, at)
        facts = {"busiest": busiest, "typical": typical}
        for case, enterprise_id in facts.copy().items():
            found = db.row(store, "SELECT id, usci, name, qr_token FROM enterprises WHERE id = ?", [enterprise_id])
            facts[case] = found
            found["firm"] = ensure_user(store, FIRM_USERS[case], "firm", usci_code=found["usci"], name=f"企业{case}")
        ensure_user(store, SUPERVISOR, "supervisor", name="监督员")
        ensure_user(store, ADMIN, "admin", name="管理员")
        busy = record(store, inspector, busiest, 2, at)
        facts["typical"]["inspections"] = record(store, inspector, typical, 1, at)
        closed = busy[0]
        if closed["status"] == "open":
            step("close an inspection", lambda: inspections.close_inspection(
                store, closed["id"], inspector, "no_issue", None, None, datetime.now(UTC), TZ))
        firm = facts["busiest"]["firm"]
        step("rate an inspection", lambda: feedback.evaluation_of(store, closed["id"]) or feedback.evaluate(
            store, closed["id"], firm, 4, "按时到场，态度好", datetime.now(UTC)))
        step("file a complaint", lambda: feedback.complaints_of(store, busiest) or feedback.file_complaint(
            store, firm, "too_frequent", "今年已被检查多次", closed["id"], datetime.now(UTC)))
        facts["busiest"]["inspections"] = bench_inspections(store, busiest, at)
        facts["photo"] = None
        if db.value(store, "SELECT count(*) FROM sqlite_master WHERE name = 'photos'"):
            opened = next((i for i in facts["busiest"]["inspections"] if i["status"] == "open"), None)
            if opened:
                step("add a photo", lambda: add_photo(store, path, inspector, opened["id"], facts))
        facts["agency"] = inspector["agency"]
        facts["colleague_name"] = db.value(store, "SELECT name FROM users WHERE username = ?", [COLLEAGUE])
        facts["item_name"] = db.value(store, "SELECT name FROM items WHERE agency_id = ? ORDER BY id LIMIT 1",
                                      [inspector["agency_id"]])
        facts["complaint"] = db.value(store, "SELECT max(id) FROM complaints WHERE enterprise_id = ?", [busiest])
        local = at.astimezone(TZ)
        facts["year"], facts["month"] = local.year, local.month
        facts["task"] = facts["draw"] = facts["followup"] = facts["warning"] = None
        if db.value(store, "SELECT count(*) FROM sqlite_master WHERE name = 'tasks'"):
            step("plan, approve and draw", lambda: plan(store, inspector, busiest, facts, local.date()))
        if db.value(store, "SELECT count(*) FROM sqlite_master WHERE name = 'followups'"):
            step("record the year's warnings and follow one up", lambda: supervise(store, inspector, busiest, facts, at))
        if db.value(store, "SELECT count(*) FROM sqlite_master WHERE name = 'journal_checks'") and not db.value(
                store, "SELECT count(*) FROM journal_checks"):
            print("note: no journal check recorded: the first GET /api/v1/journal/verify checks everything; run "
                  "`flask journal verify` once first, as the nightly job does", file=sys.stderr)
        start, end = year_text(at)
        facts["counts"] = {case: db.value(store, """SELECT count(*) FROM inspections WHERE enterprise_id = ?
                                                    AND started_at >= ? AND started_at < ?""", [e, start, end])
                           for case, e in (("busiest", busiest), ("typical", typical))}
        print(f"prepared in {time.perf_counter() - t:.1f} s: this year the busiest enterprise {busiest} has "
              f"{facts['counts']['busiest']} inspections, the typical one {typical} has {facts['counts']['typical']}")
        return facts
    finally:
        store.conn.close()


def row_counts(path):
    """The size of the database, table by table."""
    store = db.connect(str(path))
    try:
        return {t: db.value(store, f"SELECT count(*) FROM {t}")
                for t in ("enterprises", "inspections", "users", "items", "refusals", "journal", "notifications",
                          "complaints", "evaluations")}
    finally:
        store.conn.close()


# ---- the server and the client -------------------------------------------------------------------

def free_port():
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """Our gunicorn in its own session (its PID is the process group's id), logging each request's time in µs."""

    def __init__(self, database, workers, timeout, logs):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.error_log, self.access_log = logs / "gunicorn.log", logs / "access.log"
        self.access_log.touch()
        env = dict(os.environ, LOGBOOK_DATABASE=str(database), LOGBOOK_SECRET_KEY="bench-pages",
                   LOGBOOK_PASSWORD_HASH=HASH, LOGBOOK_BASE_URL=self.base_url, LOGBOOK_PHOTOS=str(photo_folder(database)))
        gunicorn = Path(sys.executable).parent / "gunicorn"
        with open(self.error_log, "ab") as log:
            self.process = subprocess.Popen(
                [str(gunicorn), "-w", str(workers), "-k", "sync", "-b", f"127.0.0.1:{self.port}",
                 "--timeout", str(timeout), "--graceful-timeout", "5", "--no-control-socket",
                 "--access-logfile", str(self.access_log),
                 "--access-logformat", "%({x-bench-id}i)s %(s)s %(B)s %(D)s",
                 "app:create_app()"],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        self._offset, self._times = 0, {}

    def wait_ready(self, seconds=60):
        """Wait until /healthz answers; exit with the log if gunicorn dies or stays silent."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if fetch(self.port, "/healthz", timeout=2).status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        raise SystemExit(f"gunicorn did not answer /healthz within {seconds} s:\n{self.log_tail()}")

    def server_times(self, marks, seconds=5):
        """Gunicorn's time in ms of each marked request (None when it never logged one, e.g. a killed worker)."""
        deadline = time.monotonic() + seconds
        while True:
            with open(self.access_log, "rb") as f:
                f.seek(self._offset)
                data = f.read()
            complete = data[:data.rfind(b"\n") + 1]
            self._offset += len(complete)
            for line in complete.decode("utf-8", "replace").splitlines():
                parts = line.split()
                if len(parts) == 4 and parts[3].isdigit():
                    self._times[parts[0]] = int(parts[3]) / 1000
            if all(m in self._times for m in marks) or time.monotonic() > deadline:
                return [self._times.get(m) for m in marks]
            time.sleep(0.01)

    def timeouts(self):
        """How many times gunicorn has killed a worker for taking longer than --timeout so far."""
        return self.log_tail(None).count("WORKER TIMEOUT")

    def log_tail(self, chars=3000):
        """The end of gunicorn's own log (errors, tracebacks)."""
        text = self.error_log.read_text(errors="replace") if self.error_log.exists() else ""
        return text[-chars:] if chars else text

    def stop(self):
        """SIGTERM to the whole group; whatever still runs after 10 s gets SIGKILL."""
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._signal(signal.SIGKILL)  # workers the master did not take down with it
        self.process.wait()

    def _signal(self, sig):
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass


def fetch(port, path, method="GET", cookies=None, headers=None, form=None, body=None, timeout=60):
    """One request on its own connection; the body is counted to the end but kept only up to 1 MB. Cookies the
    server sets go into the `cookies` dict."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    sent = {"Connection": "close", "Accept-Language": "zh-CN,zh;q=0.9"} | (headers or {})
    if cookies:
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    payload = None
    if form is not None:
        payload, sent["Content-Type"] = urlencode(form), "application/x-www-form-urlencoded"
    elif body is not None:
        payload, sent["Content-Type"] = json.dumps(body), "application/json"
    started = time.perf_counter()
    try:
        conn.request(method, path, payload, sent)
        response = conn.getresponse()
        kept, size = [], 0
        while chunk := response.read(65536):
            size += len(chunk)
            if size <= 1 << 20:
                kept.append(chunk)
        if cookies is not None:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, value = header.split(";", 1)[0].partition("=")
                if value and "max-age=0" not in header.lower():
                    cookies[name.strip()] = value.strip()
                else:
                    cookies.pop(name.strip(), None)
        return Answer(response.status, b"".join(kept).decode("utf-8", "replace"), size,
                      response.headers.get("Content-Type", ""), response.headers, time.perf_counter() - started)
    finally:
        conn.close()


def plan(store, inspector, busiest, facts, today):
    """A head of the inspector's agency, an approved task with notice for the busiest firm, a random draw of five
    (once: a draw over every firm of the city is the heaviest thing a head does; its time is printed)."""
    from logbook import draws, tasks  # versions with tasks only
    head = ensure_user(store, HEAD, "head", name="局长", agency=inspector["agency"])
    facts["task"] = db.value(store, "SELECT id FROM tasks WHERE enterprise_id = ? AND notice = 1 ORDER BY id LIMIT 1",
                             [busiest])
    if facts["task"] is None:
        usci = db.value(store, "SELECT usci FROM enterprises WHERE id = ?", [busiest])
        facts["task"] = tasks.draft_task(store, inspector, tasks.TaskRequest(
            kind="routine", window_start=today + timedelta(days=5), window_end=today + timedelta(days=15), usci=usci,
            items=[db.value(store, "SELECT code FROM items WHERE agency_id = ? LIMIT 1", [inspector["agency_id"]])],
            inspectors=[COLLEAGUE], notice=True), datetime.now(UTC), today)
        tasks.approve_task(store, facts["task"], head, "同意", datetime.now(UTC), today, 3)
    facts["draw"] = db.value(store, "SELECT max(id) FROM draws")
    if facts["draw"] is None:
        t = time.perf_counter()
        facts["draw"] = draws.draw(store, head, 5, datetime.now(UTC), today, 3, seed="bench-pages")
        print(f"a random draw of 5 firms among every firm of the city took {time.perf_counter() - t:.1f} s")


def supervise(store, inspector, busiest, facts, at):
    """The warnings the year's scans would have recorded (once: scale.py's bulk load bypasses them; minutes at 10 M),
    and a follow-up of one of them, answered by the head of the inspector's agency."""
    from logbook import followups  # versions with supervision only
    start, _ = year_text(at)
    if not db.value(store, "SELECT count(*) FROM warnings WHERE year = ?", [at.astimezone(TZ).year]):
        t = time.perf_counter()
        seen, recorded = record_warnings(store, start)
        print(f"recorded {recorded:,} warnings from this year's {seen:,} inspections in {time.perf_counter() - t:.0f} s")
    year = at.astimezone(TZ).year
    facts["warning"] = f"w{db.value(store, 'SELECT min(id) FROM warnings WHERE year = ?', [year])}"
    district, industry = db.row(store, "SELECT district, industry FROM enterprises WHERE id = ?", [busiest]).values()
    facts["segment"] = {"district": district, "industry": industry}
    facts["followup"] = db.value(store, "SELECT max(id) FROM followups WHERE warning_key = ?", [facts["warning"]])
    if facts["followup"] is None:
        supervisor = accounts.user_by_username(store, SUPERVISOR)
        today = at.astimezone(TZ).date()
        facts["followup"] = followups.create_followup(store, supervisor, inspector["agency"], "请说明频繁检查的原因。",
                                                      today + timedelta(days=10), today, at, warning_key=facts["warning"])
        head = ensure_user(store, HEAD, "head", name="局长", agency=inspector["agency"])
        followups.step_followup(store, facts["followup"], head, "answer", "已核查，均有依据。", at)


def login(port, username):
    """A session (its cookies) logged in through the web form: GET /login for the CSRF token, then POST."""
    cookies = {}
    page = fetch(port, "/login", cookies=cookies)
    found = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page.body)
    if not found:
        raise SystemExit(f"no CSRF token on /login (status {page.status})")
    answer = fetch(port, "/login", "POST", cookies=cookies,
                   form={"username": username, "password": PASSWORD, "csrf_token": found.group(1)})
    if answer.status != 302:
        raise SystemExit(f"logging in as {username} answered {answer.status}:\n{answer.body[:500]}")
    return cookies


def bearer(port, username):
    """An API bearer token from POST /api/v1/tokens."""
    answer = fetch(port, "/api/v1/tokens", "POST", body={"username": username, "password": PASSWORD})
    if answer.status != 201:
        raise SystemExit(f"POST /api/v1/tokens as {username} answered {answer.status}: {answer.body[:300]}")
    return json.loads(answer.body)["token"]


# ---- the pages ---------------------------------------------------------------------------------------

def pages(facts):
    """Every page each role opens, with realistic parameters."""
    busy, typ = facts["busiest"], facts["typical"]
    busy_open = next((i for i in busy["inspections"] if i["status"] == "open"), busy["inspections"][-1])
    busy_closed = busy["inspections"][0]
    typ_one = typ["inspections"][-1]
    name_part = typ["name"].removesuffix("有限公司")[-8:]  # what someone types: 测试企业123456
    prefix = typ["usci"][:12]
    search = lambda q: urlencode({"q": q})  # noqa: E731
    common, words = typ["name"][2:4], f"{typ['name'][:2]} {typ['name'][2:4]}"  # 测试; 规模 测试
    anonymous = [
        Page("anonymous", "", "/", "session", 200),
        Page("anonymous", "", "/login", "session", 200),
        Page("anonymous", "", "/activate", "session", 200),
        Page("anonymous", "typical", f"/q/{typ['qr_token']}", "session", 200),
        Page("anonymous", "", "/healthz", "session", 200),
        *static("anonymous", "style.css"),
        Page("anonymous", "", "/api/v1/openapi.json", "session", 200),
        Page("anonymous", "", "/language/en?next=/", "session", 302),
    ]
    inspector = [
        Page("inspector", "", "/inspector/", "session", 200),
        Page("inspector", "busiest", f"/q/{busy['qr_token']}", "session", 200),
        Page("inspector", "typical", f"/q/{typ['qr_token']}", "session", 200),
        Page("inspector", "typical", f"/inspector/manual/{typ['usci']}", "session", 200),
        Page("inspector", "busiest", f"/inspector/manual/{busy['usci']}", "session", 200),
        Page("inspector", "name part", f"/inspector/search?{search(name_part)}", "session", 200),
        Page("inspector", "USCI prefix", f"/inspector/search?{search(prefix)}", "session", 200),
        # two characters in every name (测试 is in all four million here), then three, then four of one name
        *(Page("inspector", f"{len(q)} characters", f"/inspector/search?{search(q)}", "session", 200)
          for q in (common, name_part[:3], name_part[:4])),
        # two words with a space between them, as people type them: each in every name here, so the worst case
        Page("inspector", "two words", f"/inspector/search?{search(words)}", "session", 200),
        Page("inspector", "", "/inspector/scan", "session", 200),
        *static("inspector", "scanner.js", "pickers.js", *sorted(f.name for f in (ROOT / "static" / "vendor").glob("*.js"))),
        Page("inspector", "open", f"/inspector/inspections/{busy_open['id']}", "session", 200),
        # the start form's pickers, as the inspector types a colleague's name or an item's (newer versions only)
        Page("inspector", "colleague", f"/inspector/find/inspectors?{search(facts['colleague_name'][:-1])}",
             "session", 200),
        Page("inspector", "item", f"/inspector/find/items?{search(facts['item_name'][:-1])}&"
             f"{urlencode({'agencies': facts['agency']})}", "session", 200),
        Page("inspector", "busiest", f"/api/v1/scan/{busy['qr_token']}", "bearer", 200),
        Page("inspector", "typical", f"/api/v1/scan/{typ['qr_token']}", "bearer", 200),
        Page("inspector", "", f"/api/v1/inspections/{busy_open['id']}", "bearer", 200),
    ]
    firm = []
    for case, found, one in (("busiest", busy, busy_closed), ("typical", typ, typ_one)):
        firm += [
            Page(f"firm:{case}", "", "/firm/", "session", 200),
            Page(f"firm:{case}", "", "/firm/inbox", "session", 200),
            Page(f"firm:{case}", "", "/firm/complaints", "session", 200),
            Page(f"firm:{case}", "", f"/firm/inspections/{one['id']}", "session", 200),
            Page(f"firm:{case}", "", f"/firm/confirm/{one['id']}?code={one['confirm_code']}", "session", 200),
            Page(f"firm:{case}", "", "/firm/records.csv", "session", 200),
            Page(f"firm:{case}", "own code", f"/q/{found['qr_token']}", "session", 302),
            Page(f"firm:{case}", "", f"/admin/enterprises/{found['id']}/poster", "session", 200),
            Page(f"firm:{case}", "", "/api/v1/firm/inspections", "bearer", 200),
            Page(f"firm:{case}", "", "/api/v1/complaints", "bearer", 200),
        ]
    office = [
        Page("supervisor", "", "/supervisor/", "session", 200),
        Page("supervisor", "", "/supervisor/complaints", "session", 200),
        Page("supervisor", "", f"/supervisor/complaints/{facts['complaint']}", "session", 200),
        Page("supervisor", "name part", f"/supervisor/enterprises?{search(name_part)}", "session", 200),
        Page("supervisor", "busiest", f"/supervisor/enterprises/{busy['id']}", "session", 200),
        Page("supervisor", "", f"/supervisor/inspections/{busy_closed['id']}", "session", 200),
        Page("supervisor", "", "/supervisor/ratings", "session", 200),
        Page("supervisor", "", "/supervisor/inspections.csv", "session", 200),
        Page("supervisor", "this month", f"/supervisor/inspections.csv?year={facts['year']}&month={facts['month']}",
             "session", 200),
        Page("supervisor", "", "/api/v1/stats", "bearer", 200),
        Page("supervisor", "2 characters", f"/supervisor/enterprises?{search(common)}", "session", 200),
        Page("supervisor", "two words", f"/supervisor/enterprises?{search(words)}", "session", 200),
        Page("supervisor", "", "/api/v1/journal/verify", "bearer", 200),
        Page("admin", "", "/admin/", "session", 200),
        Page("admin", "USCI", f"/admin/?{search(typ['usci'])}", "session", 200),
        Page("admin", "", "/admin/agencies", "session", 200),
        Page("admin", "", "/admin/users", "session", 200),
        Page("admin", "", "/admin/rules", "session", 200),
        Page("admin", "", "/admin/enterprises/import", "session", 200),
        Page("admin", "busiest", f"/admin/enterprises/{busy['id']}/poster", "session", 200),
        Page("admin", "busiest", f"/admin/enterprises/{busy['id']}/qr.svg", "session", 200),
        Page("admin", "busiest", f"/admin/enterprises/{busy['id']}/qr.png", "session", 200),
    ]
    if facts["complaint"] is None:
        office = [p for p in office if "/supervisor/complaints/" not in p.path]
    return anonymous + inspector + firm + office + planning(facts) + supervision(facts) + documents(facts)


def planning(facts):
    """The pages of tasks before the door, in versions that have them."""
    if facts.get("task") is None:
        return []
    task, draw, busy = facts["task"], facts["draw"], facts["busiest"]
    return [
        Page("inspector", "", "/tasks/", "session", 200),
        Page("inspector", "", "/tasks/new", "session", 200),
        Page("inspector", "name part", f"/tasks/new?{urlencode({'q': facts['typical']['name'][-8:]})}", "session", 200),
        Page("inspector", "busiest", f"/tasks/new?usci={busy['usci']}", "session", 200),
        Page("inspector", "", f"/tasks/{task}", "session", 200),
        Page("inspector", "", "/api/v1/tasks", "bearer", 200),
        Page("inspector", "", "/api/v1/tasks/matches", "bearer", 200),
        Page("head", "", "/tasks/", "session", 200),
        Page("head", "", "/tasks/?status=approved", "session", 200),
        Page("head", "", f"/tasks/{task}", "session", 200),
        Page("head", "", "/api/v1/tasks?status=submitted", "bearer", 200),
        Page("firm:busiest", "", "/firm/notices", "session", 200),
        Page("firm:busiest", "", f"/firm/notices/{task}", "session", 200),
        Page("firm:busiest", "", "/api/v1/firm/notices", "bearer", 200),
        Page("anonymous", "", f"/draws/{draw}", "session", 200),
        Page("anonymous", "", f"/api/v1/draws/{draw}", "session", 200),
    ]


def supervision(facts):
    """The supervisor's numbers narrowed by filters, the warnings, the records behind a number, the annual report,
    the exports and the follow-ups (SPEC §11), in versions that have them."""
    if facts.get("followup") is None:
        return []
    year, month, followup, segment = facts["year"], facts["month"], facts["followup"], facts["segment"]
    agency = urlencode({"agency": facts["agency"]})
    return [
        Page("supervisor", "agency", f"/supervisor/?{agency}", "session", 200),
        Page("supervisor", "district", f"/supervisor/?{urlencode({'district': segment['district']})}", "session", 200),
        Page("supervisor", "industry", f"/supervisor/?{urlencode({'industry': segment['industry']})}", "session", 200),
        Page("supervisor", "risk level", "/supervisor/?risk_level=A", "session", 200),
        Page("supervisor", "last year", f"/supervisor/?year={year - 1}", "session", 200),
        Page("supervisor", "", "/supervisor/report", "session", 200),
        Page("supervisor", "year", "/supervisor/records", "session", 200),
        Page("supervisor", "late, agency", f"/supervisor/records?show=late&{agency}", "session", 200),
        Page("supervisor", "joint, month", f"/supervisor/records?show=joint&month={month}", "session", 200),
        Page("supervisor", "", "/supervisor/warnings/", "session", 200),
        Page("supervisor", "one kind", "/supervisor/warnings/?kind=frequent", "session", 200),
        Page("supervisor", "", "/api/v1/warnings", "bearer", 200),
        Page("supervisor", "", "/supervisor/stats.csv", "session", 200),
        Page("supervisor", "", "/supervisor/stats.xlsx", "session", 200),
        Page("supervisor", "", "/supervisor/warnings.csv", "session", 200),
        Page("supervisor", "this month", f"/supervisor/inspections.xlsx?year={year}&month={month}", "session", 200),
        Page("supervisor", "", "/followups/", "session", 200),
        Page("supervisor", "", f"/followups/{followup}", "session", 200),
        Page("supervisor", "a warning", f"/followups/new?{urlencode({'warning': facts['warning']})}", "session", 200),
        Page("supervisor", "", "/api/v1/followups", "bearer", 200),
        Page("supervisor", "", f"/api/v1/followups/{followup}", "bearer", 200),
        Page("head", "", "/followups/", "session", 200),
        Page("head", "", f"/followups/{followup}", "session", 200),
        Page("head", "", "/api/v1/followups", "bearer", 200),
    ]


def documents(facts):
    """The official documents of an inspection (SPEC §10) as the inspector, the firm and the supervisor open them,
    and its photo, in versions that have them (PDFs are downloads: judged as exports)."""
    if facts.get("photo") is None:
        return []
    opened = next(i for i in facts["busiest"]["inspections"] if i["status"] == "open")["id"]
    closed, photo = facts["busiest"]["inspections"][0]["id"], facts["photo"]
    found = [Page("inspector", "open", f"/inspections/{opened}/photos/{photo}", "session", 200),
             Page("inspector", "open", f"/api/v1/inspections/{opened}/photos/{photo}", "bearer", 200)]
    for role, shown in (("inspector", opened), ("firm:busiest", closed), ("supervisor", closed)):
        found += [Page(role, "", f"/inspections/{inspection_id}/{name}", "session", 200)  # a result needs a close
                  for name in ("record", "result", "record.pdf", "result.pdf")
                  for inspection_id in [closed if name.startswith("result") else shown]]
    return found


def static(role, *names):
    """Pages for the static files (of these names, in static/ or static/vendor/) this version of the app has."""
    found = []
    for name in names:
        for folder in ("", "vendor/"):
            if (ROOT / "static" / folder / name).is_file():
                found.append(Page(role, "", f"/static/{folder}{name}", "session", 200))
                break
    return found


def url_map(database, base_url):
    """The app's URL map (an app created in-process only to read it), or None when that fails."""
    try:
        from app import create_app

        return create_app({"LOGBOOK_DATABASE": str(database), "LOGBOOK_SECRET_KEY": "bench-pages",
                           "LOGBOOK_BASE_URL": base_url}).url_map
    except Exception as e:  # noqa: BLE001
        print(f"warning: could not read the app's URL map: {type(e).__name__}: {e}")
        return None


def route_of(urls, path):
    """(rule pattern, endpoint) of a path, or None when this version of the app has no such page."""
    if urls is None:
        return path.split("?")[0], None
    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import RequestRedirect

    try:
        rule, values = urls.bind("127.0.0.1").match(path.split("?")[0], method="GET", return_rule=True)
    except RequestRedirect:
        return path.split("?")[0], None
    except HTTPException:
        return None
    # ids and tokens stay placeholders; a file name or a choice (qr.svg, qr.png) is shown as requested
    pattern = re.sub(r"<(path|any)[^:>]*:(\w+)>", lambda m: str(values[m.group(2)]), rule.rule)
    return pattern, rule.endpoint


def unrequested(urls, endpoints):
    """GET endpoints of the app that no page of this benchmark requests."""
    if urls is None:
        return []
    return sorted({r.endpoint for r in urls.iter_rules() if "GET" in r.methods} - set(endpoints))


# ---- measuring -------------------------------------------------------------------------------------

def measure(server, page, auth, repeat, timeout, counter):
    """Warm the page up once, then request it up to `repeat` times (at least once, stopping after PAGE_SECONDS);
    returns (last answer or error text, server times in ms)."""
    headers, cookies = {}, None
    if page.auth == "bearer":
        headers["Authorization"] = f"Bearer {auth['bearer']}"
    else:
        cookies = auth["cookies"]
    spent, marks, answer = 0.0, [], None
    for n in range(repeat + 1):  # the first is the warm-up
        if n > 1 and spent >= PAGE_SECONDS:
            break
        mark = f"p{next(counter)}"
        if n > 0:
            marks.append(mark)
        started = time.perf_counter()
        try:
            answer = fetch(server.port, page.path, cookies=cookies, headers=headers | {"X-Bench-Id": mark},
                           timeout=timeout)
        except (OSError, http.client.HTTPException) as e:
            answer = type(e).__name__  # no (complete) answer: e.g. IncompleteRead from a killed worker
        spent += time.perf_counter() - started
    times = server.server_times(marks) if marks else []
    return answer, times


def budget(page, pattern, ctype):
    """(budget text, ms limit or None, byte limit or None) of a page for its role."""
    role = page.role.split(":")[0]
    # downloads, and the firm's API answer, which SPEC §5 makes every inspection of the year (for the firm's programs)
    if pattern.endswith((".csv", ".xlsx", ".pdf")) or ".csv?" in pattern or pattern.startswith("/api/v1/firm/inspections"):
        return "export", None, None
    if "/search?" in page.path or "/enterprises?" in page.path:  # any name search: as fast as a field page
        return f"{FIELD_BUDGET[0]} ms", FIELD_BUDGET[0], None
    if role in ("supervisor", "admin", "head"):
        return f"{OFFICE_BUDGET} ms", OFFICE_BUDGET, None
    ms, size = FIELD_BUDGET
    if "html" in ctype or "json" in ctype:
        return f"{ms} ms, {size // 1024} KB", ms, size
    return f"{ms} ms", ms, None


def verdict(page, result):
    """ok, OVER (time, size), FAIL (an unexpected status or no answer), or export."""
    text, ms, size = budget(page, result.pattern, result.ctype)
    if result.killed:
        return text, f"FAIL ({result.killed} worker timeout{'s' if result.killed > 1 else ''})"
    if result.status != page.expect:
        return text, f"FAIL ({result.status})"
    if text == "export":
        return text, "export"
    times = [t for t in result.times if t is not None]
    over = []
    if ms is not None and times and statistics.median(times) > ms:
        over.append("time")
    if size is not None and result.size > size:
        over.append("size")
    return text, "OVER " + "+".join(over) if over else "ok"


def run(server, facts, repeat, timeout, urls, only=None):
    """Log every role in and measure every page; returns the Results and the endpoints requested."""
    port = server.port
    auth = {"anonymous": {"cookies": {}, "bearer": None},
            "inspector": {"cookies": login(port, INSPECTOR), "bearer": bearer(port, INSPECTOR)},
            "supervisor": {"cookies": login(port, SUPERVISOR), "bearer": bearer(port, SUPERVISOR)},
            "admin": {"cookies": login(port, ADMIN), "bearer": None}}
    for case, name in FIRM_USERS.items():
        auth[f"firm:{case}"] = {"cookies": login(port, name), "bearer": bearer(port, name)}
    if facts.get("task") is not None or facts.get("followup") is not None:
        auth["head"] = {"cookies": login(port, HEAD), "bearer": bearer(port, HEAD)}
    results, requested, missing = [], [], []
    killed = server.timeouts()
    counter = iter(range(1, 10**9))
    for page in pages(facts):
        if only and not re.search(only, page.path) and page.path != "/healthz":  # hello-world stays: the ratio base
            continue
        route = route_of(urls, page.path)
        if route is None:
            missing.append(page.path.split("?")[0])
            continue
        pattern, endpoint = route
        requested.append(endpoint)
        answer, times = measure(server, page, auth[page.role], repeat, timeout, counter)
        killed, before = server.timeouts(), killed
        if isinstance(answer, str):
            result = Result(page, pattern, endpoint, answer, 0, "", times, killed - before)
        else:
            result = Result(page, pattern, endpoint, answer.status, answer.size, answer.ctype, times, killed - before)
        results.append(result)
        known = [t for t in times if t is not None]
        print(f"  {label(result):58} {role_text(page):14} {result.status!s:>4} {result.size:>10,} B  "
              + (f"median {statistics.median(known):9.1f} ms  max {max(known):9.1f} ms  (n={len(known)})"
                 if known else "no server time"), file=sys.stderr, flush=True)
    if missing:
        print(f"note: this version of the app has no {', '.join(missing)}: not requested")
    return results, requested


# ---- the report ------------------------------------------------------------------------------------

def label(result, markdown=False):
    """The page as the table shows it: its URL pattern (in backticks for Markdown, where <token> would be a tag),
    and which case when one page is measured twice."""
    query = result.page.path.split("?", 1)[1] if "?" in result.page.path else ""
    shown = result.pattern + (f"?{query.split('=')[0]}=…" if query else "")
    if markdown:
        shown = f"`{shown}`"
    return f"{shown} ({result.page.note})" if result.page.note else shown


def role_text(page):
    """firm:busiest → firm (busiest)."""
    role, _, case = page.role.partition(":")
    return f"{role} ({case})" if case else role


def table(results, markdown):
    """The result table, plain or Markdown."""
    head = ("page", "role", "status", "bytes", "median ms", "max ms", "n", "× hello", "budget", "verdict")
    hello = next((statistics.median(t) for r in results if r.page.path == "/healthz"
                  and (t := [x for x in r.times if x is not None])), None)  # the ratio base, measured in the same run
    rows = []
    for r in results:
        known = [t for t in r.times if t is not None]
        text, judged = verdict(r.page, r)
        rows.append((label(r, markdown), role_text(r.page), str(r.status) if isinstance(r.status, int) else "-", f"{r.size:,}",
                     f"{statistics.median(known):.1f}" if known else "-", f"{max(known):.1f}" if known else "-",
                     str(len(known)), f"{statistics.median(known) / hello:,.0f}" if known and hello else "-", text,
                     judged))
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if i in (2, 3, 4, 5, 6, 7) else "---"
                                                               for i in range(len(head))) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows + [head]) for i in range(len(head))]
    right = {2, 3, 4, 5, 6, 7}

    def line(row):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
    return "\n".join([line(head), line(tuple("-" * w for w in widths))] + [line(row) for row in rows])


def summary(results):
    """One line: how many pages are within budget, over it, failing, or exports."""
    verdicts = [verdict(r.page, r)[1].split()[0] for r in results]
    return ", ".join(f"{verdicts.count(v)} {v}" for v in ("ok", "OVER", "FAIL", "export") if verdicts.count(v))


def machine():
    """One line describing where the numbers come from."""
    gunicorn = subprocess.run([str(Path(sys.executable).parent / "gunicorn"), "--version"], capture_output=True,
                              text=True).stdout.strip()
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (f"{datetime.now(UTC):%Y-%m-%d}, {platform.system()} {platform.release()}, {os.cpu_count()} cores{load}, "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {gunicorn}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="database file: reused when it exists, else generated there and kept "
                                           "(default: a temporary file, deleted afterwards)")
    parser.add_argument("--enterprises", type=int, default=4_000_000, help="enterprises to generate (4,000,000)")
    parser.add_argument("--inspections", type=int, default=10_000_000, help="inspections to generate (10,000,000)")
    parser.add_argument("--repeat", type=int, default=10, help="timed requests per page (default 10; fewer once a "
                                                               f"page has used {PAGE_SECONDS} s)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--timeout", type=int, default=30, help="gunicorn worker timeout in seconds (default 30, "
                                                                "as with `make run`); a slower page is killed")
    parser.add_argument("--markdown", action="store_true", help="print the result table as Markdown")
    parser.add_argument("--only", metavar="REGEX", help="request only the pages whose path matches (and /healthz)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: the server is stopped
    started = time.perf_counter()
    print(machine())

    with tempfile.TemporaryDirectory(prefix="logbook-pages-") as tmp:
        tmp = Path(tmp)
        path = Path(args.database) if args.database else tmp / "scale.db"
        if path.exists():
            print(f"reusing {path} ({path.stat().st_size / 1e9:.2f} GB)")
        else:
            build(path, args.enterprises, args.inspections)
        facts = prepare(path)
        print("rows: " + ", ".join(f"{t} {n:,}" for t, n in row_counts(path).items()))
        server = Server(path, args.workers, args.timeout, tmp)
        try:
            server.wait_ready()
            urls = url_map(path, server.base_url)
            print(f"gunicorn -w {args.workers} (sync, timeout {args.timeout} s), up to {args.repeat} timed requests "
                  f"per page after one warm-up; server time from gunicorn's access log\n")
            results, requested = run(server, facts, args.repeat, args.timeout + 30, urls, args.only)
        finally:
            server.stop()
        log = server.log_tail(100_000)
    print()
    print(table(results, args.markdown))
    print(f"\n{summary(results)}; budgets: inspector, firm and anonymous {FIELD_BUDGET[0]} ms and "
          f"{FIELD_BUDGET[1]:,} bytes of HTML or JSON; supervisor and admin {OFFICE_BUDGET} ms; exports not judged")
    left = unrequested(urls, requested) if not args.only else []
    if left:
        print(f"warning: GET endpoints this benchmark does not request: {', '.join(left)}")
    problems = [m for m in ("Traceback", "WORKER TIMEOUT", "database is locked") if m in log]
    if problems:
        print(f"warning: gunicorn's log has {', '.join(problems)}; its end:\n{log[-4000:]}")
    print(f"run took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted (the server is stopped)", file=sys.stderr)
        sys.exit(130)
