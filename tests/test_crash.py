"""A `kill -9` of every server process under write load loses no acknowledged inspection (SPEC §8, §12).

A real gunicorn with 4 sync workers serves a fresh database with LOGBOOK_SYNCHRONOUS=FULL while eight clients
start inspections across many enterprises and note the id of every 201. After a moment of load the whole
process group (master and workers at once) gets SIGKILL; the server is started again on the same file, and every
acknowledged inspection must be there, no enterprise may be over its cap, and the journal must verify. Three
rounds, each killing the server the previous round restarted.
"""

import http.client
import json
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import PASSWORD, add_enterprise, add_user
from live import ROOT, Server, request

from logbook import agencies, db

pytestmark = pytest.mark.crash

FIRMS = 500  # 1000 places under the cap, so most scans of the three rounds are admitted
INSPECTORS = ("ann", "bob", "eve", "fay")
SCANNERS = 8
ROUNDS = 3
LOAD_SECONDS = 1.5
CAP = 2  # the fresh database's one rule: two counted inspections per calendar year


def build_world(path):
    """One agency with an item, four certified inspectors and the enterprises they scan."""
    store = db.connect(str(path), synchronous="NORMAL")  # built before any server runs: not what is under test
    try:
        db.migrate(store)
        agencies.add_agency(store, "SCJG", "市场监督管理局")
        agencies.add_item(store, "SCJG", "SCJG-001", "食品经营许可检查")
        for name in INSPECTORS:
            add_user(store, name, "inspector", agency="SCJG")
        firms = [add_enterprise(store, name=f"崩溃测试企业{n}有限公司") for n in range(FIRMS)]
        store.conn.commit()
    finally:
        store.conn.close()
    return firms


def bearer(port, username):
    """A bearer header for the user, obtained through the API (tokens live in the database, so they outlive a crash)."""
    answer = request(port, "POST", "/api/v1/tokens", {"username": username, "password": PASSWORD})
    assert answer.status == 201, answer.text
    return {"Authorization": f"Bearer {json.loads(answer.text)['token']}"}


def scanner(port, tokens, firms, seed, acknowledged, answers, errors):
    """Start inspections of random firms back to back until the server stops answering; note (id, inspector) of
    every 201, and when the connection failed."""
    rng = random.Random(seed)
    while True:
        i = rng.randrange(len(INSPECTORS))
        body = {"qr_token": rng.choice(firms)["qr_token"], "kind": "routine",
                "inspectors": [INSPECTORS[(i + 1) % len(INSPECTORS)]], "items": ["SCJG-001"]}
        try:
            answer = request(port, "POST", "/api/v1/inspections", body, tokens[INSPECTORS[i]], timeout=10)
        except (OSError, http.client.HTTPException) as e:  # killed: refused, reset, or cut off mid-answer
            errors.append((time.monotonic(), f"{type(e).__name__}: {e}"))
            return
        answers.append((answer.status, answer.text[:200]))
        if answer.status == 201:
            acknowledged.append((json.loads(answer.text)["id"], INSPECTORS[i]))


def load_then_kill(server, tokens, firms, round_no):
    """Run the scanners for LOAD_SECONDS, SIGKILL the whole server, and return ([(id, inspector)], answers)."""
    acknowledged, answers, errors = [], [], []
    threads = [threading.Thread(target=scanner, args=(server.port, tokens, firms, 100 * round_no + n, acknowledged,
                                                      answers, errors)) for n in range(SCANNERS)]
    for t in threads:
        t.start()
    time.sleep(LOAD_SECONDS)
    killed_at = time.monotonic()
    server.kill()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a scanner did not notice the server was gone"
    assert not [e for at, e in errors if at < killed_at], f"connections failed before the kill: {errors}"
    return acknowledged, answers


def stored_ids(path, ids):
    """The ids among `ids` that the database file holds, read on a connection of our own."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("CREATE TEMP TABLE wanted (id INTEGER PRIMARY KEY)")
        conn.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", [(i,) for i in ids])
        return {r[0] for r in conn.execute("SELECT i.id FROM inspections i JOIN wanted w ON w.id = i.id")}
    finally:
        conn.close()


def over_the_cap(path):
    """(enterprise_id, Beijing year, count) of every enterprise with more counted unvoided inspections than CAP."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("""SELECT enterprise_id, strftime('%Y', started_at, '+8 hours') AS year, count(*)
                               FROM inspections WHERE counted = 1 AND status != 'voided'
                               GROUP BY enterprise_id, year HAVING count(*) > ?""", [CAP]).fetchall()
    finally:
        conn.close()


def journal_verify(server):
    """`flask journal verify` on the server's database: (exit status, output)."""
    flask = Path(sys.executable).parent / "flask"
    done = subprocess.run([str(flask), "journal", "verify"], cwd=ROOT, env=server.env, capture_output=True,
                          text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def test_killing_every_server_process_under_write_load_loses_no_acknowledged_inspection(tmp_path):
    path = tmp_path / "crash.db"
    firms = build_world(path)
    server = Server(path, tmp_path / "gunicorn.log", workers=4)
    acknowledged = []
    try:
        server.start()
        tokens = {name: bearer(server.port, name) for name in INSPECTORS}
        for round_no in range(1, ROUNDS + 1):
            ids, answers = load_then_kill(server, tokens, firms, round_no)
            acknowledged += [i for i, _ in ids]
            server.start()

            print(f"round {round_no}: {len(ids)} acknowledged, answers {dict(Counter(s for s, _ in answers))}")
            assert ids, f"round {round_no}: no scan was acknowledged before the kill\n{server.log()}"
            assert not [a for a in answers if a[0] not in (201, 409)], f"{answers[:5]}\n{server.log()}"
            missing = set(acknowledged) - stored_ids(path, acknowledged)
            assert not missing, f"round {round_no}: acknowledged but lost: {sorted(missing)}"
            for inspection_id, inspector in ids[-SCANNERS:]:  # the last ones before the kill, through the restarted server
                answer = request(server.port, "GET", f"/api/v1/inspections/{inspection_id}", headers=tokens[inspector])
                assert (answer.status, json.loads(answer.text).get("id")) == (200, inspection_id), answer.text
            assert not over_the_cap(path), over_the_cap(path)
            status, output = journal_verify(server)
            assert status == 0, output
    finally:
        server.stop()


# ---- group commit: killed mid-batch ---------------------------------------------------------------------------

def keyed_scanner(port, tokens, firms, seed, sent, acknowledged, errors):
    """Start inspections with an Idempotency-Key each until the server stops answering; note every request sent
    (key, body, inspector) and the key and id of every 201."""
    rng = random.Random(seed)
    for n in range(10**6):
        i = rng.randrange(len(INSPECTORS))
        key = f"s{seed}-{n}"
        body = {"qr_token": rng.choice(firms)["qr_token"], "kind": "routine",
                "inspectors": [INSPECTORS[(i + 1) % len(INSPECTORS)]], "items": ["SCJG-001"]}
        sent.append((key, body, INSPECTORS[i]))
        try:
            answer = request(port, "POST", "/api/v1/inspections", body, tokens[INSPECTORS[i]] | {"Idempotency-Key": key},
                             timeout=10)
        except (OSError, http.client.HTTPException) as e:
            errors.append(f"{type(e).__name__}: {e}")
            return
        if answer.status == 201:
            acknowledged[key] = json.loads(answer.text)["id"]


def test_killing_a_threaded_server_mid_batch_loses_nothing_and_a_retry_never_counts_twice(tmp_path):
    """gthread workers let requests wait on the writer together, so the kill lands in the middle of batches: every
    acknowledged scan is there after the restart, and retrying every scan that was not answered, with its key,
    returns the inspection a committed batch already holds instead of recording it again."""
    path = tmp_path / "crash.db"
    firms = build_world(path)
    server = Server(path, tmp_path / "gunicorn.log", workers=2, threads=8)
    try:
        server.start()
        tokens = {name: bearer(server.port, name) for name in INSPECTORS}
        sent, acknowledged, errors = [], {}, []
        threads = [threading.Thread(target=keyed_scanner, args=(server.port, tokens, firms, n, sent, acknowledged,
                                                                errors)) for n in range(2 * SCANNERS)]
        for t in threads:
            t.start()
        time.sleep(LOAD_SECONDS)
        server.kill()
        for t in threads:
            t.join(timeout=30)
        assert acknowledged and errors, (len(acknowledged), errors[:3], server.log())
        server.start()
        assert not set(acknowledged.values()) - stored_ids(path, acknowledged.values()), "acknowledged but lost"
        for key, body, inspector in sent:
            if key not in acknowledged:
                answer = request(server.port, "POST", "/api/v1/inspections", body,
                                 tokens[inspector] | {"Idempotency-Key": key})
                assert answer.status in (201, 409), answer.text
                if answer.status == 201:
                    acknowledged[key] = json.loads(answer.text)["id"]
        conn = sqlite3.connect(path)
        try:
            stored = {r[0] for r in conn.execute("SELECT id FROM inspections")}
        finally:
            conn.close()
        assert len(set(acknowledged.values())) == len(acknowledged)  # one inspection per key
        assert stored == set(acknowledged.values())  # and none that no answer names
        assert not over_the_cap(path), over_the_cap(path)
        status, output = journal_verify(server)
        assert status == 0, output
    finally:
        server.stop()
