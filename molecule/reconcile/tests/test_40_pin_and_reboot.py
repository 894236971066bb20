"""A rollback's pin holds; a reboot brings the app back through its unit alone."""
import subprocess
import time

from conftest import (ROOT, commit_of, containers, current_commit, https_get, reconciles, records, run_playbook,
                      wait_healthy)


def test_reconcile_after_a_rollback_keeps_the_older_commit(host):
    back = run_playbook("rollback", "-e", "ref=previous")
    assert back.rc == 0, back.out
    v1 = commit_of(host, "v1")
    assert current_commit(host) == v1 and host.file(ROOT + "/.berth/pin").exists
    # Its record, published with set_stats (tests/test_45_stats.py: deploy and reconcile).
    published = back.recap["global_custom_stats"]["berth_records"]["berth-reconcile"]
    assert published == records(host)[-1] and published["kind"] == "rollback" and published["to_commit"] == v1
    count = len(reconciles(host))
    host.check_output("docker rm -f %s" % containers(host)["web"][0])
    fixed = run_playbook("reconcile")
    assert fixed.rc == 0, fixed.out
    wait_healthy(host)
    assert current_commit(host) == v1
    new = reconciles(host)[count:]
    assert len(new) == 1 and new[0]["serving_commit"] == v1 and new[0]["pinned"] is True


def test_a_reboot_brings_the_app_back_through_its_unit(host):
    name = host.check_output("hostname")
    subprocess.run(["docker", "restart", name], check=True, stdout=subprocess.DEVNULL, timeout=120)
    deadline = time.monotonic() + 120
    state = ""
    while state not in ("running", "degraded") and time.monotonic() < deadline:
        state = host.run("systemctl is-system-running --wait").stdout.strip()
        if state not in ("running", "degraded"):
            time.sleep(1)
    assert state in ("running", "degraded")
    assert host.run("systemctl is-active sample.service").stdout.strip() == "active"
    wait_healthy(host)
    assert "sample web" in https_get(host).stdout
