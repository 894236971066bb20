# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import grp
import json
import os
import pwd
import stat

import pytest

from ansible_collections.berth.compose.plugins.modules import release_log as module
from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import run_module

C1, C2, C3 = ("1" * 40, "2" * 40, "3" * 40)


def run(check_mode=False, diff=False, **params):
    """Run the module in-process; return (result, warnings)."""
    return run_module(module, check_mode=check_mode, diff=diff, **params)


def record(to, frm=None, outcome="ok", kind="deploy", **fields):
    serving = to if outcome == "ok" else frm
    return dict(kind=kind, from_commit=frm, to_commit=to, serving_commit=serving, outcome=outcome, **fields)


@pytest.fixture()
def log(tmp_path):
    return str(tmp_path / "releases.jsonl")


def lines(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle]


def test_append_writes_one_line_and_returns_the_record(module_exit_raises, log):
    result, _w = run(path=log, state="append", record=record(C1, images={"web": "app-web:1111111"}))
    assert not result["failed"] and result["changed"]
    assert result["record"]["id"] and result["record"]["started"].endswith("Z")
    assert lines(log) == [result["record"]]
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o640


def test_append_applies_mode_owner_and_group(module_exit_raises, log):
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    result, _w = run(path=log, state="append", record=record(C1), owner=user, group=group, mode="0600")
    st = os.stat(log)
    assert not result["failed"] and stat.S_IMODE(st.st_mode) == 0o600
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())


def test_append_with_an_unknown_owner_fails_naming_it(module_exit_raises, log):
    result, _w = run(path=log, state="append", record=record(C1), owner="no-such-user-berth")
    assert result["failed"] and "no-such-user-berth" in result["msg"]
    assert not os.path.exists(log)


def test_append_rejects_unknown_fields_and_writes_nothing(module_exit_raises, log):
    result, _w = run(path=log, state="append", record=dict(record(C1), env={"SECRET_KEY": "s3cr3t"}))
    assert result["failed"] and "unknown fields: env" in result["msg"] and "s3cr3t" not in result["msg"]
    assert not os.path.exists(log)


def test_append_needs_a_record(module_exit_raises, log):
    result, _w = run(path=log, state="append")
    assert result["failed"] and result["msg"] == "record is required when state=append"


def test_append_into_a_missing_directory_fails_naming_it(module_exit_raises, tmp_path):
    path = str(tmp_path / "nope" / "releases.jsonl")
    result, _w = run(path=path, state="append", record=record(C1))
    assert result["failed"] and str(tmp_path / "nope") in result["msg"]


def test_check_mode_append_reports_the_record_and_writes_nothing(module_exit_raises, log):
    result, _w = run(check_mode=True, diff=True, path=log, state="append", record=record(C1))
    assert result["changed"] and result["record"]["to_commit"] == C1
    assert json.loads(result["diff"]["after"]) == result["record"] and result["diff"]["before"] == ""
    assert not os.path.exists(log)


def test_queries_current_last_good_previous_images_history(module_exit_raises, log):
    run(path=log, state="append", record=record(C1, images={"web": "app-web:1111111"}))
    run(path=log, state="append", record=record(C2, C1, images={"web": "app-web:2222222"}))
    run(path=log, state="append", record=record(C3, C2, outcome="rolled_back", gate={"passed": False}))

    current, _w = run(path=log, state="current")
    assert current["commit"] == C2 and current["result"]["outcome"] == "rolled_back" and not current["changed"]
    good, _w = run(path=log, state="last_good")
    assert good["commit"] == C2 and good["result"]["to_commit"] == C2
    previous, _w = run(path=log, state="last_good", before=C2)
    assert previous["commit"] == C1
    images, _w = run(path=log, state="images", commit=C1[:7])
    assert images["result"] == {"web": "app-web:1111111"}
    history, _w = run(path=log, state="history", limit=2)
    assert [r["to_commit"] for r in history["result"]] == [C3, C2]
    retained, _w = run(path=log, state="retained", keep=1)
    assert retained["result"] == [C2, C3]  # the good one, and the failed attempt kept for diagnosis


def test_queries_on_a_missing_log_answer_empty(module_exit_raises, log):
    current, _w = run(path=log)
    assert not current["failed"] and current["result"] is None and current["commit"] is None
    history, _w = run(path=log, state="history")
    assert history["result"] == []


def test_a_truncated_line_is_skipped_with_a_warning_naming_the_line(module_exit_raises, log):
    run(path=log, state="append", record=record(C1))
    with open(log, "a") as handle:
        handle.write('{"kind": "deploy", "to_comm')
    result, warned = run(path=log, state="current")
    assert not result["failed"] and result["commit"] == C1 and result["skipped_lines"] == [2]
    assert len(warned) == 1 and "line 2" in warned[0] and log in warned[0]


def test_check_mode_queries_run_normally(module_exit_raises, log):
    run(path=log, state="append", record=record(C1))
    result, _w = run(check_mode=True, path=log, state="current")
    assert result["commit"] == C1


@pytest.mark.parametrize("params, problem", [
    ({"state": "images"}, "commit is required when state=images"),
    ({"state": "history", "limit": -1}, "limit must be 0 or more"),
    ({"state": "retained", "keep": -2}, "keep must be 0 or more"),
    ({"state": "append", "record": {"kind": "deploy", "outcome": "ok"}, "mode": "rw-r"}, "mode must be an octal"),
    ({"state": "append", "record": {"kind": "deploy", "outcome": "great"}}, "outcome must be one of"),
])
def test_bad_parameters_fail_naming_the_option(module_exit_raises, log, params, problem):
    result, _w = run(path=log, **params)
    assert result["failed"] and problem in result["msg"]
