"""Benchmark: the read paths at SPEC §8 scale (4 million enterprises, 10 million inspections by default).

It generates a database with the real schema (logbook.db.migrate), loading rows with executemany in big
transactions (secondary indexes are dropped during the load and rebuilt after, as any bulk import would), then
times the product's read paths with a warm cache and prints the EXPLAIN QUERY PLAN of every statement they run.

    .venv/bin/python bench/scale.py                                    # full scale, about 5 GB on disk
    .venv/bin/python bench/scale.py --enterprises 400000 --inspections 1000000
    .venv/bin/python bench/scale.py --database big.db --keep           # keep the file for another run
    .venv/bin/python bench/scale.py --database big.db --reuse          # time an existing file again

Shape of the data: three years of inspections in time order; 95% of them fall on random enterprises (about
2.5 each), 5% on 1,000 "hot" enterprises (about 170 a year each, like the gas company of SPEC §1); 30% of the
enterprises have no inspection at all. Kinds, results and joint inspections are mixed in plausible shares.
The journal and the firms' inboxes are not generated: nothing on these paths reads them by enterprise. The warnings
the scans would have recorded are added by `record_warnings` (bench/pages.py calls it for this year).
"""

import argparse
import os
import random
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from logbook import accounts, alerts, db, enterprises, errors, feedback, inspections, rules, stats, thresholds, usci  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
AGENCIES = 40
ITEMS = 900  # Shanghai's item library holds 888
INSPECTORS_PER_AGENCY = 500  # 20,000 in all
HOT = 1_000
YEARS = 3
KINDS = (["routine"] * 55 + ["special"] * 15 + ["complaint"] * 8 + ["referral"] * 4 + ["monitoring"] * 4
         + ["firm_request"] * 3 + ["emergency"] * 1 + ["licensing"] * 4 + ["recheck"] * 2 + ["visit"] * 4)
INDUSTRIES = ("制造业", "批发和零售业", "住宿和餐饮业", "建筑业", "交通运输业", "信息技术服务业", "燃气供应")


def usci_of(n):
    """The n-th generated USCI (valid check character)."""
    first17 = f"914302{n:011d}"
    return first17 + usci.check_character(first17)


def stamp(seconds):
    """A Unix time as stored (ISO 8601 UTC to the second)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def chunks(rows, size):
    """Lists of up to `size` items from an iterator."""
    chunk = []
    for r in rows:
        chunk.append(r)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load(conn, sql, rows, batch=200_000):
    """executemany in transactions of `batch` rows; returns the row count."""
    count = 0
    for chunk in chunks(rows, batch):
        conn.execute("BEGIN")
        conn.executemany(sql, chunk)
        conn.execute("COMMIT")
        count += len(chunk)
    return count


def items_of(agency, n_items=ITEMS):
    """How many items the agency has: n_items shared out over the agencies."""
    return n_items // AGENCIES + (agency <= n_items % AGENCIES)


def generate(path, n_enterprises, n_inspections, seed=1, n_items=ITEMS):
    """Create the database at `path` and fill it; prints what it did and how long each part took."""
    rng = random.Random(seed)
    store = db.connect(str(path))
    db.migrate(store)
    conn = store.conn
    conn.isolation_level = None  # we issue BEGIN/COMMIT ourselves
    # Bulk load: no rollback journal, no fsync, a big cache; the file is WAL again at the end.
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")
    dropped = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                           "AND tbl_name IN ('enterprises', 'inspections', 'inspection_agencies', "
                           "'inspection_inspectors', 'refusals')").fetchall()
    for name, _ in dropped:
        conn.execute(f"DROP INDEX {name}")
    started = time.perf_counter()
    created = stamp(time.time())

    agency_rows = [(a, f"A{a:02d}", f"执法主体{a:02d}") for a in range(1, AGENCIES + 1)]
    load(conn, "INSERT INTO agencies (id, code, name) VALUES (?, ?, ?)", agency_rows)
    load(conn, "INSERT INTO items (id, agency_id, code, name) VALUES (?, ?, ?, ?)",
         ((a * 100 + k, a, f"A{a:02d}-{k:03d}", f"检查事项{a:02d}-{k:03d}")
          for a in range(1, AGENCIES + 1) for k in range(1, items_of(a, n_items) + 1)))
    expires = (datetime.now(UTC) + timedelta(days=365)).date().isoformat()
    load(conn, """INSERT INTO users (id, username, password_hash, role, name, agency_id, cert_no, cert_expires_on,
                  created_at) VALUES (?, ?, 'x', 'inspector', ?, ?, ?, ?, ?)""",
         ((u, f"i{u}", f"检查员{u}", (u - 1) // INSPECTORS_PER_AGENCY + 1, f"C-{u}", expires, created)
          for u in range(1, AGENCIES * INSPECTORS_PER_AGENCY + 1)))
    t = time.perf_counter()
    load(conn, """INSERT INTO enterprises (id, usci, name, address, industry, risk_level, qr_token, created_at)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
         ((e, usci_of(e), f"规模测试企业{e}有限公司", f"测试大道{e}号", INDUSTRIES[e % len(INDUSTRIES)], "ABCD"[e % 4],
           secrets.token_urlsafe(16), created) for e in range(1, n_enterprises + 1)))
    print(f"  enterprises: {n_enterprises:,} rows in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    now = time.time()
    first = now - YEARS * 365.25 * 86400
    span = now - first
    quiet = int(n_enterprises * 0.7) or 1  # the last 30% of enterprises are never inspected
    hot = [rng.randint(1, quiet) for _ in range(min(HOT, quiet))]
    links = {"agencies": [], "inspectors": [], "items": []}

    def inspection_rows():
        for i in range(1, n_inspections + 1):
            enterprise = rng.choice(hot) if rng.random() < 0.05 else rng.randint(1, quiet)
            at = first + span * (i - 0.5) / n_inspections
            kind = rng.choice(KINDS)
            agency = rng.randint(1, AGENCIES)
            agencies = [agency] if rng.random() < 0.9 else [agency, agency % AGENCIES + 1]
            status = "voided" if rng.random() < 0.02 else ("open" if now - at < 3 * 86400 else "closed")
            result = rng.choice(("no_issue",) * 14 + ("rectify",) * 5 + ("case_filed",)) if status == "closed" \
                else None
            started_at = stamp(at)
            for a in agencies:
                links["agencies"].append((i, a))
                links["items"].append((i, a * 100 + rng.randint(1, items_of(a, n_items))))
            base = (agency - 1) * INSPECTORS_PER_AGENCY
            first_inspector = base + rng.randint(1, INSPECTORS_PER_AGENCY - 1)
            links["inspectors"].append((i, first_inspector, f"C-{first_inspector}"))
            links["inspectors"].append((i, first_inspector + 1, f"C-{first_inspector + 1}"))
            yield (i, enterprise, kind, int(kind in rules.COUNTED_KINDS), status, started_at, started_at,
                   first_inspector, stamp(at + 3600) if status == "closed" else None, result,
                   "检查发现问题" if result in ("rectify", "case_filed") else None, f"{rng.randrange(10**6):06d}",
                   "REF-1" if kind not in rules.COUNTED_KINDS and kind != "visit" else None)

    conn.execute("BEGIN")
    for chunk in chunks(inspection_rows(), 200_000):
        conn.executemany("""INSERT INTO inspections (id, enterprise_id, kind, counted, status, entry, started_at,
                            recorded_at, recorded_by, closed_at, result, findings, confirm_code, reference)
                            VALUES (?, ?, ?, ?, ?, 'scan', ?, ?, ?, ?, ?, ?, ?, ?)""", chunk)
        conn.executemany("INSERT INTO inspection_agencies (inspection_id, agency_id) VALUES (?, ?)",
                         links["agencies"])
        conn.executemany("INSERT INTO inspection_inspectors (inspection_id, user_id, cert_no) VALUES (?, ?, ?)",
                         links["inspectors"])
        conn.executemany("INSERT INTO inspection_items (inspection_id, item_id) VALUES (?, ?)", links["items"])
        for rows in links.values():
            rows.clear()
        conn.execute("COMMIT")
        conn.execute("BEGIN")
    conn.execute("COMMIT")
    print(f"  inspections: {n_inspections:,} rows (+ agencies, inspectors, items) in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    refusals = n_inspections // 100
    load(conn, """INSERT INTO refusals (enterprise_id, user_id, agency_id, kind, rule_id, used, max, attempted_at)
                  VALUES (?, ?, ?, 'routine', 1, 2, 2, ?)""",
         ((rng.choice(hot), u, (u - 1) // INSPECTORS_PER_AGENCY + 1, stamp(first + span * rng.random()))
          for u in (rng.randint(1, AGENCIES * INSPECTORS_PER_AGENCY) for _ in range(refusals))))
    print(f"  refusals: {refusals:,} rows in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    for _, sql in dropped:
        conn.execute(sql)
    print(f"  rebuilt {len(dropped)} indexes in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    stats.recount(store, TZ)  # what `flask init-db` does for a database from before the counters
    print(f"  supervisor's counters (stats.recount) in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode = WAL")
    print(f"  ANALYZE in {time.perf_counter() - t:.1f} s")
    conn.close()
    print(f"generated in {time.perf_counter() - started:.1f} s, {os.path.getsize(path) / 1e9:.2f} GB")


def record_warnings(store, since, batch=50_000):
    """The warnings the scans and closes since `since` (a stored timestamp) would have recorded as they happened:
    alerts.note_start on each inspection and alerts.note_close on each closed without issue, in time order, in
    transactions of `batch` inspections. The bulk load above bypasses them; the supervisor's warnings page reads them.
    Returns (inspections seen, warnings recorded)."""
    seen, after = 0, (since, 0)
    while True:
        found = store.execute("""SELECT i.id, i.enterprise_id, i.started_at, i.status, i.result FROM inspections i
            WHERE i.started_at >= ? AND (i.started_at > ? OR i.id > ?) AND i.status != 'voided' AND i.kind != 'visit'
            ORDER BY i.started_at, i.id LIMIT ?""", [after[0], *after, batch]).fetchall()
        if not found:
            return seen, db.value(store, "SELECT count(*) FROM warnings")
        with db.immediate(store):
            for inspection_id, enterprise_id, started_at, status, result in found:
                alerts.note_start(store, inspection_id, {"id": enterprise_id}, db.parse_time(started_at), [], None,
                                  thresholds.DEFAULTS, TZ)
                if status == "closed" and result == "no_issue":
                    alerts.note_close(store, inspection_id, enterprise_id, result, TZ)
        seen += len(found)
        after = found[-1][2], found[-1][0]


# ---- timing --------------------------------------------------------------------------------------------

def timed(label, action, repeat):
    """Run `action` once cold(ish), then `repeat` times; print the first, the median and the worst."""
    t = time.perf_counter()
    action()
    first = time.perf_counter() - t
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        action()
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"  {label:58} first {first * 1000:8.2f} ms   median {statistics.median(times) * 1000:8.3f} ms   "
          f"max {times[-1] * 1000:8.3f} ms   (n={repeat})")
    return statistics.median(times)


def scan_read(store, token, at):
    """What GET /api/v1/scan/<token> reads: the enterprise, its quota, this year's inspections."""
    found, _ = enterprises.by_qr_token(store, token)
    start, end = rules.year_bounds(at.astimezone(TZ).year, TZ)
    return (inspections.quota(store, found, at, TZ),
            inspections.inspections_between(store, found["id"], start, end))


def firm_records(store, enterprise_id, at):
    """What GET /api/v1/firm/inspections reads: the enterprise, its year of records, ratings and quota."""
    found = enterprises.by_id(store, enterprise_id)
    start, end = rules.year_bounds(at.astimezone(TZ).year, TZ)
    records = inspections.inspections_between(store, enterprise_id, start, end)
    feedback.rated_ids(store, [r["id"] for r in records])
    return inspections.quota(store, found, at, TZ), records


def explain(store, label, action):
    """Run the action once, capturing its statements, and print the query plan of each SELECT."""
    statements = []
    store.conn.set_trace_callback(statements.append)
    try:
        action()
    finally:
        store.conn.set_trace_callback(None)
    print(f"\n-- {label}")
    seen = set()
    for sql in statements:
        text = " ".join(sql.split())
        if not text.upper().startswith("SELECT") or text in seen:
            continue
        seen.add(text)
        print(f"   {text[:150]}{'…' if len(text) > 150 else ''}")
        for row in store.execute("EXPLAIN QUERY PLAN " + sql).fetchall():
            print(f"      {row[-1]}")


def measure(path, repeat):
    """Time the read paths (and the atomic write) on the database at `path`."""
    store = db.connect(str(path))
    try:
        at = datetime.now(UTC)
        counts = {t: db.value(store, f"SELECT count(*) FROM {t}")
                  for t in ("enterprises", "inspections", "inspection_inspectors", "refusals")}
        print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        start, end = (db.now_text(x) for x in rules.year_bounds(at.astimezone(TZ).year, TZ))
        busiest = db.row(store, """SELECT enterprise_id AS id, count(*) AS n FROM inspections
                                   WHERE started_at >= ? AND started_at < ? GROUP BY enterprise_id
                                   ORDER BY n DESC LIMIT 1""", [start, end])
        typical = db.row(store, """SELECT enterprise_id AS id, count(*) AS n FROM inspections
                                   WHERE started_at >= ? AND started_at < ? AND enterprise_id > ?
                                   GROUP BY enterprise_id HAVING n BETWEEN 1 AND 3 LIMIT 1""",
                         [start, end, counts["enterprises"] // 3])
        quiet = counts["enterprises"]  # the last enterprise is never inspected
        token_of = {e: db.value(store, "SELECT qr_token FROM enterprises WHERE id = ?", [e])
                    for e in (busiest["id"], typical["id"], quiet)}
        usci_of_typical = db.value(store, "SELECT usci FROM enterprises WHERE id = ?", [typical["id"]])
        print(f"this year: busiest enterprise {busiest['id']} has {busiest['n']} inspections, "
              f"typical {typical['id']} has {typical['n']}, enterprise {quiet} has none\n")
        print("read paths (warm cache):")
        results = {}
        for name, e in (("busiest", busiest["id"]), ("typical", typical["id"]), ("never inspected", quiet)):
            results[f"scan {name}"] = timed(f"scan read, {name} enterprise", lambda e=e: scan_read(
                store, token_of[e], at), repeat)
        for name, e in (("busiest", busiest["id"]), ("typical", typical["id"])):
            results[f"firm {name}"] = timed(f"firm's records, {name} enterprise",
                                            lambda e=e: firm_records(store, e, at), repeat)
        timed("enterprise by USCI (manual entry)", lambda: enterprises.by_usci(store, usci_of_typical), repeat)
        timed("search by USCI prefix (manual entry)",
              lambda: enterprises.search(store, usci_of_typical[:12]), max(3, repeat // 10))
        timed("search by name part (manual entry: LIKE '%…%')",
              lambda: enterprises.search(store, "企业1234567"), 3)
        timed("supervisor year stats (stats.year_stats)", lambda: stats.year_stats(
            store, at.astimezone(TZ).year, TZ), 2)

        print("\nthe atomic write (record_inspection) at this size:")
        caller = accounts.user_by_username(store, "i1")
        body = {"kind": "routine", "inspectors": ["i2"], "items": ["A01-001"]}

        def start(qr_token):
            return inspections.StartRequest(qr_token=qr_token, **body)
        fresh = iter(range(quiet, quiet - 10_000, -1))

        def fresh_token():
            return db.value(store, "SELECT qr_token FROM enterprises WHERE id = ?", [next(fresh)])
        admit = timed("record_inspection, admitted (fresh enterprise)", lambda: inspections.record_inspection(
            store, caller, start(fresh_token()), datetime.now(UTC), TZ), repeat)

        def refuse():
            try:
                inspections.record_inspection(store, caller, start(token_of[busiest["id"]]),
                                              datetime.now(UTC), TZ)
            except errors.CapReached:
                return
            raise AssertionError("the busiest enterprise should be over its cap")
        refused = timed("record_inspection, refused (busiest enterprise)", refuse, repeat)

        print("\nquery plans:")
        explain(store, "scan read (busiest enterprise)", lambda: scan_read(store, token_of[busiest["id"]], at))
        explain(store, "firm's records", lambda: firm_records(store, typical["id"], at))
        explain(store, "record_inspection (admitted)", lambda: inspections.record_inspection(
            store, caller, start(fresh_token()), datetime.now(UTC), TZ))
        explain(store, "manual entry search", lambda: enterprises.search(store, usci_of_typical[:12]))
        explain(store, "supervisor year stats", lambda: stats.year_stats(store, at.astimezone(TZ).year, TZ))
        return results, admit, refused
    finally:
        store.conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enterprises", type=int, default=4_000_000, help="enterprises (default 4,000,000)")
    parser.add_argument("--inspections", type=int, default=10_000_000, help="inspections (default 10,000,000)")
    parser.add_argument("--database", help="file to create (default: a temporary file, deleted afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the --database file")
    parser.add_argument("--reuse", action="store_true", help="time an existing --database instead of generating")
    parser.add_argument("--repeat", type=int, default=200, help="timed repetitions per read path (default 200)")
    args = parser.parse_args()
    print(f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"SQLite {sqlite3.sqlite_version}")

    with tempfile.TemporaryDirectory(prefix="logbook-scale-") as tmp:
        path = Path(args.database) if args.database else Path(tmp) / "scale.db"
        try:
            if not args.reuse:
                if path.exists():
                    raise SystemExit(f"{path} exists; use --reuse to time it, or remove it")
                print(f"generating {args.enterprises:,} enterprises and {args.inspections:,} inspections in {path}")
                generate(path, args.enterprises, args.inspections)
            measure(path, args.repeat)
        finally:
            if args.database and not args.keep and not args.reuse:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
