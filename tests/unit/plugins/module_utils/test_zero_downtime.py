"""Zero-downtime cutover logic: compose model checks, the upstreams snippet, the gate verdict, the drain count."""
import http.server
import os
import threading

import pytest

from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils import zero_downtime as zd


def model(**services):
    return {"services": services}


class TestServiceProblems:
    def test_exposed_port_without_host_port_passes(self):
        assert zd.service_problems(model(web={"expose": ["8080"]}), ["web"]) == []

    def test_fixed_host_port_is_named_with_the_fix(self):
        ports = [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 8080, "published": "8080", "protocol": "tcp"}]
        problems = zd.service_problems(model(web={"ports": ports}), ["web"])
        assert len(problems) == 1
        assert "service web publishes the fixed host port 127.0.0.1:8080:8080" in problems[0]
        assert "expose:" in problems[0]

    def test_container_port_without_host_port_is_fine_and_gives_the_upstream_port(self):
        service = {"ports": [{"target": 9000, "published": "", "protocol": "tcp"}]}
        assert zd.service_problems(model(app=service), ["app"]) == []
        assert zd.upstream_port(service) == 9000

    def test_container_name_network_mode_and_replicas_are_refused(self):
        service = {"expose": ["80"], "container_name": "shop-web", "network_mode": "host", "deploy": {"replicas": 3}}
        problems = " | ".join(zd.service_problems(model(web=service), ["web"]))
        assert "container_name shop-web" in problems
        assert "network_mode host" in problems
        assert "deploy.replicas 3" in problems

    def test_unknown_service_and_bad_name(self):
        problems = zd.service_problems(model(web={"expose": ["80"]}), ["api", "../etc"])
        assert any("berth_zero_downtime names api, which the compose project does not define (it has web)" in p
                   for p in problems)
        assert any("'../etc' is not a compose service name" in p for p in problems)

    def test_no_single_port_for_caddy(self):
        problems = zd.service_problems(model(web={"expose": ["80", "443"]}, api={}), ["web", "api"])
        assert len(problems) == 2 and all("add `expose:" in p for p in problems)


class TestUpstreamPort:
    @pytest.mark.parametrize("service, port", [
        ({"expose": ["8080"]}, 8080),
        ({"expose": ["8080/tcp"]}, 8080),
        ({"expose": ["8000-8001"]}, None),
        ({"expose": ["80"], "ports": [{"target": 443}]}, 80),
        ({}, None),
    ])
    def test_port(self, service, port):
        assert zd.upstream_port(service) == port


class TestSnippet:
    def test_round_trip_and_path(self):
        text = zd.render_snippet("web", ["172.18.0.5:8080", "172.18.0.6:8080"])
        assert zd.parse_snippet(text) == ["172.18.0.5:8080", "172.18.0.6:8080"]
        assert "lb_policy first" in text
        assert zd.snippet_path("/opt/shop", "web") == "/opt/shop/.berth/upstreams/web.caddy"

    def test_no_address_still_has_a_directive(self):
        text = zd.render_snippet("web", [])
        assert zd.parse_snippet(text) == []
        assert [line for line in text.splitlines() if not line.startswith("#")] == ["lb_policy first"]

    def test_read_missing(self, tmp_path):
        assert zd.read_snippet(str(tmp_path / "none.caddy")) is None

    def test_standby_comes_after_the_new_container_with_passive_health_checks(self):
        text = zd.render_snippet("web", ["172.18.0.6:8080"], ["172.18.0.5:8080"])
        assert zd.parse_snippet(text) == ["172.18.0.6:8080", "172.18.0.5:8080"]
        assert "fail_duration 30s" in text.splitlines() and "max_fails 1" in text.splitlines()
        assert "fail_duration" not in zd.render_snippet("web", ["172.18.0.6:8080"])


class TestStandby:
    """retire (the soak passed) and restore (it failed) of a cutover that kept the old container."""

    REPORT = dict(service="web", port=8080, address="172.18.0.6:8080", new_id="new",
                  standby=[dict(id="old", name="shop-web-1", ip="172.18.0.5")])

    def fake(self, monkeypatch, running):
        done = dict(snippets=[], removed=[], drained=[])
        monkeypatch.setattr(zd, "apply_snippet", lambda path, text, caddy, caddyfile: done["snippets"].append(
            (path, zd.parse_snippet(text))))
        monkeypatch.setattr(zd, "remove_container", lambda docker, cid: done["removed"].append(cid))
        monkeypatch.setattr(zd, "drain", lambda ip, port, timeout, **kw: done["drained"].append(ip) or 0.5)
        monkeypatch.setattr(zd, "inspect_service", lambda docker, project, service: running)
        return done

    def test_retire_routes_to_the_new_container_alone_then_drains_and_removes_the_old(self, monkeypatch):
        done = self.fake(monkeypatch, [])
        assert zd.retire("docker", dict(self.REPORT), "/opt/shop", "caddy", "/etc/caddy/Caddyfile") == 0.5
        assert done["snippets"] == [("/opt/shop/.berth/upstreams/web.caddy", ["172.18.0.6:8080"])]
        assert (done["drained"], done["removed"]) == (["172.18.0.5"], ["old"])

    def test_restore_routes_back_to_the_old_container_at_once_and_removes_the_new(self, monkeypatch):
        done = self.fake(monkeypatch, [container(id="old", ip="172.18.0.5"), container(id="new", status="exited")])
        assert zd.restore("docker", "shop", dict(self.REPORT), "/opt/shop", "caddy", "x") == ["172.18.0.5:8080"]
        assert done["snippets"] == [("/opt/shop/.berth/upstreams/web.caddy", ["172.18.0.5:8080"])]
        assert done["removed"] == ["new"]

    def test_restore_refuses_when_no_old_container_runs_and_leaves_the_new_one(self, monkeypatch):
        done = self.fake(monkeypatch, [container(id="old", ip="172.18.0.5", status="exited")])
        with pytest.raises(zd.CutoverError, match="no old container is left running"):
            zd.restore("docker", "shop", dict(self.REPORT), "/opt/shop", "caddy", "x")
        assert done["snippets"] == [] and done["removed"] == []


def container(**kw):
    base = dict(id="c1", name="shop-web-2", status="running", health="healthy", restart_count=0, exit_code=0,
                ip="172.18.0.6")
    base.update(kw)
    return base


class TestGateVerdict:
    def test_ok_only_when_running_healthy_and_answering(self):
        assert zd.gate_verdict(container(), 200)[0] == "ok"
        assert zd.gate_verdict(container(), 404)[0] == "ok"
        assert zd.gate_verdict(container(health=None), 302)[0] == "ok"

    @pytest.mark.parametrize("kw, status", [
        (dict(health="starting"), 200), (dict(status="created"), None), ({}, None), ({}, 502)])
    def test_wait(self, kw, status):
        assert zd.gate_verdict(container(**kw), status)[0] == "wait"

    @pytest.mark.parametrize("kw, why", [
        (dict(health="unhealthy"), "unhealthy"), (dict(status="exited", exit_code=3), "exited (code 3)"),
        (dict(restart_count=1), "restarted")])
    def test_fails_fast(self, kw, why):
        verdict, reason = zd.gate_verdict(container(**kw), 200)
        assert verdict == "fail" and why in reason

    def test_gone(self):
        assert zd.gate_verdict(None, None)[0] == "fail"


PROC_NET_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 010012AC:C350 060012AC:1F90 01 00000000:00000000 00:00000000 00000000   996        0 2 1 0 20 4 30 10 -1
   2: 010012AC:C352 060012AC:1F90 01 00000000:00000000 00:00000000 00000000   996        0 3 1 0 20 4 30 10 -1
   3: 010012AC:C354 060012AC:1F90 06 00000000:00000000 00:00000000 00000000     0        0 0 3 0 0 0 0 0 0
   4: 010012AC:C356 050012AC:1F90 01 00000000:00000000 00:00000000 00000000   996        0 4 1 0 20 4 30 10 -1
"""


class TestDrain:
    def test_counts_established_connections_to_one_address(self):
        assert zd.established_to(PROC_NET_TCP, "172.18.0.6", 8080) == 2
        assert zd.established_to(PROC_NET_TCP, "172.18.0.5", 8080) == 1
        assert zd.established_to(PROC_NET_TCP, "172.18.0.7", 8080) == 0

    def test_drain_polls_until_the_connections_are_gone(self, tmp_path):
        proc = tmp_path / "tcp"
        proc.write_text(PROC_NET_TCP)
        ticks = iter(range(100))

        def sleep(_seconds):
            proc.write_text(PROC_NET_TCP.splitlines()[0] + "\n")

        waited = zd.drain("172.18.0.6", 8080, 30, clock=lambda: next(ticks), sleep=sleep, proc=str(proc))
        assert waited == 2

    def test_drain_gives_up_at_the_timeout(self, tmp_path):
        proc = tmp_path / "tcp"
        proc.write_text(PROC_NET_TCP)
        ticks = iter(range(100))
        assert zd.drain("172.18.0.6", 8080, 5, clock=lambda: next(ticks), sleep=lambda s: None,
                        proc=str(proc)) == 5


class TestContainers:
    def test_from_inspect_prefers_the_project_network(self):
        item = {"Id": "abc", "Name": "/shop-web-2", "RestartCount": 0,
                "State": {"Status": "running", "Health": {"Status": "healthy"}, "ExitCode": 0},
                "Config": {"Labels": {rel.LABEL_SERVICE: "web", "com.docker.compose.container-number": "2"}},
                "NetworkSettings": {"Networks": {"a_net": {"IPAddress": "10.0.0.2"},
                                                 "shop_default": {"IPAddress": "172.18.0.6"}}}}
        c = zd.container_from_inspect(item, "shop_default")
        assert (c["name"], c["ip"], c["number"], c["health"], c["oneoff"]) == ("shop-web-2", "172.18.0.6", 2,
                                                                               "healthy", False)
        assert zd.container_from_inspect(item, "other")["ip"] == "10.0.0.2"

    def test_stale_containers_are_those_caddy_does_not_route_to(self):
        old, half = container(id="a", ip="172.18.0.5"), container(id="b", ip="172.18.0.6")
        assert zd.stale_containers([old, half], ["172.18.0.5:8080"]) == [half]
        assert zd.stale_containers([old, half], []) == []
        assert zd.stale_containers([old, half], ["172.18.0.9:8080"]) == []


class TestApplySnippet:
    def test_failed_reload_puts_the_old_snippet_back(self, tmp_path, monkeypatch):
        path = str(tmp_path / "upstreams" / "web.caddy")
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as handle:
            handle.write(zd.render_snippet("web", ["172.18.0.5:8080"]))

        def refuse(caddy, caddyfile):
            raise rel.ReleaseError("caddy reload failed")

        monkeypatch.setattr(zd, "reload_caddy", refuse)
        with pytest.raises(rel.ReleaseError):
            zd.apply_snippet(path, zd.render_snippet("web", ["172.18.0.6:8080"]), "caddy", "/etc/caddy/Caddyfile")
        assert zd.parse_snippet(zd.read_snippet(path)) == ["172.18.0.5:8080"]

    def test_unchanged_snippet_reloads_nothing(self, tmp_path, monkeypatch):
        path = str(tmp_path / "web.caddy")
        text = zd.render_snippet("web", ["172.18.0.5:8080"])
        with open(path, "w") as handle:
            handle.write(text)
        calls = []
        monkeypatch.setattr(zd, "reload_caddy", lambda *a: calls.append(a))
        assert zd.apply_snippet(path, text, "caddy", "/etc/caddy/Caddyfile") is False
        assert calls == []
        assert zd.apply_snippet(path, zd.render_snippet("web", []), "caddy", "/etc/caddy/Caddyfile") is True
        assert len(calls) == 1


class TestHttpStatus:
    def test_status_of_a_real_server_and_none_when_nothing_answers(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(204 if self.path == "/" else 503)
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            port = server.server_address[1]
            assert zd.http_status("127.0.0.1", port, "/") == 204
            assert zd.http_status("127.0.0.1", port, "/down") == 503
        finally:
            server.shutdown()
            server.server_close()
        assert zd.http_status("127.0.0.1", port, "/", timeout=0.5) is None


def test_http_status_reads_the_status_through_the_gates_probe_without_following_redirects():
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(302 if self.path == "/moved" else 503)
            self.send_header("Location", "/elsewhere")
            self.end_headers()

        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        assert zd.http_status("127.0.0.1", port, "/moved") == 302
        assert zd.http_status("127.0.0.1", port, "/") == 503
    finally:
        server.shutdown()
    assert zd.http_status("127.0.0.1", port, "/", timeout=0.5) is None
