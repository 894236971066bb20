# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import hashlib
import json
import os
import stat
import subprocess

import pytest

from ansible_collections.berth.compose.plugins.module_utils import backups as bk
from ansible_collections.berth.compose.plugins.module_utils import restore as rs
from ansible_collections.berth.compose.plugins.module_utils.deployer import backups_before
from ansible_collections.berth.compose.plugins.module_utils.engine_record import plan_lines

DB = dict(name="db", service="db", command="pg_dump -Fc -d app", restore_command=["pg_restore", "-d", "app"])
T0 = 1796601600.0  # 2026-12-07T00:00:00Z


class Project:
    """A compose project as release_dir builds one: only argv and process_env are used by a dump."""

    def argv(self, *args):
        return ["docker", "compose", "-p", "sample"] + list(args)

    def process_env(self):
        return {"PATH": "/usr/bin"}


class Runner:
    """Stands in for subprocess.run: writes ``out`` to the dump's stdout and exits ``rc``."""

    def __init__(self, out=b"PGDMP dump bytes", rc=0, err=b""):
        self.out, self.rc, self.err, self.calls = out, rc, err, []

    def __call__(self, argv, stdout, stderr, env, timeout, check):
        self.calls.append(argv)
        stdout.write(self.out)
        return subprocess.CompletedProcess(argv, self.rc, None, self.err)


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now


def make(tmp_path, runner, clock):
    root = tmp_path / "app"
    (root / "backups").mkdir(parents=True)
    return bk.Backups(dict(root=str(root), project="sample", compose_files=["compose.yaml"], env_file="/dev/null",
                           app="sample", metrics_dir=str(tmp_path / "metrics")), clock=clock, runner=runner), root


# --------------------------------------------------------------------------- settings


def test_a_valid_list_passes_and_keep_and_on_calendar_default_to_7_and_daily():
    assert bk.validate([DB]) == []
    spec = bk.normalise(DB)
    assert spec["keep"] == 7 and bk.DEFAULT_KEEP == 7
    assert spec["on_calendar"] == "daily" and spec["extension"] == "dump" and spec["writers"] is None


@pytest.mark.parametrize("entry, words", [
    (dict(DB, name="../etc"), "berth_backups[0].name"),
    (dict(DB, service="a b"), "service must be a Compose service name"),
    (dict(DB, command=""), "command must be a non-empty"),
    (dict(DB, restore_command=[]), "restore_command must be"),
    (dict(DB, keep=0), "keep must be a whole number of 1 or more"),
    (dict(DB, keep=True), "keep must be"),
    (dict(DB, extension="x/y"), "extension must be"),
    (dict(DB, extension="sha256"), "extension must be"),
    (dict(DB, on_calendar="daily\nExecStart=/bin/sh"), "on_calendar must be"),
    (dict(DB, writers="api"), "writers must be a list"),
    (dict(DB, colour="red"), "unknown keys colour"),
])
def test_each_bad_entry_is_refused_naming_the_variable_and_the_key(entry, words):
    problems = bk.validate([entry])
    assert problems and words in " ".join(problems), problems
    assert all(p.startswith("berth_backups[0]") for p in problems)


def test_a_name_used_twice_and_a_non_list_are_refused():
    assert "used twice" in " ".join(bk.validate([DB, DB]))
    assert bk.validate({"name": "db"}) == ["berth_backups must be a list of {name, service, command, restore_command, ...}"]
    assert bk.validate(None) == []


def test_find_names_the_backups_there_are():
    assert bk.find([DB], "db")["keep"] == 7
    with pytest.raises(bk.BackupError, match="no backup is called 'files'; berth_backups has: db"):
        bk.find([DB], "files")


@pytest.mark.parametrize("value, seconds", [("26h", 93600), ("90m", 5400), ("2d", 172800), ("3600", 3600), (10, 10.0)])
def test_durations(value, seconds):
    assert bk.parse_duration(value) == seconds


def test_a_bad_duration_is_refused():
    with pytest.raises(bk.BackupError, match="not a duration"):
        bk.parse_duration("a day")


# --------------------------------------------------------------------------- dumps


def test_a_dump_runs_in_the_service_container_and_lands_0600_with_its_sha256(tmp_path):
    runner = Runner()
    backups, root = make(tmp_path, runner, Clock())
    done = backups.dump(bk.normalise(DB), project=Project())
    assert runner.calls == [["docker", "compose", "-p", "sample", "exec", "-T", "db", "sh", "-c", "pg_dump -Fc -d app"]]
    path = str(root / "backups" / "db" / "20261207T000000Z.dump")
    assert done["file"] == path and done["size"] == len(runner.out)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    digest = hashlib.sha256(runner.out).hexdigest()
    with open(path + ".sha256") as handle:
        assert handle.read() == "%s  20261207T000000Z.dump\n" % digest
    assert bk.verify_file(path) == (digest, len(runner.out))
    assert sorted(os.listdir(root / "backups" / "db")) == [
        ".state.json", "20261207T000000Z.dump", "20261207T000000Z.dump.sha256"]


@pytest.mark.parametrize("runner, words", [
    (Runner(rc=1, err=b"pg_dump: error: connection refused"), "exited 1: pg_dump: error: connection refused"),
    (Runner(out=b""), "wrote nothing"),
])
def test_a_failed_dump_keeps_the_previous_good_one_and_records_the_failure(tmp_path, runner, words):
    clock = Clock()
    backups, root = make(tmp_path, Runner(out=b"good"), clock)
    good = backups.dump(bk.normalise(DB), project=Project())["file"]
    clock.now += 86400
    backups.runner = runner
    with pytest.raises(bk.BackupError, match="backup db failed, nothing stored") as info:
        backups.dump(bk.normalise(DB), project=Project())
    assert words in str(info.value)
    directory = root / "backups" / "db"
    assert sorted(os.listdir(directory)) == [".state.json", os.path.basename(good), os.path.basename(good) + ".sha256"]
    with open(good, "rb") as handle:
        assert handle.read() == b"good"
    state = bk.read_state(str(directory))
    assert state["last_result"] == "failed" and state["last_success"] == int(T0) and state["last_file"] == good
    assert words in state["last_error"]


def test_retention_keeps_the_newest_keep_and_a_failed_dump_never_counts(tmp_path):
    clock = Clock()
    backups, root = make(tmp_path, Runner(), clock)
    spec = bk.normalise(dict(DB, keep=3))
    files = []
    for day in range(5):
        clock.now = T0 + day * 86400
        files.append(os.path.basename(backups.dump(spec, project=Project())["file"]))
    directory = str(root / "backups" / "db")
    assert bk.list_dumps(os.listdir(directory), "dump") == files[2:]
    clock.now += 86400
    backups.runner = Runner(rc=2)
    with pytest.raises(bk.BackupError):
        backups.dump(spec, project=Project())
    assert bk.list_dumps(os.listdir(directory), "dump") == files[2:]
    assert not [n for n in os.listdir(directory) if n.endswith(".sha256") and n[:-7] not in files[2:]]


def test_the_default_keep_is_7(tmp_path):
    clock = Clock()
    backups, root = make(tmp_path, Runner(), clock)
    spec = bk.normalise(DB)
    for day in range(9):
        clock.now = T0 + day * 86400
        backups.dump(spec, project=Project())
    assert len(bk.list_dumps(os.listdir(str(root / "backups" / "db")), "dump")) == 7


def test_to_prune_and_list_dumps_skip_temporary_and_sha_files():
    names = ["20261201T000000Z.dump", ".20261202T000000Z.dump.partial", "20261202T000000Z.dump.sha256",
             "20261203T000000Z.dump", "notes.txt"]
    assert bk.list_dumps(names, "dump") == ["20261201T000000Z.dump", "20261203T000000Z.dump"]
    assert bk.to_prune(["a", "b", "c"], 2) == ["a"]
    assert bk.to_prune(["a"], 7) == []


def test_resolve_latest_a_name_and_refuse_a_path_elsewhere(tmp_path):
    directory = tmp_path / "db"
    directory.mkdir()
    for name in ("20261201T000000Z.dump", "20261202T000000Z.dump"):
        (directory / name).write_bytes(b"x")
    assert bk.resolve(str(directory), "dump", "latest").endswith("20261202T000000Z.dump")
    assert bk.resolve(str(directory), "dump", "20261201T000000Z.dump").endswith("20261201T000000Z.dump")
    assert bk.resolve(str(directory), "dump", str(directory / "20261201T000000Z.dump")).endswith("01T000000Z.dump")
    for wanted in ("/etc/20261201T000000Z.dump", "../20261201T000000Z.dump", "nope.dump"):
        with pytest.raises(bk.BackupError, match="is not a dump of this backup"):
            bk.resolve(str(directory), "dump", wanted)
    with pytest.raises(bk.BackupError, match="no dump in"):
        bk.resolve(str(tmp_path / "none"), "dump", "latest")


def test_a_dump_whose_sha256_does_not_match_is_refused(tmp_path):
    path = tmp_path / "20261201T000000Z.dump"
    path.write_bytes(b"good")
    (tmp_path / "20261201T000000Z.dump.sha256").write_text(bk.sha_line(hashlib.sha256(b"good").hexdigest(), path.name))
    assert bk.verify_file(str(path))[1] == 4
    path.write_bytes(b"evil")
    with pytest.raises(bk.BackupError, match="does not match its sha256.*nothing changed"):
        bk.verify_file(str(path))
    os.unlink(str(tmp_path / "20261201T000000Z.dump.sha256"))
    with pytest.raises(bk.BackupError, match="no readable"):
        bk.verify_file(str(path))


def test_the_restore_refuses_a_bad_sha256_before_it_touches_anything(tmp_path):
    directory = tmp_path / "backups" / "db"
    directory.mkdir(parents=True)
    (directory / "20261201T000000Z.dump").write_bytes(b"tampered")
    (directory / "20261201T000000Z.dump.sha256").write_text(bk.sha_line("0" * 64, "20261201T000000Z.dump"))
    params = dict(root=str(tmp_path), project="sample", compose_files=["compose.yaml"], env_file="/dev/null",
                  backups=[DB], name="db", backup="latest", one_shot=[], probes=[], health_timeout=5, log_lines=5,
                  docker="docker")
    result = rs.Restore(params, gate=object()).run(dict(changed=False))
    assert result["failed"] and "does not match its sha256" in result["msg"] and not result["changed"]
    assert not os.path.exists(str(tmp_path / "releases.jsonl")) and not os.path.exists(str(tmp_path / ".berth"))


# --------------------------------------------------------------------------- writers, metrics, ages


MODEL = {"services": {
    "db": {}, "dbmigrate": {"depends_on": {"db": {"condition": "service_healthy"}}},
    "ledger": {"depends_on": {"db": {}, "dbmigrate": {}}}, "api": {"depends_on": {"migrate": {}}}, "migrate": {}}}


def test_the_writers_are_the_services_that_depend_on_the_database_except_one_shots():
    assert bk.writers_of(MODEL, "db", one_shot=["dbmigrate", "migrate"]) == ["ledger"]
    assert bk.writers_of(MODEL, "db") == ["dbmigrate", "ledger"]
    assert bk.writers_of(MODEL, "db", explicit=["api", "ledger", "db"]) == ["api", "ledger"]
    with pytest.raises(bk.BackupError, match="writers web are not services"):
        bk.writers_of(MODEL, "db", explicit=["web"])


def test_the_metrics_say_last_success_size_and_result_per_backup():
    states = {"db": bk.next_state({}, T0, "ok", 1234, "/x"), "files": {}}
    states["db"] = bk.next_state(states["db"], T0 + 60, "failed", error="boom")
    text = bk.render_metrics("sample", states)
    assert 'berth_backup_last_success_timestamp_seconds{app="sample",backup="db"} %d' % int(T0) in text
    assert 'berth_backup_last_size_bytes{app="sample",backup="db"} 1234' in text
    assert 'berth_backup_last_result{app="sample",backup="db",result="failed"} 1' in text
    assert 'berth_backup_last_result{app="sample",backup="db",result="ok"} 0' in text
    assert 'berth_backup_last_success_timestamp_seconds{app="sample",backup="files"} 0' in text


def test_write_metrics_after_a_dump(tmp_path):
    backups, root = make(tmp_path, Runner(), Clock())
    backups.dump(bk.normalise(DB), project=Project())
    path = backups.write_metrics([DB])
    assert path == str(tmp_path / "metrics" / "berth_backup_sample.prom")
    with open(path) as handle:
        assert 'berth_backup_last_result{app="sample",backup="db",result="ok"} 1' in handle.read()


def test_the_age_report_passes_within_max_age_and_fails_past_it_or_without_a_dump():
    mtime = {"20261207T000000Z.dump": T0}.__getitem__
    ok = bk.age_report("db", ["20261207T000000Z.dump"], T0 + 3600, 26 * 3600, mtime)
    assert ok["ok"] and ok["age_s"] == 3600 and "60 min old (within 26.0 h)" in ok["msg"]
    old = bk.age_report("db", ["20261207T000000Z.dump"], T0 + 27 * 3600, 26 * 3600, mtime)
    assert not old["ok"] and "OLDER THAN 26.0 h" in old["msg"]
    none = bk.age_report("db", [], T0, 26 * 3600, mtime)
    assert not none["ok"] and "no dump yet" in none["msg"]


def test_ages_reads_the_newest_dump_of_each_backup(tmp_path):
    clock = Clock()
    backups, root = make(tmp_path, Runner(), clock)
    backups.dump(bk.normalise(DB), project=Project())
    clock.now = os.path.getmtime(str(root / "backups" / "db" / "20261207T000000Z.dump")) + 100
    reports = backups.ages([DB], 60)
    assert [(r["name"], r["ok"]) for r in reports] == [("db", False)]
    assert backups.ages([DB], 3600)[0]["ok"]


# --------------------------------------------------------------------------- the engine's dump before migrations


def test_the_engine_dumps_before_migrations_only_when_a_release_serves_and_it_is_on():
    assert backups_before(["dbmigrate"], [DB], True, "a" * 40) == ["db"]
    assert backups_before([], [DB], True, "a" * 40) == []
    assert backups_before(["dbmigrate"], [DB], False, "a" * 40) == []
    assert backups_before(["dbmigrate"], [], True, "a" * 40) == []
    assert backups_before(["dbmigrate"], [DB], True, None) == []


def test_the_plan_shows_the_dump_before_the_migrations():
    class Run:
        kind, ref, from_commit, to_commit, check_mode = "deploy", "data-2", "a" * 40, "b" * 40, False
    plan = dict(work=True, build=["dbmigrate"], up=[], backup=["db"], migrate=["dbmigrate"], hooks=[],
                deferred_before=[], notes=[])
    lines = plan_lines(Run(), plan)
    assert lines.index("backup:    db (dumped before the migrations)") < lines.index("migrate:   dbmigrate")


def test_the_restore_plan_names_the_writers_and_the_command():
    lines = rs.plan_lines("db", "/opt/sample/backups/db/20261207T000000Z.dump", 1257, "db", ["ledger"],
                          "pg_restore --clean -d app")
    assert lines == ["restore db from 20261207T000000Z.dump (1257 bytes, sha256 matches)", "stop:      ledger",
                     "restore:   db in db: pg_restore --clean -d app", "start:     ledger, then the gate"]


def test_a_restore_record_is_valid_for_the_release_log():
    from ansible_collections.berth.compose.plugins.module_utils import release_log
    record = release_log.prepare_record(rs.restore_record("main", "a" * 40, "ok", T0, 3.2, "alice", "db from x",
                                                          dict(passed=True, services=[])))
    assert record["kind"] == "restore" and record["serving_commit"] == "a" * 40
    assert json.loads(release_log.encode(record))["backups"] == []


def test_a_second_dump_in_the_same_second_waits_for_the_next_and_never_replaces_the_first(tmp_path):
    ticks = iter([T0, T0, T0 + 1, T0 + 1, T0 + 1])
    backups, root = make(tmp_path, Runner(out=b"first"), lambda: next(ticks))
    first = backups.dump(bk.normalise(DB), project=Project())["file"]
    backups.runner = Runner(out=b"second")
    second = backups.dump(bk.normalise(DB), project=Project())["file"]
    assert first != second and second.endswith("20261207T000001Z.dump")
    with open(first, "rb") as handle:
        assert handle.read() == b"first"
