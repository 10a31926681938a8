"""The journal in the database: append an entry in the writer's transaction, and check everything later.

Checking covers the chain itself (logbook.journal), its head (a deleted last entry leaves a gap or a head
mismatch), and the inspections: each one's stored facts must equal what its journal entries say.
"""

import json

from . import journal
from .db import rows

# inspection columns whose stored value must match the journal's replay
CHECKED = ("status", "kind", "counted", "entry", "late", "started_at", "reference", "result", "findings",
           "rectify_by", "void_reason", "confirmed")


def append_journal(db, inspection_id, action, at, payload):
    """Chain one entry to the head (the caller holds the write lock) and stamp the inspection with its hash."""
    head = rows(db, "SELECT seq, hash FROM journal_head WHERE id = 1")[0]
    entry_id = head["seq"] + 1
    record = {"id": entry_id, "inspection_id": inspection_id, "action": action, "at": at, "payload": payload}
    digest = journal.entry_hash(head["hash"], record)
    db.execute("INSERT INTO journal (id, inspection_id, action, at, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
               [entry_id, inspection_id, action, at, json.dumps(payload, ensure_ascii=False, sort_keys=True),
                head["hash"], digest])
    db.execute("UPDATE journal_head SET seq = ?, hash = ? WHERE id = 1", [entry_id, digest])
    db.execute("UPDATE inspections SET journal_hash = ? WHERE id = ?", [digest, inspection_id])


def _stored_inspections(db):
    found = {}
    for r in rows(db, """SELECT i.id, i.status, i.kind, i.counted, i.entry, i.late, i.started_at, i.reference, i.result,
                                i.findings, i.rectify_by, i.void_reason, i.confirmed_at, i.journal_hash, e.usci
                         FROM inspections i JOIN enterprises e ON e.id = i.enterprise_id"""):
        r["counted"], r["late"], r["confirmed"] = bool(r["counted"]), bool(r["late"]), r.pop("confirmed_at") is not None
        found[r["id"]] = r
    return found


def verify_journal(db):
    """Check chain, head and inspections; return {ok, entries, head, problems}."""
    entries, records = [], []
    problems = []
    for e in rows(db, "SELECT id, inspection_id, action, at, payload, prev_hash, hash FROM journal ORDER BY id"):
        try:
            payload = json.loads(e["payload"])
        except ValueError:
            payload = None
            problems.append(f"entry {e['id']}: payload is not JSON")
        record = {"id": e["id"], "inspection_id": e["inspection_id"], "action": e["action"], "at": e["at"],
                  "payload": payload}
        entries.append((record, e["prev_hash"], e["hash"]))
        records.append(record)
    ok, count, head, bad = journal.verify(entries)
    if not ok:
        problems.append(f"entry {entries[bad][0]['id']}: the chain is broken here (edited, deleted or reordered)")
    gaps = [r["id"] for i, r in enumerate(records) if r["id"] != i + 1]
    if gaps:
        problems.append(f"entry {gaps[0]}: an earlier entry is missing")
    stored_head = rows(db, "SELECT seq, hash FROM journal_head WHERE id = 1")
    if not stored_head or stored_head[0]["seq"] != len(records) or stored_head[0]["hash"] != head:
        problems.append("the journal's head does not match its last entry: entries were removed or added behind its back")
    replayed = journal.replay(entries)
    stored_inspections = _stored_inspections(db)
    for inspection_id, stored in stored_inspections.items():
        expected = replayed.get(inspection_id)
        if expected is None:
            problems.append(f"inspection {inspection_id}: has no journal entries")
            continue
        changed = [c for c in CHECKED if stored[c] != expected.get(c)] + (["usci"] if stored["usci"] != expected["usci"] else [])
        if changed:
            problems.append(f"inspection {inspection_id}: {', '.join(changed)} differ from the journal")
        if stored["journal_hash"] != expected["hash_of_last"]:
            problems.append(f"inspection {inspection_id}: its journal stamp is not its last entry")
    for inspection_id in sorted(set(replayed) - set(stored_inspections)):
        problems.append(f"inspection {inspection_id}: in the journal but deleted")
    return {"ok": not problems, "entries": count, "head": head, "problems": problems,
            "inspections": len(stored_inspections)}
