"""Every page, asked by every role on a city-sized database, reads the big tables only through an index, and only
as much of them as the page shows.

The module generates one database with bench/scale.py (100,000 inspections over three years, 40,000 enterprises,
40 agencies x 500 = 20,000 inspectors, 900 items), gives it the people and records the pages need, then requests
each GET page of every blueprint (PAGES) as each role (ROLES) with every SQLite connection traced. Each statement a
request runs is explained (EXPLAIN QUERY PLAN on a connection of its own), and the test fails, listing them all at
once, if any of them reads `inspections`, `enterprises` or `users` in full: a SCAN of one of them (SCAN ... USING
[COVERING] INDEX included: an index walked from end to end is still every row), or an automatic index built on one
(SQLite reads the whole table to build it). A scan of a small table (agencies, items, rules, sessions ...) is fine.

A plan can say SEARCH and still read a third of a table (`inspections_started (started_at>? AND started_at<?)` for a
year, or a count over every row of an enterprise's index range), so the test also meters the work itself: every
connection gets a progress handler that SQLite calls every TICK virtual-machine instructions, and each request's
ticks must stay within its role's budget (budget()), a bound that separates "work in proportion to what the page
shows" from "work in proportion to a table" (the exports of EXPORTS, which read a year or the whole journal by
design, excepted).
The meter does not depend on the plan, nor on statistics: the database is ANALYZEd by the generator before the
complaints and evaluations are added, and deliberately not after, as a live database's statistics lag its data.
It also proves that no page answers 500, that the inspector's scan page stays under 100 KB with 20,000 colleagues
in the directory, and that no GET endpoint of the app has been left out of PAGES.
"""

import importlib.util
import io
import re
import sqlite3
from collections import Counter, namedtuple
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import PASSWORD, add_user, close, login, start, token_for
from PIL import Image
from werkzeug.exceptions import HTTPException
from werkzeug.security import generate_password_hash

from app import create_app
from logbook import accounts, db, draws, enterprises, feedback, followups, photos, tasks

ROOT = Path(__file__).resolve().parent.parent
ENTERPRISES = 40_000
INSPECTIONS = 100_000
# The generator gives 5% of the inspections to its "hot" enterprises: 1,000 of them get about 170 a year each at
# full scale (10 million), but about 2 a year here. Five hot enterprises get about 330 a year each, like the gas
# company of SPEC §1 (326 in one year), so the busiest firm's pages show what a firm's year costs.
HOT_ENTERPRISES = 5
BIG_TABLES = ("inspections", "enterprises", "users")
SCAN_PAGE_LIMIT = 100_000  # bytes of HTML; a phone on a weak network in a basement still opens the scan page
TICK = 1_000  # virtual-machine instructions per call of the progress handler
# Ticks one request may take. When it was chosen (instructions, not time: the same on any machine for the same code,
# data and SQLite), a page bounded by what it shows took 0-22 (the busiest firm's paged records 20, of which its
# unread count and quota meter take 13; /admin/agencies listing all 900 items 22), a whole year of that firm read
# out (330 inspections) 60-70, a year of the city's daily counters 500-800, a year of its inspections 3,000-8,000.
# 40 is about twice the largest bounded page and 1.5 times below the firm's year. The supervisor's and the
# operator's pages may read summaries that grow with the calendar (a year of daily counters), never with the
# inspections: as the time budgets (50 ms at the door and for firms, 300 ms for them), a bigger budget.
WORK_BUDGET = 40
WORK_BUDGETS = {"supervisor": 2_000, "admin": 2_000}


def budget(role):
    """The ticks one request of this role may take."""
    return WORK_BUDGETS.get(role, WORK_BUDGET)

# The people who request every page; None is the anonymous visitor. Generated inspector i1 (agency A01) has a
# history; the firm users belong to this year's busiest enterprise and to a typical one.
ROLES = {"anonymous": None, "inspector": "i1", "firm (busiest)": "firm-busiest", "firm (typical)": "firm-typical",
         "head": "head-a01", "supervisor": "supervisor", "admin": "admin"}

# Every GET page, formatted with the facts of the `world` fixture; each is requested as every role.
PAGES = [
    # auth
    "/", "/login", "/activate", "/healthz", "/language/zh?next=/",
    # public: the URL in every QR code
    "/q/{busiest_token}", "/q/{typical_token}",
    # inspector
    "/inspector/", "/inspector/scan", "/inspector/search?q={name_part}", "/inspector/search?q={usci_prefix}",
    "/inspector/manual/{busiest_usci}", "/inspector/manual/{typical_usci}",
    "/inspector/find/inspectors?q=检查员12", "/inspector/find/inspectors?q=C-12",
    "/inspector/find/items?q=检查事项&agencies=A02",
    "/inspector/inspections/{open_id}", "/inspector/inspections/{closed_id}",
    # an inspection's documents and photos, for whoever may see it
    "/inspections/{closed_id}/record", "/inspections/{closed_id}/record.pdf", "/inspections/{closed_id}/result",
    "/inspections/{closed_id}/result.pdf", "/inspections/{open_id}/record", "/inspections/{open_id}/photos/{photo_id}",
    # firm
    "/firm/", "/firm/?year={last_year}", "/firm/inspections/{closed_id}", "/firm/inspections/{typical_inspection_id}",
    "/firm/confirm/{open_id}?code=000000", "/firm/confirm/{typical_inspection_id}?code=000000",
    "/firm/complaints", "/firm/complaints?inspection={closed_id}", "/firm/inbox",
    "/firm/records.csv", "/firm/records.csv?year={last_year}", "/firm/notices", "/firm/notices/{task_id}",
    # tasks (inspectors plan them, heads approve them) and the public draws
    "/tasks/", "/tasks/?status=approved", "/tasks/?status=all", "/tasks/new", "/tasks/new?q={name_part}",
    "/tasks/new?usci={busiest_usci}", "/tasks/{task_id}", "/draws/{draw_id}",
    # supervisor
    "/supervisor/", "/supervisor/?year={last_year}", "/supervisor/complaints", "/supervisor/complaints?page=2",
    "/supervisor/complaints?status=open&page=2", "/supervisor/complaints/{complaint_id}",
    "/supervisor/ratings", "/supervisor/ratings?page=2",
    "/supervisor/enterprises?q={name_part}", "/supervisor/enterprises?q={usci_prefix}",
    "/supervisor/enterprises/{busiest_id}", "/supervisor/enterprises/{typical_id}?year={last_year}",
    "/supervisor/inspections/{closed_id}", "/supervisor/inspections/{typical_inspection_id}",
    "/supervisor/inspections.csv", "/supervisor/inspections.csv?year={last_year}&month=6",
    # the dashboard's filters, its records and report, warnings, follow-ups (督办) and exports (SPEC §11)
    "/supervisor/?agency=A01", "/supervisor/?industry=制造业&risk_level=B", "/supervisor/?district=430200",
    "/supervisor/report", "/supervisor/report?year={last_year}",
    "/supervisor/records", "/supervisor/records?year={last_year}&agency=A01&show=exempt",
    "/supervisor/records?year={last_year}&month=6&show=counted", "/supervisor/records?year={last_year}&show=joint",
    "/supervisor/records?year={last_year}&show=voided&before={last_year}-12-20T00:00:00Z,99999999",
    "/supervisor/records?show=late", "/supervisor/records?show=manual&agency=A01",
    "/supervisor/warnings/", "/supervisor/warnings/?year={last_year}", "/supervisor/warnings/?dismissed=1",
    "/supervisor/warnings/?kind=frequent", "/followups/", "/followups/?status=open", "/followups/?before={followup_id}",
    "/followups/new", "/followups/new?complaint={complaint_id}", "/followups/new?warning={warning_key}",
    "/followups/{followup_id}",
    "/supervisor/inspections.xlsx", "/supervisor/inspections.xlsx?year={last_year}&month=6",
    "/supervisor/inspections.xlsx?from={last_year}-06-01&to={last_year}-06-10",
    "/supervisor/stats.csv", "/supervisor/stats.xlsx?agency=A01&risk_level=B", "/supervisor/warnings.csv",
    "/supervisor/warnings.xlsx",
    # admin (the poster and QR codes are the firm's too)
    "/admin/", "/admin/?q={name_part}", "/admin/?q={usci_prefix}", "/admin/enterprises/import",
    "/admin/enterprises/{busiest_id}/poster", "/admin/enterprises/{busiest_id}/qr.svg",
    "/admin/enterprises/{busiest_id}/qr.png", "/admin/agencies", "/admin/users", "/admin/rules",
    # JSON API (with the role's bearer token)
    "/api/v1/openapi.json", "/api/v1/scan/{busiest_token}", "/api/v1/scan/{typical_token}",
    "/api/v1/inspections/{closed_id}", "/api/v1/inspections/{open_id}", "/api/v1/inspections/{open_id}/photos/{photo_id}",
    "/api/v1/firm/inspections", "/api/v1/firm/inspections?year={last_year}", "/api/v1/complaints",
    "/api/v1/stats", "/api/v1/stats?year={last_year}", "/api/v1/firm/notices", "/api/v1/tasks",
    "/api/v1/tasks?status=submitted", "/api/v1/tasks/matches", "/api/v1/draws/{draw_id}",
    "/api/v1/stats?district=430200", "/api/v1/stats?agency=A01&industry=制造业", "/api/v1/warnings",
    "/api/v1/warnings?year={last_year}&dismissed=true", "/api/v1/followups", "/api/v1/followups?status=open",
    "/api/v1/followups/{followup_id}",
    # the first check ever reads the whole journal; the next carries it on over the entries written since
    "/api/v1/journal/verify", "/api/v1/journal/verify?again=1",
]

# The inspector's scan page, reached by scanning and by manual entry, for the busiest and a typical firm.
SCAN_PAGES = ["/q/{busiest_token}", "/q/{typical_token}", "/inspector/manual/{busiest_usci}",
              "/inspector/manual/{typical_usci}"]

# Pages whose work is in proportion to a year or to the whole journal by design, left out of the WORK_BUDGET (their
# queries must still use indexes): what they answer is the bulk itself, downloaded or checked once in a while.
EXPORTS = {
    "/firm/records.csv": "the firm's whole year of inspections as CSV (the busiest firm: hundreds of rows)",
    "/firm/records.csv?year={last_year}": "the same for last year",
    "/supervisor/inspections.csv": "every inspection of the year in the city as CSV: a third of the table",
    "/supervisor/inspections.csv?year={last_year}&month=6": "the same for one month",
    "/api/v1/journal/verify": "the first check ever rehashes the whole journal and reads every journaled inspection",
    "/api/v1/firm/inspections": "SPEC §5: every inspection of the firm's year, for the firm's own programs",
    "/api/v1/firm/inspections?year={last_year}": "the same for last year",
    "/supervisor/inspections.xlsx": "the year's inspections as XLSX, in parts of at most 30,000 rows",
    "/supervisor/inspections.xlsx?year={last_year}&month=6": "the same for one month",
    "/supervisor/inspections.xlsx?from={last_year}-06-01&to={last_year}-06-10": "the same for ten days",
}

# GET endpoints PAGES need not request, and why.
NOT_REQUESTED = {
    "static": "serves files from static/ and never opens the database",
}

# Pages that answer a redirect to everyone by design, so no role gets a 200 from them.
REDIRECTS = {"/language/zh?next=/"}

World = namedtuple("World", "app facts")
Visit = namedtuple("Visit", "role page path status size statements ticks work")


def load_scale():
    """bench/scale.py as a module (bench is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def set_password(store, username):
    """Give a generated user (whose hash is a placeholder) the tests' PASSWORD."""
    with db.immediate(store):
        store.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                      [generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"), username])


def busiest_and_typical(store, now):
    """The enterprise inspected most in the last twelve months, and a typical one (one to three inspections)."""
    since, until = db.now_text(now - timedelta(days=365)), db.now_text(now)
    busiest = db.value(store, """SELECT enterprise_id FROM inspections WHERE started_at >= ? AND started_at < ?
                                 GROUP BY enterprise_id ORDER BY count(*) DESC LIMIT 1""", [since, until])
    typical = db.value(store, """SELECT enterprise_id FROM inspections WHERE started_at >= ? AND started_at < ?
                                 AND enterprise_id > ? GROUP BY enterprise_id HAVING count(*) BETWEEN 1 AND 3
                                 LIMIT 1""", [since, until, ENTERPRISES // 3])
    return enterprises.by_id(store, busiest), enterprises.by_id(store, typical)


def populate(store, tz, photo_store):
    """The people and records the pages show; returns the facts PAGES are formatted with.

    i1 gets a password; firm users for the busiest and a typical enterprise, a supervisor and an admin are added;
    i1 records exempt inspections (the busiest firm is over its cap) at both firms, closes one with a deadline
    in two days (the inbox's reminder); the busiest firm rates 60 closed inspections and files 60 complaints,
    so the supervisor's pagers have a second page. The open inspection has a photo, the closed one the firm's
    statement.
    """
    now = datetime.now(UTC)
    busiest, typical = busiest_and_typical(store, now)
    set_password(store, "i1")
    add_user(store, "firm-busiest", "firm", usci_code=busiest["usci"])
    add_user(store, "firm-typical", "firm", usci_code=typical["usci"])
    add_user(store, "supervisor", "supervisor")
    add_user(store, "admin", "admin")
    exempt = {"by": "i1", "others": ("i2",), "items": ("A01-001",), "kind": "complaint", "reference": "投诉-2026-0042"}
    open_id = start(store, busiest, **exempt)
    closed_id = start(store, busiest, **exempt)
    close(store, closed_id, "rectify", "消防通道堵塞", (now.astimezone(tz) + timedelta(days=2)).date(), by="i1")
    typical_inspection_id = start(store, typical, **exempt)
    firm = accounts.user_by_username(store, "firm-busiest")
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 120, 150)).save(out, "JPEG")
    photo_id = photos.add_photo(store, photo_store, open_id, accounts.user_by_username(store, "i1"), out.getvalue(),
                                None, now)["id"]
    feedback.make_statement(store, closed_id, firm, "已整改，申请复查", now)
    warning_key = f"w{db.value(store, 'SELECT id FROM warnings ORDER BY id LIMIT 1')}"  # the busiest firm, twice today
    feedback.evaluate(store, closed_id, firm, 2, "检查时间过长", now)
    complaint_id = feedback.file_complaint(store, firm, "too_frequent", "一年被检查太多次", closed_id, now)
    history = db.rows(store, "SELECT id FROM inspections WHERE enterprise_id = ? AND status = 'closed' "
                             "AND id != ? ORDER BY id LIMIT 60", [busiest["id"], closed_id])
    for n, past in enumerate(history):
        feedback.evaluate(store, past["id"], firm, 1 + n % 5, None, now)
        feedback.file_complaint(store, firm, "other", f"第{n}条意见", None, now)
    task_id, draw_id = plan(store, busiest, now, tz)
    today = now.astimezone(tz).date()
    followup_id = followups.create_followup(store, accounts.user_by_username(store, "supervisor"), "A01", "请说明",
                                            today + timedelta(days=7), today, now, warning_key=warning_key)
    return {"task_id": task_id, "draw_id": draw_id,
            "busiest_id": busiest["id"], "busiest_usci": busiest["usci"], "busiest_token": busiest["qr_token"],
            "typical_id": typical["id"], "typical_usci": typical["usci"], "typical_token": typical["qr_token"],
            "name_part": "规模测试企业123", "usci_prefix": typical["usci"][:12], "last_year": now.astimezone(tz).year - 1,
            "open_id": open_id, "closed_id": closed_id, "typical_inspection_id": typical_inspection_id,
            "complaint_id": complaint_id, "photo_id": photo_id, "warning_key": warning_key,
            "followup_id": followup_id}


def plan(store, busiest, now, tz):
    """Tasks before the door: a head of A01 approves i1's task with notice for the busiest firm, A02's overlapping
    task makes a match, and the head draws five firms at random; returns (task id, draw id)."""
    today = now.astimezone(tz).date()
    add_user(store, "head-a01", "head", agency="A01")
    add_user(store, "head-a02", "head", agency="A02")
    set_password(store, "i501")  # the first inspector of A02
    ids = []
    for inspector, other, item, head in (("i1", "i2", "A01-001", "head-a01"), ("i501", "i502", "A02-001", "head-a02")):
        task_id = tasks.draft_task(store, accounts.user_by_username(store, inspector), tasks.TaskRequest(
            kind="routine", window_start=today + timedelta(days=5), window_end=today + timedelta(days=15),
            usci=busiest["usci"], items=[item], inspectors=[other], notice=True), now, today)
        tasks.approve_task(store, task_id, accounts.user_by_username(store, head), "同意", now, today, 3)
        ids.append(task_id)
    found = draws.draw(store, accounts.user_by_username(store, "head-a01"), 5, now, today, 3, seed="query-plans")
    return ids[0], found


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The app on a generated, migrated and populated database, with the facts PAGES need."""
    path = tmp_path_factory.mktemp("query-plans") / "scale.db"
    scale = load_scale()
    scale.HOT = HOT_ENTERPRISES
    scale.generate(path, ENTERPRISES, INSPECTIONS, seed=1, n_items=900)
    app = create_app({"TESTING": True, "LOGBOOK_DATABASE": str(path), "LOGBOOK_SECRET_KEY": "test-secret",
                      "LOGBOOK_PHOTOS": str(path.parent / "photos"),
                      "LOGBOOK_PASSWORD_HASH": "pbkdf2:sha256:1000", "LOGBOOK_BASE_URL": "https://logbook.example"})
    with app.app_context():
        db.migrate(db.for_thread(str(path)))  # later migrations may add tables and indexes the pages rely on
    db.close_thread_connections()
    store = db.connect(str(path))
    try:
        facts = populate(store, app.config["LOGBOOK_TZ"], app.config["LOGBOOK_PHOTOS"])
    finally:
        store.conn.close()
    yield World(app, facts)
    db.close_thread_connections()


def clients(app):
    """Per role: a test client (logged in through the form unless anonymous) and its bearer header."""
    found = {}
    for role, username in ROLES.items():
        client = app.test_client()
        if username is None:
            found[role] = (client, {})
            continue
        login(client, username)
        found[role] = (client, token_for(client, username))
    return found


class Meter:
    """The statements a request runs (the trace callback) and its work (the progress handler, called once per TICK
    instructions of a statement); each tick is also put down to the statement that started last, which is the one
    running unless the app interleaves cursors."""

    def __init__(self):
        self.statements = []
        self.ticks = 0
        self.work = Counter()  # index in statements -> ticks

    def reset(self):
        self.statements = []
        self.ticks = 0
        self.work = Counter()

    def trace(self, sql):
        self.statements.append(sql)

    def tick(self):
        self.ticks += 1
        self.work[len(self.statements) - 1] += 1
        return 0  # anything else would interrupt the statement


def traced_connect(meter):
    """sqlite3.connect, giving every connection it opens a trace callback and a progress handler that report to
    `meter`.

    It replaces sqlite3.connect itself rather than db.connect, so that a connection some module opened on its own
    would be traced too; the app's per-thread connection is closed first, so the next request reopens it here.
    SQLite counts a statement's instructions across its executions (Python reuses a prepared statement), so a
    query run once per row of a long list adds up to ticks too."""
    real = sqlite3.connect

    def connect(*args, **kwargs):
        opened = real(*args, **kwargs)
        opened.set_trace_callback(meter.trace)
        opened.set_progress_handler(meter.tick, TICK)
        return opened
    return connect


@pytest.fixture(scope="module")
def visits(world):
    """Every page of PAGES requested as every role of ROLES, with the SQL each request ran (bound values expanded)
    and the ticks of its work."""
    app, facts = world
    sessions = clients(app)
    meter = Meter()
    found = []
    db.close_thread_connections()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sqlite3, "connect", traced_connect(meter))
        for role, (client, headers) in sessions.items():
            for page in PAGES:
                path = page.format(**facts)
                meter.reset()
                response = client.get(path, headers=headers)
                body = response.get_data()  # a streamed CSV runs its queries while it is read
                response.close()
                found.append(Visit(role, page, path, response.status_code, len(body), meter.statements, meter.ticks,
                                   meter.work))
    db.close_thread_connections()
    return found


# ---- reading query plans -------------------------------------------------------------------------------

KEYWORDS = {"WHERE", "JOIN", "LEFT", "RIGHT", "FULL", "INNER", "OUTER", "CROSS", "NATURAL", "ON", "USING", "ORDER",
            "GROUP", "LIMIT", "HAVING", "WINDOW", "UNION", "EXCEPT", "INTERSECT", "SET", "VALUES", "SELECT", "INDEXED",
            "NOT", "AS", "DEFAULT", "RETURNING"}
EXPLAINED = ("SELECT", "WITH", "INSERT", "REPLACE", "UPDATE", "DELETE", "VALUES")


def without_literals(sql):
    """The statement with its string literals emptied, so text inside them is never read as SQL."""
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def big_table_names(sql):
    """The names under which the statement reads a big table: the table names, and every alias given to one
    (`FROM inspections i` makes SQLite's plan say `SCAN i`)."""
    names = set(BIG_TABLES)
    tables = "|".join(BIG_TABLES)
    pattern = rf"\b(?:FROM|JOIN|UPDATE|INTO)\s+[\"`\[]?({tables})[\"`\]]?\b(?:\s+(?:AS\s+)?([A-Za-z_]\w*))?"
    for match in re.finditer(pattern, without_literals(sql), re.IGNORECASE):
        if match.group(2) and match.group(2).upper() not in KEYWORDS:
            names.add(match.group(2))
    return names


def explained(sql):
    """True for the statements with a query plan worth reading (not PRAGMA, BEGIN, COMMIT, SAVEPOINT ...)."""
    text = re.sub(r"^(\s|--[^\n]*\n|/\*.*?\*/)*", "", sql, flags=re.DOTALL)
    return text.split(None, 1)[0].upper().rstrip("(") in EXPLAINED if text else False


def query_plan(conn, sql):
    """EXPLAIN QUERY PLAN of a statement as indented lines (a statement SQLite could not expand keeps its `?`s,
    which are then bound to NULL)."""
    try:
        found = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    except sqlite3.ProgrammingError as e:
        needed = int(re.search(r"uses (\d+)", str(e)).group(1))
        found = conn.execute("EXPLAIN QUERY PLAN " + sql, [None] * needed).fetchall()
    depth = {0: -1}
    lines = []
    for node, parent, _, detail in found:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return lines


def full_scans(plan, names):
    """The plan lines that read one of `names` in full: a SCAN, or an automatic index built from every row."""
    scan = re.compile(r"^(?:SCAN (?:TABLE )?(\w+)|SEARCH (?:TABLE )?(\w+) USING AUTOMATIC)")
    found = []
    for line in plan:
        match = scan.match(line.strip())
        if match and (match.group(1) or match.group(2)) in names:
            found.append(line)
    return found


def shape(sql):
    """The statement with its values replaced by ? and long IN lists shortened, for the report."""
    text = re.sub(r"'(?:[^']|'')*'", "?", sql)
    text = re.sub(r"(?<![\w.])-?\d+(?:\.\d+)?\b", "?", text)
    text = re.sub(r"\?(?:\s*,\s*\?){2,}", "?, ?, …", text)
    text = " ".join(text.split())
    return text if len(text) <= 700 else text[:700] + " …"


def plan_of(conn, plans, sql):
    """The query plan of a statement and its lines that read a big table in full, explained once per text."""
    if sql not in plans:
        plan = query_plan(conn, sql)
        plans[sql] = (plan, full_scans(plan, big_table_names(sql)))
    return plans[sql]


def scan_report(visits, conn, plans):
    """Every statement of every visit that reads a big table in full, grouped by page and statement."""
    offending = {}
    for visit in visits:
        for sql in visit.statements:
            if not explained(sql):
                continue
            plan, scans = plan_of(conn, plans, sql)
            if scans:
                entry = offending.setdefault((visit.page, shape(sql)), {"plan": plan, "scans": scans, "who": {}})
                entry["who"].setdefault(visit.role, visit.status)
    lines = []
    for (page, statement), entry in offending.items():
        who = ", ".join(f"{role} {status}" for role, status in entry["who"].items())
        lines += [f"GET {page}  [{who}]", f"    {statement}"]
        lines += [f"      {line}" + ("   <-- reads the whole table" if line in entry["scans"] else "")
                  for line in entry["plan"]]
    return offending, lines


def work_report(visits, conn, plans):
    """The pages (EXPORTS excepted) that did more than WORK_BUDGET ticks for some role, the heaviest first: each
    with every role's status and ticks, then the statements the heaviest request's ticks went to, with their plans."""
    over = {}
    for visit in visits:
        if visit.page not in EXPORTS and visit.ticks > budget(visit.role):
            over.setdefault(visit.page, []).append(visit)
    lines = []
    for page, seen in sorted(over.items(), key=lambda item: -max(v.ticks for v in item[1])):
        who = ", ".join(f"{v.role} {v.status}: {v.ticks:,}" for v in seen)
        lines.append(f"GET {page}  [{who} ticks; budget {budget(seen[0].role):,}]")
        heaviest = max(seen, key=lambda v: v.ticks)
        for index, ticks in heaviest.work.most_common(3):
            if index < 0 or ticks * 10 < heaviest.ticks:
                continue
            sql = heaviest.statements[index]
            lines.append(f"    {ticks:,} ticks ({heaviest.role}): {shape(sql)}")
            if explained(sql):
                lines += [f"      {line}" for line in plan_of(conn, plans, sql)[0]]
    return over, lines


# ---- the tests -------------------------------------------------------------------------------------------

def test_no_page_reads_a_big_table_in_full_or_in_bulk(world, visits):
    """No statement's plan scans a big table, and no request (EXPORTS excepted) works more than WORK_BUDGET ticks."""
    plans = {}
    with closing(sqlite3.connect(world.app.config["LOGBOOK_DATABASE"])) as conn:
        offending, scans = scan_report(visits, conn, plans)
        heavy, work = work_report(visits, conn, plans)
    problems = []
    if offending:
        problems.append(f"{len(offending)} statement(s) read a whole table ({', '.join(BIG_TABLES)}); each as "
                        f"page [role status, ...], statement, query plan:\n" + "\n".join(scans))
    if heavy:
        problems.append(f"{len(heavy)} page(s) did more than their role's budget of ticks ({TICK:,} SQLite instructions) "
                        f"in one request (work in proportion to a table, not to the page, whatever the plan says); "
                        f"each as page [role status: ticks, ...], then the heaviest request's statements (ticks, "
                        f"statement, query plan):\n" + "\n".join(work))
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def test_no_page_answers_500(visits):
    failed = [f"GET {v.path} as {v.role}: {v.status}" for v in visits if v.status >= 500]
    assert not failed, "\n".join(failed)


def test_the_inspectors_scan_page_stays_under_100_kb(visits):
    seen = [v for v in visits if v.role == "inspector" and v.page in SCAN_PAGES]
    assert len(seen) == len(SCAN_PAGES)
    wrong = [f"GET {v.path}: {v.status}, {v.size:,} bytes" for v in seen
             if v.status != 200 or v.size >= SCAN_PAGE_LIMIT]
    assert not wrong, f"the scan page must answer 200 in under {SCAN_PAGE_LIMIT:,} bytes:\n" + "\n".join(wrong)


def test_every_page_opens_for_some_role(visits):
    """Guards the test itself: a page every role is refused would run no query worth checking."""
    opened = {v.page for v in visits if v.status == 200}
    refused = [page for page in PAGES if page not in opened and page not in REDIRECTS]
    assert not refused, "no role got a 200 from these pages (wrong ids or parameters?):\n" + "\n".join(refused)


def test_the_trace_sees_the_requests_statements(visits):
    """Guards the test itself: the app's connections are traced, so the scan page's lookup by token shows up."""
    scan = next(v for v in visits if v.role == "inspector" and v.page == "/q/{busiest_token}")
    assert any("FROM enterprises" in sql and "qr_token" in sql for sql in scan.statements), scan.statements


def test_the_meter_counts_the_requests_work(visits):
    """Guards the test itself: every connection is metered (the supervisor's export of a year of the city's
    inspections counts ten budgets and more), and every page EXPORTS excepts is one of PAGES."""
    export = next(v for v in visits if v.role == "supervisor" and v.page == "/supervisor/inspections.csv")
    assert export.status == 200 and export.ticks > 10 * WORK_BUDGET, export.ticks
    assert set(EXPORTS) <= set(PAGES), set(EXPORTS) - set(PAGES)


@pytest.mark.parametrize("sql, scanned", [
    ("SELECT * FROM inspections i WHERE i.kind = 'visit'", ["i"]),
    ("SELECT count(*) FROM users", ["users"]),  # through its smallest index: still every row
    ("SELECT e.usci FROM enterprises AS e ORDER BY e.name LIMIT 5", ["e"]),  # an index walked in order
    ("SELECT * FROM agencies a WHERE a.code IN (SELECT industry FROM enterprises)", ["enterprises"]),
    ("SELECT * FROM inspections WHERE id = 7", []),
    ("SELECT * FROM enterprises e WHERE e.usci >= '9143' AND e.usci < '9144'", []),
    ("SELECT code FROM agencies", []),
])
def test_the_plan_reader_tells_a_full_scan_from_a_search(world, sql, scanned):
    """Guards the test itself: a walk over a big table or one of its indexes is seen, under its alias too."""
    with closing(sqlite3.connect(world.app.config["LOGBOOK_DATABASE"])) as conn:
        scans = full_scans(query_plan(conn, sql), big_table_names(sql))
    assert [line.split()[1] for line in scans] == scanned, scans


def endpoint_of(urls, path):
    """The endpoint a GET of the path reaches, or None when the app routes it nowhere."""
    try:
        return urls.match(path.split("?")[0], method="GET")[0]
    except HTTPException:
        return None


def test_every_get_endpoint_is_requested(world):
    urls = world.app.url_map.bind("logbook.example")
    requested = {page: endpoint_of(urls, page.format(**world.facts)) for page in PAGES}
    endpoints = {rule.endpoint for rule in world.app.url_map.iter_rules() if "GET" in rule.methods}
    missing = sorted(endpoints - set(requested.values()) - set(NOT_REQUESTED))
    unrouted = [page for page, endpoint in requested.items() if endpoint is None]
    problems = ([f"{endpoint}: a GET endpoint no page of PAGES requests (add one, or a reason to NOT_REQUESTED)"
                 for endpoint in missing] + [f"{page}: no endpoint serves this page of PAGES" for page in unrouted])
    assert not problems, "\n".join(problems)
