"""The database: connections, the schema as sqlite-utils migrations, and the one atomic-write helper.

This is the only module that imports sqlite_utils. Other modules receive a Database and use its
execute(); they never open connections of their own.
"""

import sqlite3
import threading
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("logbook")
_local = threading.local()


def connect(path, synchronous="FULL", any_thread=False):
    """Open a connection with the pragmas every connection needs (WAL is set once, by migrate).

    synchronous=FULL makes every commit durable before the 201 goes out, power loss included; NORMAL is
    faster and loses nothing on a process crash, but may lose the last commits on power loss. any_thread: for a
    connection its owner lets one thread at a time use (the write queue's).
    """
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError("synchronous must be FULL or NORMAL")
    # timeout = busy_timeout: writers queue instead of failing
    conn = sqlite3.connect(path, timeout=10, check_same_thread=not any_thread)
    conn.create_function("name_grams", 1, name_grams, deterministic=True)  # the name index's triggers call it
    db = Database(conn)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute(f"PRAGMA synchronous = {synchronous}")
    # checkpoint every ~40 MB of WAL instead of 4 MB: the pages every scan touches (the tails of the tables,
    # the journal head) are then copied into the database once per thousand scans, not once per eighty
    db.execute("PRAGMA wal_autocheckpoint = 10000")
    return db


def name_grams(name):
    """The runs of two and of three neighbouring characters of a name, as the full-text index of names holds them:
    '株洲机械' -> '株洲 洲机 机械 株洲机 洲机械'. Two characters (the most common Chinese search) are found by their
    pair, longer text by its triples, which are far rarer than pairs; SQLite's own trigram tokenizer cannot find
    two characters."""
    text = "".join(c for c in (name or "").lower() if c.isalnum())  # signs and spaces would split the index's words
    return " ".join([text[i:i + 2] for i in range(len(text) - 1)] + [text[i:i + 3] for i in range(len(text) - 2)]) \
        or text


def for_thread(path, synchronous="FULL"):
    """The long-lived connection of this thread for `path`; opening one per request costs a WAL checkpoint."""
    cache = _local.__dict__.setdefault("databases", {})
    if path not in cache:
        cache[path] = connect(path, synchronous)
    return cache[path]


def close_thread_connections():
    """Close this thread's connections (used by tests and CLI commands that end)."""
    for db in _local.__dict__.pop("databases", {}).values():
        db.conn.close()


def migrate(db):
    """Create or upgrade the schema; safe to run any number of times, never drops data."""
    db.enable_wal()
    migrations.apply(db)


@contextmanager
def immediate(db):
    """One atomic step: BEGIN IMMEDIATE takes the write lock before anything is read.

    sqlite-utils' db.atomic() issues a deferred BEGIN, which under contention lets two writers count
    the same rows (over-admitting) or fails with "database is locked"; IMMEDIATE makes them queue.
    Every writing function of the domain owns its transaction through this helper; slow work (hashing a
    password) happens before it, never inside. A failed COMMIT (disk full, I/O error) rolls back too, so the
    thread's long-lived connection never keeps holding the lock.
    """
    if db.conn.in_transaction:  # inside a transaction already (a caller's, or the writer's batch): a savepoint, so
        db.execute("SAVEPOINT step")  # a step refused halfway leaves nothing behind, as on its own
        try:
            yield db
        except BaseException:
            if db.conn.in_transaction:  # an I/O error may already have ended the whole transaction
                db.execute("ROLLBACK TO step")
                db.execute("RELEASE step")
            raise
        db.execute("RELEASE step")
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.commit()
    except BaseException:
        if db.conn.in_transaction:
            db.rollback()
        raise


def rollback_open(path):
    """Roll back a transaction this thread left open on `path` (a request's teardown: never carry a lock over)."""
    found = _local.__dict__.get("databases", {}).get(path)
    if found is not None and found.conn.in_transaction:
        found.conn.rollback()


def now_text(moment=None):
    """A UTC timestamp as stored: ISO 8601 to the second with a Z, so text order is time order."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    """The aware UTC datetime of a stored timestamp."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def rows(db, sql, params=()):
    """All rows of a query as dicts."""
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def row(db, sql, params=()):
    """The first row of a query as a dict, or None."""
    found = rows(db, sql, params)
    return found[0] if found else None


def value(db, sql, params=()):
    """The first column of the first row, or None."""
    found = db.execute(sql, params).fetchone()
    return found[0] if found else None


def _run(db, statements):
    for statement in statements.split(";\n"):
        if statement.strip():
            db.execute(statement)


@migrations()
def m001_core(db):
    """Agencies, items, enterprises, users, tokens, limit rules, inspections, refusals and the journal."""
    _run(db, """
CREATE TABLE agencies (
  id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE items (
  id INTEGER PRIMARY KEY, agency_id INTEGER NOT NULL REFERENCES agencies(id),
  code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, basis TEXT, active INTEGER NOT NULL DEFAULT 1);
CREATE INDEX items_agency ON items(agency_id);
CREATE TABLE enterprises (
  id INTEGER PRIMARY KEY, usci TEXT NOT NULL UNIQUE, name TEXT NOT NULL, address TEXT, industry TEXT,
  risk_level TEXT CHECK (risk_level IN ('A', 'B', 'C', 'D')), lat REAL, lon REAL,
  qr_token TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
CREATE INDEX enterprises_name ON enterprises(name);
CREATE TABLE replaced_qr_tokens (
  qr_token TEXT PRIMARY KEY, enterprise_id INTEGER NOT NULL REFERENCES enterprises(id),
  replaced_at TEXT NOT NULL);
CREATE TABLE users (
  id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('inspector', 'firm', 'supervisor', 'admin')),
  name TEXT NOT NULL DEFAULT '', agency_id INTEGER REFERENCES agencies(id),
  cert_no TEXT, cert_expires_on TEXT, enterprise_id INTEGER REFERENCES enterprises(id),
  active INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);
CREATE INDEX users_enterprise ON users(enterprise_id);
CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
  token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE login_failures (
  id INTEGER PRIMARY KEY, username TEXT NOT NULL, failed_at TEXT NOT NULL);
CREATE INDEX login_failures_username ON login_failures(username, failed_at);
CREATE TABLE limit_rules (
  id INTEGER PRIMARY KEY, max INTEGER NOT NULL CHECK (max >= 0),
  agency_id INTEGER REFERENCES agencies(id),
  target TEXT NOT NULL DEFAULT 'all' CHECK (target IN ('all', 'risk', 'industry', 'enterprise')),
  target_value TEXT, window TEXT NOT NULL DEFAULT 'year',
  active INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);
CREATE TABLE inspections (
  id INTEGER PRIMARY KEY, enterprise_id INTEGER NOT NULL REFERENCES enterprises(id),
  kind TEXT NOT NULL, counted INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'voided')),
  entry TEXT NOT NULL CHECK (entry IN ('scan', 'manual')), late INTEGER NOT NULL DEFAULT 0,
  reference TEXT, reason TEXT, recheck_of INTEGER REFERENCES inspections(id),
  started_at TEXT NOT NULL, recorded_at TEXT NOT NULL, recorded_by INTEGER NOT NULL REFERENCES users(id),
  lat REAL, lon REAL, closed_at TEXT, result TEXT, findings TEXT, rectify_by TEXT,
  voided_at TEXT, void_reason TEXT, confirm_code TEXT NOT NULL,
  confirmed_at TEXT, confirmed_by INTEGER REFERENCES users(id), journal_hash TEXT);
CREATE INDEX inspections_enterprise_started ON inspections(enterprise_id, started_at);
CREATE INDEX inspections_started ON inspections(started_at);
CREATE TABLE inspection_agencies (
  inspection_id INTEGER NOT NULL REFERENCES inspections(id),
  agency_id INTEGER NOT NULL REFERENCES agencies(id),
  PRIMARY KEY (inspection_id, agency_id)) WITHOUT ROWID;
CREATE INDEX inspection_agencies_agency ON inspection_agencies(agency_id, inspection_id);
CREATE TABLE inspection_inspectors (
  inspection_id INTEGER NOT NULL REFERENCES inspections(id),
  user_id INTEGER NOT NULL REFERENCES users(id), cert_no TEXT,
  PRIMARY KEY (inspection_id, user_id)) WITHOUT ROWID;
CREATE INDEX inspection_inspectors_user ON inspection_inspectors(user_id, inspection_id);
CREATE TABLE inspection_items (
  inspection_id INTEGER NOT NULL REFERENCES inspections(id),
  item_id INTEGER NOT NULL REFERENCES items(id),
  PRIMARY KEY (inspection_id, item_id)) WITHOUT ROWID;
CREATE TABLE refusals (
  id INTEGER PRIMARY KEY, enterprise_id INTEGER NOT NULL REFERENCES enterprises(id),
  user_id INTEGER NOT NULL REFERENCES users(id), agency_id INTEGER REFERENCES agencies(id),
  kind TEXT NOT NULL, rule_id INTEGER REFERENCES limit_rules(id), used INTEGER, max INTEGER,
  attempted_at TEXT NOT NULL);
CREATE INDEX refusals_attempted ON refusals(attempted_at);
CREATE TABLE journal (
  id INTEGER PRIMARY KEY, inspection_id INTEGER NOT NULL, action TEXT NOT NULL, at TEXT NOT NULL,
  payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL UNIQUE)
""")
    db.execute("INSERT INTO limit_rules (max, target, window, created_at) VALUES (2, 'all', 'year', ?)",
               [now_text()])


@migrations()
def m002_firm_side(db):
    """Firm activation codes, confirmation attempts, evaluations, complaints and the firm's inbox."""
    _run(db, """
ALTER TABLE users ADD COLUMN email TEXT;
CREATE TABLE activation_codes (
  id INTEGER PRIMARY KEY, enterprise_id INTEGER NOT NULL REFERENCES enterprises(id),
  code_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
  used_at TEXT, used_by INTEGER REFERENCES users(id), revoked_at TEXT);
CREATE INDEX activation_codes_enterprise ON activation_codes(enterprise_id);
CREATE TABLE confirm_failures (
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
  inspection_id INTEGER NOT NULL, failed_at TEXT NOT NULL);
CREATE INDEX confirm_failures_user ON confirm_failures(user_id, failed_at);
CREATE TABLE evaluations (
  id INTEGER PRIMARY KEY, inspection_id INTEGER NOT NULL UNIQUE REFERENCES inspections(id),
  user_id INTEGER NOT NULL REFERENCES users(id), rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
  comment TEXT, created_at TEXT NOT NULL);
CREATE TABLE complaints (
  id INTEGER PRIMARY KEY, enterprise_id INTEGER NOT NULL REFERENCES enterprises(id),
  user_id INTEGER NOT NULL REFERENCES users(id), inspection_id INTEGER REFERENCES inspections(id),
  category TEXT NOT NULL, text TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'resolved', 'rejected')),
  answer TEXT, answered_by INTEGER REFERENCES users(id), answered_at TEXT, created_at TEXT NOT NULL);
CREATE INDEX complaints_enterprise ON complaints(enterprise_id, created_at);
CREATE INDEX complaints_status ON complaints(status, created_at);
CREATE TABLE notifications (
  id INTEGER PRIMARY KEY, enterprise_id INTEGER NOT NULL REFERENCES enterprises(id),
  inspection_id INTEGER REFERENCES inspections(id), kind TEXT NOT NULL, created_at TEXT NOT NULL,
  read_at TEXT, mailed_at TEXT, UNIQUE (enterprise_id, inspection_id, kind));
CREATE INDEX notifications_enterprise ON notifications(enterprise_id, created_at)
""")


@migrations()
def m003_journal_head(db):
    """The journal's head (last sequence number and hash), so a deleted last entry is detectable."""
    db.execute("CREATE TABLE journal_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL)")
    db.execute("""INSERT INTO journal_head (id, seq, hash) SELECT 1, coalesce(max(id), 0),
                  coalesce((SELECT hash FROM journal ORDER BY id DESC LIMIT 1), ?) FROM journal""", ["0" * 64])


@migrations()
def m004_lean_write_path(db):
    """Drop two indexes no query uses; every index is one more page written by each scan's commit."""
    db.execute("DROP INDEX IF EXISTS notifications_enterprise")  # UNIQUE (enterprise_id, ...) serves the inbox
    db.execute("DROP INDEX IF EXISTS inspection_agencies_agency")  # the cap and stats reach agencies by inspection


MAX_WINDOW_DAYS = 3660  # rules.MAX_WINDOW_DAYS; a longer rolling window cannot be counted


@migrations()
def m005_hardening(db):
    """Server-side sessions, login throttling per address, idempotency keys, indexes for pruning, the journal's
    per-inspection index and the recheck lookup; rules with a rolling window no clock can hold are retired."""
    _run(db, f"""
ALTER TABLE login_failures ADD COLUMN address TEXT NOT NULL DEFAULT '';
CREATE INDEX login_failures_at ON login_failures(failed_at);
CREATE TABLE trusted_addresses (
  username TEXT NOT NULL, address TEXT NOT NULL, last_at TEXT NOT NULL,
  PRIMARY KEY (username, address)) WITHOUT ROWID;
CREATE INDEX api_tokens_expires ON api_tokens(expires_at);
CREATE TABLE sessions (
  id INTEGER PRIMARY KEY, session_hash TEXT NOT NULL UNIQUE, user_id INTEGER NOT NULL REFERENCES users(id),
  created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE INDEX sessions_expires ON sessions(expires_at);
CREATE INDEX confirm_failures_at ON confirm_failures(failed_at);
CREATE TABLE activation_failures (
  id INTEGER PRIMARY KEY, address TEXT NOT NULL, enterprise_id INTEGER, failed_at TEXT NOT NULL);
CREATE INDEX activation_failures_address ON activation_failures(address, failed_at);
CREATE INDEX activation_failures_enterprise ON activation_failures(enterprise_id, failed_at);
CREATE INDEX activation_failures_at ON activation_failures(failed_at);
CREATE TABLE idempotency_keys (
  user_id INTEGER NOT NULL REFERENCES users(id), key TEXT NOT NULL, request_hash TEXT NOT NULL,
  inspection_id INTEGER NOT NULL REFERENCES inspections(id), created_at TEXT NOT NULL,
  PRIMARY KEY (user_id, key)) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
CREATE INDEX journal_inspection ON journal(inspection_id, id);
CREATE INDEX inspections_recheck ON inspections(recheck_of) WHERE recheck_of IS NOT NULL;
CREATE INDEX inspections_rectify ON inspections(rectify_by) WHERE result = 'rectify';
UPDATE limit_rules SET active = 0 WHERE window LIKE 'days:%'
  AND (length(window) > 10 OR CAST(substr(window, 6) AS INTEGER) > {MAX_WINDOW_DAYS})
""")


@migrations()
def m006_inspector_lookups(db):
    """Indexes for the start form's pickers (an agency's inspectors by name, any inspector by name or certificate
    number as it is typed: 20,000 inspectors are a normal city) and for the operator's search of users by name."""
    _run(db, """
CREATE INDEX users_agency_name ON users(agency_id, name) WHERE role = 'inspector';
CREATE INDEX users_inspector_name ON users(name) WHERE role = 'inspector';
CREATE INDEX users_inspector_cert ON users(cert_no) WHERE role = 'inspector';
CREATE INDEX users_name ON users(name)
""")


@migrations()
def m007_counters(db):
    """Counters for the supervisor's numbers, kept by each scan and void in the same transaction, so the dashboard
    reads a few thousand rows instead of a year of inspections (3 million in a big city). Days and years are local
    (LOGBOOK_TIMEZONE): `flask init-db` fills the counters of an existing database (stats.recount)."""
    _run(db, """
CREATE TABLE inspection_counts (
  agency_id INTEGER NOT NULL, day TEXT NOT NULL, kind TEXT NOT NULL,
  inspections INTEGER NOT NULL DEFAULT 0, counted INTEGER NOT NULL DEFAULT 0, voided INTEGER NOT NULL DEFAULT 0,
  manual INTEGER NOT NULL DEFAULT 0, late INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (agency_id, day, kind)) WITHOUT ROWID;
CREATE TABLE enterprise_counts (
  year INTEGER NOT NULL, enterprise_id INTEGER NOT NULL, inspections INTEGER NOT NULL DEFAULT 0,
  counted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (year, enterprise_id)) WITHOUT ROWID;
CREATE INDEX enterprise_counts_most ON enterprise_counts(year, inspections);
CREATE TABLE counts_state (id INTEGER PRIMARY KEY CHECK (id = 1), tz TEXT);
INSERT INTO counts_state (id, tz) VALUES (1, NULL)
""")


@migrations()
def m008_name_search(db):
    """A full-text index of enterprise names by runs of two and three characters (name_grams), kept by triggers, so
    finding a firm by part of its name reads a few index pages instead of 4 million names."""
    _run(db, """
CREATE VIRTUAL TABLE enterprise_names USING fts5(grams, detail = 'none');
INSERT INTO enterprise_names (rowid, grams) SELECT id, name_grams(name) FROM enterprises;
CREATE TRIGGER enterprise_names_insert AFTER INSERT ON enterprises BEGIN
  INSERT INTO enterprise_names (rowid, grams) VALUES (new.id, name_grams(new.name)); END;
CREATE TRIGGER enterprise_names_update AFTER UPDATE OF name ON enterprises BEGIN
  UPDATE enterprise_names SET grams = name_grams(new.name) WHERE rowid = new.id; END;
CREATE TRIGGER enterprise_names_delete AFTER DELETE ON enterprises BEGIN
  DELETE FROM enterprise_names WHERE rowid = old.id; END
""")


@migrations()
def m009_agency_ratings(db):
    """Each agency's number and sum of ratings, kept by every evaluation: the average an inspector sees on the home
    page no longer reads every rated inspection of the agency."""
    _run(db, """
CREATE TABLE agency_ratings (
  agency_id INTEGER PRIMARY KEY REFERENCES agencies(id), ratings INTEGER NOT NULL, total INTEGER NOT NULL);
INSERT INTO agency_ratings (agency_id, ratings, total)
  SELECT ia.agency_id, count(*), sum(ev.rating) FROM evaluations ev
  JOIN inspection_agencies ia ON ia.inspection_id = ev.inspection_id GROUP BY ia.agency_id
""")


@migrations()
def m010_journal_checks(db):
    """The outcome of each journal verification, so the supervisor's quick check goes on from the last one instead of
    re-reading ten million entries in a request."""
    db.execute("""CREATE TABLE journal_checks (
      id INTEGER PRIMARY KEY, checked_at TEXT NOT NULL, entries INTEGER NOT NULL, head TEXT NOT NULL,
      ok INTEGER NOT NULL, full INTEGER NOT NULL)""")


@migrations()
def m011_tasks(db):
    """Tasks before the door (SPEC §9): the role `head`, tasks with their inspectors, items and steps, and draws."""
    # the role CHECK gains 'head'. SQLite cannot ALTER a CHECK; relaxing one changes nothing stored, so this is its
    # documented procedure for such changes (writable_schema, then a new schema_version for other connections)
    version = db.execute("PRAGMA schema_version").fetchone()[0]
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'users'",
               ["'supervisor', 'admin')", "'supervisor', 'admin', 'head')"])
    db.execute(f"PRAGMA schema_version = {version + 1}")
    db.execute("PRAGMA writable_schema = OFF")
    _run(db, """
CREATE TABLE draws (
  id INTEGER PRIMARY KEY, agency_id INTEGER NOT NULL REFERENCES agencies(id), drawn_by INTEGER NOT NULL REFERENCES users(id),
  drawn_at TEXT NOT NULL, seed TEXT NOT NULL, candidates_hash TEXT NOT NULL, candidates BLOB NOT NULL,
  count INTEGER NOT NULL, risk_level TEXT, industry TEXT, window_start TEXT NOT NULL, window_end TEXT NOT NULL,
  result TEXT NOT NULL);
CREATE INDEX draws_agency ON draws(agency_id, id);
CREATE TABLE tasks (
  id INTEGER PRIMARY KEY, agency_id INTEGER NOT NULL REFERENCES agencies(id),
  enterprise_id INTEGER NOT NULL REFERENCES enterprises(id), kind TEXT NOT NULL,
  window_start TEXT NOT NULL, window_end TEXT NOT NULL, reason TEXT, notice INTEGER NOT NULL DEFAULT 0,
  source TEXT NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'draw', 'backfill')),
  draw_id INTEGER REFERENCES draws(id),
  status TEXT NOT NULL DEFAULT 'submitted'
    CHECK (status IN ('submitted', 'approved', 'rejected', 'done', 'cancelled')),
  drafted_by INTEGER NOT NULL REFERENCES users(id), drafted_at TEXT NOT NULL,
  decided_by INTEGER REFERENCES users(id), decided_at TEXT, note TEXT,
  inspection_id INTEGER REFERENCES inspections(id), joint_id INTEGER REFERENCES tasks(id),
  proposed_day TEXT, proposal_answer TEXT);
CREATE INDEX tasks_enterprise ON tasks(enterprise_id, window_start);
CREATE INDEX tasks_agency ON tasks(agency_id, status, id);
CREATE INDEX tasks_agency_newest ON tasks(agency_id, id);
CREATE INDEX tasks_window ON tasks(window_start, joint_id);
CREATE INDEX tasks_inspection ON tasks(inspection_id) WHERE inspection_id IS NOT NULL;
CREATE INDEX tasks_joint ON tasks(joint_id) WHERE joint_id IS NOT NULL;
CREATE TABLE task_inspectors (
  task_id INTEGER NOT NULL REFERENCES tasks(id), user_id INTEGER NOT NULL REFERENCES users(id),
  PRIMARY KEY (task_id, user_id)) WITHOUT ROWID;
CREATE INDEX task_inspectors_user ON task_inspectors(user_id, task_id);
CREATE TABLE task_items (
  task_id INTEGER NOT NULL REFERENCES tasks(id), item_id INTEGER NOT NULL REFERENCES items(id),
  PRIMARY KEY (task_id, item_id)) WITHOUT ROWID;
CREATE TABLE task_steps (
  id INTEGER PRIMARY KEY, task_id INTEGER NOT NULL REFERENCES tasks(id), action TEXT NOT NULL,
  by_user INTEGER REFERENCES users(id), at TEXT NOT NULL, note TEXT);
CREATE INDEX task_steps_task ON task_steps(task_id, id)
""")


@migrations()
def m012_notices(db):
    """A firm's inbox message can be the notice of an approved task (检查预告)."""
    db.execute("ALTER TABLE notifications ADD COLUMN task_id INTEGER REFERENCES tasks(id)")


@migrations()
def m013_task_journal(db):
    """Task steps join the journal's hash chain (entries with inspection_id 0 and the task in the payload); the
    task_id column finds a task's entries."""
    _run(db, """
ALTER TABLE journal ADD COLUMN task_id INTEGER;
CREATE INDEX journal_task ON journal(task_id, id) WHERE task_id IS NOT NULL
""")


@migrations()
def m014_checkpoints(db):
    """Checkpoints per item (检查要点: what to look at, the standard); an import replaces an item's checkpoints by
    retiring the old rows, so an inspection keeps the checkpoints its items had when it started."""
    _run(db, """
CREATE TABLE checkpoints (
  id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES items(id), position INTEGER NOT NULL,
  text TEXT NOT NULL, standard TEXT, active INTEGER NOT NULL DEFAULT 1);
CREATE INDEX checkpoints_item ON checkpoints(item_id, active, position);
CREATE TABLE inspection_checkpoints (
  inspection_id INTEGER NOT NULL REFERENCES inspections(id), checkpoint_id INTEGER NOT NULL REFERENCES checkpoints(id),
  outcome TEXT CHECK (outcome IN ('pass', 'fail', 'na')), note TEXT,
  PRIMARY KEY (inspection_id, checkpoint_id)) WITHOUT ROWID
""")


@migrations()
def m015_evidence(db):
    """What an inspection gathers beyond its checklist (SPEC §10): photos (the file is stored outside the database,
    named by the SHA-256 of its stored bytes), the firm's one statement (陈述申辩) and its rectification report."""
    _run(db, """
CREATE TABLE photos (
  id INTEGER PRIMARY KEY, inspection_id INTEGER NOT NULL REFERENCES inspections(id),
  checkpoint_id INTEGER REFERENCES checkpoints(id), purpose TEXT NOT NULL CHECK (purpose IN ('evidence', 'rectification')),
  sha256 TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
  user_id INTEGER NOT NULL REFERENCES users(id), created_at TEXT NOT NULL);
CREATE INDEX photos_inspection ON photos(inspection_id, id);
CREATE TABLE statements (
  inspection_id INTEGER PRIMARY KEY REFERENCES inspections(id), text TEXT NOT NULL,
  user_id INTEGER NOT NULL REFERENCES users(id), created_at TEXT NOT NULL);
CREATE TABLE rectifications (
  inspection_id INTEGER PRIMARY KEY REFERENCES inspections(id), text TEXT NOT NULL,
  user_id INTEGER NOT NULL REFERENCES users(id), created_at TEXT NOT NULL);
CREATE INDEX rectifications_newest ON rectifications(created_at)
""")


@migrations()
def m016_supervision(db):
    """SPEC §11: an enterprise's district (characters 3-8 of its USCI unless imported), counters of joint and confirmed
    inspections and per month by district, industry and risk level (the dashboard's filters), warnings recorded
    as scans and closes happen, dismissals, and follow-ups (督办) with their steps. The counters are rebuilt by the
    next `flask init-db` (stats.recount), which the cleared time zone asks for."""
    _run(db, """
ALTER TABLE enterprises ADD COLUMN district_code TEXT;
ALTER TABLE enterprises ADD COLUMN district TEXT GENERATED ALWAYS AS (coalesce(district_code, substr(usci, 3, 6))) VIRTUAL;
ALTER TABLE inspection_counts ADD COLUMN joint INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inspection_counts ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 0;
CREATE TABLE segment_counts (
  month TEXT NOT NULL, agency_id INTEGER NOT NULL, district TEXT NOT NULL, industry TEXT NOT NULL,
  risk_level TEXT NOT NULL, kind TEXT NOT NULL,
  inspections INTEGER NOT NULL DEFAULT 0, counted INTEGER NOT NULL DEFAULT 0, voided INTEGER NOT NULL DEFAULT 0,
  manual INTEGER NOT NULL DEFAULT 0, late INTEGER NOT NULL DEFAULT 0, joint INTEGER NOT NULL DEFAULT 0,
  confirmed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (month, agency_id, district, industry, risk_level, kind)) WITHOUT ROWID;
UPDATE counts_state SET tz = NULL;
CREATE TABLE warnings (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, period TEXT, agency_id INTEGER REFERENCES agencies(id),
  enterprise_id INTEGER REFERENCES enterprises(id), count INTEGER NOT NULL, since TEXT NOT NULL, until TEXT NOT NULL,
  year INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX warnings_year ON warnings(year, kind, id);
CREATE INDEX warnings_enterprise ON warnings(enterprise_id, kind, until);
CREATE TABLE warning_inspections (
  warning_id INTEGER NOT NULL REFERENCES warnings(id), inspection_id INTEGER NOT NULL REFERENCES inspections(id),
  PRIMARY KEY (warning_id, inspection_id)) WITHOUT ROWID;
CREATE TABLE warning_dismissals (
  key TEXT PRIMARY KEY, year INTEGER NOT NULL, reason TEXT NOT NULL, user_id INTEGER NOT NULL REFERENCES users(id),
  dismissed_at TEXT NOT NULL);
CREATE INDEX warning_dismissals_year ON warning_dismissals(year);
CREATE INDEX inspections_open ON inspections(started_at) WHERE status = 'open';
CREATE INDEX inspections_flagged ON inspections(started_at) WHERE late = 1 OR entry = 'manual';
CREATE TABLE followups (
  id INTEGER PRIMARY KEY, agency_id INTEGER NOT NULL REFERENCES agencies(id), warning_key TEXT,
  complaint_id INTEGER REFERENCES complaints(id), enterprise_id INTEGER REFERENCES enterprises(id),
  text TEXT NOT NULL, due_on TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'returned', 'accepted')),
  created_by INTEGER NOT NULL REFERENCES users(id), created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX followups_agency ON followups(agency_id, status, id);
CREATE INDEX followups_status ON followups(status, due_on);
CREATE INDEX followups_complaint ON followups(complaint_id) WHERE complaint_id IS NOT NULL;
CREATE TABLE followup_steps (
  id INTEGER PRIMARY KEY, followup_id INTEGER NOT NULL REFERENCES followups(id), action TEXT NOT NULL,
  text TEXT, user_id INTEGER NOT NULL REFERENCES users(id), at TEXT NOT NULL);
CREATE INDEX followup_steps_followup ON followup_steps(followup_id, id)
""")


@migrations()
def m017_segment_indexes(db):
    """The dashboard's filters each find their counters by agency and value, month by month, instead of reading a
    year of every segment (tens of thousands of rows in a city)."""
    _run(db, """
CREATE INDEX segment_counts_district ON segment_counts(agency_id, district, month);
CREATE INDEX segment_counts_industry ON segment_counts(agency_id, industry, month);
CREATE INDEX segment_counts_risk ON segment_counts(agency_id, risk_level, month)
""")


@migrations()
def m018_warning_pages(db):
    """A kind's stored warnings newest first, a page at a time (a city records tens of thousands a year)."""
    _run(db, """
DROP INDEX warnings_year;
CREATE INDEX warnings_year ON warnings(year, kind, until, id)
""")
