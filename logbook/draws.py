"""Random draws (双随机一公开, SPEC §9): an agency's head draws enterprises and, for each, a pair of the agency's
certified inspectors; every drawn firm becomes a submitted task, and the draw is published for anyone to check.

The draw is arithmetic over facts it stores and publishes (rules.candidates_hash, drawn, pair): the seed, the
candidate USCIs and the usernames the pairs were drawn from. The candidates (zlib-compressed, one USCI a line) and
that pool of inspectors are stored with the draw because both change afterwards: firms are imported, risk levels
and white-lists change, certificates expire. What `verify` recomputes exactly is therefore the draw from what it
says it drew from; whether that list was the whole directory of the day can only be checked against a copy of the
day's directory, which the published hash lets anyone compare.
"""

import json
import secrets
import zlib
from datetime import timedelta

from . import limits, rules, tasks
from .db import immediate, now_text, row, rows
from .errors import Invalid, NotFound, Problem

MAX_COUNT = 10_000      # firms in one draw: a big agency's year of routine checks
DRAW_DAYS = 30          # the default window: notice_days from today, for 30 days
MAX_SEED = 128          # characters of a seed a head chooses (a random one has 32)
CHUNK = 500             # values per IN (...) list


def _problems(count, risk_level, seed, window_start, window_end, today, certified, item_codes):
    """Per-field messages for a draw's parameters; the window, inspectors and items are judged as a task's."""
    problems = rules.task_problems("routine", window_start, window_end, today, certified, item_codes)
    if not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        problems["count"] = Problem("bad_count", "count must be from 1 to {most}", most=MAX_COUNT)
    if risk_level is not None and risk_level not in rules.RISK_LEVELS:
        problems["risk_level"] = Problem("bad_risk", "risk level must be A, B, C or D")
    if not (isinstance(seed, str) and 0 < len(seed) <= MAX_SEED and seed.isprintable()):
        problems["seed"] = Problem("bad_seed", "a seed is 1 to {most} printable characters", most=MAX_SEED)
    return problems


def draw(db, head, count, now, today, notice_days, risk_level=None, industry=None, seed=None, items=None,
         window_start=None, window_end=None):
    """Draw `count` firms and their pairs of inspectors for the head's agency, creating a submitted task per firm;
    return the draw's id. Without a seed, a random one is chosen (and published with the result)."""
    if head["role"] != "head" or head["agency_id"] is None:
        raise NotFound(Problem("not_found", "only an agency's head draws"))
    agency_id = head["agency_id"]
    risk_level = (risk_level or "").strip().upper() or None
    industry = (industry or "").strip() or None
    seed = secrets.token_hex(16) if seed is None else seed
    window_start = window_start or today + timedelta(days=notice_days)
    window_end = window_end or window_start + timedelta(days=DRAW_DAYS - 1)
    pool = certified_inspectors(db, agency_id, window_end)
    codes = None if items is None else list(dict.fromkeys(items))[:100]
    things = _items(db, agency_id, codes)
    codes = list(things) if codes is None else codes
    problems = _problems(count, risk_level, seed, window_start, window_end, today, len(pool), codes)
    unknown = [c for c in codes if c not in things]
    if unknown and "items" not in problems:
        problems["items"] = Problem("item_outside", "not on your agency's active list: {codes}", codes=", ".join(unknown))
    if problems:
        raise Invalid(problems)
    uscis = candidates(db, risk_level, industry)
    if not uscis:
        field = "industry" if industry else "risk_level" if risk_level else "count"
        raise Invalid({field: Problem("no_candidates", "no enterprise matches (white-listed ones are left out)")})
    most = rules.draw_limit(risk_level, len(uscis))
    if risk_level and count > most:  # a low-risk firm is drawn rarely: A ≤ 5%, D up to all of them
        raise Invalid({"count": Problem("over_risk_share", "at most {most} of the {total} firms of risk level {level} "
                                        "({share:.0%}) in one draw", most=most, total=len(uscis), level=risk_level,
                                        share=rules.RISK_SHARES[risk_level])})
    firms, pairs, digest, stored, result = _outcome(seed, uscis, count, sorted(pool))
    item_ids = [things[c] for c in codes]
    with immediate(db):
        draw_id = db.execute("""INSERT INTO draws (agency_id, drawn_by, drawn_at, seed, candidates_hash, candidates,
            count, risk_level, industry, window_start, window_end, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", [
            agency_id, head["id"], now_text(now), seed, digest, stored, count, risk_level,
            industry, window_start.isoformat(), window_end.isoformat(), result]).lastrowid
        ids = _enterprise_ids(db, firms)
        for usci in firms:
            tasks.insert_task(db, head, agency_id, ids[usci], "routine", window_start, window_end,
                              [pool[n] for n in pairs[usci]], item_ids, now, source="draw", draw_id=draw_id)
    return draw_id


def _outcome(seed, uscis, count, usernames):
    """(firms, pairs, candidates_hash, the stored candidates, the stored result) of a draw: the seconds of hashing and
    compressing at city scale, done before the write lock is taken, never under it."""
    firms = rules.drawn(seed, uscis, count)
    pairs = {u: rules.pair(seed, u, usernames) for u in firms}
    stored = zlib.compress("\n".join(uscis).encode(), 1)  # 4 M USCIs: 23 MB in 1 s; the default level, 21 MB in 4 s
    result = json.dumps({"firms": firms, "pairs": pairs, "inspectors": usernames, "candidates": len(uscis)},
                        ensure_ascii=False, separators=(",", ":"))
    return firms, pairs, rules.candidates_hash(uscis), stored, result


def certified_inspectors(db, agency_id, through):
    """{username: id} of the agency's active inspectors whose certificate is valid through the day."""
    found = rows(db, """SELECT id, username, cert_no, cert_expires_on FROM users
                        WHERE role = 'inspector' AND active = 1 AND agency_id = ?""", [agency_id])
    return {p["username"]: p["id"] for p in found if rules.certificate_valid(p["cert_no"], p["cert_expires_on"], through)}


def _items(db, agency_id, codes):
    """{code: id} of the agency's active items: all of them, or those among `codes`."""
    if codes is None:
        found = rows(db, "SELECT id, code FROM items WHERE active = 1 AND agency_id = ? ORDER BY code", [agency_id])
    else:
        found = rows(db, f"""SELECT id, code FROM items WHERE active = 1 AND agency_id = ?
                             AND code IN ({','.join('?' * len(codes))}) ORDER BY code""", [agency_id, *codes]) if codes else []
    return {r["code"]: r["id"] for r in found}


def candidates(db, risk_level=None, industry=None):
    """The USCIs a draw picks from, sorted: the enterprises matching the filters, less those white-listed (an
    applicable all-agency rule of max 0).

    Unfiltered, the USCIs come in order from the USCI index alone. risk_level and industry have no index, so a
    filter, or a max-0 rule naming a risk level, an industry or all firms (whose columns must then be read), reads
    the whole table in storage order and sorts in Python: walking the USCI index and fetching each row from there
    was four times slower. White-listing is judged once per (risk level, industry) pair, not once per firm.
    """
    every = [r for r in limits.active_rules(db) if r.agency is None]
    zero = [r for r in every if r.max == 0]
    wide = any(r.target != "enterprise" for r in zero)
    where = [("risk_level = ?", risk_level), ("industry = ?", industry)]
    clause = " AND ".join(c for c, v in where if v is not None)
    params = [v for _, v in where if v is not None]
    sql = f"SELECT usci{', risk_level, industry' if wide else ''} FROM enterprises" + (f" WHERE {clause}" if clause else "")
    cursor = db.execute(sql if clause or wide else sql + " ORDER BY usci", params)
    if not wide:  # an enterprise's own rule is the most specific, and a tie takes the lower max: its max 0 always applies
        listed = {r.value for r in zero}
        return sorted(r[0] for r in cursor if r[0] not in listed)  # already in order without a filter: a linear pass
    named = {r.value for r in every if r.target == "enterprise"}
    verdicts = {}

    def white_listed(usci, risk, trade):
        key = (usci if usci in named else None, risk, trade)
        if key not in verdicts:
            firm = {"usci": usci, "risk_level": risk, "industry": trade}
            verdicts[key] = any(r.max == 0 for r in rules.applicable_rules(every, firm, agencies=()))
        return verdicts[key]

    return sorted(usci for usci, risk, trade in cursor if not white_listed(usci, risk, trade))


def _chunks(values):
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _enterprise_ids(db, uscis):
    found = {}
    for chunk in _chunks(uscis):
        found.update(db.execute(f"SELECT usci, id FROM enterprises WHERE usci IN ({','.join('?' * len(chunk))})",
                                chunk).fetchall())
    return found


def _tasks_of(db, draw_id, uscis):
    """{usci: [task ids]} of the draw's tasks for these firms (through the firms' task index: tasks.draw_id has none)."""
    found = {}
    for chunk in _chunks(uscis):
        for usci, task_id in db.execute(f"""SELECT e.usci, t.id FROM enterprises e JOIN tasks t ON t.enterprise_id = e.id
                WHERE e.usci IN ({','.join('?' * len(chunk))}) AND t.draw_id = ? ORDER BY t.id""", [*chunk, draw_id]):
            found.setdefault(usci, []).append(task_id)
    return found


def draw_by_id(db, draw_id):
    """The draw as published (一公开), or None: who drew, when, the seed, the candidates' hash and number, the filters,
    the firms drawn with their names, their pairs (usernames, with the inspectors' names and certificate numbers)
    and the tasks created."""
    if not 0 < draw_id < 2**63:
        return None
    found = row(db, """SELECT d.id, a.code AS agency, a.name AS agency_name, d.seed, d.candidates_hash, d.count,
        d.risk_level, d.industry, d.window_start, d.window_end, d.drawn_at, d.result
        FROM draws d JOIN agencies a ON a.id = d.agency_id WHERE d.id = ?""", [draw_id])
    if found is None:
        return None
    result = json.loads(found.pop("result"))
    firms, pairs = result["firms"], result["pairs"]
    names = {}
    for chunk in _chunks(firms):
        names.update(db.execute(f"SELECT usci, name FROM enterprises WHERE usci IN ({','.join('?' * len(chunk))})",
                                chunk).fetchall())
    paired = sorted({n for pair in pairs.values() for n in pair})
    people = {}
    for chunk in _chunks(paired):
        people.update((r["username"], r) for r in rows(db, f"""SELECT username, name, cert_no FROM users
            WHERE username IN ({','.join('?' * len(chunk))})""", chunk))
    task_ids = _tasks_of(db, draw_id, firms)
    return dict(found, candidate_count=result["candidates"], pool_size=len(result["inspectors"]),
                enterprises=[{"usci": u, "name": names.get(u, "")} for u in firms], pairs=pairs,
                inspectors=[people.get(n, {"username": n, "name": n, "cert_no": None}) for n in paired],
                tasks=[i for u in firms for i in task_ids.get(u, [])])


def verify(db, draw_id):
    """What differs between a stored draw and its recomputation from the stored seed and candidates (empty when it
    recomputes exactly), or None for an unknown draw.

    Recomputed: the candidates' hash and number, the firms drawn, and each pair, from the pool of usernames the result
    stored (inspectors come and go, so today's list would not do); and each drawn firm has its one task. Not
    recomputable here: whether the stored candidates were every matching firm on the day (see the module's note).
    """
    if not 0 < draw_id < 2**63:
        return None
    found = row(db, "SELECT seed, candidates_hash, candidates, count, result FROM draws WHERE id = ?", [draw_id])
    if found is None:
        return None
    try:
        text = zlib.decompress(found["candidates"]).decode()
        result = json.loads(found["result"])
        firms, pairs, pool, number = result["firms"], result["pairs"], result["inspectors"], result["candidates"]
    except (zlib.error, UnicodeDecodeError, TypeError, ValueError, KeyError) as e:
        return [f"the stored draw cannot be read: {e}"]
    uscis = text.split("\n") if text else []
    seed, differences = found["seed"], []
    if rules.candidates_hash(uscis) != found["candidates_hash"]:
        differences.append(f"the candidates hash to {rules.candidates_hash(uscis)}, not {found['candidates_hash']}")
    if number != len(uscis):
        differences.append(f"{len(uscis)} candidates are stored, the result says {number}")
    expected = rules.drawn(seed, uscis, found["count"])
    if expected != firms:
        missing, extra = [u for u in expected if u not in firms], [u for u in firms if u not in expected]
        differences.append(f"the firms drawn differ: should be drawn but are not: {', '.join(missing) or 'none'}; "
                           f"drawn but should not be: {', '.join(extra) or 'none'}"
                           + ("" if missing or extra else "; the order differs"))
    for usci in sorted(set(expected) | set(pairs)):
        should = rules.pair(seed, usci, pool) if usci in expected else None
        if pairs.get(usci) != should:
            differences.append(f"the pair for {usci} should be {should}, not {pairs.get(usci)}")
    task_ids = _tasks_of(db, draw_id, expected)
    for usci in expected:
        if len(task_ids.get(usci, [])) != 1:
            differences.append(f"{usci} should have one task of this draw, has {len(task_ids.get(usci, []))}")
    return differences
