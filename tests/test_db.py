"""Connections: durable by default, WAL, foreign keys on."""

from logbook import db
from web import database


def test_connections_are_durable_by_default_and_configurable(app, tmp_path):
    with app.app_context():
        assert database().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    fast = db.connect(str(tmp_path / "fast.db"), "NORMAL")
    assert fast.execute("PRAGMA synchronous").fetchone()[0] == 1
    fast.conn.close()


def test_every_connection_uses_wal_and_enforces_foreign_keys(app):
    with app.app_context():
        store = database()
        assert store.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.execute("PRAGMA foreign_keys").fetchone()[0] == 1
