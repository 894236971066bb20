# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker and HTTP adapters: inspect data -> ContainerState, compose labels, real HTTP(S) on loopback."""
import http.server
import shutil
import ssl
import subprocess
import threading

import pytest

from ansible_collections.berth.compose.plugins.module_utils import docker_state
from ansible_collections.berth.compose.plugins.module_utils.docker_state import (
    DockerState, ProjectNotFoundError, container_state_from_attrs, declared_services, http_probe)
from ansible_collections.berth.compose.plugins.module_utils.health_gate import FAILED, PASSED, ProbeSpec


def attrs(cid, service, status="running", health=None, project="app", oneoff="False", restarts=0, exit_code=0,
          config_files="", env_file=""):
    state = {"Status": status, "Running": status == "running", "ExitCode": exit_code, "OOMKilled": False,
             "Error": ""}
    if health:
        state["Health"] = {"Status": health, "Log": [{"Output": "old"}, {"Output": "check said no\n"}]}
    return {"Id": cid, "Name": "/%s-%s-1" % (project, service), "RestartCount": restarts, "State": state,
            "Config": {"Labels": {"com.docker.compose.project": project, "com.docker.compose.service": service,
                                  "com.docker.compose.oneoff": oneoff,
                                  "com.docker.compose.project.config_files": config_files,
                                  "com.docker.compose.project.working_dir": "/srv/app",
                                  "com.docker.compose.project.environment_file": env_file}}}


class FakeAPI:
    """The few low-level APIClient calls the adapter uses, over a list of inspect dicts."""

    def __init__(self, containers, gone=()):
        self.by_id = {a["Id"]: a for a in containers}
        self.gone = set(gone)

    def containers(self, all=False, filters=None):
        assert all is True
        wanted = filters["label"]
        rows = []
        for a in self.by_id.values():
            labels = a["Config"]["Labels"]
            if isinstance(wanted, list):
                key, value = wanted[0].split("=", 1)
                if labels.get(key) != value:
                    continue
            elif wanted not in labels:
                continue
            rows.append({"Id": a["Id"], "Labels": labels})
        return rows

    def inspect_container(self, cid):
        if cid in self.gone:
            raise docker_state.NotFound("gone")
        return self.by_id[cid]

    def logs(self, cid, stdout, stderr, tail, timestamps):
        return ("\n".join("line %d" % i for i in range(10)) + "\n").encode()


def test_inspect_data_becomes_container_state():
    state = container_state_from_attrs(attrs("abc", "api", health="unhealthy", restarts=2, exit_code=1))
    assert state.name == "app-api-1" and state.service == "api" and state.status == "running"
    assert state.health == "unhealthy" and state.health_output == "check said no"
    assert state.restart_count == 2 and state.exit_code == 1


def test_container_without_healthcheck_has_no_health():
    assert container_state_from_attrs(attrs("abc", "worker")).health is None


def test_snapshot_keeps_the_project_and_drops_one_offs_and_vanished_containers():
    api = FakeAPI([attrs("1", "web"), attrs("2", "api"), attrs("3", "web", oneoff="True"),
                   attrs("4", "web", project="other"), attrs("5", "worker")], gone=["5"])
    snap = DockerState(api).snapshot("app")
    assert [(c.id, c.service) for c in snap] == [("2", "api"), ("1", "web")]


def test_unknown_project_lists_the_known_ones():
    api = FakeAPI([attrs("1", "web", project="shop"), attrs("2", "web", project="blog")])
    with pytest.raises(ProjectNotFoundError) as err:
        DockerState(api).services("app")
    assert err.value.known == ["blog", "shop"] and "known compose projects: blog, shop" in str(err.value)


class FakeCompose:
    """Stands in for subprocess.run of `docker compose config --services`."""

    def __init__(self, stdout=b"", returncode=0):
        self.result = subprocess.CompletedProcess([], returncode, stdout, b"no such file: compose.yaml")
        self.calls = []

    def __call__(self, argv, **kwargs):
        self.calls.append(argv)
        return self.result


def test_services_include_declared_ones_without_containers(monkeypatch):
    compose = FakeCompose(b"api\nmigrate\nweb\n")
    monkeypatch.setattr(docker_state.compose_cli.subprocess, "run", compose)
    api = FakeAPI([attrs("1", "web", config_files="/srv/app/compose.yaml", env_file="/srv/shared/.env"),
                   attrs("2", "worker", config_files="/srv/app/compose.yaml", env_file="/srv/shared/.env")])
    assert DockerState(api).services("app") == ["api", "migrate", "web", "worker"]
    assert compose.calls == [["docker", "compose", "-p", "app", "--project-directory", "/srv/app",
                              "-f", "/srv/app/compose.yaml", "--env-file", "/srv/shared/.env",
                              "config", "--services"]]


def test_compose_failure_falls_back_to_services_with_containers(monkeypatch):
    monkeypatch.setattr(docker_state.compose_cli.subprocess, "run", FakeCompose(returncode=1))
    api = FakeAPI([attrs("1", "web", config_files="/nonexistent/compose.yaml")])
    assert DockerState(api).services("app") == ["web"]


def test_containers_without_compose_file_labels_are_not_rendered(monkeypatch):
    compose = FakeCompose(b"web\n")
    monkeypatch.setattr(docker_state.compose_cli.subprocess, "run", compose)
    assert declared_services("app", {"com.docker.compose.project.working_dir": "/srv/app"}) is None
    assert compose.calls == []


def test_logs_returns_the_last_lines():
    assert DockerState(FakeAPI([])).logs("x", 3) == ["line 7", "line 8", "line 9"]


def test_snapshot_error_says_docker_went_away():
    class Broken(FakeAPI):
        def containers(self, all=False, filters=None):
            raise OSError("connection reset")
    with pytest.raises(docker_state.DockerUnavailableError, match="lost contact with Docker"):
        DockerState(Broken([])).snapshot("app")


# --- HTTP probes against a server on 127.0.0.1 -----------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        routes = {
            "/health": (200, '{"status": "ok"}'),
            "/starting": (503, '{"status": "starting"}'),
            "/host": (200, "host=%s" % self.headers.get("Host")),
        }
        if self.path == "/moved":
            self.send_response(308)
            self.send_header("Location", "/health")
            self.end_headers()
            return
        code, body = routes.get(self.path, (404, "not found"))
        self.send_response(code)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url(httpd, path, scheme="http"):
    return "%s://127.0.0.1:%d%s" % (scheme, httpd.server_address[1], path)


def test_http_probe_passes_on_status_and_body(server):
    result = http_probe(ProbeSpec.from_dict({"url": url(server, "/health"), "body": r'"status":\s*"ok"'}))
    assert result.state == PASSED and result.status == 200


def test_http_probe_reports_status_and_body_excerpt(server):
    result = http_probe(ProbeSpec.from_dict({"url": url(server, "/starting")}))
    assert result.state == FAILED and result.status == 503
    assert result.reason == "HTTP 503, expected any 2xx" and result.body_excerpt == '{"status": "starting"}'


def test_http_probe_body_mismatch_carries_the_body(server):
    result = http_probe(ProbeSpec.from_dict({"url": url(server, "/health"), "body": "healthy"}))
    assert result.state == FAILED and "does not match 'healthy'" in result.reason
    assert result.body_excerpt == '{"status": "ok"}'


def test_http_probe_sends_headers(server):
    result = http_probe(ProbeSpec.from_dict({"url": url(server, "/host"), "headers": {"Host": "a.test"},
                                             "body": "^host=a.test$"}))
    assert result.state == PASSED


def test_http_probe_does_not_follow_redirects_unless_asked(server):
    moved = http_probe(ProbeSpec.from_dict({"url": url(server, "/moved")}))
    assert moved.status == 308 and "redirect to /health" in moved.reason
    followed = http_probe(ProbeSpec.from_dict({"url": url(server, "/moved"), "follow_redirects": True}))
    assert followed.state == PASSED


def test_http_probe_connection_refused_is_a_failed_result():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    port = httpd.server_address[1]
    httpd.server_close()
    result = http_probe(ProbeSpec.from_dict({"url": "http://127.0.0.1:%d/" % port, "timeout": 2}))
    assert result.state == FAILED and result.reason.startswith("request failed:") and result.status is None


@pytest.fixture
def tls_server(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.check_call(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                           "-subj", "/CN=site.test", "-addext", "subjectAltName=DNS:site.test",
                           "-keyout", str(key), "-out", str(cert)], stderr=subprocess.DEVNULL)
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    names = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.cert, httpd.sni_names = str(cert), names
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_https_probe_uses_host_header_for_sni_and_certificate_check(tls_server):
    spec = ProbeSpec.from_dict({"url": url(tls_server, "/host", "https"), "ca_path": tls_server.cert,
                                "headers": {"Host": "site.test"}, "body": "host=site.test"})
    result = http_probe(spec)
    assert result.state == PASSED, result.reason
    assert tls_server.sni_names[-1] == "site.test"


def test_https_probe_rejects_an_untrusted_certificate_unless_told(tls_server):
    strict = http_probe(ProbeSpec.from_dict({"url": url(tls_server, "/health", "https"),
                                             "headers": {"Host": "site.test"}, "timeout": 3}))
    assert strict.state == FAILED and "CERTIFICATE_VERIFY_FAILED" in strict.reason
    relaxed = http_probe(ProbeSpec.from_dict({"url": url(tls_server, "/health", "https"), "validate_certs": False}))
    assert relaxed.state == PASSED
