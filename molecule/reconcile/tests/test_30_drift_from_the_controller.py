"""The same repair from the controller's playbook; a deploy holding the lock makes it skip the round."""
import json
import time

from conftest import ROOT, containers, reconciles, run_playbook, timer_run, wait_healthy


def test_repair_from_the_controller_then_nothing(host):
    ids = containers(host)
    count = len(reconciles(host))
    host.check_output("docker stop %s" % ids["web"][0])
    host.check_output("chmod 0644 %s/shared/.env" % ROOT)
    first = run_playbook("reconcile")
    assert first.rc == 0 and first.changed > 0, first.out
    # The roles re-applied in a loop of their own loop variable (issue 18: "'item' is already in use").
    assert "re-applied the provisioning roles" in first.out, first.out
    assert "already in use" not in first.out, [line for line in first.out.splitlines() if "already in use" in line]
    assert host.file(ROOT + "/shared/.env").mode == 0o600
    after = wait_healthy(host)
    assert after["api"] == ids["api"] and after["worker"] == ids["worker"]
    assert len(reconciles(host)) == count + 1
    again = run_playbook("reconcile")
    assert again.rc == 0 and again.changed == 0, again.out
    assert containers(host) == after and len(reconciles(host)) == count + 1


def test_a_held_lock_skips_the_round(host):
    ids = containers(host)
    host.check_output("docker stop %s" % ids["web"][0])
    host.check_output(
        "printf '%%s' '{\"owner\": \"deploy web\", \"operator\": \"alice\", \"controller\": \"elsewhere\", \"pid\": 1, "
        "\"started\": \"2026-11-23T15:00:00Z\", \"started_epoch\": 9999999999, \"ttl\": 1800, \"token\": \"t\"}' "
        "> %s/.berth/deploy.lock" % ROOT)
    try:
        skipped = run_playbook("reconcile")
        assert skipped.rc == 0, skipped.out
        assert "reconcile skipped this round" in skipped.out
        assert host.run("docker inspect -f '{{.State.Running}}' %s" % ids["web"][0]).stdout.strip() == "false"
    finally:
        host.check_output("rm -f %s/.berth/deploy.lock" % ROOT)
    assert run_playbook("reconcile").rc == 0
    wait_healthy(host)


def test_the_timer_skips_a_round_while_a_provision_holds_the_lock(host):
    """Issue 18.10: provision holds the deploy lock for its whole run (molecule/provision tests/test_lock.py), so
    the timer's round never re-applies the roles with the VM's old inventory halfway through a provision."""
    count = len(reconciles(host))
    # The lock as provision.yml's berth.compose.deploy_lock writes it, from the operator's controller.
    holder = {"owner": "provision", "operator": "alice", "controller": "laptop.elsewhere", "pid": 4242,
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "started_epoch": time.time(),
              "ttl": 1800, "token": "provisiontoken1"}
    host.check_output("printf '%%s\\n' '%s' > %s/.berth/deploy.lock" % (json.dumps(holder), ROOT))
    # What the provision is changing: a baseline drift the timer would repair by re-applying the roles.
    host.check_output("chmod 0644 %s/shared/.env" % ROOT)
    try:
        code, journal = timer_run(host)
        assert code == 0, journal
        assert "reconcile skipped this round" in journal and "'provision'" in journal, journal
        assert host.file(ROOT + "/shared/.env").mode == 0o644, "the round re-applied the roles under a provision"
        assert len(reconciles(host)) == count
        assert json.loads(host.file(ROOT + "/.berth/deploy.lock").content_string)["token"] == "provisiontoken1"
    finally:
        host.check_output("rm -f %s/.berth/deploy.lock" % ROOT)
    code, journal = timer_run(host)
    assert code == 0, journal
    assert host.file(ROOT + "/shared/.env").mode == 0o600
    wait_healthy(host)
