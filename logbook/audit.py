"""The journal in the database: append an entry in the writer's transaction, and check everything later.

Checking streams, so it needs the same memory at ten million inspections as at ten: first the chain in
order (logbook.journal), its head (a deleted last entry leaves a gap or a head mismatch) and, when given, a
head published earlier; then the inspections in batches, each one's stored facts and links against the
replay of its own entries (read through the journal's per-inspection index).
"""

import json

from . import journal
from .db import immediate, now_text, row, rows, value

BATCH = 1000
MAX_PROBLEMS = 1000  # listed; a database copied in without its journal would otherwise list millions
# inspection columns whose stored value must match the journal's replay
CHECKED = ("status", "kind", "counted", "entry", "late", "started_at", "recorded_at", "recorded_by", "reference",
           "reason", "recheck_of", "lat", "lon", "closed_at", "result", "findings", "rectify_by", "voided_at",
           "void_reason", "confirmed_at", "confirmed_by", "confirm_code_sha256", "usci", "agencies", "inspectors",
           "items", "checks", "photos", "statement", "rectification")


def append_journal(db, inspection_id, action, at, payload, task_id=None):
    """Chain one entry to the head (the caller holds the write lock) and stamp the inspection with its hash; return
    the hash. A task's step is an entry with inspection_id 0, the task in its payload and its task_id column."""
    head = rows(db, "SELECT seq, hash FROM journal_head WHERE id = 1")[0]
    entry_id = head["seq"] + 1
    record = {"id": entry_id, "inspection_id": inspection_id, "action": action, "at": at, "payload": payload}
    digest = journal.entry_hash(head["hash"], record)
    db.execute("""INSERT INTO journal (id, inspection_id, action, at, payload, prev_hash, hash, task_id)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
               [entry_id, inspection_id, action, at, json.dumps(payload, ensure_ascii=False, sort_keys=True),
                head["hash"], digest, task_id])
    db.execute("UPDATE journal_head SET seq = ?, hash = ? WHERE id = 1", [entry_id, digest])
    if inspection_id:
        db.execute("UPDATE inspections SET journal_hash = ? WHERE id = ?", [digest, inspection_id])
    return digest


def task_state(db, task_id):
    """What the journal records of a task after each step: every stored fact and link, as plain values."""
    found = row(db, """SELECT t.status, t.kind, t.window_start, t.window_end, t.notice, t.source, t.joint_id,
        t.inspection_id, t.proposed_day, t.proposal_answer, t.draw_id, a.code AS agency, e.usci FROM tasks t
        JOIN agencies a ON a.id = t.agency_id JOIN enterprises e ON e.id = t.enterprise_id WHERE t.id = ?""", [task_id])
    if found is None:
        return None
    found["inspectors"] = sorted(r[0] for r in db.conn.execute(
        "SELECT u.username FROM task_inspectors ti JOIN users u ON u.id = ti.user_id WHERE ti.task_id = ?", [task_id]))
    found["items"] = sorted(r[0] for r in db.conn.execute(
        "SELECT it.code FROM task_items ti JOIN items it ON it.id = ti.item_id WHERE ti.task_id = ?", [task_id]))
    return found


def append_task_step(db, task_id, action, by_username, at, note):
    """Journal a task's step with the task's state after it (the caller holds the write lock)."""
    append_journal(db, 0, f"task.{action}", at, {"task": task_id, "by": by_username, "note": note,
                                                 "state": task_state(db, task_id)}, task_id=task_id)


def _check_tasks(db, task_ids, problems):
    """Each task's stored facts against the state its last journal entry recorded."""
    for task_id in task_ids:
        last = db.conn.execute("SELECT payload FROM journal WHERE task_id = ? ORDER BY id DESC LIMIT 1",
                               [task_id]).fetchone()
        stored = task_state(db, task_id)
        if last is None:
            problems.append(f"task {task_id}: has no journal entries")
            continue
        try:
            payload = json.loads(last[0])
        except ValueError:
            problems.append(f"task {task_id}: its last journal entry is not JSON")
            continue
        if payload.get("task") != task_id:
            problems.append(f"task {task_id}: its journal entry names another task")
        elif stored is None:
            problems.append(f"task {task_id}: in the journal but deleted")
        elif payload.get("state") != stored:
            changed = sorted(k for k in stored if stored[k] != (payload.get("state") or {}).get(k))
            problems.append(f"task {task_id}: {', '.join(changed)} differ from the journal")


def _check_every_task(db, problems):
    """_check_tasks over every task and every task the journal names, in batches."""
    last = 0
    while True:
        ids = [r[0] for r in db.conn.execute("""SELECT id FROM (SELECT id FROM tasks WHERE id > ?
            UNION SELECT DISTINCT task_id FROM journal WHERE task_id > ?) ORDER BY id LIMIT ?""", [last, last, BATCH])]
        if not ids:
            return
        _check_tasks(db, ids, problems)
        last = ids[-1]


def head(db):
    """The journal's head: {seq, hash}; publish the hash to make a rewritten chain detectable."""
    return rows(db, "SELECT seq, hash FROM journal_head WHERE id = 1")[0]


def _record(entry, problems):
    try:
        payload = json.loads(entry[4])
    except ValueError:
        payload = None
        problems.append(f"entry {entry[0]}: payload is not JSON")
    return {"id": entry[0], "inspection_id": entry[1], "action": entry[2], "at": entry[3], "payload": payload}


def _check_chain(db, published, problems, count=0, prev=journal.GENESIS):
    """Walk the chain in order from the entry after `count` (whose hash is `prev`); return (entries, head hash,
    whether the published head was passed)."""
    passed = published is None
    cursor = db.conn.execute("SELECT id, inspection_id, action, at, payload, prev_hash, hash FROM journal WHERE id > ? "
                             "ORDER BY id", [count])
    for entry in cursor:
        record = _record(entry, problems)
        if entry[0] != count + 1:
            problems.append(f"entry {entry[0]}: an earlier entry is missing")
        if entry[5] != prev or journal.entry_hash(prev, record) != entry[6]:
            problems.append(f"entry {entry[0]}: the chain is broken here (edited, deleted or reordered)")
            cursor.close()
            return count, prev, passed
        prev, count = entry[6], count + 1
        passed = passed or prev == published
    return count, prev, passed


STORED = """SELECT i.id, i.status, i.kind, i.counted, i.entry, i.late, i.started_at, i.recorded_at, r.username AS recorded_by,
    i.reference, i.reason, i.recheck_of, i.lat, i.lon, i.closed_at, i.result, i.findings, i.rectify_by, i.voided_at,
    i.void_reason, i.confirmed_at, c.username AS confirmed_by, i.confirm_code, i.journal_hash, e.usci
    FROM inspections i JOIN enterprises e ON e.id = i.enterprise_id LEFT JOIN users r ON r.id = i.recorded_by
    LEFT JOIN users c ON c.id = i.confirmed_by WHERE {where}"""


def _links(db, ids):
    """Each inspection's agencies, inspectors (username/certificate), items, checklist answers, photos, statement
    and rectification report as the journal writes them."""
    marks = ",".join("?" * len(ids))
    links = {i: {"agencies": [], "inspectors": [], "items": [], "checks": [], "photos": [], "statement": None,
                 "rectification": None} for i in ids}
    for name, sql in (("agencies", "SELECT ia.inspection_id, a.code FROM inspection_agencies ia JOIN agencies a "
                                   "ON a.id = ia.agency_id WHERE ia.inspection_id IN ({})"),
                      ("inspectors", "SELECT ii.inspection_id, u.username || '/' || coalesce(ii.cert_no, '') FROM "
                                     "inspection_inspectors ii JOIN users u ON u.id = ii.user_id WHERE ii.inspection_id IN ({})"),
                      ("items", "SELECT ii.inspection_id, it.code FROM inspection_items ii JOIN items it "
                                "ON it.id = ii.item_id WHERE ii.inspection_id IN ({})")):
        for inspection_id, text in db.conn.execute(sql.format(marks), ids):
            links[inspection_id][name].append(text)
    for inspection_id, checkpoint, outcome, note in db.conn.execute(
            f"SELECT inspection_id, checkpoint_id, outcome, note FROM inspection_checkpoints WHERE inspection_id IN ({marks})",
            ids):
        links[inspection_id]["checks"].append([checkpoint, outcome, note])
    for inspection_id, photo_id, sha256, checkpoint, purpose in db.conn.execute(
            f"SELECT inspection_id, id, sha256, checkpoint_id, purpose FROM photos WHERE inspection_id IN ({marks})", ids):
        links[inspection_id]["photos"].append(journal.photo_fact(photo_id, sha256, checkpoint, purpose))
    for name in ("statement", "rectification"):
        for inspection_id, text in db.conn.execute(f"SELECT inspection_id, text FROM {name}s WHERE inspection_id "
                                                   f"IN ({marks})", ids):
            links[inspection_id][name] = text
    return {i: {k: sorted(v) if isinstance(v, list) else v for k, v in found.items()} for i, found in links.items()}


def _check_photo_files(db, ids, store, problems):
    """Each photo file of these inspections still holds the bytes whose hash the journal recorded."""
    from . import photos  # photos journals through this module, so it is imported when needed, not at the top

    marks = ",".join("?" * len(ids))
    for photo in rows(db, f"SELECT id, inspection_id, sha256, media_type FROM photos WHERE inspection_id IN ({marks})",
                      ids):
        problem = photos.file_problem(store, photo)
        if problem:
            problems.append(problem)


def _replays(db, ids, problems):
    """The replayed state of each inspection from its own entries."""
    marks = ",".join("?" * len(ids))
    entries = [(_record(e, problems), e[5], e[6]) for e in db.conn.execute(
        f"SELECT id, inspection_id, action, at, payload, prev_hash, hash FROM journal WHERE inspection_id IN ({marks}) "
        "ORDER BY inspection_id, id", ids)]
    return journal.replay(entries)


def _stored(found, links):
    stored = dict(found, counted=bool(found["counted"]), late=bool(found["late"]), **links)
    stored["confirm_code_sha256"] = journal.digest(stored.pop("confirm_code") or "")
    return stored


def _check_inspections(db, problems, photo_store=None):
    """Compare every inspection, batch by batch, with its journal's replay; return how many were checked."""
    last, checked = 0, 0
    while True:
        batch = rows(db, STORED.format(where="i.id > ? ORDER BY i.id LIMIT ?"), [last, BATCH])
        if not batch:
            break
        _compare(db, batch, problems, photo_store)
        checked += len(batch)
        last = batch[-1]["id"]
    for (orphan,) in db.conn.execute("""SELECT DISTINCT j.inspection_id FROM journal j WHERE j.inspection_id != 0
                                        AND NOT EXISTS (SELECT 1 FROM inspections i WHERE i.id = j.inspection_id)"""):
        problems.append(f"inspection {orphan}: in the journal but deleted")
    return checked


def _check_some(db, ids, problems, photo_store=None):
    """Compare the inspections with these ids with their journal's replay (those deleted are problems too)."""
    for at in range(0, len(ids), BATCH):
        part = ids[at:at + BATCH]
        batch = rows(db, STORED.format(where=f"i.id IN ({','.join('?' * len(part))})"), part)
        _compare(db, batch, problems, photo_store)
        for gone in set(part) - {b["id"] for b in batch}:
            problems.append(f"inspection {gone}: in the journal but deleted")


def _compare(db, batch, problems, photo_store=None):
    ids = [b["id"] for b in batch]
    if photo_store:
        _check_photo_files(db, ids, photo_store, problems)
    links, replayed = _links(db, ids), _replays(db, ids, problems)
    for found in batch:
        expected = replayed.get(found["id"])
        if expected is None:
            problems.append(f"inspection {found['id']}: has no journal entries")
            continue
        stored = _stored(found, links[found["id"]])
        changed = [c for c in CHECKED if c in expected and stored[c] != expected[c]]
        if changed:
            problems.append(f"inspection {found['id']}: {', '.join(changed)} differ from the journal")
        if stored["journal_hash"] != expected["hash_of_last"]:
            problems.append(f"inspection {found['id']}: its journal stamp is not its last entry")


def verify_journal(db, published_head=None, photo_store=None):
    """Check chain, head, inspections and links, and that the chain still extends `published_head` when given;
    return {ok, entries, head, problems, inspections}."""
    problems = _Problems()
    count, last_hash, passed = _check_chain(db, published_head, problems)
    stored_head = head(db)
    if stored_head["seq"] != count or stored_head["hash"] != last_hash:
        problems.append("the journal's head does not match its last entry: entries were removed or added behind its back")
    if not passed:
        problems.append(f"the journal does not extend the published head {published_head}: it was rewritten or cut back")
    checked = _check_inspections(db, problems, photo_store)
    _check_every_task(db, problems)
    if value(db, "SELECT count(*) FROM journal") != count and not any("broken" in p for p in problems):
        problems.append("the journal has entries outside its chain")
    return _result(problems, count, last_hash, inspections=checked)


def _result(problems, count, last_hash, **more):
    shown = list(problems) + ([f"… and {problems.more:,} more problems"] if problems.more else [])
    return {"ok": not problems, "entries": count, "head": last_hash, "problems": shown} | more


def record_check(db, result, now, full):
    """Remember a verification's outcome: the next quick check goes on from where it ended."""
    with immediate(db):
        db.execute("INSERT INTO journal_checks (checked_at, entries, head, ok, full) VALUES (?, ?, ?, ?, ?)",
                   [now_text(now), result["entries"], result["head"], int(result["ok"]), int(full)])


def verify_since_last_check(db, now, photo_store=None):
    """What the supervisor's API answers, in time that does not grow with the journal: the outcome of the last check
    carried on over the entries written since (their chain, the head, and the inspections they touched). Only a full
    check (`flask journal verify`, nightly) re-reads older entries; the first check ever is a full one."""
    last = row(db, "SELECT entries, head, ok FROM journal_checks ORDER BY id DESC LIMIT 1")
    full_at = value(db, "SELECT checked_at FROM journal_checks WHERE full = 1 ORDER BY id DESC LIMIT 1")
    if last is None:
        result = verify_journal(db, photo_store=photo_store)
        record_check(db, result, now, full=True)
        return result | {"verified_in_full_at": now_text(now), "since": 0}
    problems = _Problems()
    if last["entries"] and value(db, "SELECT hash FROM journal WHERE id = ?", [last["entries"]]) != last["head"]:
        problems.append(f"entry {last['entries']}: changed since the last check (the chain was rewritten)")
    count, last_hash, _ = _check_chain(db, None, problems, last["entries"], last["head"])
    stored_head = head(db)
    if stored_head["seq"] != count or stored_head["hash"] != last_hash:
        problems.append("the journal's head does not match its last entry: entries were removed or added behind its back")
    since = [r for r in db.conn.execute("SELECT DISTINCT inspection_id, task_id FROM journal WHERE id > ?",
                                        [last["entries"]])]  # the tail, by the primary key
    touched = sorted({i for i, _ in since if i})
    _check_some(db, touched, problems, photo_store)
    _check_tasks(db, sorted({t for _, t in since if t is not None}), problems)
    if not last["ok"]:
        problems.append("the last check found the journal broken; run `flask journal verify`")
    result = _result(problems, count, last_hash, inspections=len(touched))
    record_check(db, result, now, full=False)
    return result | {"verified_in_full_at": full_at, "since": last["entries"]}


class _Problems(list):
    """The first MAX_PROBLEMS problems, and how many more there were: memory stays bounded whatever is wrong."""

    more = 0

    def append(self, problem):
        if len(self) < MAX_PROBLEMS:
            super().append(problem)
        else:
            self.more += 1
