"""Case 12 (a busy worker is deferred, the next deploy picks it up) and case 9 (a deploy
killed midway: the next one reports the stale lock and recovers; the app kept serving), and a
killed controller: the engine on the VM finishes the deploy and gives the lock back."""
import os
import signal
import subprocess
import time

from conftest import ROOT, commit_of, container_ids, deploy, kill_engine_when, playbook_argv, playbook_env, records

OPTIONAL_COLOR = '{"berth_env_optional": ["APP_COLOR"]}'


def test_busy_worker_is_deferred_then_picked_up_by_the_next_deploy(host):
    host.check_output("docker exec sample-worker-1 touch /tmp/busy")
    before = container_ids(host)
    first = deploy("worker-v2", "-e", OPTIONAL_COLOR)
    assert first.rc == 0, first.out
    assert "deferred:   worker" in first.out
    last = records(host)[-1]
    assert last["services_deferred"] == ["worker"] and "web" in last["services_recreated"]
    assert container_ids(host)["worker"] == before["worker"]

    host.check_output("docker exec sample-worker-1 rm /tmp/busy")
    second = deploy("worker-v2", "-e", OPTIONAL_COLOR)
    assert second.rc == 0, second.out
    last = records(host)[-1]
    assert last["services_recreated"] == ["worker"] and last["services_deferred"] == []
    assert container_ids(host)["worker"] != before["worker"]
    image = host.check_output("docker inspect -f '{{.Config.Image}}' sample-worker-1")
    assert image == "sample-worker:" + commit_of(host, "worker-v2")[:12]


def test_killed_deploy_leaves_a_stale_lock_the_next_deploy_reports_and_recovers(host):
    host.check_output("(for i in $(seq 1 120); do curl -sf --max-time 2 http://127.0.0.1:8080/health >/dev/null "
                      "|| echo down; sleep 0.25; done > /var/tmp/serving.log 2>&1 &)")
    target = ROOT + "/releases/" + commit_of(host, "env-optional")
    victim = subprocess.Popen(playbook_argv("deploy", "-e", "ref=env-optional", "-e", "service=web"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=playbook_env(),
                              start_new_session=True)
    try:
        # The engine dies while it prepares the release (its directory is there, nothing switched).
        kill_engine_when(host, "[ -d %s ]" % target)
        assert host.file(ROOT + "/.berth/deploy.lock").exists
    finally:
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
    time.sleep(30)  # the serving probe runs on for the rest of its 30 s
    assert "down" not in host.file("/var/tmp/serving.log").content_string
    again = deploy("env-optional", "-e", "service=web")
    assert again.rc == 0, again.out
    assert "stale" in again.out.lower(), again.out
    assert records(host)[-1]["to_commit"] == commit_of(host, "env-optional")
    assert not host.file(ROOT + "/.berth/deploy.lock").exists


def test_killed_controller_the_engine_finishes_the_deploy_and_gives_the_lock_back(host):
    target = commit_of(host, "api-only")
    before = records(host)
    victim = subprocess.Popen(playbook_argv("deploy", "-e", "ref=api-only", "-e", "service=web,api"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=playbook_env(),
                              start_new_session=True)
    try:
        for _attempt in range(480):
            if host.run("grep -q 'deploy api-only' %s/.berth/deploy.lock" % ROOT).rc == 0:
                break
            time.sleep(0.25)
        else:
            raise AssertionError("the engine never took the lock")
    finally:
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
    for _attempt in range(480):
        if not host.file(ROOT + "/.berth/deploy.lock").exists:
            break
        time.sleep(0.25)
    assert not host.file(ROOT + "/.berth/deploy.lock").exists, "the engine must end and give the lock back"
    new = records(host)[len(before):]
    assert [(r["kind"], r["to_commit"], r["outcome"]) for r in new] == [("deploy", target, "ok")], new
    again = deploy("api-only", "-e", "service=web,api")
    assert again.rc == 0 and "stale" not in again.out.lower(), again.out
