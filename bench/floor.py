"""Benchmark: where the scan's time goes, one step at a time, beside hello-world on the same gunicorn (SPEC §8).

bench/write_vs_hello.py measures the scan against hello-world. This one serves bench/floor_app.py (the real app
plus a few steps of the scan's work) and measures, side by side in one run, each step with the same request:

  hello    GET /healthz                                     no database, no template
  auth     POST /bench/auth                                 bearer check, body read as JSON, a small JSON answer
  reads    POST /bench/reads                                auth + the scan's reads and rule checks, no write
  one-row  POST /bench/one-row                              auth + one row committed durably (the write queue)
  admit    POST /api/v1/inspections                         the scan itself (201)

with each step's requests per second, its fraction of hello's, its latency and the whole machine's CPU per request
(busy time of all cores over the run, from /proc/stat). The one-row write is the floor of any durable write this
server setup can acknowledge. Needs wrk. Run from the project root:

    .venv/bin/python bench/floor.py [--workers 4] [--duration 8] [--connections 16] [--rounds 2]
"""

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from write_vs_hello import (  # puts the project on sys.path
    Server,
    build_database,
    call,
    load_files,
    machine,
    run_wrk,
    shared_options,
)

from logbook import db

STEPS = {"hello": "hello", "auth": "/bench/auth", "reads": "/bench/reads", "one-row": "/bench/one-row",
         "admit": "admit"}


def machine_ticks():
    """(all ticks, idle ticks) of every core so far (Linux /proc/stat)."""
    with open("/proc/stat") as stat:
        ticks = [int(t) for t in stat.readline().split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]  # idle and iowait


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shared_options(parser, duration=8, rounds=2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/floor.py needs wrk (apt-get install wrk)")
    cores = len(Path("/proc/stat").read_text().split("\ncpu")) - 1

    print(machine())
    with tempfile.TemporaryDirectory(prefix="logbook-bench-") as tmp:
        tmp = Path(tmp)
        names, qr_tokens = build_database(tmp / "bench.db", args.enterprises, args.inspectors)
        store = db.connect(str(tmp / "bench.db"))
        store.execute("CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, text TEXT)")
        store.conn.commit()
        store.conn.close()
        server = Server(tmp / "bench.db", args.workers, tmp / "gunicorn.log", writer_process=args.writer_process,
                        app="bench.floor_app:create()")
        runs = {step: [] for step in STEPS}
        try:
            _, files = load_files(server, names, qr_tokens, tmp)
            for _ in range(20):  # warm every worker
                call(server.port, "GET", "/healthz")
            kind = "writer process" if args.writer_process else "each worker commits its own"
            print(f"gunicorn -w {args.workers} (sync, {kind}), wrk {args.connections} connections, "
                  f"{args.duration} s per step, {args.rounds} round(s), {cores} cores\n")
            offset = 0  # every request that writes takes an enterprise no request took before
            if args.warm:
                warm = argparse.Namespace(**{**vars(args), "duration": args.warm})
                offset += run_wrk(server.port, "/bench/one-row", files, warm, offset)["requests"] + 10 * args.connections
            for _ in range(args.rounds):
                for step, mode in STEPS.items():
                    ticks, idle = machine_ticks()
                    result = run_wrk(server.port, mode, files, args, offset)
                    ticks2, idle2 = machine_ticks()
                    offset += result["requests"] + 10 * args.connections
                    busy = 1 - (idle2 - idle) / (ticks2 - ticks)
                    result["cpu_ms"] = 1000 * busy * cores / result["rps"]
                    result["busy"] = busy
                    runs[step].append(result)
                    print(f"  {step:8} {result['rps']:7,.0f} req/s  p99 {result['p99_ms']:6.1f} ms  "
                          f"machine {100 * busy:3.0f} % busy, {result['cpu_ms']:.2f} ms CPU per request"
                          + (f"  ({result['unexpected']} not 2xx)" if result["unexpected"] else ""), flush=True)
        finally:
            server.stop()
        log = (tmp / "gunicorn.log").read_text()
    if "Traceback" in log or "database is locked" in log or "WARNING" in log:
        print("warning: the gunicorn log has errors:\n" + log[-3000:])
    hello = statistics.median(r["rps"] for r in runs["hello"])
    print(f"\n{'step':8} {'req/s':>7} {'× hello':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>11}")
    for step, results in runs.items():
        rps = statistics.median(r["rps"] for r in results)
        print(f"{step:8} {rps:7,.0f} {rps / hello:8.2f} {statistics.median(r['p50_ms'] for r in results):7.1f} "
              f"{statistics.median(r['p99_ms'] for r in results):7.1f} "
              f"{statistics.median(r['cpu_ms'] for r in results):11.2f}")


if __name__ == "__main__":
    main()
