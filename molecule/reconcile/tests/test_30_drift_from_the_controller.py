"""The same repair from the controller's playbook; a deploy holding the lock makes it skip the round."""
from conftest import ROOT, containers, reconciles, run_playbook, wait_healthy


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
