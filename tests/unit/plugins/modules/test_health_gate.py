# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument handling and result shape of the health_gate module, with a fake Docker."""
import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.berth.compose.plugins.module_utils.docker_state import (
    DockerUnavailableError, ProjectNotFoundError)
from ansible_collections.berth.compose.plugins.module_utils.health_gate import ContainerState, ProbeResult
from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import ModuleExit
from ansible_collections.berth.compose.plugins.modules import health_gate


pytestmark = pytest.mark.usefixtures("module_exit_raises")


class FakeState:
    def __init__(self, containers, services=None):
        self.containers = containers
        self._services = services if services is not None else sorted({c.service for c in containers})
        self.connected_to = "unset"

    def services(self, project):
        if project != "app":
            raise ProjectNotFoundError(project, ["app"])
        return self._services

    def snapshot(self, project):
        return self.containers

    def logs(self, cid, lines):
        return ["log of %s" % cid]


def box(name, service, **kw):
    return ContainerState(id=name + "-id", name=name, service=service, **kw)


APP = [box("app-web-1", "web", status="running", health="healthy"),
       box("app-worker-1", "worker", status="running"),
       box("app-migrate-1", "migrate", status="exited")]


def run(args, state=None, probe=None):
    state = state or FakeState(APP)

    def connect(docker_host=None):
        state.connected_to = docker_host
        if isinstance(state, Exception):
            raise state
        return state
    clock = {"now": 0.0}

    def sleep(seconds):
        clock["now"] += seconds
    with patch_module_args(args):
        with pytest.raises(ModuleExit) as exc:
            health_gate.main(connect=connect, probe=probe or (lambda spec: None),
                             clock=lambda: clock["now"], sleep=sleep)
    return exc.value


def test_project_is_required():
    out = run({})
    assert out.failed and "project" in out.result["msg"]


def test_healthy_project_exits_unchanged_with_per_service_results():
    out = run({"project": "app", "one_shot": ["migrate"], "stable_for": 2, "interval": 1})
    assert not out.failed and out.result["changed"] is False and out.result["passed"] is True
    assert [s["service"] for s in out.result["services"]] == ["migrate", "web", "worker"]
    assert out.result["elapsed"] == 1.0 and out.result["polls"] == 2
    assert out.result["msg"].startswith("Health gate passed")


def test_check_mode_gates_the_same_way():
    out = run({"project": "app", "one_shot": ["migrate"], "_ansible_check_mode": True})
    assert not out.failed and out.result["passed"] is True


def test_check_mode_sends_no_probe_that_could_change_the_app(monkeypatch):
    """Issue 18.13: in check mode only GET and HEAD probes are sent; POST, PUT, ... are listed as not sent."""
    sent = []
    warned = []
    monkeypatch.setattr(health_gate.AnsibleModule, "warn", lambda self, text: warned.append(text))

    def probe(spec):
        sent.append(spec.method)
        return ProbeResult(url=spec.url, state="passed", status=200)
    probes = [{"url": "http://127.0.0.1/health"}, {"url": "http://127.0.0.1/ping", "method": "HEAD"},
              {"url": "http://127.0.0.1/api/jobs?token=s3cret", "method": "POST", "name": "enqueue"},
              {"url": "http://127.0.0.1/api/item?token=s3cret", "method": "put"}]
    out = run({"project": "app", "one_shot": ["migrate"], "probes": probes, "_ansible_check_mode": True}, probe=probe)
    assert not out.failed and out.result["passed"] is True, out.result
    assert sorted(set(sent)) == ["GET", "HEAD"], sent
    assert out.result["probes_not_sent"] == ["POST enqueue", "PUT http://127.0.0.1/api/item"]
    assert "s3cret" not in repr(out.result)
    assert any("check mode" in w and "POST enqueue" in w for w in warned), warned
    assert "s3cret" not in repr(warned)


def test_a_real_run_sends_every_probe():
    sent = []

    def probe(spec):
        sent.append(spec.method)
        return ProbeResult(url=spec.url, state="passed", status=200)
    probes = [{"url": "http://127.0.0.1/health"}, {"url": "http://127.0.0.1/api/jobs", "method": "POST"}]
    out = run({"project": "app", "one_shot": ["migrate"], "probes": probes}, probe=probe)
    assert not out.failed and "POST" in sent and out.result["probes_not_sent"] == []


def test_failure_names_service_and_carries_logs():
    out = run({"project": "app", "services": ["worker", "migrate"]})  # migrate not declared one-shot
    assert out.failed and out.result["failed_services"] == ["migrate"]
    assert "for migrate -- migrate: container app-migrate-1 exited with code 0 but must keep running" in out.result["msg"]
    assert out.result["services"][1]["logs"] == {"app-migrate-1": ["log of app-migrate-1-id"]}


def test_unknown_service_lists_valid_ones_before_polling():
    out = run({"project": "app", "services": ["wbe"]})
    assert out.failed
    assert out.result["msg"] == "unknown service(s) wbe in compose project 'app'; valid services: migrate, web, worker"
    assert "services" not in out.result


def test_unknown_project_lists_known_projects():
    out = run({"project": "shop"})
    assert out.failed and "compose project 'shop' has no containers" in out.result["msg"]
    assert out.result["msg"].endswith("known compose projects: app")


def test_docker_unreachable_is_a_clear_failure():
    out = run({"project": "app"}, state=DockerUnavailableError("Docker is not reachable at unix:///x: refused"))
    assert out.failed and out.result["msg"].startswith("Docker is not reachable")


def test_docker_host_is_passed_to_the_adapter():
    state = FakeState(APP)
    run({"project": "app", "one_shot": ["migrate"], "docker_host": "unix:///run/user/1000/docker.sock"}, state)
    assert state.connected_to == "unix:///run/user/1000/docker.sock"


@pytest.mark.parametrize("args,words", [
    ({"timeout": 0}, "timeout must be positive"),
    ({"interval": -1}, "interval must be positive"),
    ({"stable_for": 0}, "stable_for must be at least 1"),
    ({"log_lines": -5}, "log_lines must not be negative"),
    ({"probes": [{"url": "ftp://x"}]}, "must start with http:// or https://"),
    ({"probes": [{"url": "http://x", "body": "(["}]}, "not a valid regular expression"),
    ({"probes": [{"status": [200]}]}, "url"),
])
def test_bad_arguments_fail_with_a_clear_message(args, words):
    args = dict({"project": "app"}, **args)
    out = run(args)
    assert out.failed and words in out.result["msg"]


def test_probe_options_reach_the_probe_with_defaults():
    seen = []

    def probe(spec):
        seen.append(spec)
        return ProbeResult(url=spec.url, state="passed", status=204, reason="HTTP 204")
    out = run({"project": "app", "services": ["web"],
               "probes": [{"url": "https://127.0.0.1/", "headers": {"Host": "a.test"}, "validate_certs": False,
                           "status": [204]}]}, probe=probe)
    assert not out.failed and out.result["probes"][0]["state"] == "passed"
    spec = seen[0]
    assert spec.headers == (("Host", "a.test"),) and spec.validate_certs is False and spec.status == (204,)
    assert spec.timeout == 5.0 and spec.method == "GET" and spec.follow_redirects is False


def test_documentation_options_match_the_argument_spec():
    import yaml
    from ansible_collections.berth.compose.plugins.doc_fragments.run import ModuleDocFragment
    doc = yaml.safe_load(health_gate.DOCUMENTATION)
    assert "berth.compose.run.probes" in doc["extends_documentation_fragment"]
    # As Ansible renders it: the probes option comes from the doc fragment shared with engine and reconcile.
    doc["options"].update(yaml.safe_load(ModuleDocFragment.PROBES)["options"])
    assert set(doc["options"]) == set(health_gate.ARGUMENT_SPEC)
    assert set(doc["options"]["probes"]["suboptions"]) == set(health_gate.PROBE_SPEC)
    for name, spec in health_gate.ARGUMENT_SPEC.items():
        assert doc["options"][name]["type"] == spec["type"], name
        assert doc["options"][name].get("default") == spec.get("default"), name
    yaml.safe_load(health_gate.EXAMPLES)
    yaml.safe_load(health_gate.RETURN)
