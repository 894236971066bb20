# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import json
import os
import re

import pytest

from ansible_collections.berth.compose.plugins.module_utils import deploy_lock as dl
from ansible_collections.berth.compose.plugins.module_utils import host
from ansible_collections.berth.compose.plugins.module_utils import task as tk


def test_a_string_runs_under_sh_and_a_list_runs_as_given():
    assert tk.command_argv("./manage.py seed && echo done") == ["sh", "-c", "./manage.py seed && echo done"]
    assert tk.command_argv(["./backfill", "--all", "a b"]) == ["./backfill", "--all", "a b"]


@pytest.mark.parametrize("command, message", [
    ("", "cmd is empty"),
    ("   ", "cmd is empty"),
    ([], "empty list"),
    (["", "x"], "program"),
    (["ok", 3], "strings only"),
    ({"cmd": "x"}, "must be a string"),
    (None, "must be a string"),
    ("a\x00b", "NUL"),
])
def test_unusable_commands_are_refused(command, message):
    with pytest.raises(tk.TaskError, match=message):
        tk.command_argv(command)


def test_only_services_of_the_release_are_accepted():
    tk.check_service("api", ["web", "api"])
    with pytest.raises(tk.TaskError, match="service apx is not in the current release; its services: api, web"):
        tk.check_service("apx", ["web", "api"])
    for bad in ("../etc", "-rm", "", "a b", None):
        with pytest.raises(tk.TaskError, match="not a Compose service name"):
            tk.check_service(bad, ["web", bad])


def test_container_names_are_unique_and_valid_docker_names():
    names = {tk.container_name("shop", "api", now=0) for _n in range(50)}
    assert len(names) > 40
    name = tk.container_name("shop", "api", now=0, random_hex="beef")
    assert name == "shop-task-api-19700101T000000Z-beef"
    assert re.match(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z", name)


def test_attached_runs_are_removed_and_detached_ones_stay_readable():
    attached = tk.run_args("api", ["sh", "-c", "x"], "n1", detach=False)
    assert attached[:6] == ["run", "--no-deps", "--name", "n1", "--label", "berth.compose.task=api"]
    assert "--rm" in attached and "-T" in attached and "-d" not in attached
    assert attached[-4:] == ["api", "sh", "-c", "x"]
    detached = tk.run_args("api", ["./job"], "n2", detach=True)
    assert "-d" in detached and "--rm" not in detached and detached[-2:] == ["api", "./job"]
    hint = tk.follow_hint("n2")
    assert "docker logs -f n2" in hint and "docker wait n2" in hint and "docker rm n2" in hint
    assert "{{" not in hint, "Ansible refuses module results that look like templates"


def test_release_env_and_tail():
    assert tk.parse_release_env("BERTH_REF=v1\n# c\nBERTH_COMMIT=abc\n\n") == {"BERTH_REF": "v1", "BERTH_COMMIT": "abc"}
    assert tk.tail("a\nb\nc\n", 2) == "b\nc" and tk.tail("a\nb\n", 0) == "a\nb"


# ---------------------------------------------------------------- the whole run: lock, run, record

SHA = "c" * 40


class Ran:
    def __init__(self, stdout):
        self.stdout = stdout


@pytest.fixture
def app(tmp_path, monkeypatch):
    root = tmp_path / "app"
    release = root / "releases" / SHA
    (release / ".berth").mkdir(parents=True)
    (root / ".berth").mkdir()
    (release / ".berth" / "release.env").write_text("BERTH_COMMIT=%s\nBERTH_REF=v2\n" % SHA)
    os.symlink(os.path.join("releases", SHA), str(root / "current"))
    ran = []
    monkeypatch.setattr(tk, "compose_run", lambda project, args: Ran(b"web\napi\n"))

    def run(argv, **kwargs):
        ran.append((argv, dl.read_lock(str(root / ".berth" / "deploy.lock"))[0],
                    dl.process_hold_alive(str(root / ".berth" / "deploy.lock"))))
        return host.Result(3 if "fail" in argv[-1] else 0, "line 1\nline 2\n", argv, "")
    monkeypatch.setattr(tk.host, "run", run)
    return root, ran


def task_params(root, **extra):
    p = dict(root=str(root), project="shop", compose_files=["compose.yaml"], env_file=str(root / "env"),
             service="api", command="echo hi", detach=False, log_lines=0, timeout=0, lock_wait=0, lock_ttl=1800,
             force_unlock=False, operator="alice", controller="ctl", docker="docker")
    p.update(extra)
    return p


def log(root):
    return [json.loads(line) for line in (root / "releases.jsonl").read_text().splitlines()]


def test_an_attached_task_holds_the_lock_while_it_runs_and_records_itself(app):
    root, ran = app
    result = tk.Task(task_params(root)).run(dict(changed=False))
    assert not result.get("failed"), result
    argv, lock_state, held = ran[0]
    assert lock_state == "held" and held, "the lock is held by this process while the command runs"
    assert "--project-directory" in argv and str(root / "releases" / SHA) in argv
    assert argv[-4:] == ["api", "sh", "-c", "echo hi"]
    assert (result["exit_code"], result["output"], result["ref"], result["commit"]) == (0, "line 1\nline 2", "v2", SHA)
    record = log(root)[-1]
    assert (record["kind"], record["outcome"], record["to_commit"], record["ref"]) == ("task", "ok", SHA, "v2")
    assert record["serving_commit"] is None and record["operator"] == "alice"
    assert record["message"] == "api: sh -c echo hi (exit 0)" and result["record"]["id"] == record["id"]
    assert dl.read_lock(str(root / ".berth" / "deploy.lock"))[0] == "absent"


def test_a_failing_command_is_returned_and_recorded_failed_not_raised(app):
    root, _ran = app
    result = tk.Task(task_params(root, command="fail")).run(dict(changed=False))
    assert not result.get("failed") and result["exit_code"] == 3
    assert log(root)[-1]["outcome"] == "failed" and log(root)[-1]["message"].endswith("(exit 3)")


def test_a_detached_task_is_recorded_ok_with_its_container(app):
    root, _ran = app
    result = tk.Task(task_params(root, detach=True)).run(dict(changed=False))
    assert result["follow"].startswith("follow its output: docker logs -f shop-task-api-")
    assert log(root)[-1]["message"] == "api: sh -c echo hi (detached as %s)" % result["container"]


def test_a_held_lock_or_an_unknown_service_runs_nothing_and_records_nothing(app):
    root, ran = app
    path = str(root / ".berth" / "deploy.lock")
    hold = dl.ProcessHold(path)
    dl.acquire(path, owner="deploy web", operator="bob", controller="ctl", pid=1, wait=0, hold=hold)
    result = tk.Task(task_params(root)).run(dict(changed=False))
    assert result["failed"] and "nothing ran" in result["msg"] and "deploy web" in result["msg"]
    hold.drop()
    dl.release(path, force=True)
    result = tk.Task(task_params(root, service="nosuch")).run(dict(changed=False))
    assert result["failed"] and "service nosuch is not in the current release; its services: api, web" in result["msg"]
    assert ran == [] and not (root / "releases.jsonl").exists()
    assert dl.read_lock(path)[0] == "absent", "the lock was given back"


def test_check_mode_runs_and_records_nothing(app):
    root, ran = app
    result = tk.Task(task_params(root), check_mode=True).run(dict(changed=False))
    assert not result.get("failed") and result["container"] and ran == []
    assert not (root / "releases.jsonl").exists() and not os.path.exists(str(root / ".berth" / "deploy.lock"))


def test_a_task_whose_command_holds_a_secret_leaves_it_out_of_the_log(app):
    """Issue 18.11: the env file's values are hidden in the task's record (the log and the webhooks); its
    output stays the operator's, who asked for it."""
    root, _ran = app
    (root / "env").write_text("DB_PASSWORD=tk-s3cret-55\n")
    result = tk.Task(task_params(root, command="echo tk-s3cret-55")).run(dict(changed=False))
    assert "tk-s3cret-55" not in (root / "releases.jsonl").read_text()
    assert result["record"]["message"] == "api: sh -c echo <redacted> (exit 0)"
