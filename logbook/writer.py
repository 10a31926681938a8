"""The write queue: the writes of a process are committed in groups (group commit), one transaction at a time.

Datasette routes every write through one thread per database fed by a queue; this queue goes one step further, as
databases do with their logs. A write is queued, then its thread waits for the process's turn to commit. Whoever gets
the turn takes every write waiting in the queue (its own among them), runs each one's decide-and-write in order
inside one BEGIN IMMEDIATE ... COMMIT (each sees the ones before it, so a cap stays exact), and answers them all after
the single fsync of that COMMIT; a thread whose write an earlier turn has committed just returns. With one request
per process at a time (gunicorn's sync workers) the request commits its own write on its own thread, with no hand-off;
with threads, the writes that arrive while one batch commits form the next.

A write that raises, a refusal of the domain as much as a bug, is rolled back alone (a SAVEPOINT per write); what a
refusal must keep (a start's refused attempt) it returns instead of raising. Nothing is answered before the
COMMIT has returned, so nothing acknowledged can be lost; if the COMMIT fails, every write of the batch gets the error.

The processes of one database take turns through an flock on a file beside it (DATABASE-writer): a process waiting
for the turn sleeps in the kernel and wakes as soon as it is free, where SQLite's busy handler would poll in sleeps of
up to 100 ms. Under gunicorn, every worker's writes go to one writer process instead (logbook.writer_process, reached
through RemoteWriter), so the writes of all processes commit in groups; a worker without one writes itself.
"""

import fcntl
import os
import pickle
import queue
import socket
import struct
import threading
from concurrent.futures import Future

from . import db as database

MAX_BATCH = 64      # writes in one transaction: a bound on how long the first one waits for the last
HEADER = struct.Struct("!I")  # a message to or from the writer process: its length, then a pickle
MAX_MESSAGE = 16 * 1024 * 1024
ANSWER_SECONDS = 25  # a writer process that has not answered by then is taken as lost (a 503 before gunicorn's 30 s
                     # worker timeout would kill the worker)
_writers = {}
_lock = threading.Lock()


class Writer:
    """The write queue of one database file in this process."""

    def __init__(self, path, synchronous="FULL"):
        self.path, self.synchronous = path, synchronous
        self.queue = queue.SimpleQueue()
        self.turn = threading.Lock()  # held by the thread committing a batch
        self.db = self.turns = None   # the connection and the flock file, opened by the first turn
        self.batches = self.requests = 0  # how much was grouped, for tests and benchmarks

    def run(self, function, *args, **kwargs):
        """Run function(db, *args, **kwargs) in one of the next transactions; return its result once committed,
        or raise what it raised (or what the COMMIT raised)."""
        future = Future()
        self.queue.put((function, args, kwargs, future))
        with self.turn:
            if not future.done():  # no earlier turn took it: this thread commits what waits, its own write first
                self._take_turn()
        return future.result()

    def close(self):
        """Close the connection and the lock file of this queue (a later write opens them again)."""
        with self.turn:
            if self.db is not None:
                self.db.conn.close()
            if self.turns is not None:
                os.close(self.turns)
            self.db = self.turns = None

    def waiting(self):
        """How many writes wait for a turn."""
        return self.queue.qsize()

    def _take_turn(self):
        batch = []
        while len(batch) < MAX_BATCH:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                break
        self.commit(batch)

    def commit(self, batch):
        """Commit a batch of (function, args, kwargs, future) in one transaction, in turn with the other processes,
        and answer each future."""
        try:
            if self.turns is None:
                self.turns = os.open(self.path + "-writer", os.O_RDWR | os.O_CREAT, 0o600)
            if self.db is None:
                self.db = database.connect(self.path, self.synchronous, any_thread=True)
                # the SAVEPOINT of each write keeps the pages it changes in a sub-journal, which past 64 KiB spilled
                # into a temp file: every batch created, wrote and deleted one (107 writes per COMMIT, now 50)
                self.db.execute("PRAGMA temp_store = MEMORY")
            fcntl.flock(self.turns, fcntl.LOCK_EX)  # the other processes' turns
        except BaseException as failed:  # noqa: BLE001  (no database to write to: every write hears why)
            for *_, future in batch:
                future.set_exception(failed)
            return
        try:
            self._commit(batch)
        finally:
            fcntl.flock(self.turns, fcntl.LOCK_UN)

    def _commit(self, batch):
        db, outcomes = self.db, []
        try:
            db.execute("BEGIN IMMEDIATE")
            for function, args, kwargs, _ in batch:
                outcomes.append(_one(db, function, args, kwargs))
            db.commit()  # the one fsync of the batch (synchronous=FULL)
        except BaseException as failed:  # noqa: BLE001  (every write of the batch hears of it)
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
    """Run one write under its own savepoint: (True, result), or (False, the exception) with its writes undone."""
    db.execute("SAVEPOINT request")
    try:
        result = function(db, *args, **kwargs)
    except Exception as failed:  # noqa: BLE001  (a refusal, a bug or a constraint fails that write alone)
        db.execute("ROLLBACK TO request")
        db.execute("RELEASE request")
        return False, failed
    db.execute("RELEASE request")
    return True, result


def address_of(path):
    """The Unix socket of the writer process of a database file."""
    return path + "-writer.sock"


class WriterLost(Exception):
    """The writer process went away after receiving a write: it may or may not have been committed."""


class RemoteWriter:
    """A worker's way to the writer process: one connection per thread, the process's own queue as the fallback."""

    def __init__(self, path, synchronous="FULL"):
        self.address = address_of(path)
        self.local = Writer(path, synchronous)
        self.connections = threading.local()
        self.opened = set()  # every thread's connection, to close them all

    def run(self, function, *args, **kwargs):
        """Run function(db, *args, **kwargs) in the writer process's next batch (or, without one, in this process's
        queue); return its result once committed, or raise what it raised."""
        message = None
        for _attempt in (1, 2):  # a connection the previous writer process left behind fails on sending: once more
            conn = self._connection()
            if conn is None:
                return self.local.run(function, *args, **kwargs)
            message = message or pickle.dumps((function, args, kwargs), pickle.HIGHEST_PROTOCOL)
            try:
                conn.sendall(HEADER.pack(len(message)) + message)
            except OSError:  # not sent whole, so never run: safe to send again
                self._drop()
                continue
            try:
                ok, value = pickle.loads(receive(conn))
            except (OSError, EOFError) as e:
                self._drop()
                raise WriterLost("the writer process stopped before answering") from e
            if ok:
                return value
            raise value
        return self.local.run(function, *args, **kwargs)

    def _connection(self):
        conn = getattr(self.connections, "conn", None)
        if conn is None:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(ANSWER_SECONDS)
            try:
                conn.connect(self.address)
            except OSError:  # no writer process: this process writes itself
                conn.close()
                return None
            self.connections.conn = conn
            with _lock:
                self.opened.add(conn)
        return conn

    def _drop(self):
        conn = getattr(self.connections, "conn", None)
        if conn is not None:
            conn.close()
            self.connections.conn = None
            with _lock:
                self.opened.discard(conn)

    def close(self):
        """Close every thread's connection to the writer process, and this process's own queue."""
        with _lock:
            for conn in self.opened:
                conn.close()
            self.opened.clear()
        self.local.close()


def receive(conn):
    """One whole message from a blocking socket (EOFError when the other side has closed)."""
    size = HEADER.unpack(_exactly(conn, HEADER.size))[0]
    if size > MAX_MESSAGE:
        raise EOFError("message too long")
    return _exactly(conn, size)


def _exactly(conn, size):
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError("the connection closed")
        data += chunk
    return bytes(data)


def writer_for(path, synchronous="FULL"):
    """How this process writes to the database file: through the writer process when one serves it, else through
    its own queue (created on first use; a forked process makes its own, since a connection must not cross a fork)."""
    key = (path, os.getpid())
    with _lock:
        if key not in _writers:
            _writers[key] = RemoteWriter(path, synchronous)
        return _writers[key]


def close_all():
    """Close this process's connections to the database and its writer process (tests and CLI commands that end)."""
    with _lock:
        found = list(_writers.values())
        _writers.clear()
    for remote in found:
        remote.close()
