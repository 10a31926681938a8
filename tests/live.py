"""Helpers for tests against a real gunicorn: a free port, a server in its own process group, one HTTP request.

The server runs `app:create_app()` with sync workers on a database the test prepared; it is started in a new
session, so one signal to its process group reaches the master and every worker at once (a crash test kills
them all with SIGKILL), and stopping it never depends on the master still being alive to reap its workers.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import namedtuple
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"

Answer = namedtuple("Answer", "status text headers")


def free_port():
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, headers=None, timeout=30, form=None):
    """One HTTP request on its own connection: a JSON `body` or a urlencoded `form`; returns an Answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if form is not None:
            payload, kind = form, "application/x-www-form-urlencoded"
        else:
            payload, kind = (json.dumps(body) if body is not None else None), "application/json"
        conn.request(method, path, payload, {"Content-Type": kind, **(headers or {})})
        response = conn.getresponse()
        return Answer(response.status, response.read().decode("utf-8", "replace"), response.headers)
    finally:
        conn.close()


class Server:
    """One gunicorn serving `database` on a fresh port; `start()` waits for /healthz, `stop()` and `kill()` end it."""

    def __init__(self, database, log_path, workers=4, env=None, threads=1):
        self.database, self.log_path, self.workers, self.threads = Path(database), Path(log_path), workers, threads
        self.env = dict(os.environ, LOGBOOK_DATABASE=str(database), LOGBOOK_SECRET_KEY="test",
                        LOGBOOK_PHOTOS=str(self.database.parent / "photos"),
                        LOGBOOK_PDF_CACHE=str(self.database.parent / "pdf-cache"),
                        LOGBOOK_PASSWORD_HASH="pbkdf2:sha256:1000", LOGBOOK_SYNCHRONOUS="FULL") | (env or {})
        self.process = self.port = None

    def start(self, seconds=30):
        """Start gunicorn in a new session (its PID is the process group's id) and wait until it answers."""
        self.port = free_port()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(GUNICORN), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "5",
                 "--no-control-socket", *(["-k", "gthread", "--threads", str(self.threads)] if self.threads > 1 else []),
                 "app:create_app()"],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._signal_group(signal.SIGKILL)
                pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if request(self.port, "GET", "/healthz", timeout=2).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"gunicorn did not answer /healthz within {seconds} s:\n{self.log()}")

    def kill(self):
        """SIGKILL the master and every worker at once, as a crash would; wait for the master."""
        self._signal_group(signal.SIGKILL)
        self.process.wait()
        self._wait_group_gone()

    def stop(self):
        """Ask the whole group to stop (SIGTERM); whatever is still alive after 10 s is killed."""
        if self.process is None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._signal_group(signal.SIGKILL)  # workers the master did not take down with it
        self.process.wait()
        self._wait_group_gone()

    def log(self, tail=3000):
        """The end of gunicorn's output."""
        return self.log_path.read_text(errors="replace")[-tail:] if self.log_path.exists() else ""

    def _signal_group(self, sig):
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:  # nothing of the group is left
            pass

    def _wait_group_gone(self, seconds=10):
        deadline = time.monotonic() + seconds
        while self._group_alive() and time.monotonic() < deadline:
            time.sleep(0.02)

    def _group_alive(self):
        # orphaned workers are reaped by init, which can take a second: a zombie has released everything, so on
        # Linux count only members that still run; elsewhere, any member at all
        if not Path("/proc").is_dir():
            try:
                os.killpg(self.process.pid, 0)
                return True
            except ProcessLookupError:
                return False
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                state, _, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
            except (OSError, ValueError):  # the process ended while we looked
                continue
            if group == str(self.process.pid) and state != "Z":
                return True
        return False


@contextmanager
def gunicorn(database, log_path, workers=4, env=None):
    """A started Server for the block; stopped (or found already dead) afterwards, whatever happened."""
    server = Server(database, log_path, workers, env)
    try:
        yield server.start()
    finally:
        server.stop()
