"""Random draws (双随机一公开, SPEC §9): reproducible by anyone from what they publish, white-listed firms never drawn,
a submitted task per firm, the result public on a page and at an API path that need no login."""

import json
import os
import subprocess
import sys
import zlib
from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import add_enterprise, add_user, token_for

from logbook import accounts, draws, errors, limits, rules, tasks
from logbook.db import row, rows, value
from logbook.errors import Invalid, NotFound

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = "2026年第一季度 SCJG 抽查"


@pytest.fixture
def firms(store, world):
    """The world's firm (risk B, 制造业) and twelve more: risk A to D in turn, 制造业 or 餐饮业 in turn; and hal, the
    head of SCJG (whose inspectors are ann and bob)."""
    add_user(store, "hal", "head", agency="SCJG", name="何局长")
    add_user(store, "eve", "inspector", agency="SCJG", name="易检查", cert_no="C-eve")
    more = [add_enterprise(store, name=f"抽查企业{n:02d}", risk_level="ABCD"[n % 4],
                           industry=("制造业", "餐饮业")[n % 2]) for n in range(12)]
    return [world["enterprise"], *more]


def head(store, username="hal"):
    return accounts.user_by_username(store, username)


def run_draw(store, count=5, **options):
    """A draw by hal today, with the seed SEED unless one is given."""
    now = datetime.now(UTC)
    return draws.draw(store, head(store), count, now, date.today(), 3, **({"seed": SEED} | options))


def stored(store, draw_id):
    """The draws row, with its result parsed and its candidates unpacked."""
    found = row(store, "SELECT * FROM draws WHERE id = ?", [draw_id])
    found["result"] = json.loads(found["result"])
    found["candidates"] = zlib.decompress(found["candidates"]).decode().split("\n")
    return found


# ---- reproducible ------------------------------------------------------------------------------------------

RECOMPUTE = """
import json, sqlite3, sys, zlib
from logbook import rules
seed, blob, count, result = sqlite3.connect(sys.argv[1]).execute(
    "SELECT seed, candidates, count, result FROM draws WHERE id = ?", [int(sys.argv[2])]).fetchone()
uscis = zlib.decompress(blob).decode().split("\\n")
firms = rules.drawn(seed, uscis, count)
pool = json.loads(result)["inspectors"]
print(json.dumps({"hash": rules.candidates_hash(uscis), "firms": firms,
                  "pairs": {u: rules.pair(seed, u, pool) for u in firms}}))
"""


def test_the_same_seed_and_candidates_give_the_same_firms_and_pairs_in_a_new_process(app, store, firms):
    draw_id = run_draw(store)
    env = dict(os.environ, PYTHONHASHSEED="12345")  # another process, another str hash: the draw must not care
    output = subprocess.run([sys.executable, "-c", RECOMPUTE, app.config["LOGBOOK_DATABASE"], str(draw_id)],
                            cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    again = json.loads(output)
    saved = stored(store, draw_id)
    assert again == {"hash": saved["candidates_hash"], "firms": saved["result"]["firms"],
                     "pairs": saved["result"]["pairs"]}
    assert len(again["firms"]) == 5 and all(len(p) == 2 for p in again["pairs"].values())
    second = stored(store, run_draw(store))  # and a second draw with that seed, here, draws the same
    assert (second["result"]["firms"], second["result"]["pairs"]) == (again["firms"], again["pairs"])


def test_the_draw_follows_the_published_arithmetic(store, firms):
    saved = stored(store, run_draw(store, count=3))
    uscis = sorted(f["usci"] for f in firms)
    assert saved["candidates"] == uscis
    assert saved["candidates_hash"] == rules.sha256("\n".join(uscis))
    assert saved["result"]["firms"] == sorted(uscis, key=lambda u: rules.sha256(f"{SEED}|{u}"))[:3]
    for usci, pair in saved["result"]["pairs"].items():
        assert pair == sorted(["ann", "bob", "eve"], key=lambda n: rules.sha256(f"{SEED}|{usci}|{n}"))[:2]


def test_adding_an_enterprise_changes_the_candidates_hash(store, firms):
    before = stored(store, run_draw(store))
    add_enterprise(store, name="新登记企业")
    after = stored(store, run_draw(store))
    assert after["candidates_hash"] != before["candidates_hash"]
    assert len(after["candidates"]) == len(before["candidates"]) + 1


def test_without_a_seed_a_random_one_is_chosen_and_stored(store, firms):
    first = stored(store, run_draw(store, seed=None))
    second = stored(store, run_draw(store, seed=None))
    assert len(first["seed"]) == 32 and first["seed"] != second["seed"]


# ---- who is drawn ------------------------------------------------------------------------------------------

def test_white_listed_firms_are_never_candidates(store, firms):
    quiet = firms[1]
    limits.add_rule(store, 0, usci_code=quiet["usci"])  # 无事不扰
    limits.add_rule(store, 0, agency="SCJG", usci_code=firms[2]["usci"])  # one agency's rule white-lists nobody
    saved = stored(store, run_draw(store, count=100))
    assert quiet["usci"] not in saved["candidates"] and quiet["usci"] not in saved["result"]["firms"]
    assert firms[2]["usci"] in saved["candidates"]
    assert len(saved["result"]["firms"]) == len(firms) - 1


def test_a_white_listed_risk_level_is_left_out_unless_a_firm_has_its_own_rule(store, firms):
    limits.add_rule(store, 0, risk="D")
    d_firms = [f["usci"] for f in firms if f["risk_level"] == "D"]
    limits.add_rule(store, 1, usci_code=d_firms[0])  # its own rule is more specific than its risk level's
    candidates = draws.candidates(store)
    assert d_firms[0] in candidates
    assert not set(d_firms[1:]) & set(candidates)
    assert candidates == sorted(candidates)


def test_with_fewer_candidates_than_asked_all_are_drawn(store, firms):
    saved = stored(store, run_draw(store, count=1000))
    assert sorted(saved["result"]["firms"]) == sorted(f["usci"] for f in firms)
    assert saved["count"] == 1000


def test_filters_by_risk_level_and_industry(store, firms):
    saved = stored(store, run_draw(store, count=1, risk_level="b", industry="制造业"))
    expected = sorted(f["usci"] for f in firms if f["risk_level"] == "B" and f["industry"] == "制造业")
    assert saved["candidates"] == expected and set(saved["result"]["firms"]) <= set(expected)
    assert (saved["risk_level"], saved["industry"]) == ("B", "制造业")
    by_risk = stored(store, run_draw(store, count=1, risk_level="A"))
    assert by_risk["candidates"] == sorted(f["usci"] for f in firms if f["risk_level"] == "A")


def test_no_matching_enterprise_is_refused(store, firms):
    with pytest.raises(Invalid) as refused:
        run_draw(store, industry="采矿业")
    assert refused.value.fields["industry"].code == "no_candidates"
    assert value(store, "SELECT count(*) FROM draws") == 0


# ---- the tasks ---------------------------------------------------------------------------------------------

def test_each_firm_drawn_gets_a_submitted_task_with_its_pair(store, firms):
    draw_id = run_draw(store, count=4)
    saved = stored(store, draw_id)
    today = date.today()
    created = tasks.tasks_by_ids(store, draws.draw_by_id(store, draw_id)["tasks"], today)
    assert [t["usci"] for t in created] == saved["result"]["firms"]
    for task in created:
        assert (task["status"], task["source"], task["kind"], task["draw_id"]) == ("submitted", "draw", "routine", draw_id)
        assert sorted(p["username"] for p in task["inspectors"]) == sorted(saved["result"]["pairs"][task["usci"]])
        assert task["items"] == ["SCJG-001", "SCJG-002"]  # the agency's active items
        assert (task["window_start"], task["window_end"]) == ((today + timedelta(days=3)).isoformat(),
                                                              (today + timedelta(days=32)).isoformat())
    steps = rows(store, "SELECT action FROM task_steps WHERE task_id IN (SELECT id FROM tasks WHERE draw_id = ?)", [draw_id])
    assert [s["action"] for s in steps] == ["draw"] * 4


def test_named_items_and_window_are_used(store, firms):
    start, end = date.today() + timedelta(days=10), date.today() + timedelta(days=20)
    draw_id = run_draw(store, count=2, items=["SCJG-002"], window_start=start, window_end=end)
    for task in tasks.tasks_by_ids(store, draws.draw_by_id(store, draw_id)["tasks"], date.today()):
        assert task["items"] == ["SCJG-002"]
        assert (task["window_start"], task["window_end"]) == (start.isoformat(), end.isoformat())


def test_inspectors_whose_certificate_ends_inside_the_window_are_not_paired(store, firms):
    end = date.today() + timedelta(days=40)
    store.execute("UPDATE users SET cert_expires_on = ? WHERE username = 'eve'", [(end - timedelta(days=1)).isoformat()])
    saved = stored(store, run_draw(store, count=100, window_end=end))
    assert saved["result"]["inspectors"] == ["ann", "bob"]
    assert all(sorted(p) == ["ann", "bob"] for p in saved["result"]["pairs"].values())


@pytest.mark.parametrize("options, field", [
    ({"count": 0}, "count"),
    ({"count": draws.MAX_COUNT + 1}, "count"),
    ({"risk_level": "E"}, "risk_level"),
    ({"seed": "two\nlines"}, "seed"),
    ({"window_start": date.today() + timedelta(days=9), "window_end": date.today() + timedelta(days=5)}, "window_end"),
    ({"items": ["YJGL-001"]}, "items"),  # another agency's item
])
def test_bad_parameters_are_refused_per_field_and_nothing_is_written(store, firms, options, field):
    with pytest.raises(Invalid) as refused:
        run_draw(store, **options)
    assert field in refused.value.fields
    assert value(store, "SELECT count(*) FROM draws") == value(store, "SELECT count(*) FROM tasks") == 0


def test_fewer_than_two_certified_inspectors_are_refused(store, firms):
    store.execute("UPDATE users SET active = 0 WHERE username IN ('bob', 'eve')")
    with pytest.raises(Invalid) as refused:
        run_draw(store)
    assert refused.value.fields["inspectors"].code == "too_few_inspectors"


def test_only_a_head_draws(store, firms):
    with pytest.raises(NotFound):
        draws.draw(store, accounts.user_by_username(store, "ann"), 3, datetime.now(UTC), date.today(), 3)


# ---- verifying ---------------------------------------------------------------------------------------------

@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def test_flask_draws_verify_passes_a_draw_as_made(store, firms, cli):
    draw_id = run_draw(store)
    result = cli("draws", "verify", str(draw_id))
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1 and f"Draw {draw_id} OK" in result.output


@pytest.mark.parametrize("tamper", [
    "swap a firm", "swap a pair", "drop a candidate", "change the seed", "delete a task"])
def test_flask_draws_verify_fails_after_tampering(store, firms, cli, tamper):
    draw_id = run_draw(store, count=3)
    saved = stored(store, draw_id)
    result, others = saved["result"], [u for u in saved["candidates"] if u not in saved["result"]["firms"]]
    if tamper == "swap a firm":
        first = result["firms"][0]
        result["firms"][0] = others[0]
        result["pairs"][others[0]] = result["pairs"].pop(first)
    elif tamper == "swap a pair":
        result["pairs"][result["firms"][0]] = sorted({"ann", "bob", "eve"} - set(result["pairs"][result["firms"][0]])
                                                     | {result["pairs"][result["firms"][0]][0]})
    if tamper.startswith("swap"):
        store.execute("UPDATE draws SET result = ? WHERE id = ?", [json.dumps(result), draw_id])
    elif tamper == "drop a candidate":
        kept = [u for u in saved["candidates"] if u != others[0]]
        store.execute("UPDATE draws SET candidates = ? WHERE id = ?", [zlib.compress("\n".join(kept).encode()), draw_id])
    elif tamper == "change the seed":
        store.execute("UPDATE draws SET seed = 'another seed' WHERE id = ?", [draw_id])
    else:
        task_id = draws.draw_by_id(store, draw_id)["tasks"][0]
        for table in ("task_steps", "task_inspectors", "task_items"):
            store.execute(f"DELETE FROM {table} WHERE task_id = ?", [task_id])
        store.execute("DELETE FROM tasks WHERE id = ?", [task_id])
    store.conn.commit()
    outcome = cli("draws", "verify", str(draw_id))
    assert outcome.exit_code != 0
    assert "does NOT recompute" in outcome.output
    assert draws.verify(store, draw_id)


def test_flask_draws_verify_fails_for_an_unknown_draw(store, firms, cli):
    outcome = cli("draws", "verify", "4242")
    assert outcome.exit_code != 0 and "no draw with id 4242" in outcome.output
    assert draws.verify(store, 4242) is None


# ---- the API -----------------------------------------------------------------------------------------------

def test_a_head_draws_through_the_api(client, store, firms):
    response = client.post("/api/v1/draws", headers=token_for(client, "hal"), json={"count": 3, "seed": SEED})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    saved = stored(store, body["id"])
    assert body["seed"] == SEED and body["candidates_hash"] == saved["candidates_hash"]
    assert [e["usci"] for e in body["enterprises"]] == saved["result"]["firms"]
    assert all(e["name"] for e in body["enterprises"]) and len(body["tasks"]) == 3
    assert body["pairs"] == saved["result"]["pairs"] and body["candidate_count"] == len(firms)


def test_without_a_seed_the_api_publishes_the_random_one(client, store, firms):
    response = client.post("/api/v1/draws", headers=token_for(client, "hal"), json={"count": 1})
    assert response.status_code == 201 and len(response.get_json()["seed"]) == 32


@pytest.mark.parametrize("username", ["ann", "firm1", "super", "admin"])
def test_only_a_head_may_draw_through_the_api(client, store, firms, username):
    response = client.post("/api/v1/draws", headers=token_for(client, username), json={"count": 3})
    assert response.status_code == 404
    assert value(store, "SELECT count(*) FROM draws") == 0


@pytest.mark.parametrize("body, field", [
    ({"count": 0}, "count"), ({"count": "3"}, "count"), ({}, "count"), ({"count": 3, "risk_level": "E"}, "risk_level"),
    ({"count": 3, "window_start": "2099-02-01", "window_end": "2099-01-01"}, "window_end"),
    ({"count": 3, "items": ["NOPE"]}, "items"), ({"count": 3, "seed": "a\tb"}, "seed"), ({"count": 3, "colour": 1}, "colour"),
])
def test_bad_draws_answer_422_with_the_field(client, store, firms, body, field):
    response = client.post("/api/v1/draws", headers=token_for(client, "hal"), json=body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid" and field in response.get_json()["error"]["fields"]
    assert value(store, "SELECT count(*) FROM draws") == 0


def test_anyone_reads_a_draw_without_a_token(client, store, firms):
    draw_id = run_draw(store)
    response = client.get(f"/api/v1/draws/{draw_id}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    saved = stored(store, draw_id)
    assert (body["id"], body["agency"], body["seed"], body["candidates_hash"]) == (draw_id, "SCJG", SEED,
                                                                                  saved["candidates_hash"])
    assert [e["usci"] for e in body["enterprises"]] == saved["result"]["firms"] and body["pairs"] == saved["result"]["pairs"]
    assert body["count"] == 5 and body["risk_level"] is None and len(body["tasks"]) == 5
    assert {(p["username"], p["cert_no"]) for p in body["inspectors"]} <= {("ann", "C-ann"), ("bob", "C-bob"),
                                                                            ("eve", "C-eve")}
    assert client.get(f"/api/v1/draws/{draw_id}", headers={"Authorization": "Bearer nonsense"}).status_code == 200


def test_an_unknown_draw_is_404(client, store, firms):
    for path in ("/api/v1/draws/4242", f"/api/v1/draws/{2**70}", "/draws/4242", f"/draws/{2**70}"):
        assert client.get(path).status_code == 404, path


def test_other_draw_paths_still_need_a_token(client, store, firms):
    assert client.post("/api/v1/draws", json={"count": 3}).status_code == 401


# ---- the public page ---------------------------------------------------------------------------------------

def test_an_anonymous_visitor_sees_the_draw_and_how_to_check_it(client, store, firms):
    draw_id = run_draw(store, count=2)
    saved = stored(store, draw_id)
    response = client.get(f"/draws/{draw_id}", headers={"Accept-Language": "en"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "市场监督管理局" in page and SEED in page and saved["candidates_hash"] in page
    assert f'<dd id="candidate-count">{len(firms)}</dd>' in page
    names = {f["usci"]: f["name"] for f in firms}
    people = {"ann": "C-ann", "bob": "C-bob", "eve": "C-eve"}
    for usci in saved["result"]["firms"]:
        assert usci in page and names[usci] in page
        for username in saved["result"]["pairs"][usci]:
            assert people[username] in page
    assert f"flask draws verify {draw_id}" in page


def test_a_draw_takes_at_most_its_risk_levels_share(store, firms):
    """The anchors' sampling shares: at most 5% of risk level A in one draw (at least one firm), all of D."""
    with pytest.raises(errors.Invalid) as refused:
        run_draw(store, count=2, risk_level="A")
    assert "count" in refused.value.fields
    everyone = [f["usci"] for f in firms if f["risk_level"] == "D"]
    assert sorted(stored(store, run_draw(store, count=len(everyone), risk_level="D"))["result"]["firms"]) == sorted(everyone)
