"""What an operator checks by hand after the docker, layout and secrets roles ran."""
import json

import pytest

ROOT = "/opt/layered"
EXPECTED_ENV = {
    "APP_MESSAGE": "hello from the vault",
    "API_TOKEN": "p@ss \"w0rd\" $HOME 'x' \\n",
    "MULTI_LINE": "first\nsecond",
    "EMPTY_OK": "",
    "PORT": "8081",
    "FLAG": "true",
}


def test_docker_is_enabled_and_running(host):
    docker = host.service("docker")
    assert docker.is_running and docker.is_enabled


def test_docker_compose_v2_answers(host):
    out = host.check_output("docker compose version --short")
    assert out.strip().startswith(("2.", "v2."))


def test_daemon_json_merges_options_over_defaults(host):
    f = host.file("/etc/docker/daemon.json")
    assert f.mode == 0o644 and f.user == "root"
    config = json.loads(f.content_string)
    assert config["log-driver"] == "json-file"
    assert config["log-opts"] == {"max-size": "20m", "max-file": "3"}
    assert config["live-restore"] is True
    assert "hosts" not in config
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert info["LiveRestoreEnabled"] is True and info["LoggingDriver"] == "json-file"


def test_docker_api_is_not_bound_to_tcp(host):
    listening = host.check_output("cat /proc/net/tcp /proc/net/tcp6")
    # 2375/2376 are 0x0947/0x0948; state 0A is LISTEN
    for line in listening.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A":
            assert fields[1].split(":")[1] not in ("0947", "0948")


def test_deploy_user_is_in_docker_group(host):
    assert "docker" in host.user("deploy").groups


@pytest.mark.parametrize("path, mode", [
    (ROOT, 0o755), (ROOT + "/repo", 0o755), (ROOT + "/releases", 0o755), (ROOT + "/shared", 0o750),
    (ROOT + "/backups", 0o750), (ROOT + "/.berth", 0o755),
])
def test_layout_directories_have_owner_and_mode(host, path, mode):
    d = host.file(path)
    assert d.is_directory and d.user == "deploy" and d.group == "deploy" and d.mode == mode


def test_app_root_is_marked_as_this_apps(host):
    marker = host.file(ROOT + "/.berth/app")
    assert marker.content_string == "layered\n" and marker.mode == 0o644


def test_env_file_is_owner_only(host):
    f = host.file(ROOT + "/shared/.env")
    assert f.user == "deploy" and f.group == "deploy" and f.mode == 0o600


def test_docker_compose_reads_back_every_value_verbatim(host):
    compose = (
        "services:\n  probe:\n    image: berth/app-base:1\n"
        "    env_file: [" + ROOT + "/shared/.env]\n"
    )
    host.run("mkdir -p /tmp/envprobe")
    host.run("cat > /tmp/envprobe/compose.yaml <<'EOF'\n" + compose + "EOF")
    out = host.check_output("cd /tmp/envprobe && HOME=/should-not-expand docker compose config --format json")
    env = json.loads(out)["services"]["probe"]["environment"]
    # `compose config` prints a compose file, so it writes every literal $ as $$.
    assert {key: value.replace("$$", "$") for key, value in env.items()} == EXPECTED_ENV


def test_no_temp_files_left_next_to_the_env_file(host):
    listing = host.check_output("ls -A " + ROOT + "/shared")
    assert listing.split() == [".env"]
