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
