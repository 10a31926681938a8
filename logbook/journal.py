"""The tamper-evident journal: a hash chain over every change to an inspection.

Each entry's hash covers the previous entry's hash and the entry's own canonical JSON, so editing or
deleting any entry breaks every hash after it.
"""

import hashlib
import json

GENESIS = "0" * 64


def canonical(record):
    """The bytes a hash is taken over: sorted keys, no whitespace, UTF-8."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(prev_hash, record):
    """The hash of one entry, chained to the hash before it."""
    return hashlib.sha256(prev_hash.encode() + canonical(record)).hexdigest()


def verify(entries):
    """Check a chain of (record, prev_hash, hash) in order; return (ok, count, head, first_bad_index)."""
    prev = GENESIS
    count = 0
    for index, (record, stored_prev, stored_hash) in enumerate(entries):
        if stored_prev != prev or entry_hash(prev, record) != stored_hash:
            return False, count, prev, index
        prev = stored_hash
        count += 1
    return True, count, prev, None


def replay(entries):
    """Each inspection's state as its entries tell it: {inspection_id: {status, kind, ..., hash_of_last}}."""
    states = {}
    for record, _prev, digest in entries:
        payload = record.get("payload") or {}
        state = states.setdefault(record["inspection_id"], {})
        action = record["action"]
        if action == "start":
            state.update(status="open", kind=payload.get("kind"), counted=payload.get("counted"),
                         entry=payload.get("entry"), late=payload.get("late"), started_at=payload.get("started_at"),
                         reference=payload.get("reference"), usci=payload.get("enterprise"), result=None,
                         findings=None, rectify_by=None, void_reason=None, confirmed=False)
        elif action == "close":
            state.update(status="closed", result=payload.get("result"), findings=payload.get("findings"),
                         rectify_by=payload.get("rectify_by"))
        elif action == "void":
            state.update(status="voided", void_reason=payload.get("reason"))
        elif action == "confirm":
            state["confirmed"] = True
        state["hash_of_last"] = digest
    return states
