# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import os
import subprocess

from unittest import mock

import pytest

from ansible_collections.berth.compose.plugins.action import deploy_lock as action

HOLDER = dict(owner="deploy web", operator="alice", controller="ctl", pid=4242, token="tok-old")


def held(**holder):
    return dict(failed=True, changed=False, msg="deploy lock held by ...", lock=dict(HOLDER, **holder))


def test_process_alive_for_this_process_and_not_for_a_reaped_child():
    child = subprocess.Popen(["true"])
    child.wait()
    assert action.process_alive(os.getpid())
    assert not action.process_alive(child.pid)


@pytest.mark.parametrize("pid", [None, "x", 0, -1])
def test_process_alive_assumes_alive_when_it_cannot_tell(pid):
    assert action.process_alive(pid)


def test_controller_defaults_fill_only_what_is_missing():
    filled = action.controller_defaults({"path": "/x", "operator": "bob"})
    assert filled["operator"] == "bob" and filled["controller"] and filled["pid"] == os.getppid()
    assert action.controller_defaults({"controller": "c", "pid": 7})["pid"] == 7


def test_dead_holder_token_only_for_a_gone_process_of_this_controller():
    assert action.dead_holder_token(held(), "ctl", alive=lambda pid: False) == "tok-old"
    assert action.dead_holder_token(held(), "ctl", alive=lambda pid: True) is None
    assert action.dead_holder_token(held(), "other-ctl", alive=lambda pid: False) is None
    assert action.dead_holder_token(dict(held(), failed=False), "ctl", alive=lambda pid: False) is None
    assert action.dead_holder_token(dict(failed=True, lock=None), "ctl", alive=lambda pid: False) is None


def make_action(args, replies):
    """An ActionModule whose module calls return ``replies`` in order; the calls' args are recorded."""
    task = mock.MagicMock(args=args, async_val=0, check_mode=False)
    connection = mock.MagicMock()
    connection._shell.tmpdir = "/tmp/x"
    plugin = action.ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(),
                                 mock.MagicMock())
    calls = []

    def execute(module_name, module_args, task_vars):
        calls.append((module_name, dict(module_args)))
        return replies.pop(0)

    plugin._execute_module = execute
    return plugin, calls


def test_a_free_lock_costs_one_module_call_without_waiting():
    plugin, calls = make_action({"path": "/l", "wait": 60}, [dict(changed=True, token="t")])
    result = plugin.run(task_vars={})
    assert result["token"] == "t" and len(calls) == 1
    assert calls[0][0] == "berth.compose.deploy_lock" and calls[0][1]["wait"] == 0
    assert calls[0][1]["pid"] == os.getppid() and calls[0][1]["controller"]


def test_a_live_holder_is_waited_for_with_the_full_wait():
    plugin, calls = make_action({"path": "/l", "wait": 60, "controller": "ctl"},
                                [held(pid=os.getpid()), dict(changed=True, token="t")])
    plugin.run(task_vars={})
    assert len(calls) == 2 and calls[1][1]["wait"] == 60 and "stale_token" not in calls[1][1]


def test_a_dead_holder_of_this_controller_is_taken_over_at_once():
    child = subprocess.Popen(["true"])
    child.wait()
    plugin, calls = make_action({"path": "/l", "controller": "ctl"},
                                [held(pid=child.pid), dict(changed=True, token="t", stale={"reason": "dead"})])
    result = plugin.run(task_vars={})
    assert calls[1][1]["stale_token"] == "tok-old" and result["stale"]["reason"] == "dead"


def test_wait_zero_returns_the_first_failure_without_a_second_call():
    plugin, calls = make_action({"path": "/l", "wait": 0, "controller": "ctl"}, [held(pid=os.getpid())])
    result = plugin.run(task_vars={})
    assert result["failed"] and len(calls) == 1


def test_release_and_force_go_straight_to_the_module():
    plugin, calls = make_action({"path": "/l", "state": "released", "token": "t"}, [dict(changed=True)])
    plugin.run(task_vars={})
    assert calls == [("berth.compose.deploy_lock", {"path": "/l", "state": "released", "token": "t"})]
    plugin, calls = make_action({"path": "/l", "force": True}, [dict(changed=True)])
    plugin.run(task_vars={})
    assert len(calls) == 1 and calls[0][1]["force"] is True and "wait" not in calls[0][1]


def test_a_holder_held_by_process_is_never_judged_by_its_pid_on_the_controller():
    from ansible_collections.berth.compose.plugins.action.deploy_lock import dead_holder_token
    held = {"failed": True, "lock": {"token": "t1", "controller": "ctl", "pid": 99999999, "held": "flock"}}
    assert dead_holder_token(held, "ctl", alive=lambda pid: False) is None
    plain = {"failed": True, "lock": {"token": "t1", "controller": "ctl", "pid": 99999999}}
    assert dead_holder_token(plain, "ctl", alive=lambda pid: False) == "t1"


# ------------------------------------------------------------------ issue 20.2: the CI's identity

@pytest.mark.parametrize("environ, task_vars, expected", [
    ({"BERTH_OPERATOR": "release-bot", "GITHUB_ACTOR": "octocat", "GITLAB_USER_LOGIN": "gl"}, {"awx_user_name": "awx"},
     "release-bot"),
    ({"GITHUB_ACTOR": "octocat", "GITLAB_USER_LOGIN": "gl"}, {"awx_user_name": "awx"}, "octocat"),
    ({"GITLAB_USER_LOGIN": "gl"}, {"awx_user_name": "awx"}, "gl"),
    ({"BERTH_OPERATOR": "  "}, {"awx_user_name": "awx"}, "awx"),
    ({}, {}, None),
])
def test_the_operator_is_the_ci_identity_in_order(environ, task_vars, expected):
    assert action.ci_operator(environ, task_vars) == expected
    filled = action.controller_defaults({"path": "/x"}, task_vars, environ)
    if expected:
        assert filled["operator"] == expected
    else:  # no CI: the login user, as before
        assert filled["operator"] and filled["operator"] not in ("octocat", "gl", "awx")


def test_an_operator_the_task_gives_wins_over_the_ci():
    assert action.controller_defaults({"operator": "bob"}, {}, {"GITHUB_ACTOR": "octocat"})["operator"] == "bob"


def test_the_ci_job_url_from_github_then_gitlab():
    github = {"GITHUB_SERVER_URL": "https://github.com/", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "42",
              "CI_JOB_URL": "https://gitlab.example.com/acme/shop/-/jobs/7"}
    assert action.ci_job_url(github) == "https://github.com/acme/shop/actions/runs/42"
    del github["GITHUB_RUN_ID"]
    assert action.ci_job_url(github) == "https://gitlab.example.com/acme/shop/-/jobs/7"
    assert action.ci_job_url({}) is None
