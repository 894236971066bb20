"""A bare VM after provision.yml: what an operator would check by hand."""
import json

from conftest import APP, ROOT, https_get


def test_docker_engine_active_enabled_and_compose_v2_answers(host):
    docker = host.service("docker")
    assert docker.is_running and docker.is_enabled
    version = host.run("docker compose version --short")
    assert version.rc == 0 and version.stdout.strip().lstrip("v").startswith("2."), version.stdout


def test_daemon_json_rotates_logs_and_keeps_containers_live(host):
    options = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert options["log-driver"] == "json-file"
    assert options["log-opts"]["max-size"] and options["log-opts"]["max-file"]
    assert options["live-restore"] is True


def test_deploy_user_may_use_docker(host):
    assert "docker" in host.user("deploy").groups
    assert host.run("sudo -u deploy docker ps").rc == 0


def test_app_layout_owners_and_modes(host):
    expected = {ROOT: 0o755, ROOT + "/repo": 0o755, ROOT + "/releases": 0o755, ROOT + "/shared": 0o750,
                ROOT + "/backups": 0o750, ROOT + "/.berth": 0o755}
    for path, mode in expected.items():
        d = host.file(path)
        assert d.is_directory, path
        assert (d.user, d.group, d.mode) == ("deploy", "deploy", mode), path
    assert host.file(ROOT + "/current").linked_to.startswith(ROOT + "/releases/")


def test_env_file_is_owner_only_and_holds_the_vault_values(host):
    env = host.file(ROOT + "/shared/.env")
    assert (env.user, env.mode) == ("deploy", 0o600)
    lines = env.content_string.splitlines()
    assert any(line.startswith("APP_MESSAGE=") and "hello from the vault" in line for line in lines)
    assert any(line.startswith("DB_PASSWORD=") and "s3cr3t-from-vault" in line for line in lines)


def test_units_enabled_and_timers_listed(host):
    for unit in (APP + ".service", APP + "-reconcile.timer", APP + "-backup.timer"):
        assert host.service(unit).is_enabled, unit
    timers = host.check_output("systemctl list-timers --all --no-legend")
    assert APP + "-reconcile.timer" in timers and APP + "-backup.timer" in timers


def test_first_release_runs_and_reads_the_secret(host):
    assert host.service(APP + ".service").is_running
    value = host.run("curl -sS --max-time 5 http://127.0.0.1:8081/value")
    assert value.stdout.strip() == "hello from the vault"


def test_caddy_serves_the_site_over_https_with_its_internal_ca(host):
    page = https_get(host)
    assert page.rc == 0, page.stderr
    assert "sample web" in page.stdout


def test_app_ports_and_docker_api_not_on_all_interfaces(host):
    listeners = host.check_output("ss -Hltn")
    for port in ("8080", "8081"):
        assert "0.0.0.0:%s " % port not in listeners and "[::]:%s " % port not in listeners
        assert "127.0.0.1:%s " % port in listeners
    for port in ("2375", "2376"):
        assert ":%s " % port not in listeners


def test_provision_installed_git_which_prepare_had_removed(host):
    """Issue 20 part 7: a minimal VM without git. prepare.yml removed it; the layout role put it back."""
    assert host.package("git").is_installed
    assert host.run("git --version").rc == 0
    events = [line.split()[2:4] for line in host.file("/var/log/dpkg.log").content_string.splitlines()
              if len(line.split()) > 3 and line.split()[3].split(":")[0] == "git"]
    actions = [action for action, _pkg in events]
    assert "remove" in actions, events  # prepare took it off
    last_remove = len(actions) - 1 - actions[::-1].index("remove")
    assert "install" in actions[last_remove:], events  # and provision installed it again
