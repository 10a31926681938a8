"""A hostile body against a real gunicorn worker: time to answer and the worker's memory before and after.

    .venv/bin/python bench/huge_body.py [MEGABYTES]

Sends one JSON body of MEGABYTES (default 48) to POST /api/v1/tokens and prints the status, the seconds to
answer, and the resident memory of the worker that served it (one worker, so it is that one).
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from logbook import db  # noqa: E402


def rss_mb(pid):
    """Resident memory of a process in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(megabytes=48):
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "logbook.db")
    store = db.connect(path)
    db.migrate(store)
    store.conn.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, LOGBOOK_DATABASE=path, LOGBOOK_SECRET_KEY="bench")
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-w", "1", "--no-control-socket",
                               "-b", f"127.0.0.1:{port}", "app:create_app()"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1)
        worker = int(subprocess.check_output(["pgrep", "-P", str(server.pid)]).split()[0])
        before = rss_mb(worker)
        body = b'{"username": "' + b"a" * (megabytes * 1024 * 1024) + b'", "password": "x"}'
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("POST", "/api/v1/tokens", body, {"Content-Type": "application/json"})
            status = conn.getresponse().status
        except (BrokenPipeError, ConnectionResetError):
            status = "connection closed while sending (the server answered and closed early)"
        seconds = time.perf_counter() - started
        time.sleep(0.5)
        print(f"{megabytes} MB JSON body: status {status} in {seconds:.2f} s; "
              f"worker memory {before:.0f} MB before, {rss_mb(worker):.0f} MB after")
    finally:
        os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 48)
