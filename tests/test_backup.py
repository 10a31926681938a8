"""`flask backup` while inspections are being recorded, its refusal to overwrite, and the documented restore (SPEC §12).

A writer thread records inspections through the domain on a connection of its own, as a server's worker would,
for the whole time a backup runs; the backup is a real `flask backup` process beside it. tests/test_replica.py
uses the same writer.
"""

import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import TZ, add_enterprise, add_user

from logbook import accounts, agencies, backup, db, inspections

pytestmark = pytest.mark.crash

ROOT = Path(__file__).resolve().parent.parent
FLASK = Path(sys.executable).parent / "flask"


def build_logbook(path, firms=3):
    """A migrated database with one agency and its item, two certified inspectors and a few enterprises."""
    store = db.connect(str(path))
    try:
        db.migrate(store)
        agencies.add_agency(store, "SCJG", "市场监督管理局")
        agencies.add_item(store, "SCJG", "SCJG-001", "食品经营许可检查")
        add_user(store, "ann", "inspector", agency="SCJG")
        add_user(store, "bob", "inspector", agency="SCJG")
        return [add_enterprise(store, name=f"备份测试企业{n}有限公司") for n in range(firms)]
    finally:
        store.conn.close()


def record(store, caller, enterprise):
    """Record one inspection and return its id; an exempt kind, so no limit rule ends the loop. The one call here."""
    request = inspections.StartRequest(kind="complaint", qr_token=enterprise["qr_token"], reference="投诉-2026-0042",
                                       inspectors=["bob"], items=["SCJG-001"])
    return inspections.record_inspection(store, caller, request, datetime.now(UTC), TZ)


class WriteLoad:
    """Inspections recorded in a loop on a thread of its own until stopped (or `seconds` passed, a safety stop)."""

    def __init__(self, path, firms, seconds=60):
        self.path, self.firms, self.seconds = str(path), firms, seconds
        self.ids, self.error = [], None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._write, daemon=True)

    def __enter__(self):
        self.thread.start()
        self.wait_for(10)
        return self

    def __exit__(self, *exc):
        self.stop()

    def _write(self):
        store = db.connect(self.path)
        deadline = time.monotonic() + self.seconds
        try:
            caller = accounts.user_by_username(store, "ann")
            while not self.stopping.is_set() and time.monotonic() < deadline:
                self.ids.append(record(store, caller, self.firms[len(self.ids) % len(self.firms)]))
        except Exception as e:  # reported by stop(), in the test's thread
            self.error = e
        finally:
            store.conn.close()

    def acknowledged(self):
        """Every id returned so far, i.e. every inspection whose commit has been acknowledged."""
        return set(self.ids)

    def writing(self):
        """Whether the loop is still recording."""
        return self.thread.is_alive()

    def wait_for(self, count, seconds=20):
        """Wait until `count` more inspections have been acknowledged."""
        wanted, deadline = len(self.ids) + count, time.monotonic() + seconds
        while len(self.ids) < wanted:
            assert self.writing() and time.monotonic() < deadline, f"the writer stopped: {self.error!r}"
            time.sleep(0.01)

    def stop(self):
        """Stop recording; return every acknowledged id (failing the test if the writer failed)."""
        self.stopping.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the writer did not stop"
        if self.error:
            raise self.error
        return self.acknowledged()


def flask(*args, database):
    """Run a real `flask` command on `database` from the project root."""
    env = dict(os.environ, LOGBOOK_DATABASE=str(database), LOGBOOK_SECRET_KEY="test")
    return subprocess.run([str(FLASK), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def query(path, sql):
    """The rows of a query on the database file, on a connection closed afterwards."""
    store = db.connect(str(path))
    try:
        return db.rows(store, sql)
    finally:
        store.conn.close()


def inspection_ids(path):
    """The ids of every inspection in the database file."""
    return {r["id"] for r in query(path, "SELECT id FROM inspections")}


def journal_head(path):
    """The journal head hash stored in the database file."""
    return query(path, "SELECT hash FROM journal_head WHERE id = 1")[0]["hash"]


def test_a_backup_under_write_load_passes_journal_verify_and_holds_every_earlier_inspection(tmp_path):
    live, copy = tmp_path / "logbook.db", tmp_path / "backups" / "logbook-2026-03-01.db"
    copy.parent.mkdir()
    firms = build_logbook(live)
    with WriteLoad(live, firms) as load:
        load.wait_for(50)
        before = load.acknowledged()
        result = flask("backup", str(copy), database=live)
        assert load.writing() and len(load.acknowledged()) > len(before)  # the writer went on meanwhile
    assert result.returncode == 0, result.stderr
    assert f"journal head {journal_head(copy)}" in result.stdout
    verified = flask("journal", "verify", database=copy)
    assert verified.returncode == 0, verified.stderr
    assert before <= inspection_ids(copy)
    assert os.listdir(copy.parent) == [copy.name]  # no temporary file, -wal or -shm left beside it


def test_a_stepwise_backup_finishes_while_writers_keep_writing(tmp_path):
    live, copy = tmp_path / "logbook.db", tmp_path / "copy.db"
    firms = build_logbook(live)
    with WriteLoad(live, firms, seconds=10) as load:  # a backup that restarts forever fails here after 10 s
        load.wait_for(100)
        before = load.acknowledged()
        # two pages a step: without one snapshot for the whole copy, every commit in between restarts it
        written = backup.back_up(str(live), str(copy), pages=2, pause=0.01)
        assert load.writing(), "the backup finished only once the writer had stopped"
        assert len(load.acknowledged()) > len(before)  # the writer was never blocked by the copy
    assert written.pages > 20
    assert written.journal_head == journal_head(copy)
    assert before <= inspection_ids(copy)


def test_backup_refuses_to_overwrite_a_file_unless_forced(app, tmp_path):
    target = tmp_path / "backup.db"
    target.write_bytes(b"yesterday's backup")
    cli = app.test_cli_runner()
    refused = cli.invoke(args=["backup", str(target)])
    assert refused.exit_code == 1
    assert "exists; use --force" in refused.output
    assert target.read_bytes() == b"yesterday's backup"
    forced = cli.invoke(args=["backup", "--force", str(target)])
    assert forced.exit_code == 0, forced.output
    assert journal_head(target) == "0" * 64  # a fresh database's journal head, now in the backup


def test_backup_refuses_to_write_over_the_live_database(app):
    live = app.config["LOGBOOK_DATABASE"]
    result = app.test_cli_runner().invoke(args=["backup", "--force", live])
    assert result.exit_code == 1
    assert "the live database itself" in result.output


def test_restoring_is_copying_the_backup_back_and_removing_the_stale_wal(tmp_path):
    live, copy = tmp_path / "logbook.db", tmp_path / "backup.db"
    firms = build_logbook(live)
    with WriteLoad(live, firms) as load:
        load.wait_for(20)
        assert flask("backup", str(copy), database=live).returncode == 0
        load.wait_for(20)  # recorded after the backup: a restore loses these
    crash_leaving_a_wal(live)
    assert (tmp_path / "logbook.db-wal").exists()
    # the documented restore: stop the server, copy the backup over the database, delete -wal and -shm
    shutil.copyfile(copy, live)
    for stale in (tmp_path / "logbook.db-wal", tmp_path / "logbook.db-shm"):
        stale.unlink(missing_ok=True)
    verified = flask("journal", "verify", database=live)
    assert verified.returncode == 0, verified.stderr
    assert inspection_ids(live) == inspection_ids(copy)
    assert journal_head(live) == journal_head(copy)
    assert query(live, "SELECT code FROM agencies WHERE code = 'LATE'") == []  # the stale WAL was not applied
    assert flask("init-db", database=live).returncode == 0  # and the server can start on it again


def crash_leaving_a_wal(path):
    """A process that commits a write and dies without closing its connection, as a killed server does."""
    script = ("import os, sqlite3, sys\n"
              "conn = sqlite3.connect(sys.argv[1])\n"
              "conn.execute('PRAGMA wal_autocheckpoint = 0')\n"
              "conn.execute(\"INSERT INTO agencies (code, name) VALUES ('LATE', 'after the backup')\")\n"
              "conn.commit()\n"
              "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=30)
