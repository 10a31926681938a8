"""The write queue (logbook/writer.py): waiting writes are committed together in one transaction; a request that
fails inside a batch is rolled back alone while the others of the same batch succeed, a refusal of the domain as
much as a bug; nothing is answered before the COMMIT; the queues of two processes take turns."""

import fcntl
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import notes_database

from logbook import writer
from logbook.errors import Invalid, Problem


@pytest.fixture
def queue_of(tmp_path):
    """A writer of a fresh database with a table of notes."""
    path = notes_database(tmp_path / "writes.db")
    found = writer.Writer(path)
    yield found, path
    found.close()


def notes(path):
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT text FROM notes ORDER BY id")]


def add(store, text):
    return store.execute("INSERT INTO notes (text) VALUES (?)", [text]).lastrowid


def until(check, seconds=5):
    """Wait until check() holds (the writes run in threads of their own)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the writer did not get there in time"
        time.sleep(0.001)


def outcome(queue, request):
    """What the writer answers a request: its result, or the exception it raised."""
    try:
        return queue.run(*request)
    except Exception as e:  # noqa: BLE001
        return e


def held_batch(queue, requests):
    """Submit a first write that holds the writer until every one of `requests` is waiting, so they form one batch;
    return the first write's outcome and each request's, in order."""
    release = threading.Event()

    def hold(store):
        release.wait(5)
        return add(store, "first")

    with ThreadPoolExecutor(len(requests) + 1) as pool:
        first = pool.submit(outcome, queue, (hold,))
        until(lambda: queue.turn.locked() and queue.waiting() == 0)  # its thread has the turn and waits
        futures = [pool.submit(outcome, queue, r) for r in requests]
        until(lambda: queue.waiting() == len(requests))
        release.set()
        return first.result(10), [f.result(10) for f in futures]


def test_waiting_writes_are_committed_together_in_order(queue_of):
    queue, path = queue_of
    _, results = held_batch(queue, [(add, f"note {n}") for n in range(10)])
    assert queue.batches == 2 and queue.requests == 11  # the holding write, then the ten that waited for it
    assert notes(path) == ["first"] + [f"note {n}" for n in range(10)]
    assert results == list(range(2, 12))


def test_a_request_that_fails_inside_a_batch_fails_alone(queue_of):
    queue, path = queue_of

    def half_then_duplicate(store):
        add(store, "written before the failure")
        return add(store, "note 1")  # UNIQUE: this request fails after a write of its own

    _, results = held_batch(queue, [(add, "note 1"), (half_then_duplicate,), (add, "note 2")])
    assert results[0] == 2 and results[2] == 3
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert notes(path) == ["first", "note 1", "note 2"]  # nothing of the failed request is left


def test_a_refusal_is_undone_like_any_failure(queue_of):
    """What a write raises, a refusal of the domain included, leaves nothing behind: a refused attempt that must be
    kept (inspections.write_start's refusal row) is returned, not raised."""
    queue, path = queue_of

    def refuse_after_recording(store):
        add(store, "refused attempt")
        raise Invalid({"kind": Problem("bad_kind", "choose a kind")})

    with pytest.raises(Invalid):
        queue.run(refuse_after_recording)
    assert notes(path) == []
    assert queue.run(add, "after") == 1


def test_a_failed_commit_answers_every_request_of_the_batch_with_the_error(queue_of, monkeypatch):
    queue, path = queue_of

    def failing_commit(self):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(writer.database.Database, "commit", failing_commit)
    first, results = held_batch(queue, [(add, "a"), (add, "b")])
    assert all(isinstance(r, sqlite3.OperationalError) for r in [first, *results])
    monkeypatch.undo()
    assert notes(path) == []
    assert queue.run(add, "after") == 1  # the writer goes on


def test_a_request_thread_commits_its_own_write_when_nothing_else_waits(queue_of):
    queue, path = queue_of
    committed_by = []

    def note_thread(store):
        committed_by.append(threading.current_thread())
        return add(store, "mine")

    assert queue.run(note_thread) == 1
    assert committed_by == [threading.current_thread()]  # no hand-off to another thread (gunicorn's sync workers)
    assert (queue.batches, queue.requests) == (1, 1)


def test_the_queues_of_two_processes_take_turns(queue_of):
    """Two processes' queues of one database (two Writer objects stand for them: flock locks belong to open files):
    while one commits, the other's turn waits for it and then commits right after, never both at once."""
    first, path = queue_of
    second = writer.Writer(path)
    inside, release, order = threading.Event(), threading.Event(), []

    def slow(store):
        inside.set()
        release.wait(5)
        order.append("first")
        return add(store, "first")

    def quick(store):
        order.append("second")
        return add(store, "second")

    try:
        with ThreadPoolExecutor(2) as pool:
            held = pool.submit(first.run, slow)
            assert inside.wait(5)
            waiting = pool.submit(second.run, quick)
            time.sleep(0.2)
            assert not waiting.done() and order == []  # the second waits for the first's turn
            probe = os.open(path + "-writer", os.O_RDWR)
            try:  # the turn is the flock on the file beside the database, which a waiting process sleeps on
                with pytest.raises(BlockingIOError):
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                release.set()
                assert (held.result(5), waiting.result(5)) == (1, 2)
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again once both have committed
            finally:
                os.close(probe)
        assert order == ["first", "second"] and notes(path) == ["first", "second"]
    finally:
        second.close()


def test_without_a_database_to_write_to_every_write_hears_why_and_none_waits_forever(tmp_path):
    queue = writer.Writer(str(tmp_path / "no such folder" / "writes.db"))
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda n: outcome(queue, (add, f"note {n}")), range(8), timeout=10))
    assert all(isinstance(o, OSError) for o in outcomes), outcomes
    queue.close()
