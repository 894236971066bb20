"""The VM container behaves like a VM: systemd as PID 1, a nested Docker engine."""


def test_systemd_is_pid_1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"


def test_system_booted(host):
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), state


def test_converge_marker_written(host):
    marker = host.file("/etc/berth-platform-check")
    assert marker.exists
    assert marker.mode == 0o644
    assert marker.content_string == "converged by molecule\n"


def test_nested_engine_runs_the_app_base_image(host):
    out = host.check_output("docker run --rm berth/app-base:1 sqlite3 :memory: 'select 40 + 2'")
    assert out.strip() == "42"


def test_compose_v2_answers(host):
    assert host.check_output("docker compose version").startswith("Docker Compose version v2") or \
        "2." in host.check_output("docker compose version --short")
