"""Issue 20.4: scheduled app jobs (berth_jobs), on the first VM after the earlier cases (it serves web-only).

Provision (role systemd only, --tags berth_systemd) installs a service and a timer per job; `systemctl start`
runs one at once. The jobs' calendar is a day no test reaches, so only the starts below run them.
"""
import json
import time

from conftest import HOSTS, commit_of, current_commit, hooks, records, run_playbook

LIBEXEC = "/usr/local/libexec/berth"
UNITS = "/etc/systemd/system"
NEVER = "*-12-31 03:00:00"
INGEST = {"name": "ingest", "service": "api", "on_calendar": NEVER, "timeout": 120,
          "command": "echo \"api v2 in serve.sh: $(grep -c 'api v2' /serve.sh)\" >> /data/jobs.log; echo ingested"}
JOBS = [
    INGEST,
    {"name": "broken", "service": "worker", "on_calendar": NEVER, "command": "echo failing on purpose; exit 4"},
    {"name": "sleeper", "service": "worker", "on_calendar": NEVER, "timeout": 60,
     "command": ["sh", "-c", "echo slept >> /data/sleeper.log; sleep 8"]},
    {"name": "slow", "service": "worker", "on_calendar": NEVER, "timeout": 3, "command": "sleep 30"},
]


def jobs_var(jobs):
    return json.dumps({"berth_jobs": jobs})


def provision(jobs):
    return run_playbook("provision", "-l", HOSTS[0], "--tags", "berth_systemd", "-e", jobs_var(jobs))


def flat(text):
    """The play's output with its whitespace made single spaces (the YAML result format folds long lines)."""
    return " ".join(text.split())


def installed(host):
    """How many of the job units and the runner are on the host."""
    return int(host.check_output("ls -d %s/sample-job-* %s/sample-job 2>/dev/null | wc -l" % (UNITS, LIBEXEC)))


def job_records(host, name):
    return [r for r in records(host) if r["kind"] == "job" and r["message"].startswith("job %s: " % name)]


def start(host, name):
    return host.run("systemctl start sample-job-%s.service" % name)


def api_container(host):
    return host.check_output("docker ps -q --filter label=com.docker.compose.project=sample "
                             "--filter label=com.docker.compose.service=api --filter label=com.docker.compose.oneoff=False")


def test_bad_jobs_are_refused_naming_the_variable_before_anything(vms):
    host = vms[HOSTS[0]]
    bad = [dict(INGEST, on_calendar="every other tuesday"), dict(INGEST, name="other", service="nosuch")]
    ran = provision(bad)
    out = flat(ran.out)
    assert ran.rc != 0
    assert "berth_jobs[0].on_calendar" in out and "is refused by systemd-analyze calendar" in out, ran.out
    assert "berth_jobs[1].service nosuch is not a service of the release that serves now" in out, ran.out
    ran = provision([dict(INGEST, name="Bad Name", timeout="10m")])
    assert ran.rc != 0 and "berth_jobs" in ran.out, ran.out
    assert installed(host) == 0, "nothing was installed"


def test_provision_installs_a_service_and_a_timer_per_job_and_a_second_run_changes_nothing(vms):
    host = vms[HOSTS[0]]
    ran = provision(JOBS)
    assert ran.rc == 0, ran.out
    for job in JOBS:
        assert host.service("sample-job-%s.timer" % job["name"]).is_enabled
        assert host.run("systemctl is-active sample-job-%s.timer" % job["name"]).stdout.strip() == "active"
        assert host.file("%s/sample-job-%s.service" % (UNITS, job["name"])).exists
    assert host.file("%s/sample-job" % LIBEXEC).exists
    # The runner's copy of the webhooks carries the token: root only.
    assert host.file("/etc/berth/sample/jobs-notify.json").mode == 0o600
    again = provision(JOBS)
    assert again.rc == 0 and again.changed[HOSTS[0]] == 0, again.out


def test_a_job_runs_in_the_current_release_with_the_env_file_and_is_recorded_kind_job(vms):
    host = vms[HOSTS[0]]
    ran = start(host, "ingest")
    assert ran.rc == 0, ran.stderr
    last = job_records(host, "ingest")[-1]
    assert (last["outcome"], last["to_commit"]) == ("ok", current_commit(host))
    assert last["operator"] == "job@%s" % HOSTS[0] and last["message"].endswith("(exit 0)")
    # Its effect, in the app's data volume: the api image of web-only (api v1).
    assert host.check_output("docker exec %s tail -n 1 /data/jobs.log" % api_container(host)) == "api v2 in serve.sh: 0"
    assert "| ingested" in host.check_output("journalctl -u sample-job-ingest.service --no-pager -q")
    assert host.check_output("docker ps -aq --filter label=berth.compose.task=api") == "", "--rm: nothing left behind"


def test_a_failing_job_is_recorded_failed_and_notified_and_a_timeout_is_enforced(vms):
    host = vms[HOSTS[0]]
    told = len(hooks(host))
    assert start(host, "broken").rc != 0
    last = job_records(host, "broken")[-1]
    assert last["outcome"] == "failed" and last["message"].endswith("(exit 4)")
    got = [p for p in hooks(host)[told:] if p.get("event") == "job.failed"]
    assert got and got[-1]["message"] == last["message"] and got[-1]["host"] == HOSTS[0]
    began = time.monotonic()
    assert start(host, "slow").rc != 0
    assert time.monotonic() - began < 25, "stopped after its 3 s timeout, not after sleep 30"
    last = job_records(host, "slow")[-1]
    assert last["outcome"] == "failed" and last["message"].endswith("(exit 124)")
    assert host.check_output("docker ps -aq --filter label=berth.compose.task=worker") == ""


def test_a_second_start_while_one_runs_does_not_run_twice(vms):
    host = vms[HOSTS[0]]
    count = len(job_records(host, "sleeper"))
    host.check_output("systemctl start --no-block sample-job-sleeper.service")
    for _attempt in range(40):
        if host.check_output("docker ps -q --filter label=berth.compose.task=worker"):
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the sleeper job never started")
    # The runner called by hand meets the job's flock; systemd merges the second start into the running one.
    second = host.run("/usr/bin/python3 %s/sample-job sleeper" % LIBEXEC)
    assert second.rc == 0 and "already running (single_instance): this start is skipped" in second.stdout
    assert host.run("systemctl start sample-job-sleeper.service").rc == 0
    assert len(job_records(host, "sleeper")) == count + 1
    worker = host.check_output("docker ps -q --filter label=com.docker.compose.project=sample "
                               "--filter label=com.docker.compose.service=worker --filter label=com.docker.compose.oneoff=False")
    assert host.check_output("docker exec %s grep -c slept /data/sleeper.log" % worker) == str(count + 1)


def test_after_a_deploy_the_job_runs_the_new_release_and_verify_lists_the_last_results(vms):
    host = vms[HOSTS[0]]
    ran = run_playbook("deploy", "-l", HOSTS[0], "-e", "ref=api-only")
    assert ran.rc == 0, ran.out
    assert current_commit(host) == commit_of(host, "api-only")
    assert start(host, "ingest").rc == 0
    last = job_records(host, "ingest")[-1]
    assert (last["outcome"], last["to_commit"]) == ("ok", commit_of(host, "api-only"))
    assert host.check_output("docker exec %s tail -n 1 /data/jobs.log" % api_container(host)) == "api v2 in serve.sh: 1"
    shown = run_playbook("verify", "-l", HOSTS[0], "-e", jobs_var(JOBS))
    assert shown.rc == 0, shown.out
    out = flat(shown.out)
    sha = commit_of(host, "api-only")[:12]
    assert "job ingest (api, %s): last run " % NEVER in out and " ok at %s (" % sha in out, shown.out
    assert "job broken (worker, %s): last run " % NEVER in out and " failed at " in out and "(exit 4)" in out
    assert "job slow (worker, %s): last run " % NEVER in out and "(exit 124)" in out


def test_removing_a_job_removes_its_units_and_an_empty_list_removes_the_runner(vms):
    host = vms[HOSTS[0]]
    ran = provision([INGEST])
    assert ran.rc == 0, ran.out
    for name in ("broken", "sleeper", "slow"):
        assert not host.file("%s/sample-job-%s.timer" % (UNITS, name)).exists
        assert not host.file("%s/sample-job-%s.service" % (UNITS, name)).exists
        assert host.run("systemctl is-active sample-job-%s.timer" % name).stdout.strip() != "active"
    assert host.service("sample-job-ingest.timer").is_enabled
    ran = provision([])
    assert ran.rc == 0, ran.out
    assert installed(host) == 0
    assert not host.file("/etc/berth/sample/jobs-notify.json").exists
