"""Benchmark: the scan-to-enter write path against a hello-world endpoint on the same gunicorn (SPEC §8).

It builds a temporary database (tens of thousands of enterprises, a few certified inspectors), starts its own
gunicorn, and measures side by side in one run:

  hello   GET /healthz                                          (no database, no template)
  admit   POST /api/v1/inspections on a fresh enterprise        (count under the lock, insert, journal: 201)
  refuse  POST /api/v1/inspections on an enterprise at its cap  (count under the lock, refusal row: 409)

and, in the same run, the disk's limit (one-row durable commits per second) and the domain alone in process. The
load comes from wrk (with bench/wrk_scan.lua) when it is installed, otherwise from a Python multi-process
generator. SPEC §8 asks for admit/hello >= 0.5. Run from the project root:

    .venv/bin/python bench/write_vs_hello.py [--workers 4] [--duration 10] [--connections 16] [--no-writer-process]
        [--slow-fsync-us 2000]
"""

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from logbook import accounts, agencies, db, enterprises, inspections, usci, writer  # noqa: E402

PASSWORD = "bench-password-1"
MODES = ("hello", "admit", "refuse")


def make_usci(n):
    """The n-th valid USCI of the benchmark."""
    first17 = f"91110000MA{n:07d}"
    return first17 + usci.check_character(first17)


def build_database(path, enterprise_count, inspector_count):
    """A fresh database: one agency and item, certified inspectors, many enterprises; the first one at its cap."""
    store = db.connect(str(path))
    try:
        db.migrate(store)
        agencies.add_agency(store, "SCJG", "市场监督管理局")
        agencies.add_item(store, "SCJG", "SCJG-001", "食品经营许可检查")
        expires = (date.today() + timedelta(days=365)).isoformat()
        names = [f"insp{i:02d}" for i in range(inspector_count)]
        for name in names:
            accounts.add_user(store, name, PASSWORD, "inspector", agency="SCJG", cert_no=f"C-{name}",
                              cert_expires_on=expires, hash_method="pbkdf2:sha256:1000")
        rows = [{"usci": make_usci(n), "name": f"基准测试企业{n}有限公司", "address": f"测试路{n}号",
                 "industry": "制造业", "risk_level": "ABCD"[n % 4], "lat": None, "lon": None}
                for n in range(1, enterprise_count + 1)]
        enterprises.import_enterprises(store, rows)
        qr_tokens = [r[0] for r in store.execute("SELECT qr_token FROM enterprises ORDER BY id")]
        caller = accounts.user_by_username(store, names[0])
        for _ in range(2):  # fill the first enterprise up to the default cap of 2, for the refuse path
            inspections.record_inspection(store, caller, inspections.StartRequest(
                qr_token=qr_tokens[0], kind="routine", inspectors=[names[1]], items=["SCJG-001"]),
                inspections.utcnow(), ZoneInfo("Asia/Shanghai"))
    finally:
        store.conn.close()
    return names, qr_tokens


def free_port():
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, headers=None):
    """One request on its own connection: (status, text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, json.dumps(body) if body is not None else None,
                     {"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


class Server:
    """Our own gunicorn on the benchmark database, stopped by its PID."""

    def __init__(self, database, workers, log_path, gthreads=1, writer_process=True, app="app:create_app()"):
        self.port = free_port()
        env = dict(os.environ, LOGBOOK_DATABASE=str(database), LOGBOOK_SECRET_KEY="bench",
                   LOGBOOK_PASSWORD_HASH="pbkdf2:sha256:1000", LOGBOOK_WRITER_PROCESS=str(int(writer_process)))
        gunicorn = Path(sys.executable).parent / "gunicorn"
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(gunicorn), "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--no-control-socket",
                 *(["-k", "gthread", "--threads", str(gthreads)] if gthreads > 1 else []), app],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.log_path = log_path
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{Path(log_path).read_text()}")
            try:
                if call(self.port, "GET", "/healthz")[0] == 200 and (
                        not writer_process or os.path.exists(writer.address_of(str(database)))):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit("gunicorn did not answer /healthz within 30 s")

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def load_files(server, names, qr_tokens, folder):
    """A token for each inspector, and the files wrk_scan.lua reads: ([(token, colleague)], [qr file, bearer file])."""
    bearers = []
    for i, name in enumerate(names):
        status, text = call(server.port, "POST", "/api/v1/tokens", {"username": name, "password": PASSWORD})
        assert status == 201, text
        bearers.append((json.loads(text)["token"], names[(i + 1) % len(names)]))
    (folder / "qr_tokens.txt").write_text("\n".join(qr_tokens) + "\n")
    (folder / "bearers.txt").write_text("".join(f"{t} {c}\n" for t, c in bearers))
    return bearers, [str(folder / "qr_tokens.txt"), str(folder / "bearers.txt")]


# ---- load generators ---------------------------------------------------------------------------------

def run_wrk(port, mode, files, args, offset):
    """One wrk run (admit requests start at enterprise `offset`); returns the numbers its Lua done() prints."""
    command = ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration}s",
               "-s", str(ROOT / "bench" / "wrk_scan.lua"), f"http://127.0.0.1:{port}", "--", mode, *files,
               str(args.threads), str(offset)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.duration + 60, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    found = json.loads(line[len("RESULT "):])
    errors = found["connect"] + found["read"] + found["write"] + found["timeout"]
    return {"requests": found["requests"], "rps": found["requests"] / (found["duration_us"] / 1e6),
            "p50_ms": found["p50_us"] / 1000, "p99_ms": found["p99_us"] / 1000,
            "unexpected": found["non_2xx"] if mode != "refuse" else None, "socket_errors": errors,
            "statuses": None}


def _python_slot(port, mode, qr_tokens, bearers, slot, step, deadline, out):
    """One client thread: new connection per request (as wrk against gunicorn sync), until the deadline."""
    n, latencies, statuses = slot, [], {}
    while time.monotonic() < deadline:
        if mode == "hello":
            method, path, body, headers = "GET", "/healthz", None, {}
        else:
            qr = qr_tokens[0] if mode == "refuse" else qr_tokens[1 + n % (len(qr_tokens) - 1)]
            token, colleague = bearers[n % len(bearers)]
            method, path, headers = "POST", "/api/v1/inspections", {"Authorization": f"Bearer {token}"}
            body = {"qr_token": qr, "kind": "routine", "inspectors": [colleague], "items": ["SCJG-001"]}
        n += step
        started = time.perf_counter()
        try:
            status = call(port, method, path, body, headers)[0]
        except OSError:
            status = "socket error"
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1
    out.append((latencies, statuses))


def _python_process(port, mode, qr_tokens, bearers, first_slot, step, per_process, seconds, queue):
    deadline = time.monotonic() + seconds
    out = []
    threads = [threading.Thread(target=_python_slot, args=(port, mode, qr_tokens, bearers, first_slot + t, step,
                                                           deadline, out)) for t in range(per_process)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies = [x for lat, _ in out for x in lat]
    statuses = {}
    for _, s in out:
        for k, v in s.items():
            statuses[str(k)] = statuses.get(str(k), 0) + v
    queue.put((latencies, statuses))


def run_python(port, mode, qr_tokens, bearers, args, offset):
    """The fallback load generator: `--processes` processes with connections/processes threads each."""
    per_process = max(1, args.connections // args.processes)
    step = per_process * args.processes
    queue = multiprocessing.Queue()
    started = time.monotonic()
    procs = [multiprocessing.Process(target=_python_process,
                                     args=(port, mode, qr_tokens, bearers, offset + p * per_process, step, per_process,
                                           args.duration, queue))
             for p in range(args.processes)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    queue.close()
    queue.join_thread()
    elapsed = time.monotonic() - started
    latencies = sorted(x for lat, _ in results for x in lat)
    statuses = {}
    for _, s in results:
        for k, v in s.items():
            statuses[k] = statuses.get(k, 0) + v
    expected = {"hello": "200", "admit": "201", "refuse": "409"}[mode]
    return {"requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50_ms": 1000 * latencies[len(latencies) // 2], "p99_ms": 1000 * latencies[int(len(latencies) * .99)],
            "unexpected": sum(v for k, v in statuses.items() if k != expected), "socket_errors":
            statuses.get("socket error", 0), "statuses": statuses}


# ---- the run -------------------------------------------------------------------------------------------

def machine():
    """One line describing where the numbers come from."""
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("[")[0].strip() \
        if shutil.which("wrk") else "no wrk"
    return (f"{date.today().isoformat()}, {platform.system()} {platform.release()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {wrk}")


def shared_options(parser, duration, rounds):
    """The options of the server, the database and the load that this benchmark and bench/floor.py share."""
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4, as make run)")
    parser.add_argument("--no-writer-process", dest="writer_process", action="store_false",
                        help="serve without the writer process (LOGBOOK_WRITER_PROCESS=0): each worker commits its own")
    parser.add_argument("--warm", type=int, default=2, help="seconds of writes before measuring, unreported (default 2): "
                        "the writer process imports a write's module when the first one arrives (bench/floor_app.py's "
                        "takes the whole app, 0.5 s), and every worker opens its connections on its first requests")
    parser.add_argument("--duration", type=int, default=duration, help=f"seconds per scenario (default {duration})")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--rounds", type=int, default=rounds, help="repeat every scenario; medians are reported")
    parser.add_argument("--enterprises", type=int, default=100_000, help="enterprises in the database")
    parser.add_argument("--inspectors", type=int, default=8, help="inspectors whose tokens the load rotates")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shared_options(parser, duration=10, rounds=1)
    parser.add_argument("--gthreads", type=int, default=1, help="threads per gunicorn worker: more than 1 serves with "
                        "gthread workers, whose scans wait on the process's writer together (group commit)")
    parser.add_argument("--slow-fsync-us", type=int, default=0, help="make every fsync of the benchmark sleep this "
                        "many microseconds first (bench/slow_fsync.c, compiled with cc), as on a slower disk")
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto", help="load generator")
    parser.add_argument("--processes", type=int, default=2, help="processes of the Python load generator")
    args = parser.parse_args()
    if args.slow_fsync_us and "SLOW_FSYNC_US" not in os.environ:
        slow_disk(args.slow_fsync_us)  # runs the benchmark again under it, and does not return
    tool = ("wrk" if shutil.which("wrk") else "python") if args.tool == "auto" else args.tool

    print(machine())
    with tempfile.TemporaryDirectory(prefix="logbook-bench-") as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        names, qr_tokens = build_database(tmp / "bench.db", args.enterprises, args.inspectors)
        print(f"database: {args.enterprises:,} enterprises, {args.inspectors} inspectors, built in "
              f"{time.perf_counter() - started:.1f} s")
        server = Server(tmp / "bench.db", args.workers, tmp / "gunicorn.log", args.gthreads, args.writer_process)
        try:
            bearers, files = load_files(server, names, qr_tokens, tmp)
            for _ in range(20):  # warm every worker: imports, first connection, statement cache
                call(server.port, "GET", "/healthz")
                call(server.port, "GET", f"/api/v1/scan/{qr_tokens[0]}", headers={
                    "Authorization": f"Bearer {bearers[0][0]}"})
            kind = f"gthread, {args.gthreads} threads" if args.gthreads > 1 else "sync"
            kind += ", writer process" if args.writer_process else ", each worker commits its own"
            print(f"gunicorn -w {args.workers} ({kind}), load: {tool}, {args.connections} connections, "
                  f"{args.duration} s per scenario, {args.rounds} round(s)\n")
            offset = 0  # admit runs never reuse an enterprise of an earlier run
            if args.warm and tool == "wrk":
                warm = argparse.Namespace(**{**vars(args), "duration": args.warm})
                offset += run_wrk(server.port, "admit", files, warm, offset)["requests"] + 10 * args.connections
            before = counts(tmp / "bench.db")
            runs = {mode: [] for mode in MODES}
            for _ in range(args.rounds):
                for mode in MODES:
                    if tool == "wrk":
                        result = run_wrk(server.port, mode, files, args, offset)
                    else:
                        result = run_python(server.port, mode, qr_tokens, bearers, args, offset)
                    if mode == "admit":
                        offset += result["requests"] + 10 * args.connections  # requests in flight at the end
                    runs[mode].append(result)
                    report(mode, result)
            after = counts(tmp / "bench.db")
        finally:
            server.stop()
        log = (tmp / "gunicorn.log").read_text()
        disk = durable_commits(tmp)
        domain = in_process(tmp / "bench.db", qr_tokens, names)
    summarise(runs, before, after, len(qr_tokens) - 1, log, disk, domain)


def slow_disk(microseconds):
    """Run this benchmark again with every fsync slowed down by `microseconds` (LD_PRELOAD of bench/slow_fsync.c)."""
    if not shutil.which("cc"):
        raise SystemExit("--slow-fsync-us needs a C compiler (apt-get install gcc)")
    library = Path(tempfile.mkdtemp(prefix="logbook-bench-")) / "slow_fsync.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(library), str(ROOT / "bench" / "slow_fsync.c"), "-ldl"],
                   check=True)
    print(f"every fsync sleeps {microseconds} µs first (bench/slow_fsync.c)", flush=True)
    env = dict(os.environ, LD_PRELOAD=str(library), SLOW_FSYNC_US=str(microseconds))
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def counts(path):
    """(inspections, refusals) in the database."""
    store = db.connect(str(path))
    try:
        return (db.value(store, "SELECT count(*) FROM inspections"), db.value(store, "SELECT count(*) FROM refusals"))
    finally:
        store.conn.close()


def report(mode, r):
    extra = f", statuses {r['statuses']}" if r["statuses"] else ""
    print(f"{mode:7} {r['rps']:8,.0f} req/s   p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:6.2f} ms   "
          f"{r['requests']:7,} requests, socket errors {r['socket_errors']}{extra}")


def durable_commits(folder, seconds=3.0):
    """The disk's limit, measured now: one-row commits per second with WAL and synchronous=FULL, one after another
    (what a write path that commits each scan alone can reach at best)."""
    path = Path(folder) / "fsync.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)")
        done, deadline = 0, time.monotonic() + seconds
        started = time.monotonic()
        while time.monotonic() < deadline:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (x) VALUES ('scan')")
            conn.execute("COMMIT")
            done += 1
        return done / (time.monotonic() - started)
    finally:
        conn.close()


def in_process(path, qr_tokens, names, count=300):
    """Scans per second of the domain alone (inspections.record_inspection on one connection, synchronous=FULL, no
    web stack), on enterprises the load did not use."""
    store = db.connect(str(path))
    try:
        caller = accounts.user_by_username(store, names[0])
        tz = ZoneInfo("Asia/Shanghai")
        started = time.perf_counter()
        for token in qr_tokens[-count:]:
            inspections.record_inspection(store, caller, inspections.StartRequest(
                qr_token=token, kind="routine", inspectors=[names[1]], items=["SCJG-001"]), datetime.now(UTC), tz)
        return count / (time.perf_counter() - started)
    finally:
        store.conn.close()


def summarise(runs, before, after, fresh, log, disk=None, domain=None):
    """Medians, the ratios SPEC §8 cares about, and a check that the database saw what the clients saw."""
    rps = {mode: statistics.median(r["rps"] for r in runs[mode]) for mode in MODES}
    if disk:
        print(f"\ndisk's limit:  {disk:8,.0f} one-row durable commits/s (same run); admit = {rps['admit'] / disk:.2f} of it")
    if domain:
        print(f"domain alone:  {domain:8,.0f} scans/s in process (synchronous=FULL, no web stack); "
              f"admit = {rps['admit'] / domain:.2f} of it")
    admitted = after[0] - before[0]
    admit_requests = sum(r["requests"] for r in runs["admit"])
    print(f"\nwrite/hello  (admit path):  {rps['admit'] / rps['hello']:.2f}   (SPEC §8 wants >= 0.50)")
    print(f"refuse/hello (refuse path): {rps['refuse'] / rps['hello']:.2f}")
    print(f"database: +{admitted:,} inspections for {admit_requests:,} admit requests, "
          f"+{after[1] - before[1]:,} refusals for {sum(r['requests'] for r in runs['refuse']):,} refuse requests")
    if admit_requests > fresh:
        print(f"warning: {admit_requests:,} admit requests but only {fresh:,} fresh enterprises; raise --enterprises")
    unexpected = [(m, r["unexpected"]) for m in MODES for r in runs[m] if r["unexpected"]]
    if unexpected:
        print(f"warning: unexpected statuses {unexpected}")
    grouped = re.findall(r"writer process: (\d+) writes in (\d+) batches", log)
    if grouped and int(grouped[-1][1]):
        writes, batches = map(int, grouped[-1])
        print(f"writer process: {writes:,} writes in {batches:,} batches ({writes / batches:.1f} per COMMIT)")
    if "Traceback" in log or "database is locked" in log:
        print("warning: the gunicorn log has errors:\n" + log[-3000:])


if __name__ == "__main__":
    main()
