"""The write queue: one writer thread per database and process, committing waiting writes together (group commit).

Datasette routes every write through one thread per database fed by a queue; this writer goes one step further, as
databases do with their logs: it takes every request waiting in the queue, runs each one's decide-and-write in
order inside one BEGIN IMMEDIATE ... COMMIT (each sees the ones before it, so a cap stays exact), and answers them
all after the single fsync of that COMMIT. A request that fails with an unexpected error is rolled back alone (a
SAVEPOINT per request); a refusal of the domain (a LogbookError, a reached cap) keeps what it wrote on purpose (the
refused attempt). Nothing is answered before the COMMIT has returned, so nothing acknowledged can be lost; if the
COMMIT fails, every request of the batch gets the error.

The writer starts on the first write and stops after IDLE seconds without one, closing its connection.
"""

import fcntl
import os
import queue
import threading
from concurrent.futures import Future

from . import db as database
from .errors import LogbookError
from .rules import CapReached

IDLE = 5.0          # seconds without a write before the writer thread ends (a new write starts it again)
MAX_BATCH = 64      # requests in one transaction: a bound on how long the first one waits for the last
REFUSALS = (LogbookError, CapReached)  # the domain's answers, not failures: what they wrote stands
_writers = {}
_lock = threading.Lock()


class Writer:
    """The writer of one database file in this process."""

    def __init__(self, path, synchronous="FULL"):
        self.path, self.synchronous = path, synchronous
        self.queue = queue.SimpleQueue()
        self.thread = None
        self.batches = self.requests = 0  # how much was grouped, for tests and benchmarks

    def run(self, function, *args, **kwargs):
        """Run function(db, *args, **kwargs) in the writer's next transaction; return its result once committed,
        or raise what it raised (or what the COMMIT raised)."""
        future = Future()
        self.queue.put((function, args, kwargs, future))
        with _lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name=f"writer {self.path}", daemon=True)
                self.thread.start()
        return future.result()

    def _loop(self):
        db = database.connect(self.path, self.synchronous)
        turn = os.open(self.path + "-writer", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    first = self.queue.get(timeout=IDLE)
                except queue.Empty:
                    with _lock:
                        if self.queue.empty():  # nothing came in meanwhile: a new write starts a new thread
                            self.thread = None
                            return
                    continue
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        batch.append(self.queue.get_nowait())
                    except queue.Empty:
                        break
                fcntl.flock(turn, fcntl.LOCK_EX)  # the writers of other processes wait here, woken as soon as it is free
                try:
                    self._commit(db, batch)
                finally:
                    fcntl.flock(turn, fcntl.LOCK_UN)
        finally:
            os.close(turn)
            db.conn.close()

    def _commit(self, db, batch):
        outcomes = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for function, args, kwargs, _ in batch:
                outcomes.append(_one(db, function, args, kwargs))
            db.commit()  # the one fsync of the batch (synchronous=FULL)
        except BaseException as failed:  # noqa: BLE001  (every request of the batch hears of it)
            if db.conn.in_transaction:
                db.rollback()
            for *_, future in batch:
                future.set_exception(failed)
            return
        self.batches += 1
        self.requests += len(batch)
        for (*_, future), (ok, value) in zip(batch, outcomes):
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)


def _one(db, function, args, kwargs):
    """Run one request under its own savepoint: (True, result) or (False, the exception)."""
    db.execute("SAVEPOINT request")
    try:
        result = function(db, *args, **kwargs)
    except REFUSALS as refused:
        db.execute("RELEASE request")
        return False, refused
    except Exception as failed:  # noqa: BLE001  (a bug or a constraint in one request fails that request alone)
        db.execute("ROLLBACK TO request")
        db.execute("RELEASE request")
        return False, failed
    db.execute("RELEASE request")
    return True, result


def writer_for(path, synchronous="FULL"):
    """The writer of this database file in this process (created on first use)."""
    with _lock:
        if path not in _writers:
            _writers[path] = Writer(path, synchronous)
        return _writers[path]
