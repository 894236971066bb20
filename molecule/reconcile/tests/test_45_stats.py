"""deploy, rollback and reconcile publish their release record with set_stats (berth_records.<host>), the
data AWX/AAP workflows and ansible-runner read; the recap file (molecule/shared/recap.py) holds it."""
from conftest import ROOT, commit_of, containers, current_commit, records, run_playbook, wait_healthy

HOST = "berth-reconcile"


def published(run):
    assert run.recap is not None, run.out
    return run.recap["global_custom_stats"]["berth_records"][HOST]


def test_deploy_publishes_its_record(host):
    run = run_playbook("deploy", "-e", "ref=web-only")
    assert run.rc == 0, run.out
    wait_healthy(host)
    record = published(run)
    assert record == records(host)[-1]
    assert record["kind"] == "deploy" and record["to_commit"] == commit_of(host, "web-only") == current_commit(host)


def test_reconcile_publishes_its_record(host):
    host.check_output("docker stop %s" % containers(host)["web"][0])
    run = run_playbook("reconcile")
    assert run.rc == 0 and run.changed > 0, run.out
    wait_healthy(host)
    record = published(run)
    assert record == records(host)[-1] and record["kind"] == "reconcile"


def test_a_noop_publishes_nothing(host):
    run = run_playbook("reconcile")
    assert run.rc == 0 and run.changed == 0, run.out
    assert "berth_records" not in run.recap["global_custom_stats"]
    assert host.file(ROOT + "/current").exists
