"""The issue's drift list, repaired once by the VM's own timer; --check --diff only lists it."""
from conftest import (ROOT, containers, current_commit, https_get, reconciles, run_playbook, timer_run,
                      wait_healthy)

ENV = ROOT + "/shared/.env"


def image_of(host, service):
    return host.check_output("sed -n '/\"%s\":/{n;s/.*image: *//p}' %s/current/.berth/images.yml | tr -d '\"'"
                             % (service, ROOT))


def test_inject_drift_list_it_then_repair_it_from_the_timer(host):
    commit = current_commit(host)
    count = len(reconciles(host))
    ids = containers(host)
    worker_image = image_of(host, "worker")
    # The drift of the issue: one container stopped, another removed, an image removed, the
    # Caddyfile edited, the env file world-readable, the app unit disabled, docker stopped.
    host.check_output("docker stop %s" % ids["web"][0])
    host.check_output("docker rm -f %s" % ids["api"][0])
    host.check_output("docker rmi -f %s" % worker_image)
    host.check_output("echo '# edited by hand' >> /etc/caddy/Caddyfile")
    host.check_output("chmod 0644 %s" % ENV)
    host.check_output("systemctl disable sample.service")
    host.check_output("systemctl stop docker.service")

    check = run_playbook("reconcile", "--check", "--diff")
    assert check.rc == 0, check.out
    for needle in ("/etc/caddy/Caddyfile: content changed", "mode 0644 (was 0600)", "sample.service: is disabled",
                   "docker.service: is inactive"):
        assert needle in check.out, needle
    assert host.file(ENV).mode == 0o644 and host.run("systemctl is-active docker.service").rc != 0
    assert len(reconciles(host)) == count

    code, journal = timer_run(host)
    assert code == 0, journal
    assert host.file(ENV).mode == 0o600
    assert "edited by hand" not in host.file("/etc/caddy/Caddyfile").content_string
    assert host.run("systemctl is-enabled sample.service").stdout.strip() == "enabled"
    assert host.run("systemctl is-active docker.service sample.service").rc == 0
    assert host.run("docker image inspect %s" % worker_image).rc == 0
    wait_healthy(host)
    assert "sample web" in https_get(host).stdout
    assert current_commit(host) == commit
    new = reconciles(host)[count:]
    assert len(new) == 1 and new[0]["outcome"] == "ok", new
    assert "worker: image" in new[0]["message"] and "api: no container" in new[0]["message"]


def test_the_next_run_changes_nothing_and_restarts_nothing(host):
    before = containers(host)
    count = len(reconciles(host))
    code, journal = timer_run(host)
    assert code == 0 and "changed=0" in journal, journal
    assert containers(host) == before
    assert len(reconciles(host)) == count
    metrics = host.file("/var/lib/node_exporter/textfile_collector/berth_reconcile_sample.prom").content_string
    assert 'berth_drift_repaired_total{app="sample"} 0' not in metrics
