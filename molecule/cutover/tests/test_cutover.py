"""Zero-downtime cutover of web: preflight, deploy, failed gate, rollback, each under load through Caddy."""
import json

from conftest import (ROOT, SCENARIO, SNIPPET, assert_no_failed_request, commit_of, current_commit, page, playbook,
                      run_playbook, under_load, web_containers, write_figures)


def test_the_first_provision_passed_its_gate_through_caddy_and_the_first_deploy_served_every_request(host):
    """prepare provisioned a fresh VM with zero downtime on from the start, as the README sets it up (web
    with `expose:`, berth_zero_downtime: [web], a Caddy site with upstreams_file, a probe through Caddy):
    provision pointed the snippet at web before its gate probed through Caddy, and finished. converge's
    first deploy after it ran under load (issue 18: a failed provision left no upstream, 503s for ~5 s)."""
    first = json.loads(host.file(ROOT + "/releases.jsonl").content_string.splitlines()[0])
    assert (first["message"], first["gate"], first["serving_commit"]) == (
        "the first release, started by provision", "passed", commit_of(host, "zd-1")), first
    assert host.file(ROOT + "/.berth/reconcile-baseline.json").exists, "provision finished: reconcile has a baseline"
    stats = json.loads(host.file("/root/load-first-deploy.json").content_string)
    write_figures("first deploy zd-2", stats)
    assert_no_failed_request(stats)


def test_converge_left_one_web_container_that_caddy_routes_to(host):
    assert current_commit(host) == commit_of(host, "zd-2")
    webs = web_containers(host)
    assert len(webs) == 1, webs
    ip = list(webs.values())[0][1]
    assert "to %s:8080" % ip in host.file(SNIPPET).content_string
    assert "web zd-2" in page(host)


def test_preflight_refuses_a_service_with_a_fixed_host_port_before_anything_changes(host):
    before = web_containers(host)
    run = playbook("deploy", "-e", "ref=zd-3", "-e", "service=web,api",
                   "-e", '{"berth_zero_downtime": ["web", "api"]}')
    assert run.rc != 0, run.out
    assert "service api publishes the fixed host port 127.0.0.1:8081:8081" in run.out, run.out
    assert "expose:" in run.out and "nothing changed" in run.out, run.out
    assert current_commit(host) == commit_of(host, "zd-2")
    assert web_containers(host) == before


def test_web_only_deploy_serves_every_request(host):
    before = web_containers(host)
    run, stats = under_load(host, "deploy zd-3", lambda: playbook("deploy", "-e", "ref=zd-3"))
    assert run.rc == 0, run.out
    assert_no_failed_request(stats)
    assert current_commit(host) == commit_of(host, "zd-3")
    webs = web_containers(host)
    assert len(webs) == 1 and not set(webs) & set(before), (before, webs)
    ip = list(webs.values())[0][1]
    assert "to %s:8080" % ip in host.file(SNIPPET).content_string
    assert "web zd-3" in page(host)


def test_unhealthy_new_web_is_removed_and_the_old_one_serves_every_request(host):
    before = web_containers(host)
    run, stats = under_load(host, "deploy zd-bad", lambda: playbook("deploy", "-e", "ref=zd-bad"))
    assert run.rc != 0, run.out
    assert "failed its gate and was removed" in run.out, run.out
    assert "automatic rollback done" in run.out, run.out
    assert_no_failed_request(stats)
    assert current_commit(host) == commit_of(host, "zd-3")
    assert web_containers(host) == before, "the old web container kept serving, untouched"
    assert "web zd-3" in page(host)
    last = json.loads(host.file(ROOT + "/releases.jsonl").content_string.splitlines()[-1])
    assert (last["outcome"], last["serving_commit"]) == ("rolled_back", commit_of(host, "zd-3"))


def test_rollback_to_previous_serves_every_request(host):
    run, stats = under_load(host, "rollback previous", lambda: playbook("rollback", "-e", "ref=previous"))
    assert run.rc == 0, run.out
    assert_no_failed_request(stats)
    assert current_commit(host) == commit_of(host, "zd-2")
    assert len(web_containers(host)) == 1
    assert "web zd-2" in page(host)


def test_web_that_dies_during_its_soak_is_switched_back_at_once_and_serves_every_request(host):
    """zd-dies passes its gate, then exits 8 s after its start, inside the soak. The old web container
    stayed running (unrouted, Caddy's fallback) through the soak: Caddy goes back to it at once."""
    before = web_containers(host)
    run, stats = under_load(host, "deploy zd-dies (soak)",
                            lambda: playbook("deploy", "-e", "ref=zd-dies", "-e", "berth_gate_soak=20"))
    assert run.rc != 0, run.out
    assert "Soak failed" in run.out, run.out
    assert "automatic rollback done" in run.out, run.out
    assert_no_failed_request(stats)
    # Caddy's lb_try_duration (5 s) holds requests while nothing serves: a switch back that starts and
    # gates a new old-release container shows as a gap of 2 s and more (issue 18: 2.4 s here).
    assert stats["longest_gap_s"] < 1.5, stats
    assert current_commit(host) == commit_of(host, "zd-2")
    assert web_containers(host) == before, "the old web container, kept through the soak, serves again"
    ip = list(before.values())[0][1]
    assert "to %s:8080" % ip in host.file(SNIPPET).content_string
    assert "web zd-2" in page(host)
    last = json.loads(host.file(ROOT + "/releases.jsonl").content_string.splitlines()[-1])
    assert (last["outcome"], last["serving_commit"]) == ("rolled_back", commit_of(host, "zd-2"))


def test_reconcile_right_after_the_cutovers_has_nothing_to_do(host):
    """Deploys, a failed gate, a rollback and a failed soak later, nothing drifted: reconcile is a no-op."""
    count = len(host.file(ROOT + "/releases.jsonl").content_string.splitlines())
    run = playbook("reconcile")
    assert run.rc == 0 and run.changed == 0, run.out
    assert "nothing drifted: %s serves as recorded" % commit_of(host, "zd-2")[:12] in run.out, run.out
    assert "no provisioning baseline" not in run.out, run.out
    assert len(host.file(ROOT + "/releases.jsonl").content_string.splitlines()) == count


def test_verify_says_loudly_when_no_provisioning_baseline_is_recorded(host):
    """As after a provision that failed half-way: verify (and reconcile) warn, naming the file."""
    baseline = ROOT + "/.berth/reconcile-baseline.json"
    host.check_output("mv %s %s.aside" % (baseline, baseline))
    try:
        run = playbook("verify")
    finally:
        host.check_output("mv %s.aside %s" % (baseline, baseline))
    assert run.rc == 0, run.out
    # Ansible may wrap a long warning over lines.
    assert "no provisioning baseline is recorded (%s is missing" % baseline in " ".join(run.out.split()), run.out


def test_caddyfile_on_disk_and_running_config_agree(host):
    on_disk = host.check_output("caddy adapt --adapter caddyfile --config /etc/caddy/Caddyfile")
    running = host.check_output("curl -sS http://localhost:2019/config/")
    assert json.loads(on_disk) == json.loads(running)
    ip = list(web_containers(host).values())[0][1]
    assert ip + ":8080" in running


def test_boot_unit_would_recreate_nothing(host):
    dry = host.run("set -a; . %s/current/.berth/release.env; set +a; docker compose -p sample "
                   "--project-directory %s/current -f %s/current/compose.yaml -f %s/current/.berth/images.yml "
                   "--env-file %s/shared/.env up -d --remove-orphans --dry-run 2>&1" % ((ROOT,) * 5))
    assert dry.rc == 0, dry.stdout
    assert "Recreate" not in dry.stdout, dry.stdout
    assert "sample-web-" in dry.stdout and "Running" in dry.stdout, dry.stdout


def test_caddy_role_run_again_keeps_the_cutover(host):
    snippet = host.file(SNIPPET).content_string
    run = run_playbook(SCENARIO + "/caddy.yml")
    assert run.rc == 0, run.out
    assert run.changed == 0, run.out
    assert host.file(SNIPPET).content_string == snippet
