# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scheduled jobs (berth_jobs): the check before any change, and the runner's one run."""

import fcntl
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ansible_collections.berth.compose.plugins.module_utils import deploy_lock as dl
from ansible_collections.berth.compose.plugins.module_utils import host
from ansible_collections.berth.compose.plugins.module_utils import jobs as jb
from ansible_collections.berth.compose.plugins.module_utils import notify
from ansible_collections.berth.compose.plugins.module_utils import task as tk

GOOD = {"name": "ingest", "service": "api", "command": "./ingest --hourly", "on_calendar": "hourly"}


def test_a_good_list_passes_and_gets_its_defaults():
    assert jb.job_problems([GOOD, dict(GOOD, name="sweep", command=["./sweep"], timeout=60, single_instance=False)]) == []
    assert jb.job_problems([]) == [] and jb.job_problems(None) == []
    assert jb.normalized(GOOD)["timeout"] == 3600 and jb.normalized(GOOD)["single_instance"] is True
    assert jb.unit_name("shop", "ingest") == "shop-job-ingest"


@pytest.mark.parametrize("change, message", [
    ({"name": "../x"}, "berth_jobs[0].name '../x' is not a job name"),
    ({"name": "Ingest"}, "berth_jobs[0].name 'Ingest' is not a job name"),
    ({"name": "a" * 41}, "is not a job name"),
    ({"service": "a b"}, "berth_jobs[0].service 'a b' is not a Compose service name"),
    ({"command": ""}, "berth_jobs[0].command: command is empty"),
    ({"command": ["ok", 3]}, "berth_jobs[0].command: command as a list must hold strings only"),
    ({"command": {"x": 1}}, "berth_jobs[0].command: command must be a string"),
    ({"on_calendar": "hourly\nExecStart=/bin/rm"}, "berth_jobs[0].on_calendar must be a systemd calendar expression"),
    ({"on_calendar": ""}, "berth_jobs[0].on_calendar must be"),
    ({"timeout": "10m"}, "berth_jobs[0].timeout must be a whole number of seconds"),
    ({"timeout": 0}, "berth_jobs[0].timeout must be 1 to 604800 seconds"),
    ({"timeout": True}, "berth_jobs[0].timeout must be a whole number"),
    ({"single_instance": "yes"}, "berth_jobs[0].single_instance must be true or false"),
    ({"schedule": "hourly"}, "berth_jobs[0] has unknown keys schedule"),
    ({"service": None}, "berth_jobs[0] lacks service"),
])
def test_each_bad_field_is_refused_naming_the_variable_and_the_entry(change, message):
    job = dict(GOOD, **change)
    job = {k: v for k, v in job.items() if v is not None}
    problems = jb.job_problems([job])
    assert any(message in p for p in problems), problems


def test_a_list_of_the_wrong_shape_and_duplicate_names_are_refused():
    assert jb.job_problems("ingest") == [
        "berth_jobs must be a list of {name, service, command, on_calendar, timeout, single_instance}"]
    assert jb.job_problems(["ingest"]) == ["berth_jobs[0] must be a mapping of " + ", ".join(jb.KEYS)]
    assert jb.job_problems([GOOD, GOOD]) == ["berth_jobs[1].name ingest is used twice (job names must be unique)"]


def test_the_host_judges_the_calendars_and_the_services_of_the_serving_release():
    seen = []

    def analyze(expression):
        seen.append(expression)
        return (1, "Failed to parse calendar specification 'hourlyy': Invalid argument\n") if "yy" in expression \
            else (0, "  Original form: hourly\n")
    jobs = [GOOD, dict(GOOD, name="b", on_calendar="hourlyy", service="worker")]
    problems = jb.host_problems(jobs, {}, analyze=analyze, services=lambda p: ["web", "api"])
    assert problems == [
        "berth_jobs[1].on_calendar 'hourlyy' is refused by systemd-analyze calendar: Failed to parse calendar "
        "specification 'hourlyy': Invalid argument",
        "berth_jobs[1].service worker is not a service of the release that serves now; its services: api, web"]
    assert seen == ["hourly", "hourlyy"]
    # Nothing serves yet: the services cannot be checked, the calendars still are.
    assert jb.host_problems(jobs, {}, analyze=analyze, services=lambda p: None) == problems[:1]
    assert jb.host_problems([], {}, analyze=analyze, services=lambda p: []) == []


@pytest.mark.skipif(not os.path.exists("/usr/bin/systemd-analyze") and not os.path.exists("/bin/systemd-analyze"),
                    reason="systemd-analyze is not installed here")
def test_the_real_systemd_analyze_accepts_hourly_and_refuses_nonsense():
    assert jb.analyze_calendar("hourly")[0] == 0
    assert jb.analyze_calendar("every other tuesday")[0] != 0


def test_the_last_result_of_each_job_comes_from_the_newest_job_record():
    records = [
        {"kind": "job", "outcome": "ok", "message": "job ingest: api: sh -c x (exit 0)"},
        {"kind": "task", "outcome": "failed", "message": "job ingest: fake"},
        {"kind": "job", "outcome": "failed", "message": "job ingest: api: sh -c x (exit 1)"},
        {"kind": "job", "outcome": "ok", "message": "job ingest2: api: sh -c x (exit 0)"},
    ]
    last = jb.last_results(records, ["ingest", "sweep"])
    assert last["ingest"]["outcome"] == "failed" and last["sweep"] is None


# ---------------------------------------------------------------- the runner's run

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
    (root / "env").write_text("API_TOKEN=job-s3cret-77\n")
    ran = []
    monkeypatch.setattr(tk, "compose_run", lambda project, args: Ran(b"web\napi\n"))

    def run(argv, **kwargs):
        ran.append((argv, kwargs.get("timeout"), dl.read_lock(str(root / ".berth" / "deploy.lock"))[0]))
        return host.Result(3 if "fail" in argv[-1] else 0, "ingested 5 rows job-s3cret-77\n", argv, "")
    monkeypatch.setattr(tk.host, "run", run)
    return root, ran


def config(root, **job):
    return dict(app="shop", host="vm1", root=str(root), project="shop", compose_files=["compose.yaml"],
                env_file=str(root / "env"), docker="docker", lock_wait=0, log_lines=50,
                jobs=[dict(GOOD, timeout=90, **job)])


def log(root):
    return [json.loads(line) for line in (root / "releases.jsonl").read_text().splitlines()]


def test_a_job_runs_in_the_current_release_under_the_lock_with_its_timeout_and_records_kind_job(app):
    root, ran = app
    said, told = [], []
    code = jb.run_job(config(root), "ingest", notifier=lambda r: told.append(r) or [], say=said.append, host_name="vm1")
    assert code == 0 and told == []
    argv, timeout, lock_state = ran[0]
    assert str(root / "releases" / SHA) in argv and argv[-4:] == ["api", "sh", "-c", "./ingest --hourly"]
    assert "--rm" in argv and timeout == 90 and lock_state == "held"
    record = log(root)[-1]
    assert (record["kind"], record["outcome"], record["to_commit"], record["ref"]) == ("job", "ok", SHA, "v2")
    assert record["operator"] == "job@vm1"
    assert record["message"] == "job ingest: api: sh -c ./ingest --hourly (exit 0)"
    # The journal gets the output, the env file's values hidden.
    assert "| ingested 5 rows <redacted>" in said and not any("job-s3cret-77" in line for line in said)
    assert dl.read_lock(str(root / ".berth" / "deploy.lock"))[0] == "absent"


def test_a_failing_job_is_recorded_failed_and_notified(app):
    root, _ran = app
    told = []
    code = jb.run_job(config(root, command="./fail"), "ingest", notifier=lambda r: told.append(r) or ["w1"],
                      say=lambda m: None, host_name="vm1")
    assert code == 1
    assert log(root)[-1]["outcome"] == "failed" and log(root)[-1]["message"].endswith("(exit 3)")
    assert [r["id"] for r in told] == [log(root)[-1]["id"]]


def test_a_job_that_cannot_start_is_recorded_failed_and_notified(app):
    root, ran = app
    path = str(root / ".berth" / "deploy.lock")
    hold = dl.ProcessHold(path)
    dl.acquire(path, owner="deploy web", operator="bob", controller="ctl", pid=1, wait=0, hold=hold)
    told = []
    try:
        code = jb.run_job(config(root), "ingest", notifier=lambda r: told.append(r) or [], say=lambda m: None,
                          host_name="vm1")
    finally:
        hold.drop()
        dl.release(path, force=True)
    assert code == 1 and ran == []
    record = log(root)[-1]
    assert (record["kind"], record["outcome"]) == ("job", "failed")
    assert record["message"].startswith("job ingest: Refusing the task, nothing ran") and "deploy web" in record["message"]
    assert told and told[0]["outcome"] == "failed"


def test_a_second_start_of_a_single_instance_job_is_skipped_while_one_runs(app):
    root, ran = app
    held = os.open(str(root / ".berth" / "job-ingest.lock"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)
    said = []
    try:
        assert jb.run_job(config(root), "ingest", say=said.append, host_name="vm1") == 0
        assert ran == [] and not (root / "releases.jsonl").exists()
        assert said == ["job ingest is already running (single_instance): this start is skipped"]
        # Not single-instance: the job's own flock is not asked.
        assert jb.run_job(config(root, single_instance=False), "ingest", say=said.append, host_name="vm1") == 0
        assert len(ran) == 1
    finally:
        os.close(held)
    assert jb.run_job(config(root), "ingest", say=said.append, host_name="vm1") == 0 and len(ran) == 2


def test_an_unknown_job_name_runs_nothing(app):
    root, ran = app
    said = []
    assert jb.run_job(config(root), "nosuch", say=said.append) == 2 and ran == []
    assert said == ["no job 'nosuch' in this host's berth_jobs (ingest)"]


def test_a_failed_job_reaches_a_webhook_without_ansible_installed():
    """The runner on a VM without ansible-core posts with the standard library (notify.urllib_open)."""
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = "http://127.0.0.1:%d/hook/tok" % server.server_port
        record = {"kind": "job", "outcome": "failed", "ref": "v2", "to_commit": SHA, "message": "job ingest: x"}
        payload = notify.build_payload(record, app="shop", host="vm1")
        status, error = notify.post_once(url, json.dumps(payload).encode(), 5, opener=notify.urllib_open)
        tell = jb.make_notifier([{"url": url, "events": ["job.failed"], "format": "slack"}], "shop", "prod", "vm1")
        assert tell is not None and tell(record) == []
    finally:
        server.shutdown()
    assert (status, error) == (204, None)
    assert bodies[0][1]["event"] == "job.failed" and bodies[0][1]["message"] == "job ingest: x"
    assert bodies[1][1]["text"].startswith("shop (prod, vm1): job.failed of v2 @ ccccccc")
    assert jb.make_notifier([], "shop", None, "vm1") is None
