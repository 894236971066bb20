"""An app that cannot start: after berth_reconcile_max_failures (2 here) failed repairs the timer stops
trying, exits 0 and says why; verify.yml reports it."""
import time

from conftest import ROOT, containers, reconciles, run_playbook, timer_run, write_figures


def settle(host):
    """Right after test_40's reboot: wait until systemd has no job left and no compose or backup run is alive."""
    host.run("for i in $(seq 1 90); do [ -z \"$(systemctl list-jobs --no-legend)\" ] && "
             "! pgrep -f '[d]ocker compose|[d]ocker-compose|[s]ample-backup' >/dev/null && break; sleep 1; done")


def remove_web(host):
    host.check_output("docker rm -f %s" % containers(host)["web"][0])
    time.sleep(3)
    left = host.check_output("docker ps -aq --filter label=com.docker.compose.project=sample "
                             "--filter label=com.docker.compose.service=web")
    assert not left, "something recreated web behind the test's back: %s" % host.check_output(
        "docker ps -a; journalctl -q -o short-precise -n 40 -u 'sample*' -u docker")


def test_the_rate_limit_stops_the_timer(host):
    web = host.check_output("sed -n '/\"web\":/{n;s/.*image: *//p}' %s/current/.berth/images.yml | tr -d '\"'" % ROOT)
    # The recorded image now names one that cannot serve: no command to run.
    host.check_output("docker tag berth/app-base:1 %s" % web)
    # Right after test_40's reboot: let the boot's own compose and backup runs end first.
    settle(host)
    remove_web(host)
    count = len(reconciles(host))
    for attempt in range(2):
        code, journal = timer_run(host)
        if attempt == 0 and code == 0 and "nothing drifted" in journal:
            # Something outside the test brought web back between the removal and the check (seen once in CI,
            # right after test_40's reboot): keep what it was for the record, then remove it again.
            write_figures("reconcile-rate-limit-recreated.txt", [journal, host.run(
                "docker ps -a; docker events --since 2m --until 0s --filter type=container; "
                "systemctl list-jobs; journalctl -q -o short-precise -n 80").stdout])
            settle(host)
            remove_web(host)
            code, journal = timer_run(host)
        assert code != 0, journal + host.run(
            "docker ps -a; docker inspect -f '{{.Name}} {{.State.Status}} restarts={{.RestartCount}}' "
            "$(docker ps -aq --filter label=com.docker.compose.service=web)").stdout
    failed = reconciles(host)[count:]
    assert [r["outcome"] for r in failed] == ["failed", "failed"]
    code, journal = timer_run(host)
    assert code == 0, journal
    assert "reconcile stopped: 2 failed repairs" in journal
    assert len(reconciles(host)) == count + 2
    metrics = host.file("/var/lib/node_exporter/textfile_collector/berth_reconcile_sample.prom").content_string
    assert 'berth_reconcile_last_result{app="sample",result="rate_limited"} 1' in metrics
    verify = run_playbook("verify")
    assert "reconcile stopped: 2 failed repairs" in verify.out
