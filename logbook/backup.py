"""Online backups: a consistent copy of the live database, taken with SQLite's backup API while the server serves.

The whole copy is read inside one read transaction on the source, so it is the database as of one instant while
the server's workers go on writing (WAL lets them). Without that snapshot every write from another process
restarts a stepwise backup, which under steady load never finishes. The copy is written to a temporary file
beside the target and renamed into place only when complete, so a half-written backup never carries the final name.
"""

import os
import tempfile
import time
from dataclasses import dataclass

from . import db

PAGES_PER_STEP = 1024  # 4 MB a step at the default page size
PAUSE_SECONDS = 0.005  # between steps, so the copy's reads do not crowd out the server's own I/O


class BackupFailed(Exception):
    """No backup was written: no database, the target exists, or its folder is missing."""


@dataclass(frozen=True)
class Backup:
    """A written backup: its path, size in bytes, page count and the journal head hash it holds."""

    path: str
    size: int
    pages: int
    journal_head: str | None


def back_up(source_path, target_path, force=False, pages=PAGES_PER_STEP, pause=PAUSE_SECONDS):
    """Copy the database at source_path to target_path, safely while it serves; return the Backup."""
    _check(source_path, target_path, force)
    folder = os.path.dirname(os.path.abspath(target_path))
    handle, temp_path = tempfile.mkstemp(prefix=f".{os.path.basename(target_path)}.", suffix=".tmp", dir=folder)
    os.close(handle)  # mode 0600: the copy holds password hashes
    try:
        page_count, head = _copy(source_path, temp_path, pages, pause)
        os.replace(temp_path, target_path)
    except BaseException:
        for leftover in (temp_path, temp_path + "-journal", temp_path + "-wal", temp_path + "-shm"):
            if os.path.exists(leftover):
                os.remove(leftover)
        raise
    _sync_folder(folder)  # make the rename itself durable
    return Backup(target_path, os.path.getsize(target_path), page_count, head)


def _check(source_path, target_path, force):
    if not os.path.isfile(source_path):
        raise BackupFailed(f"no database at {source_path}")
    if os.path.isdir(target_path):
        raise BackupFailed(f"{target_path} is a folder; name the backup file")
    if os.path.exists(target_path):
        if os.path.samefile(source_path, target_path):
            raise BackupFailed(f"{target_path} is the live database itself")
        if not force:
            raise BackupFailed(f"{target_path} exists; use --force to overwrite it")
    folder = os.path.dirname(os.path.abspath(target_path))
    if not os.path.isdir(folder):
        raise BackupFailed(f"no folder {folder}")


def _copy(source_path, temp_path, pages, pause):
    """Copy the source into temp_path from one snapshot; return (page count, journal head hash) of the copy."""
    source, target = db.connect(source_path), db.connect(temp_path)
    try:
        source.execute("BEGIN")  # one snapshot for every step; see the module docstring
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()
        source.conn.backup(target.conn, pages=pages, progress=lambda *_: time.sleep(pause))
        source.conn.rollback()
        page_count = db.value(target, "PRAGMA page_count")
        has_head = db.value(target, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'journal_head'")
        head = db.value(target, "SELECT hash FROM journal_head WHERE id = 1") if has_head else None
    finally:
        source.conn.close()
        target.conn.close()  # the last connection to the copy: SQLite folds its WAL in and removes it
    return page_count, head


def _sync_folder(folder):
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
