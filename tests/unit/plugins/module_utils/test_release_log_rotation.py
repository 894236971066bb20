# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 18.18: the release log is bounded; rotation keeps what rollback, reconcile and retention read."""
import fcntl
import os
import threading
import time

from ansible_collections.berth.compose.plugins.module_utils import release_log as rl


def commit(n):
    return "%040x" % (0xc0ffee000 + n)


def deploy(n, **fields):
    record = dict(kind="deploy", outcome="ok", from_commit=commit(n - 1) if n else None, to_commit=commit(n),
                  serving_commit=commit(n), images={"web": "shop-web:%s" % commit(n)[:12]}, gate={"passed": True})
    record.update(fields)
    return rl.prepare_record(record)


def noise(n):
    return rl.prepare_record(dict(kind="reconcile", outcome="failed", to_commit=commit(n), message="x" * 200))


def test_the_log_stays_bounded_and_keeps_what_rollback_reconcile_and_retention_read(tmp_path, monkeypatch):
    monkeypatch.setattr(rl, "KEEP_RECORDS", 40)
    monkeypatch.setattr(rl, "KEEP_RELEASES", 6)
    path = str(tmp_path / "releases.jsonl")
    everything = []
    for n in range(1, 31):
        for record in [deploy(n)] + [noise(n) for _i in range(12)]:
            everything.append(record)
            rl.append_record(path, rl.encode(record), rotate_bytes=30000)
    os.chmod(path, 0o640)
    assert os.path.getsize(path) < 30000 + 20000, "the live log is bounded"
    assert os.path.exists(path + ".1") and os.stat(path + ".1").st_mode & 0o777 == 0o640
    live = rl.read_log(path)[0]
    assert len(live) < len(everything)
    assert rl.current(live)["serving_commit"] == commit(30)
    assert rl.last_good(live, commit(30))["serving_commit"] == commit(29)  # rollback -e ref=previous
    assert rl.images(live, commit(25)) == {"web": "shop-web:%s" % commit(25)[:12]}
    assert rl.retained(live, 5) == rl.retained(everything, 5)
    assert live[-1] == everything[-1] and [r["id"] for r in live] == sorted(r["id"] for r in live)


def test_an_append_waiting_for_the_lock_during_a_rotation_lands_in_the_new_file(tmp_path):
    path = str(tmp_path / "releases.jsonl")
    for n in range(1, 4):
        rl.append_record(path, rl.encode(deploy(n)))
    holder = os.open(path, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another writer, about to rotate
    late = deploy(4)
    writer = threading.Thread(target=rl.append_record, args=(path, rl.encode(late)), daemon=True)
    writer.start()
    try:
        time.sleep(0.3)  # the writer opened the old file and waits for its lock
        assert rl.rotate(path, holder, keep_records=1, keep_releases=1)
    finally:
        os.close(holder)
    writer.join(10)
    assert late["id"] in [r["id"] for r in rl.read_log(path)[0]]
