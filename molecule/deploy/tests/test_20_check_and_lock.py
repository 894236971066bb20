"""Case 10 (--check prints the plan, changes nothing) and case 8 (two deploys at once)."""
import subprocess
import time

from conftest import ROOT, commit_of, container_ids, current_commit, deploy, images, playbook_argv, playbook_env, records


def test_check_mode_prints_the_plan_and_changes_nothing(host):
    ids, current, log, imgs = container_ids(host), current_commit(host), records(host), images(host)
    check = deploy("api-only", "--check", "--diff")
    assert check.rc == 0, check.out
    assert "build:     api" in check.out and "check mode: nothing changes" in check.out
    assert "hello from the vault" not in check.out
    assert (container_ids(host), current_commit(host), records(host), images(host)) == (ids, current, log, imgs)
    assert not host.file(ROOT + "/releases/" + commit_of(host, "api-only")).exists


def test_second_deploy_waits_then_fails_naming_the_holder_first_one_succeeds(host):
    before = container_ids(host)
    first = subprocess.Popen(playbook_argv("deploy", "-e", "ref=api-only"), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=playbook_env())
    try:
        for _attempt in range(60):
            if host.file(ROOT + "/.berth/deploy.lock").exists:
                break
            time.sleep(0.5)
        second = deploy("api-only", "-e", "berth_lock_wait=2")
    finally:
        out = first.communicate(timeout=600)[0]
    assert second.rc != 0, second.out
    assert "held by 'deploy api-only'" in second.out, second.out
    assert first.returncode == 0, out
    after = container_ids(host)
    assert after["api"] != before["api"]
    assert after["web"] == before["web"] and after["worker"] == before["worker"]
    assert current_commit(host) == commit_of(host, "api-only")
    assert records(host)[-1]["services_built"] == ["api"]
    assert not host.file(ROOT + "/.berth/deploy.lock").exists
