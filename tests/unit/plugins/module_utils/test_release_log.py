# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import json
import multiprocessing
import os
import stat

import pytest

from ansible_collections.berth.compose.plugins.module_utils import release_log as rl

T0 = 1795446000.25  # 2026-11-23T15:00:00.25Z
C1, C2, C3, C4 = ("1" * 40, "2" * 40, "3" * 40, "4" * 40)


def rec(**fields):
    """A valid record; every test states only what matters to it."""
    base = dict(kind="deploy", outcome="ok")
    base.update(fields)
    return rl.prepare_record(base, now=T0, random_hex="abcdef")


def deploy(to, frm=None, outcome="ok", serving=None, kind="deploy", **fields):
    if serving is None:
        serving = to if outcome in ("ok", "hook_failed") else frm
    return rec(kind=kind, from_commit=frm, to_commit=to, serving_commit=serving, outcome=outcome, **fields)


def write(path, records):
    for record in records:
        rl.append_record(str(path), rl.encode(record))


# --------------------------------------------------------------------------- records

def test_prepare_fills_id_started_and_empty_collections_in_file_order():
    record = rl.prepare_record({"kind": "deploy", "outcome": "ok"}, now=T0, random_hex="abcdef")
    assert record["id"] == "20261123T150000.250000Z-abcdef"
    assert record["started"] == "2026-11-23T15:00:00Z"
    assert record["services_built"] == [] and record["images"] == {} and record["steps"] == {}
    assert list(record) == list(rl.FIELD_NAMES)


def test_prepare_keeps_given_fields():
    record = rec(id="my-id", started="2026-01-01T00:00:00Z", ref="v1", images={"web": "app-web:1111111"},
                 gate={"passed": True, "services": ["web"]}, steps={"build": 3.5, "gate": 2}, duration_s=5.5,
                 migrations=["migrate", {"service": "seed", "seconds": 1.0}], pinned=True, operator="alice")
    assert record["id"] == "my-id" and record["ref"] == "v1" and record["steps"] == {"build": 3.5, "gate": 2}
    assert record["migrations"][1] == {"service": "seed", "seconds": 1.0}


def test_ids_sort_by_time():
    assert rl.new_id(T0, "ffffff") < rl.new_id(T0 + 0.000001, "000000") < rl.new_id(T0 + 1, "000000")


def test_unknown_fields_are_rejected_by_name_without_their_values():
    with pytest.raises(rl.ReleaseLogError) as err:
        rl.prepare_record({"kind": "deploy", "outcome": "ok", "env": {"DB_PASSWORD": "hunter2"}, "zz": 1})
    assert "unknown fields: env, zz" in str(err.value) and "hunter2" not in str(err.value)


@pytest.mark.parametrize("fields, problem", [
    ({"outcome": "ok"}, "required fields: kind"),
    ({"kind": "deploy"}, "required fields: outcome"),
    ({"kind": "deploy", "outcome": "ok", "services_built": "web"}, "services_built must be a list"),
    ({"kind": "deploy", "outcome": "ok", "images": {"web": 5}}, "images must be a mapping"),
    ({"kind": "deploy", "outcome": "ok", "steps": {"build": "fast"}}, "steps must be a mapping"),
    ({"kind": "deploy", "outcome": "ok", "duration_s": True}, "duration_s must be a number"),
    ({"kind": "deploy", "outcome": "ok", "gate": {"passed": "yes"}}, "gate must be"),
    ({"kind": "deploy", "outcome": "ok", "gate": 1}, "gate must be"),
    ({"kind": "deploy", "outcome": "ok", "to_commit": 123}, "to_commit must be a string"),
    ({"kind": "deploy", "outcome": "ok", "pinned": "yes"}, "pinned must be a boolean"),
    ({"kind": "nap", "outcome": "ok"}, "kind must be one of deploy, rollback, reconcile, task"),
    ({"kind": "deploy", "outcome": "meh"}, "outcome must be one of ok, rolled_back, failed, hook_failed"),
])
def test_invalid_records_are_rejected_naming_the_field(fields, problem):
    with pytest.raises(rl.ReleaseLogError) as err:
        rl.prepare_record(fields)
    assert problem in str(err.value)


def test_a_record_that_is_not_a_mapping_is_rejected():
    with pytest.raises(rl.ReleaseLogError):
        rl.prepare_record(["deploy"])


def test_encode_gives_one_line_even_with_newlines_in_values():
    line = rl.encode(rec(message="line one\nline two"))
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line)["message"] == "line one\nline two"


# --------------------------------------------------------------------------- files

def test_append_and_read_round_trip(tmp_path):
    path = tmp_path / "releases.jsonl"
    records = [deploy(C1), deploy(C2, C1, services_built=["web"], images={"web": "app-web:2222222"})]
    write(path, records)
    assert rl.read_log(str(path)) == (records, [])


def test_a_missing_log_is_empty(tmp_path):
    assert rl.read_log(str(tmp_path / "nope.jsonl")) == ([], [])


def test_append_creates_the_file_with_the_mode(tmp_path):
    path = tmp_path / "releases.jsonl"
    old = os.umask(0o077)
    try:
        rl.append_record(str(path), rl.encode(rec()), mode=0o640)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o640


def test_append_fixes_the_mode_of_an_existing_file(tmp_path):
    path = tmp_path / "releases.jsonl"
    path.write_text("")
    os.chmod(str(path), 0o666)
    rl.append_record(str(path), rl.encode(rec()), mode=0o640)
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o640


def test_append_applies_owner_and_group(tmp_path, monkeypatch):
    path = tmp_path / "releases.jsonl"
    calls = []
    monkeypatch.setattr(rl.os, "fchown", lambda fd, uid, gid: calls.append((uid, gid)))
    me = os.getuid()
    rl.append_record(str(path), rl.encode(rec()), uid=me + 1000, gid=None)
    assert calls == [(me + 1000, -1)]
    calls[:] = []
    rl.append_record(str(path), rl.encode(rec()), uid=os.stat(str(path)).st_uid, gid=os.stat(str(path)).st_gid)
    assert calls == []


def test_append_refuses_a_multi_line_string(tmp_path):
    with pytest.raises(rl.ReleaseLogError):
        rl.append_record(str(tmp_path / "r.jsonl"), '{"a": 1}\n{"b": 2}\n')


def test_a_truncated_last_line_is_skipped_with_its_number_and_the_next_append_stays_readable(tmp_path):
    path = tmp_path / "releases.jsonl"
    first, second = deploy(C1), deploy(C2, C1)
    write(path, [first])
    with open(str(path), "a") as handle:
        handle.write(rl.encode(second)[:25])  # power loss mid-write
    records, skipped = rl.read_log(str(path))
    assert records == [first] and [number for number, _reason in skipped] == [2]
    assert "truncated" in skipped[0][1]
    third = deploy(C3, C1)
    write(path, [third])
    records, skipped = rl.read_log(str(path))
    assert records == [first, third] and [number for number, _reason in skipped] == [2]


def test_corrupt_lines_anywhere_are_skipped_and_blank_lines_ignored():
    good = rl.encode(deploy(C1))
    records, skipped = rl.parse_lines(good + "garbage\n\n[1, 2]\n" + good)
    assert len(records) == 2 and [number for number, _reason in skipped] == [2, 4]
    assert skipped[1][1] == "not a JSON object"


def _appender(path, worker, count):
    for index in range(count):
        record = rl.prepare_record(dict(kind="task", outcome="ok", message="w%d-%d" % (worker, index),
                                        steps={"x" * 50: float(index)}, operator="o" * 500))
        rl.append_record(path, rl.encode(record))


def test_concurrent_appends_from_processes_never_interleave(tmp_path):
    path = str(tmp_path / "releases.jsonl")
    ctx = multiprocessing.get_context("fork")
    workers, each = 6, 40
    procs = [ctx.Process(target=_appender, args=(path, worker, each)) for worker in range(workers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
    assert all(proc.exitcode == 0 for proc in procs)
    records, skipped = rl.read_log(path)
    assert skipped == []
    assert len(records) == workers * each
    assert sorted(r["message"] for r in records) == sorted("w%d-%d" % (w, i) for w in range(workers) for i in range(each))
    with open(path) as handle:
        assert all(json.loads(line) for line in handle)


# --------------------------------------------------------------------------- queries

def test_current_is_the_last_record_that_states_what_serves():
    log = [deploy(C1), deploy(C2, C1), rec(kind="task", message="no commit")]
    assert rl.current(log)["to_commit"] == C2
    assert rl.current([]) is None


def test_current_after_an_automatic_rollback_is_the_commit_rolled_back_to():
    log = [deploy(C1), deploy(C2, C1, outcome="rolled_back", gate={"passed": False})]
    assert rl.current(log)["serving_commit"] == C1


def test_current_after_a_hook_failure_is_the_new_commit():
    log = [deploy(C1), deploy(C2, C1, outcome="hook_failed")]
    assert rl.current(log)["serving_commit"] == C2


def test_last_good_skips_failed_rolled_back_and_failed_gates():
    log = [deploy(C1), deploy(C2, C1, outcome="rolled_back"), deploy(C3, C1, outcome="failed"),
           deploy(C4, C1, gate="failed")]
    assert rl.last_good(log)["to_commit"] == C1
    assert rl.last_good([deploy(C2, outcome="failed")]) is None


@pytest.mark.parametrize("gate, good", [(None, True), ("passed", True), ("skipped", True), ({"passed": True}, True),
                                        ("failed", False), ({"passed": False}, False), ({}, True)])
def test_a_good_release_has_outcome_ok_and_no_failed_gate(gate, good):
    assert rl.is_good(deploy(C1, gate=gate)) is good


def test_last_good_before_the_current_commit_is_the_previous_release():
    log = [deploy(C1), deploy(C2, C1), deploy(C3, C2)]
    assert rl.last_good(log, before=C3)["to_commit"] == C2
    assert rl.last_good(log, before=C3[:7])["to_commit"] == C2


def test_repeated_previous_rollbacks_walk_back_instead_of_toggling():
    log = [deploy(C1), deploy(C2, C1), deploy(C3, C2), deploy(C2, C3, kind="rollback", ref="previous")]
    assert rl.last_good(log, before=C2)["to_commit"] == C1


def test_previous_after_a_rollback_then_a_new_deploy_is_the_rolled_back_to_release():
    log = [deploy(C1), deploy(C2, C1), deploy(C3, C2), deploy(C2, C3, kind="rollback"), deploy(C4, C2)]
    assert rl.last_good(log, before=C4)["to_commit"] == C2


def test_last_good_before_a_redeployed_commit_counts_from_its_latest_deploy():
    log = [deploy(C1), deploy(C2, C1), deploy(C3, C2), deploy(C2, C3)]
    assert rl.last_good(log, before=C2)["to_commit"] == C3


def test_last_good_before_a_record_id():
    log = [deploy(C1, id="a"), deploy(C2, C1, id="b"), deploy(C3, C2, id="c")]
    assert rl.last_good(log, before="b")["id"] == "a"


def test_last_good_before_an_unknown_commit_searches_everything_and_never_returns_that_commit():
    log = [deploy(C1), deploy(C2, C1)]
    assert rl.last_good(log, before=C4)["to_commit"] == C2
    assert rl.last_good([deploy(C1)], before=C1) is None


def test_images_come_from_the_latest_record_of_that_commit_with_images():
    log = [deploy(C1, images={"web": "app-web:1111111", "api": "app-api:1111111"}),
           deploy(C2, C1, images={"web": "app-web:2222222", "api": "app-api:1111111"}),
           deploy(C1, C2, kind="rollback", images={"web": "app-web:1111111", "api": "app-api:1111111-rebuilt"}),
           deploy(C1, C1, kind="reconcile")]
    assert rl.images(log, C1) == {"web": "app-web:1111111", "api": "app-api:1111111-rebuilt"}
    assert rl.images(log, C2[:8]) == {"web": "app-web:2222222", "api": "app-api:1111111"}
    assert rl.images(log, C4) == {}


@pytest.mark.parametrize("value, wanted, same", [
    (C1, C1, True), (C1, C1[:7], True), (C1[:7], C1, True), (C1, C1[:6], False), (C1, C2, False),
    (None, C1, False), ("ABCDEF1234", "abcdef1", True),
])
def test_commit_matches_full_or_long_enough_prefixes(value, wanted, same):
    assert rl.commit_matches(value, wanted) is same


def test_history_is_newest_first_and_limited():
    log = [deploy(C1, id="a"), deploy(C2, id="b"), deploy(C3, id="c")]
    assert [r["id"] for r in rl.history(log, 2)] == ["c", "b"]
    assert [r["id"] for r in rl.history(log, 0)] == ["c", "b", "a"]


def test_retained_keeps_the_newest_good_releases_plus_the_newest_failed_attempts():
    log = [deploy(C1), deploy(C2, C1), deploy(C3, C2, outcome="rolled_back", gate={"passed": False}),
           deploy(C4, C2, outcome="failed")]
    # newest first: C4's record (serving C2, to C4), C3's (serving C2), C2, C1
    assert rl.retained(log, 1) == [C2, C4, C3]
    assert rl.retained(log, 2) == [C2, C4, C3, C1]
    assert rl.retained(log, 1, keep_failed=1) == [C2, C4]
    assert rl.retained(log, 10, keep_failed=0) == [C2, C1]


def test_retained_never_drops_the_last_good_even_when_old():
    log = [deploy(C1), deploy(C2, C1, outcome="hook_failed"), deploy(C3, C2, outcome="hook_failed")]
    assert rl.retained(log, 1) == [C3, C2, C1]
    assert rl.retained(log, 1, keep_failed=0) == [C3, C1]


C5, C6, C7 = ("5" * 40, "6" * 40, "7" * 40)


def test_failed_attempts_never_push_the_previous_release_out_of_retention():
    """Issue 18.17: three failed tries after two good releases; keep 2 keeps both good ones (the current
    and the ref=previous target) and the two newest failed attempts for diagnosis; the oldest goes."""
    log = [deploy(C1), deploy(C2, C1)] + [deploy(c, C2, outcome="rolled_back", gate={"passed": False})
                                          for c in (C3, C4, C5)]
    assert rl.last_good(log, C2)["serving_commit"] == C1  # what rollback -e ref=previous goes to
    found = [(c, float(i)) for i, c in enumerate((C1, C2, C3, C4, C5))]  # mtimes: the failed ones newest
    assert rl.prune_plan(found, log, 2, protect=[C2]) == [C3]
    assert rl.prune_plan(found, log, 1, protect=[C2]) == [C3, C1]


def test_a_release_directory_no_record_names_counts_as_a_failed_attempt():
    log = [deploy(C1), deploy(C2, C1)]
    found = [(C1, 1.0), (C2, 2.0), (C6, 3.0), (C7, 4.0), (C5, 5.0)]  # C5, C6, C7: killed before recording
    assert rl.prune_plan(found, log, 2, protect=[C2]) == [C6]
    assert rl.prune_plan(found, [], 2, protect=[C5]) == [C6, C2, C1]  # no log: the newest by mtime


def test_run_query_dispatches_and_rejects_unknown_queries():
    log = [deploy(C1)]
    assert rl.run_query(log, "current")["to_commit"] == C1
    assert rl.run_query(log, "history", limit=1) == log
    with pytest.raises(rl.ReleaseLogError):
        rl.run_query(log, "images")
    with pytest.raises(rl.ReleaseLogError):
        rl.run_query(log, "everything")


def test_previous_after_an_automatic_rollback_is_older_than_the_release_now_serving():
    log = [deploy(C1), deploy(C2, C1), deploy(C3, C2, outcome="rolled_back", gate={"passed": False})]
    assert rl.last_good(log, before=C2)["to_commit"] == C1


def test_reconciles_and_rollbacks_to_a_commit_do_not_restart_the_previous_search():
    log = [deploy(C1), deploy(C2, C1), deploy(C3, C2), deploy(C2, C3, kind="rollback"),
           deploy(C2, C2, kind="reconcile"), deploy(C4, C2, outcome="rolled_back")]
    assert rl.last_good(log, before=C2)["to_commit"] == C1


def test_previous_of_the_oldest_release_is_none_and_rollback_records_count_as_releases():
    log = [deploy(C1), deploy(C2, C1), deploy(C1, C2, kind="rollback", id="rb"), deploy(C3, C1)]
    assert rl.last_good(log, before=C3)["id"] == "rb"
    assert rl.last_good(log, before=C1) is None


def test_previous_of_a_commit_only_reached_by_rollback_counts_from_that_rollback():
    log = [deploy(C2), deploy(C1, C2, kind="rollback", id="rb"), deploy(C3, C1)]
    assert rl.last_good(log, before=C1)["to_commit"] == C2


def test_numeric_strings_for_durations_become_numbers():
    record = rec(duration_s="12.5", steps={"build": "3", "gate": "0.5", "lock": 1})
    assert record["duration_s"] == 12.5 and record["steps"] == {"build": 3, "gate": 0.5, "lock": 1}
    with pytest.raises(rl.ReleaseLogError):
        rec(duration_s="soon")
    with pytest.raises(rl.ReleaseLogError):
        rec(steps={"build": "nan"})
