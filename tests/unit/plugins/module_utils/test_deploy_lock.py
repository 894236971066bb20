# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import json
import multiprocessing
import os
import threading

import pytest

from ansible_collections.berth.compose.plugins.module_utils import deploy_lock as dl

T0 = 1795446000.0  # 2026-11-23T15:00:00Z


class FakeClock:
    """Time stands still until someone sleeps; every sleep is recorded."""

    def __init__(self, now=T0):
        self.t = now
        self.sleeps = []

    def now(self):
        return self.t

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.t += seconds

    def clock(self):
        return dl.Clock(now=self.now, sleep=self.sleep)


def tokens(*values):
    """A make_token that hands out the given tokens in order."""
    it = iter(values)
    return lambda: next(it)


def take(path, clock, owner="deploy web", token="tok-a", **kwargs):
    kwargs.setdefault("operator", "alice")
    kwargs.setdefault("controller", "ctl")
    kwargs.setdefault("pid", 123)
    kwargs.setdefault("wait", 0)
    return dl.acquire(str(path), owner=owner, clock=clock.clock(), make_token=tokens(token), **kwargs)


def on_disk(path):
    return json.loads(open(str(path)).read())


@pytest.fixture()
def lock_path(tmp_path):
    return tmp_path / ".berth" / "deploy.lock"


# --------------------------------------------------------------------------- text

@pytest.mark.parametrize("seconds, text", [
    (0, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"), (3600, "1 h"), (3900, "1 h 5 min"),
    (2 * 86400, "2 d"), (2 * 86400 + 3600, "2 d 1 h"), (-5, "0 s"),
])
def test_age_text_is_short_and_human(seconds, text):
    assert dl.age_text(seconds) == text


def test_iso_is_utc_with_z():
    assert dl.iso(T0) == "2026-11-23T15:00:00Z"


def test_default_operator_prefers_the_sudo_user():
    assert dl.default_operator({"SUDO_USER": "alice"}) == "alice"
    assert dl.default_operator({}) != ""


@pytest.mark.parametrize("text", ["", "{", "[]", "null", '{"owner": "x"}',
                                  json.dumps(dict(owner="o", operator="a", controller="c", pid=1, started="s",
                                                  started_epoch="not a number", ttl=5, token="t")),
                                  json.dumps(dict(owner="o", operator="a", controller="c", pid=1, started="s",
                                                  started_epoch=1.0, ttl=5, token=""))])
def test_parse_holder_rejects_what_is_not_a_complete_lock(text):
    assert dl.parse_holder(text) is None


# --------------------------------------------------------------------------- acquire / release

def test_acquire_creates_the_lock_with_every_field(lock_path):
    clock = FakeClock()
    out = take(lock_path, clock, ttl=900)
    assert out.changed and out.token == "tok-a" and out.stale is None and out.waited == 0
    assert on_disk(lock_path) == dict(owner="deploy web", operator="alice", controller="ctl", pid=123,
                                      started="2026-11-23T15:00:00Z", started_epoch=T0, ttl=900, token="tok-a")
    assert out.lock == on_disk(lock_path)
    assert oct(os.stat(str(lock_path)).st_mode & 0o777) == oct(dl.LOCK_FILE_MODE)
    assert not [name for name in os.listdir(str(lock_path.parent)) if name.endswith(".tmp")]


def test_release_with_the_token_removes_the_lock(lock_path):
    clock = FakeClock()
    take(lock_path, clock)
    out = dl.release(str(lock_path), token="tok-a", clock=clock.clock())
    assert out.changed and out.lock["owner"] == "deploy web"
    assert not lock_path.exists()


def test_release_of_an_absent_lock_is_ok_and_unchanged(lock_path):
    out = dl.release(str(lock_path), token="tok-a")
    assert not out.changed and out.lock is None
    lock_path.parent.mkdir()
    out = dl.release(str(lock_path), token="tok-a")
    assert not out.changed and "not held" in out.msg


def test_release_with_a_wrong_token_fails_and_keeps_the_lock(lock_path):
    clock = FakeClock()
    take(lock_path, clock)
    with pytest.raises(dl.LockError) as err:
        dl.release(str(lock_path), token="tok-other", clock=clock.clock())
    assert "'deploy web' (alice@ctl, pid 123)" in str(err.value) and "force=true" in str(err.value)
    assert err.value.holder["token"] == "tok-a"
    assert on_disk(lock_path)["token"] == "tok-a"


def test_release_with_force_removes_any_lock(lock_path):
    clock = FakeClock()
    take(lock_path, clock)
    out = dl.release(str(lock_path), token="tok-other", force=True, clock=clock.clock())
    assert out.changed and not lock_path.exists()


def test_release_without_token_leaves_the_lock_alone(lock_path):
    """What an always: section does after its acquire failed: never remove the other holder's lock."""
    clock = FakeClock()
    take(lock_path, clock)
    out = dl.release(str(lock_path), token="", clock=clock.clock())
    assert not out.changed and "left in place" in out.msg
    assert on_disk(lock_path)["token"] == "tok-a"


def test_release_of_a_corrupt_lock_needs_force(lock_path):
    lock_path.parent.mkdir()
    lock_path.write_text("")
    with pytest.raises(dl.LockError) as err:
        dl.release(str(lock_path), token="tok-a")
    assert "corrupt" in str(err.value)
    assert dl.release(str(lock_path), force=True).changed
    assert not lock_path.exists()


def test_a_held_lock_with_wait_zero_fails_at_once_naming_the_holder(lock_path):
    clock = FakeClock()
    take(lock_path, clock)
    clock.t += 240
    with pytest.raises(dl.LockHeld) as err:
        take(lock_path, clock, owner="rollback", token="tok-b", operator="bob", controller="ctl2", pid=9)
    assert str(err.value) == (
        "deploy lock held by 'deploy web' (alice@ctl, pid 123) since 2026-11-23T15:00:00Z (4 min ago); "
        "waited 0 s; it turns stale at 2026-11-23T15:30:00Z; -e force_unlock=true takes it over")
    assert err.value.holder["token"] == "tok-a" and clock.sleeps == []
    assert on_disk(lock_path)["token"] == "tok-a"


def test_a_held_lock_is_polled_for_wait_seconds_then_fails(lock_path):
    clock = FakeClock()
    take(lock_path, clock)
    with pytest.raises(dl.LockHeld) as err:
        take(lock_path, clock, owner="rollback", token="tok-b", wait=60)
    assert sum(clock.sleeps) == pytest.approx(60) and max(clock.sleeps) <= dl.POLL_SECONDS
    assert err.value.waited == pytest.approx(60)
    assert "waited 60 s" in str(err.value) and "(1 min ago)" in str(err.value)


def test_a_waiter_gets_the_lock_once_the_holder_releases(lock_path):
    clock = FakeClock()
    take(lock_path, clock)

    def sleep_then_release(seconds):
        clock.sleep(seconds)
        if clock.t - T0 >= 5 and lock_path.exists():
            dl.release(str(lock_path), token="tok-a")

    waiting_clock = dl.Clock(now=clock.now, sleep=sleep_then_release)
    out = dl.acquire(str(lock_path), owner="rollback", wait=60, clock=waiting_clock, make_token=tokens("tok-b"))
    assert out.changed and out.token == "tok-b" and out.stale is None
    assert out.waited == pytest.approx(5)
    assert on_disk(lock_path)["owner"] == "rollback"


def test_contention_between_two_holders_one_waits_and_fails_the_other_keeps_it(lock_path):
    first, second = FakeClock(), FakeClock()
    assert take(lock_path, first, owner="deploy web", token="tok-a").changed
    with pytest.raises(dl.LockHeld):
        take(lock_path, second, owner="reconcile", token="tok-b", wait=3)
    assert on_disk(lock_path)["owner"] == "deploy web"
    dl.release(str(lock_path), token="tok-a")
    assert take(lock_path, second, owner="reconcile", token="tok-c").token == "tok-c"


def test_a_lock_past_its_ttl_is_reported_and_taken_over(lock_path):
    clock = FakeClock()
    take(lock_path, clock, ttl=600)
    clock.t += 601
    out = take(lock_path, clock, owner="deploy api", token="tok-b")
    assert out.changed and out.token == "tok-b"
    assert out.stale["reason"] == "expired" and out.stale["token"] == "tok-a" and out.stale["owner"] == "deploy web"
    assert len(out.warnings) == 1 and "past its TTL of 600 s" in out.warnings[0] and "alice@ctl" in out.warnings[0]
    assert "took over the stale" in out.msg
    assert on_disk(lock_path)["token"] == "tok-b"


def test_a_lock_within_its_ttl_is_live(lock_path):
    clock = FakeClock()
    take(lock_path, clock, ttl=600)
    clock.t += 599
    with pytest.raises(dl.LockHeld):
        take(lock_path, clock, token="tok-b")


@pytest.mark.parametrize("content", [b"", b'{"owner": "deploy web", "oper', b"\x00\x00\x00"])
def test_an_empty_or_corrupt_lock_counts_as_stale(lock_path, content):
    lock_path.parent.mkdir()
    lock_path.write_bytes(content)
    out = take(lock_path, FakeClock(), token="tok-b")
    assert out.changed and out.stale == {"reason": "corrupt"}
    assert "empty or corrupt" in out.warnings[0]
    assert on_disk(lock_path)["token"] == "tok-b"


def test_force_takes_over_a_live_lock_and_says_so(lock_path):
    clock = FakeClock()
    take(lock_path, clock)
    out = take(lock_path, clock, owner="rollback", token="tok-b", force=True)
    assert out.changed and out.stale["reason"] == "forced" and out.stale["token"] == "tok-a"
    assert "by force" in out.warnings[0]
    assert on_disk(lock_path)["token"] == "tok-b"


def test_stale_token_takes_over_only_the_lock_it_names(lock_path):
    clock = FakeClock()
    take(lock_path, clock)
    with pytest.raises(dl.LockHeld):
        take(lock_path, clock, token="tok-b", stale_token="tok-someone-else")
    out = take(lock_path, clock, token="tok-c", stale_token="tok-a")
    assert out.stale["reason"] == "dead" and "process is gone" in out.warnings[0]
    assert on_disk(lock_path)["token"] == "tok-c"


def test_acquire_with_the_held_token_is_reentrant(lock_path):
    clock = FakeClock()
    take(lock_path, clock)
    out = dl.acquire(str(lock_path), owner="rollback", token="tok-a", wait=0, clock=clock.clock(),
                     make_token=tokens("tok-b"))
    assert not out.changed and out.token == "tok-a" and out.lock["owner"] == "deploy web"


def test_check_mode_acquire_of_a_free_lock_writes_nothing(tmp_path):
    lock_path = tmp_path / "missing-dir" / "deploy.lock"
    out = take(lock_path, FakeClock(), check_mode=True)
    assert out.changed and out.lock["owner"] == "deploy web" and "check mode" in out.msg
    assert not lock_path.parent.exists()


def test_check_mode_acquire_of_a_free_lock_creates_no_guard(lock_path):
    lock_path.parent.mkdir()
    out = take(lock_path, FakeClock(), check_mode=True)
    assert out.changed and os.listdir(str(lock_path.parent)) == []


def test_check_mode_acquire_of_a_held_lock_warns_without_waiting_or_failing(lock_path):
    clock = FakeClock()
    take(lock_path, clock)
    out = take(lock_path, clock, token="tok-b", wait=60, check_mode=True)
    assert not out.changed and out.token is None and out.lock["token"] == "tok-a"
    assert clock.sleeps == [] and "would wait up to 60 s" in out.warnings[0]


def test_check_mode_acquire_of_a_stale_lock_reports_it_and_keeps_it(lock_path):
    clock = FakeClock()
    take(lock_path, clock, ttl=10)
    clock.t += 11
    out = take(lock_path, clock, token="tok-b", check_mode=True)
    assert out.changed and out.stale["reason"] == "expired"
    assert on_disk(lock_path)["token"] == "tok-a"


def test_check_mode_release_never_removes_and_never_fails(lock_path):
    clock = FakeClock()
    take(lock_path, clock)
    out = dl.release(str(lock_path), token="tok-a", check_mode=True)
    assert out.changed and lock_path.exists()
    out = dl.release(str(lock_path), token="wrong", check_mode=True)
    assert not out.changed and "not with the token given" in out.msg and lock_path.exists()


def test_create_lock_never_replaces_an_existing_file(lock_path):
    lock_path.parent.mkdir()
    lock_path.write_text("someone else's")
    holder = dl.make_holder("o", "a", "c", 1, 60, T0, "tok-x")
    assert dl.create_lock(str(lock_path), holder) is False
    assert lock_path.read_text() == "someone else's"
    assert not [name for name in os.listdir(str(lock_path.parent)) if name.endswith(".tmp")]


# --------------------------------------------------------------------------- real concurrency

def _racer(path, name, barrier, results):
    barrier.wait()
    try:
        out = dl.acquire(path, owner=name, wait=0, make_token=lambda: name)
        results.put((name, out.token))
    except dl.LockHeld:
        results.put((name, None))


def test_concurrent_acquire_from_processes_only_one_wins(lock_path):
    lock_path.parent.mkdir()
    ctx = multiprocessing.get_context("fork")
    count = 8
    barrier = ctx.Barrier(count)
    results = ctx.Queue()
    procs = [ctx.Process(target=_racer, args=(str(lock_path), "p%d" % i, barrier, results)) for i in range(count)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=30) for _proc in procs]
    for proc in procs:
        proc.join(timeout=30)
    winners = [name for name, token in outcomes if token]
    assert len(winners) == 1
    assert on_disk(lock_path)["token"] == winners[0]


def _stale_taker(path, name, barrier, results):
    barrier.wait()
    try:
        out = dl.acquire(path, owner=name, wait=0, make_token=lambda: name)
        results.put((name, out.token, (out.stale or {}).get("reason")))
    except dl.LockHeld:
        results.put((name, None, None))


def test_concurrent_takeover_of_a_stale_lock_only_one_wins(lock_path):
    lock_path.parent.mkdir()
    old = dl.make_holder("deploy web", "alice", "ctl", 1, 60, T0 - 3600, "tok-old")
    assert dl.create_lock(str(lock_path), old)
    ctx = multiprocessing.get_context("fork")
    count = 6
    barrier = ctx.Barrier(count)
    results = ctx.Queue()
    procs = [ctx.Process(target=_stale_taker, args=(str(lock_path), "s%d" % i, barrier, results))
             for i in range(count)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=30) for _proc in procs]
    for proc in procs:
        proc.join(timeout=30)
    winners = [(name, reason) for name, token, reason in outcomes if token]
    assert len(winners) == 1 and winners[0][1] == "expired"
    assert on_disk(lock_path)["token"] == winners[0][0]


def test_concurrent_acquire_from_threads_only_one_wins(lock_path):
    lock_path.parent.mkdir()
    count = 8
    barrier = threading.Barrier(count)
    won = []
    lost = []

    def racer(name):
        barrier.wait()
        try:
            won.append(dl.acquire(str(lock_path), owner=name, wait=0, make_token=lambda: name).token)
        except dl.LockHeld:
            lost.append(name)

    threads = [threading.Thread(target=racer, args=("t%d" % i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(won) == 1 and len(lost) == count - 1
    assert on_disk(lock_path)["token"] == won[0]
