"""What an operator checks by hand after the caddy and systemd roles ran."""
import pytest

APP = "shipyard"
ROOT = f"/opt/{APP}"
UNITS = [f"{APP}.service", f"{APP}-reconcile.service", f"{APP}-reconcile.timer",
         f"{APP}-backup.service", f"{APP}-backup.timer"]


def curl(host, url, resolve):
    return host.run(f"curl -sk --max-time 10 --resolve {resolve}:443:127.0.0.1 {url}")


def test_caddy_is_enabled_and_running(host):
    caddy = host.service("caddy")
    assert caddy.is_enabled and caddy.is_running


def test_live_caddyfile_passes_caddy_validate(host):
    host.check_output("caddy validate --adapter caddyfile --config /etc/caddy/Caddyfile")


def test_respond_site_answers_over_https_with_the_internal_ca(host):
    out = curl(host, "https://shipyard.berth.test/", "shipyard.berth.test")
    assert out.rc == 0 and out.stdout == "shipyard says hello"
    issuer = host.check_output(
        "curl -skv --max-time 10 --resolve shipyard.berth.test:443:127.0.0.1 "
        "https://shipyard.berth.test/ 2>&1 | grep -i issuer")
    assert "Caddy Local Authority" in issuer


def test_upstream_site_proxies(host):
    out = curl(host, "https://proxy.berth.test/", "proxy.berth.test")
    assert out.rc == 0 and out.stdout == "from the upstream"


def test_bad_sites_never_reached_the_live_caddyfile(host):
    # side_effect.yml fed the role bad sites; the last good file keeps serving.
    content = host.file("/etc/caddy/Caddyfile").content_string
    assert "definitely_not_a_caddy_directive" not in content
    assert "nothing.berth.test" not in content
    assert curl(host, "https://shipyard.berth.test/", "shipyard.berth.test").stdout == "shipyard says hello"


def test_admin_api_listens_on_loopback_only(host):
    listening = host.check_output("ss -Hltn")
    sockets = [line.split()[3] for line in listening.splitlines()]
    admin = [s for s in sockets if s.endswith(":2019")]
    assert admin and all(s.startswith(("127.0.0.1:", "[::1]:")) for s in admin)
    assert "127.0.0.1:8099" in sockets and "*:8099" not in sockets and "0.0.0.0:8099" not in sockets


@pytest.mark.parametrize("unit", UNITS)
def test_units_pass_systemd_analyze_verify(host, unit):
    host.check_output(f"systemd-analyze verify --man=no /etc/systemd/system/{unit}")


def test_app_unit_is_enabled_but_skipped_until_a_release_exists(host):
    assert host.service(f"{APP}.service").is_enabled
    unit = host.file(f"/etc/systemd/system/{APP}.service").content_string
    compose = (f"/usr/bin/docker compose -p {APP} --project-directory {ROOT}/current -f {ROOT}/current/compose.yaml "
               f"-f {ROOT}/current/.berth/images.yml --env-file {ROOT}/shared/.env")
    assert f"ExecStart={compose} up -d --remove-orphans\n" in unit
    assert f"ExecStop={compose} down\n" in unit
    assert f"WorkingDirectory={ROOT}/current" in unit
    # side_effect.yml tried an unparsable TimeoutStartSec: verification kept it out.
    assert "TimeoutStartSec=15min" in unit and "not-a-time-span" not in unit


@pytest.mark.parametrize("unit", UNITS)
def test_systemd_runs_the_installed_unit_definitions(host, unit):
    # Also after side_effect.yml, whose failed run replaced the backup timer (a good change).
    assert host.check_output(f"systemctl show -P NeedDaemonReload {unit}") == "no"


def test_a_failed_run_still_installs_the_units_that_passed(host):
    timer = host.file(f"/etc/systemd/system/{APP}-backup.timer").content_string
    assert "RandomizedDelaySec=20min" in timer
    assert host.check_output(f"systemctl show -P RandomizedDelayUSec {APP}-backup.timer") == "20min"


@pytest.mark.parametrize("timer", [f"{APP}-reconcile.timer", f"{APP}-backup.timer"])
def test_timers_are_enabled_active_and_listed(host, timer):
    assert host.service(timer).is_enabled and host.service(timer).is_running
    assert timer in host.check_output("systemctl list-timers --all --no-pager")


def test_reconcile_does_nothing_without_the_enable_file(host):
    host.check_output(f"systemctl start {APP}-reconcile.service")
    assert host.check_output(f"systemctl show -P ConditionResult {APP}-reconcile.service") == "no"


def test_backup_keeps_only_the_newest_copy(host):
    host.check_output(f"echo one > {ROOT}/shared/data.txt && systemctl start {APP}-backup.service")
    first = host.check_output(f"ls {ROOT}/backups").split()
    host.check_output(f"echo two > {ROOT}/shared/data.txt && systemctl start {APP}-backup.service")
    second = host.check_output(f"ls {ROOT}/backups").split()
    assert len(first) == 1 and len(second) == 1 and first != second
    name = second[0]
    assert name.startswith(f"{APP}-") and name.endswith(".tar.gz")
    assert host.file(f"{ROOT}/backups/{name}").mode == 0o600
    assert host.check_output(f"tar -xzOf {ROOT}/backups/{name} shared/data.txt") == "two"


def test_app_unit_brings_the_release_up_and_down_keeping_volumes(host):
    compose = (
        "services:\n"
        "  web:\n"
        "    image: berth/app-base:1\n"
        "    command: [sleep, '3600']\n"
        "    volumes: [data:/data]\n"
        "volumes:\n"
        "  data: {}\n"
    )
    # A release as the deploy leaves it: its compose file and its image map (nothing built here).
    host.check_output(f"mkdir -p {ROOT}/current/.berth && touch {ROOT}/shared/.env && "
                      f"printf %s \"{compose}\" > {ROOT}/current/compose.yaml && "
                      f"echo 'services: {{}}' > {ROOT}/current/.berth/images.yml")
    try:
        host.check_output(f"systemctl start {APP}.service")
        assert host.service(f"{APP}.service").is_running
        ps = host.check_output(f"docker ps --filter label=com.docker.compose.project={APP} --format '{{{{.Names}}}}'")
        assert ps.strip() == f"{APP}-web-1"
        host.check_output(f"systemctl stop {APP}.service")
        ps = host.check_output(f"docker ps -a --filter label=com.docker.compose.project={APP} -q")
        assert ps.strip() == ""
        assert f"{APP}_data" in host.check_output("docker volume ls -q")
    finally:
        host.run(f"systemctl stop {APP}.service; rm -rf {ROOT}/current")
