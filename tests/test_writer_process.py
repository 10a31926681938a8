"""The writer process (logbook/writer_process.py): the writes of several workers, sent over its Unix socket, are
committed together; one that fails inside a batch fails alone; the domain's refusals come back with their fields;
without a writer process a worker writes itself; a write whose answer the process took with it is WriterLost (503).

The process is real (`python -m logbook.writer_process`); the writes it runs are functions of this module, which it
imports by name like the logbook's own (PYTHONPATH names the tests' folder)."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import notes_database

from logbook import writer, writer_process
from logbook.errors import Invalid, Problem

ROOT = Path(__file__).resolve().parent.parent


# ---- the writes the process runs (module-level, so they travel by name) -------------------------------------------

def add(store, text):
    return store.execute("INSERT INTO notes (text) VALUES (?)", [text]).lastrowid


def hold_until(store, path, text):
    """A write that holds its batch until the file `path` exists, so that the writes sent meanwhile queue up; it
    says it holds by creating `path`.holding."""
    Path(path + ".holding").touch()
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    return add(store, text)


def half_then_duplicate(store):
    add(store, "written before the failure")
    return add(store, "taken")  # UNIQUE: this write fails after a write of its own


def refuse(store):
    add(store, "refused attempt")
    raise Invalid({"kind": Problem("bad_kind", "choose a kind of {n}", n=3)})


def pid_of_writer(store):
    return os.getpid()


# ---- fixtures ------------------------------------------------------------------------------------------------------

@pytest.fixture
def database(tmp_path):
    return notes_database(tmp_path / "writes.db")


class Process:
    """`python -m logbook.writer_process` on a database, its output kept."""

    def __init__(self, path, log_path):
        self.path, self.log_path = path, log_path
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "logbook.writer_process", path, "FULL"], cwd=ROOT,
                                            env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not os.path.exists(writer.address_of(path)):
            assert self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, "the writer process did not open its socket"
            time.sleep(0.02)

    def stop(self):
        """SIGTERM: it ends its loop, closes and removes its socket, and says how much it grouped."""
        self.process.terminate()
        self.process.wait(10)
        return [tuple(map(int, found)) for found in re.findall(r"(\d+) writes in (\d+) batches", self.log())]

    def log(self):
        return Path(self.log_path).read_text(errors="replace")


@pytest.fixture
def process(database, tmp_path):
    running = Process(database, tmp_path / "writer.log")
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def notes(path):
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT text FROM notes ORDER BY id")]


@pytest.fixture
def worker():
    """worker(path) -> what a gunicorn worker holds: a RemoteWriter (each one stands for another worker process)."""
    made = []

    def make(path):
        made.append(writer.RemoteWriter(path))
        return made[-1]
    yield make
    for remote in made:
        remote.close()


def held(release, seconds=10):
    """Wait until the writer process runs hold_until(release)."""
    deadline = time.monotonic() + seconds
    while not Path(f"{release}.holding").exists():
        assert time.monotonic() < deadline, "the writer process did not take the holding write"
        time.sleep(0.01)


def outcome(run):
    try:
        return run()
    except Exception as e:  # noqa: BLE001
        return e


# ---- tests ---------------------------------------------------------------------------------------------------------

def behind_a_held_write(workers, release, first_text, writes):
    """From one worker, a write that holds the process's batch; meanwhile `writes` ((function, *args) each), each from
    another worker; then release it. Returns the first write's outcome and each other's, in order."""
    with ThreadPoolExecutor(len(writes) + 1) as pool:
        first = pool.submit(outcome, lambda: workers[0].run(hold_until, str(release), first_text))
        held(release)
        futures = [pool.submit(outcome, lambda w=w, r=r: w.run(*r)) for w, r in zip(workers[1:], writes)]
        time.sleep(1)  # all of them have arrived at the process
        assert not any(f.done() for f in futures)
        release.touch()
        return first.result(10), [f.result(10) for f in futures]


def test_the_writes_of_several_workers_are_committed_in_one_batch(database, process, tmp_path, worker):
    workers = [worker(database) for _ in range(8)]
    first, results = behind_a_held_write(workers, tmp_path / "release", "first", [(add, f"note {n}") for n in range(7)])
    assert first == 1 and sorted(results) == list(range(2, 9))
    assert process.stop() == [(8, 2)]  # the held write, then the seven that waited for it, together
    assert notes(database)[0] == "first" and sorted(notes(database)[1:]) == [f"note {n}" for n in range(7)]


def test_a_write_that_fails_inside_a_batch_fails_alone(database, process, tmp_path, worker):
    workers = [worker(database) for _ in range(4)]
    first, (before, failing, after) = behind_a_held_write(workers, tmp_path / "release", "taken", [
        (add, "before"), (half_then_duplicate,), (add, "after")])
    assert first == 1 and isinstance(before, int) and isinstance(after, int)
    assert isinstance(failing, sqlite3.IntegrityError)
    assert process.stop() == [(4, 2)]
    assert sorted(notes(database)) == ["after", "before", "taken"]  # nothing of the failed write is left


def test_a_refusal_comes_back_with_its_fields_and_leaves_nothing(database, process, worker):
    with pytest.raises(Invalid) as refused:
        worker(database).run(refuse)
    problem = refused.value.fields["kind"]
    assert (problem.code, problem.params, str(problem)) == ("bad_kind", {"n": 3}, "choose a kind of 3")
    assert notes(database) == []


def test_the_writes_run_in_the_writer_process(database, process, worker):
    assert worker(database).run(pid_of_writer) == process.process.pid


def test_without_a_writer_process_a_worker_writes_itself(database, worker):
    assert not os.path.exists(writer.address_of(database))
    remote = worker(database)
    assert remote.run(pid_of_writer) == os.getpid()
    assert remote.run(add, "local") == 1 and notes(database) == ["local"]


def test_once_the_writer_process_is_gone_a_worker_writes_itself(database, process, worker):
    remote = worker(database)
    assert remote.run(add, "one") == 1
    process.process.kill()  # its socket file stays behind, as after a crash
    process.process.wait()
    # this thread's connection leads nowhere now: sending fails, so nothing ran and the write is sent again, finds no
    # process, and is written by this worker itself
    assert remote.run(add, "two") == 2
    assert notes(database) == ["one", "two"]


def test_a_write_sent_to_a_process_that_dies_before_answering_is_writer_lost(database, process, tmp_path, worker):
    remote = worker(database)
    with ThreadPoolExecutor(1) as pool:
        lost = pool.submit(outcome, lambda: remote.run(hold_until, str(tmp_path / "never"), "lost"))
        held(tmp_path / "never")  # the process holds the write inside its transaction
        process.process.kill()
        process.process.wait()
        assert isinstance(lost.result(10), writer.WriterLost)
    assert notes(database) == []  # killed before its COMMIT: nothing was written, and nothing was acknowledged


def test_the_master_starts_a_failed_writer_process_again_but_not_one_stopped_on_purpose(database, worker, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    stop = writer_process.supervise(database)
    remote = worker(database)
    try:
        first = answered_by_a_writer_process(remote)
        os.kill(first, signal.SIGKILL)  # a crash: the master's thread starts another one
        gone(first)
        second = answered_by_a_writer_process(remote, not_by=first)
        os.kill(second, signal.SIGTERM)  # stopped on purpose: it exits 0 and stays stopped
        deadline = time.monotonic() + 10
        while os.path.exists(writer.address_of(database)):
            assert time.monotonic() < deadline, "the writer process did not stop"
            time.sleep(0.05)
        time.sleep(1.5)  # longer than the master's pause before starting one again
        assert not os.path.exists(writer.address_of(database))
        assert remote.run(pid_of_writer) == os.getpid()  # the worker writes itself
    finally:
        stop()


def gone(pid, seconds=10):
    """Wait until the process has died and been reaped (by the master's thread)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        assert time.monotonic() < deadline, f"process {pid} is still there"
        time.sleep(0.02)


def answered_by_a_writer_process(remote, not_by=None, seconds=20):
    """The pid of the writer process that runs the next write (not `not_by`), waiting for one to be there."""
    deadline = time.monotonic() + seconds
    while True:
        pid = remote.run(pid_of_writer)
        if pid not in (os.getpid(), not_by):
            return pid
        assert time.monotonic() < deadline, "no writer process answered"
        time.sleep(0.05)
