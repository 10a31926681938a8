"""A burst of logins leaves scans as fast as before (SPEC §5), against a real gunicorn with 4 sync workers.

The users hammered with logins have real scrypt hashes, so every password check costs 120-170 ms of CPU as in
production. One client measures the latency of a fixed sequence of scans, first on a quiet server, then while
three clients (two on `POST /api/v1/tokens`, one on the web form) log in without pause with good and bad
passwords. Checking a password never holds the database's write lock, so the scans only share the CPU with
the hashing; a check inside `BEGIN IMMEDIATE` makes every scan queue behind the logins' hashes instead.
"""

import json
import random
import statistics
import threading
import time
from collections import Counter
from urllib.parse import urlencode

import pytest
from conftest import PASSWORD, add_enterprise, add_user
from live import gunicorn, request

from logbook import accounts, agencies, db

pytestmark = pytest.mark.race

FIRMS = 200  # half for the quiet sequence, half for the burst one, so both admit and refuse alike
HASHED_USERS = ("sup1", "sup2", "sup3", "sup4", "sup5", "sup6")  # logged in with good and bad passwords
WRONG_USERS = HASHED_USERS + ("no-such-user",)  # bad passwords go round these, so few of them reach the 429
SCAN_EVERY = 0.05  # seconds between the starts of two scans, so a sequence of 100 spans a burst of ~5 s
API_LOGIN_CLIENTS = 2
WEB_LOGIN_CLIENTS = 1  # 3 logins at a time leave one of the 4 workers free for the scans
BURST_SECONDS = 10  # the burst sequence stops here even if not done (behind a lock held while hashing, it takes minutes)


def build_world(path):
    """One agency, two inspectors (cheap hashes), 200 enterprises, the hammered firm user and six supervisors
    with scrypt hashes."""
    store = db.connect(str(path), synchronous="NORMAL")  # built before any server runs: not what is under test
    try:
        db.migrate(store)
        agencies.add_agency(store, "SCJG", "市场监督管理局")
        agencies.add_item(store, "SCJG", "SCJG-001", "食品经营许可检查")
        add_user(store, "ann", "inspector", agency="SCJG")
        add_user(store, "bob", "inspector", agency="SCJG")
        firms = [add_enterprise(store, name=f"登录压力测试企业{n}有限公司") for n in range(FIRMS)]
        accounts.add_user(store, "firm1", PASSWORD, "firm", usci_code=firms[0]["usci"], hash_method="scrypt")
        for name in HASHED_USERS:
            accounts.add_user(store, name, PASSWORD, "supervisor", hash_method="scrypt")
        store.conn.commit()
    finally:
        store.conn.close()
    return firms


def scan_plan(firms, seed):
    """100 scans in a fixed shuffled order: 80 firms once, 10 of them twice more (the third is refused, 409)."""
    plan = firms[:80] + firms[:10] + firms[:10]
    random.Random(seed).shuffle(plan)
    return plan


def run_scans(port, headers, plan, deadline):
    """Start an inspection for each firm, one every SCAN_EVERY seconds, until the deadline;
    return [(seconds, status, body)]."""
    results = []
    due = time.monotonic()
    for firm in plan:
        if time.monotonic() > deadline:
            break
        time.sleep(max(0.0, due - time.monotonic()))
        due += SCAN_EVERY
        body = {"qr_token": firm["qr_token"], "kind": "routine", "inspectors": ["bob"], "items": ["SCJG-001"]}
        began = time.perf_counter()
        try:
            answer = request(port, "POST", "/api/v1/inspections", body, headers, timeout=30)
            results.append((time.perf_counter() - began, answer.status, answer.text[:200]))
        except OSError as e:  # a refused or reset connection is a failure the assertions report
            results.append((time.perf_counter() - began, None, f"{type(e).__name__}: {e}"))
    return results


def api_logins(port, stop, answers, client):
    """Alternate a good password of the hammered firm user and a bad one of a rotating user, until stopped."""
    n = client
    while not stop.is_set():
        n += 1
        username, password = ("firm1", PASSWORD) if n % 2 else (WRONG_USERS[n % len(WRONG_USERS)], "wrong-password")
        try:
            answers.append(request(port, "POST", "/api/v1/tokens", {"username": username, "password": password}).status)
        except OSError as e:
            answers.append(f"{type(e).__name__}: {e}")


def web_logins(port, stop, answers, client):
    """Log in through the form (one CSRF token and session cookie for all attempts), good and bad, until stopped."""
    page = request(port, "GET", "/login")
    cookie = page.headers["Set-Cookie"].split(";")[0]
    csrf = page.text.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    n = client
    while not stop.is_set():
        n += 1
        username = HASHED_USERS[n % len(HASHED_USERS)]
        form = urlencode({"username": username, "password": PASSWORD if n % 2 else "wrong-password", "csrf_token": csrf})
        try:
            answers.append(request(port, "POST", "/login", headers={"Cookie": cookie}, form=form).status)
        except OSError as e:
            answers.append(f"{type(e).__name__}: {e}")


def summary(results):
    """Median, 95th percentile and maximum latency in seconds, and the statuses, of a scan sequence."""
    seconds = sorted(s for s, _, _ in results)
    p95 = seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))]
    return {"n": len(results), "median": statistics.median(seconds), "p95": p95, "max": seconds[-1],
            "statuses": dict(Counter(status for _, status, _ in results))}


def test_a_burst_of_logins_leaves_scans_as_fast_as_before(tmp_path):
    firms = build_world(tmp_path / "burst.db")
    server_env = {"LOGBOOK_PASSWORD_HASH": "scrypt"}  # as in production, should the server hash anything itself
    with gunicorn(tmp_path / "burst.db", tmp_path / "gunicorn.log", workers=4, env=server_env) as server:
        port = server.port
        answer = request(port, "POST", "/api/v1/tokens", {"username": "ann", "password": PASSWORD})
        assert answer.status == 201, answer.text
        headers = {"Authorization": f"Bearer {json.loads(answer.text)['token']}"}
        for firm in firms[:12]:  # every worker opens its connection and warms up before anything is timed
            assert request(port, "GET", f"/api/v1/scan/{firm['qr_token']}", headers=headers).status == 200

        quiet = run_scans(port, headers, scan_plan(firms[:FIRMS // 2], 1), time.monotonic() + 60)

        stop, logins = threading.Event(), []
        clients = [threading.Thread(target=api_logins, args=(port, stop, logins, i)) for i in range(API_LOGIN_CLIENTS)]
        clients += [threading.Thread(target=web_logins, args=(port, stop, logins, i)) for i in range(WEB_LOGIN_CLIENTS)]
        for client in clients:
            client.start()
        try:
            time.sleep(0.5)  # the logins are under way before the first timed scan
            burst = run_scans(port, headers, scan_plan(firms[FIRMS // 2:], 2), time.monotonic() + BURST_SECONDS)
        finally:
            stop.set()
            for client in clients:
                client.join()
        log = server.log()

    calm, busy = summary(quiet), summary(burst)
    report = f"quiet {calm}, burst {busy}, logins {dict(Counter(logins))}"
    print(report)
    failures = [(s, b) for _, s, b in quiet + burst if s is None or s >= 500]
    assert not failures, f"{failures[:5]}\n{report}\n--- gunicorn log ---\n{log}"
    assert set(calm["statuses"]) | set(busy["statuses"]) <= {201, 409}, report
    assert calm["statuses"] == {201: 90, 409: 10}, report
    # The burst runs three password hashes at a time on 2 cores, so a scan gets a smaller share of the CPU and
    # its few milliseconds grow a few times over; 4x the quiet median plus 50 ms absorbs that and a noisy
    # machine's jitter, while a hash (~150 ms) checked inside the write lock makes each scan queue behind
    # several of them: hundreds of milliseconds to seconds, far above this bound.
    assert busy["median"] <= 4 * calm["median"] + 0.05, report
    assert busy["n"] == len(quiet) and busy["max"] < 2, report
    assert not [a for a in logins if a not in (201, 302, 401, 429)], report
    # the burst did check passwords: good ones on both paths, bad ones, at least two answers per client
    assert {201, 302, 401} <= set(logins) and len(logins) >= 2 * (API_LOGIN_CLIENTS + WEB_LOGIN_CLIENTS), report
