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


def digest(text):
    """The SHA-256 of a secret the journal must cover without revealing it (a confirmation code)."""
    return hashlib.sha256(text.encode()).hexdigest()


# facts a start entry records as they are; lists are compared sorted
START_FACTS = ("kind", "counted", "entry", "late", "started_at", "reference", "reason", "recheck_of", "lat", "lon",
               "recorded_by", "confirm_code_sha256", "agencies", "items", "inspectors")


def photo_fact(photo_id, sha256, checkpoint, purpose):
    """How a photo is compared with the journal: its id, hash, checkpoint and purpose in one string."""
    return f"{photo_id}:{sha256}:{checkpoint}:{purpose}"


def replay(entries):
    """Each inspection's state as its entries tell it: {inspection_id: {status, kind, ..., hash_of_last}}.

    Entries written before a fact was journaled simply do not mention it, and it is then not compared.
    """
    states = {}
    for record, _prev, entry_hash_ in entries:
        payload = record.get("payload") or {}
        state = states.setdefault(record["inspection_id"], {})
        action, at = record["action"], record["at"]
        if action == "start":
            state.update(status="open", usci=payload.get("enterprise"), recorded_at=at, closed_at=None, result=None,
                         findings=None, rectify_by=None, voided_at=None, void_reason=None, confirmed_at=None,
                         confirmed_by=None, photos=[], statement=None, rectification=None)
            for key in START_FACTS:
                if key in payload:
                    state[key] = sorted(payload[key]) if isinstance(payload[key], list) else payload[key]
            if any("/" not in name for name in state.get("inspectors", [])):
                state.pop("inspectors")  # an early entry named the inspectors without their certificates
        elif action == "close":
            state.update(status="closed", closed_at=at, result=payload.get("result"), findings=payload.get("findings"),
                         rectify_by=payload.get("rectify_by"))
            if "checks" in payload:
                state["checks"] = sorted([c.get("checkpoint"), c.get("outcome"), c.get("note")]
                                         for c in payload["checks"] or [])
        elif action == "photo":
            state.setdefault("photos", []).append(photo_fact(payload.get("photo"), payload.get("sha256"),
                                                             payload.get("checkpoint"), payload.get("purpose")))
            state["photos"].sort()
        elif action in ("statement", "rectification"):
            state[action] = payload.get("text")
        elif action == "void":
            state.update(status="voided", voided_at=at, void_reason=payload.get("reason"))
        elif action == "confirm":
            state.update(confirmed_at=at, confirmed_by=payload.get("by"))
        state["hash_of_last"] = entry_hash_
    return states
