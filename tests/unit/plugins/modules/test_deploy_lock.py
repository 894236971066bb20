# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import json

import pytest

from ansible_collections.berth.compose.plugins.module_utils import deploy_lock as dl
from ansible_collections.berth.compose.plugins.modules import deploy_lock as module
from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import run_module


def run(module_exit_raises, check_mode=False, **params):
    """Run the module in-process; return (result, warnings)."""
    return run_module(module, check_mode=check_mode, **params)


@pytest.fixture()
def lock_path(tmp_path):
    return str(tmp_path / ".berth" / "deploy.lock")


@pytest.fixture()
def fake_clock(monkeypatch):
    """Module calls use a clock that only moves when slept, so waits take no time."""
    state = {"t": 1795446000.0, "slept": 0.0}

    def sleep(seconds):
        state["t"] += seconds
        state["slept"] += seconds

    real_clock = dl.Clock
    monkeypatch.setattr(dl, "Clock", lambda: real_clock(now=lambda: state["t"], sleep=sleep))
    return state


def test_acquire_returns_token_lock_and_no_stale(module_exit_raises, lock_path):
    result, warned = run(module_exit_raises, path=lock_path, owner="deploy web", operator="alice",
                         controller="ctl", pid=42, ttl=900)
    assert not result["failed"] and result["changed"]
    assert result["token"] and result["lock"]["token"] == result["token"]
    assert result["lock"]["owner"] == "deploy web" and result["lock"]["ttl"] == 900
    assert result["stale"] is None and result["waited"] == 0 and warned == []
    assert json.load(open(lock_path))["token"] == result["token"]


def test_acquire_then_release_with_the_token(module_exit_raises, lock_path):
    taken, _w = run(module_exit_raises, path=lock_path)
    released, _w = run(module_exit_raises, path=lock_path, state="released", token=taken["token"])
    assert released["changed"] and released["lock"]["token"] == taken["token"]
    again, _w = run(module_exit_raises, path=lock_path, state="released", token=taken["token"])
    assert not again["failed"] and not again["changed"] and again["lock"] is None


def test_a_held_lock_fails_after_waiting_naming_holder_and_force(module_exit_raises, lock_path, fake_clock):
    run(module_exit_raises, path=lock_path, owner="deploy web", operator="alice", controller="ctl", pid=42)
    result, _w = run(module_exit_raises, path=lock_path, owner="rollback", wait=5)
    assert result["failed"] and not result["changed"]
    assert result["msg"].startswith("deploy lock held by 'deploy web' (alice@ctl, pid 42) since ")
    assert "waited 5 s" in result["msg"] and "-e force_unlock=true" in result["msg"]
    assert result["lock"]["owner"] == "deploy web" and result["waited"] == pytest.approx(5)
    assert fake_clock["slept"] == pytest.approx(5)


def test_release_with_a_wrong_token_fails(module_exit_raises, lock_path):
    run(module_exit_raises, path=lock_path)
    result, _w = run(module_exit_raises, path=lock_path, state="released", token="not-mine")
    assert result["failed"] and "not with the token given" in result["msg"] and "force=true" in result["msg"]


def test_force_takeover_warns_and_returns_the_previous_holder(module_exit_raises, lock_path):
    first, _w = run(module_exit_raises, path=lock_path, owner="deploy web")
    result, warned = run(module_exit_raises, path=lock_path, owner="rollback", force=True)
    assert result["changed"] and result["stale"]["reason"] == "forced"
    assert result["stale"]["token"] == first["token"] and "by force" in warned[0]


def test_an_expired_lock_is_taken_over_with_a_warning(module_exit_raises, lock_path, fake_clock):
    run(module_exit_raises, path=lock_path, owner="deploy web", ttl=60)
    fake_clock["t"] += 61
    result, warned = run(module_exit_raises, path=lock_path, owner="reconcile", wait=0)
    assert result["changed"] and result["stale"]["reason"] == "expired"
    assert "past its TTL of 60 s" in warned[0]


def test_check_mode_acquire_writes_nothing(module_exit_raises, lock_path):
    result, _w = run(module_exit_raises, check_mode=True, path=lock_path)
    assert result["changed"] and "check mode" in result["msg"]
    with pytest.raises(OSError):
        open(lock_path)


def test_check_mode_release_keeps_the_lock(module_exit_raises, lock_path):
    taken, _w = run(module_exit_raises, path=lock_path)
    result, _w = run(module_exit_raises, check_mode=True, path=lock_path, state="released", token=taken["token"])
    assert result["changed"] and json.load(open(lock_path))["token"] == taken["token"]


@pytest.mark.parametrize("params, problem", [
    ({"ttl": -1}, "ttl must be 0 or more"),
    ({"wait": -3}, "wait must be 0 or more"),
    ({"ttl": 0}, "ttl must be more than 0"),
])
def test_bad_numbers_fail_naming_the_option(module_exit_raises, lock_path, params, problem):
    result, _w = run(module_exit_raises, path=lock_path, **params)
    assert result["failed"] and problem in result["msg"]


def test_an_unwritable_directory_fails_with_a_message(module_exit_raises, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result, _w = run(module_exit_raises, path=str(blocker / "deploy.lock"))
    assert result["failed"] and result["msg"].startswith("deploy lock %s:" % (blocker / "deploy.lock"))
