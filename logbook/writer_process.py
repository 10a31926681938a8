"""The writer process: one write queue for every worker process of a server, so their writes commit in groups.

A queue in each process (logbook.writer.Writer) groups only the writes of that process's own threads, and gunicorn's
sync workers serve one request at a time. This process, started beside the workers by gunicorn's master
(gunicorn.conf.py), listens on a Unix socket beside the database (DATABASE-writer.sock, mode 0600: whoever may write
the database file may write through it, nobody else). Workers send their writes (logbook.writer.RemoteWriter); the
process reads every write that has arrived from every worker, commits them as one batch (one BEGIN IMMEDIATE ...
COMMIT, a SAVEPOINT each, answers after the fsync) and sends each worker its result or exception.
"""

import contextlib
import logging
import os
import pickle
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Future

from .writer import HEADER, Writer, address_of

log = logging.getLogger(__name__)


def serve(path, synchronous="FULL", parent=None):
    """Serve the write queue of `path` on its socket until SIGTERM or SIGINT, or until the parent process (the
    gunicorn master) is gone."""
    queue = Writer(path, synchronous)
    address = address_of(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(address)  # left by a writer process that was killed
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mask = os.umask(0o177)
    try:
        listener.bind(address)
    finally:
        os.umask(mask)
    listener.listen(1024)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    buffers = {}
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    try:
        while not stopping and (parent is None or os.getppid() == parent):
            arrived = []
            events = selector.select(timeout=1.0)
            while events:
                accepted = False
                for key, _ in events:
                    if key.fileobj is listener:
                        accepted = _accept(listener, selector, buffers) or accepted
                    else:
                        arrived += _read(key.fileobj, selector, buffers)
                events = selector.select(timeout=0) if accepted else []  # what the new connections sent already
            if arrived:
                _commit(queue, arrived)
    finally:
        for conn in buffers:
            conn.close()
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(address)
        if queue.db is not None:
            queue.db.conn.close()
        log.info("writer process: %d writes in %d batches", queue.requests, queue.batches)


def _accept(listener, selector, buffers):
    """Accept every connection waiting; True if there was one."""
    accepted = False
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return accepted
        conn.setblocking(True)
        selector.register(conn, selectors.EVENT_READ)
        buffers[conn] = bytearray()
        accepted = True


def _read(conn, selector, buffers):
    """What a readable connection has sent: its whole messages, [] when it is gone (the worker's thread or process)."""
    try:
        data = conn.recv(1 << 16)
    except OSError:
        data = b""
    if not data:
        selector.unregister(conn)
        conn.close()
        del buffers[conn]
        return []
    buffer = buffers[conn]
    buffer += data
    return [(conn, message) for message in _messages(buffer)]


def _messages(buffer):
    """Take every whole message out of a connection's buffer."""
    while len(buffer) >= HEADER.size:
        size = HEADER.unpack_from(buffer)[0]
        if len(buffer) < HEADER.size + size:
            return
        message = bytes(buffer[HEADER.size:HEADER.size + size])
        del buffer[:HEADER.size + size]
        yield message


def _commit(queue, arrived):
    """Commit every write that has arrived as one batch, then answer each worker."""
    batch, answers = [], []
    for conn, message in arrived:
        future = Future()
        try:
            function, args, kwargs = pickle.loads(message)
        except Exception as e:  # noqa: BLE001  (a message this process cannot read fails alone)
            future.set_exception(e)
        else:
            batch.append((function, args, kwargs, future))
        answers.append((conn, future))
    if batch:
        queue.commit(batch)
    for conn, future in answers:
        error = future.exception()
        try:
            answer = pickle.dumps((True, future.result()) if error is None else (False, error), pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # noqa: BLE001  (an answer that does not pickle still answers)
            answer = pickle.dumps((False, RuntimeError(f"the writer's answer could not be sent: {e!r}")))
        with contextlib.suppress(OSError):  # a worker gone meanwhile hears nothing
            conn.sendall(HEADER.pack(len(answer)) + answer)


# ---- beside gunicorn --------------------------------------------------------------------------------------------

def supervise(path, synchronous="FULL"):
    """Start the writer process of `path` and start it again whenever it fails (a thread of the gunicorn master; a
    writer process stopped on purpose, which exits 0, stays stopped and the workers write themselves); returns a
    function that stops it for good."""
    state = {"process": None, "stopping": False}

    def keep_running():
        while not state["stopping"]:
            state["process"] = subprocess.Popen(
                [sys.executable, "-m", "logbook.writer_process", path, synchronous, str(os.getpid())])
            if state["process"].wait() == 0:  # stopped on purpose (SIGTERM, Ctrl-C, the service stopping): stays so
                return
            if not state["stopping"]:
                log.warning("the writer process failed (%s); starting it again", state["process"].returncode)
                time.sleep(1)

    threading.Thread(target=keep_running, name="writer process", daemon=True).start()

    def stop():
        state["stopping"] = True
        if state["process"] is not None and state["process"].poll() is None:
            state["process"].terminate()
            try:
                state["process"].wait(10)
            except subprocess.TimeoutExpired:
                state["process"].kill()
    return stop


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="[writer] %(message)s")
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None)
