# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input for health_gate: every option refused with a message naming it and what is allowed.

Docker is faked only to count calls: a refused option must fail before the engine is asked.
"""
import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import ModuleExit
from ansible_collections.berth.compose.tests.unit.plugins.modules.test_health_gate import APP, FakeState
from ansible_collections.berth.compose.plugins.modules import health_gate

pytestmark = pytest.mark.usefixtures("module_exit_raises")


def run(params):
    calls = []

    def connect(docker_host=None):
        calls.append(docker_host)
        return FakeState(APP)
    with patch_module_args(dict({"project": "app"}, **params)):
        with pytest.raises(ModuleExit) as exc:
            health_gate.main(connect=connect, probe=lambda spec: None, clock=lambda: 0.0, sleep=lambda s: None)
    return exc.value, calls


def probe(**kw):
    return dict({"url": "http://127.0.0.1:8080/"}, **kw)


BEFORE_DOCKER = [
    ("project empty", {"project": " "}, ["project", "empty"]),
    ("project with slash", {"project": "app/../x"}, ["project", "lowercase"]),
    ("project with spaces", {"project": "my app"}, ["project", "lowercase"]),
    ("project shell metacharacters", {"project": "app$(id)"}, ["project", "lowercase"]),
    ("services wrong type", {"services": {"web": 1}}, ["services", "list"]),
    ("one_shot wrong type", {"one_shot": {"migrate": 1}}, ["one_shot", "list"]),
    ("probes wrong type", {"probes": "http://x"}, ["dictionary requested"]),  # Ansible core words it
    ("probe url not http", {"probes": [probe(url="file:///etc/passwd")]}, ["url", "http:// or https://"]),
    ("probe url ftp", {"probes": [probe(url="ftp://127.0.0.1/")]}, ["url", "http:// or https://"]),
    ("probe url gopher", {"probes": [probe(url="gopher://127.0.0.1:6379/_FLUSHALL")]}, ["url", "http:// or https://"]),
    ("probe without url", {"probes": [{"name": "x"}]}, ["url", "required"]),
    ("probe status not a code", {"probes": [probe(status=[999])]}, ["status", "999", "http status code"]),
    ("probe status wrong type", {"probes": [probe(status=["ok"])]}, ["status"]),
    ("probe body bad regex", {"probes": [probe(body="(")]}, ["body", "regular expression"]),
    ("probe headers wrong type", {"probes": [probe(headers="X-A: 1")]}, ["headers", "dict"]),
    ("probe header with newline", {"probes": [probe(headers={"X-A": "1\r\nX-Evil: 2"})]}, ["headers", "line break"]),
    ("probe method unknown", {"probes": [probe(method="GET /x HTTP/1.1\r\n")]}, ["method", "GET, HEAD"]),
    ("probe timeout negative", {"probes": [probe(timeout=-1)]}, ["timeout", "positive"]),
    ("probe timeout wrong type", {"probes": [probe(timeout="soon")]}, ["timeout", "float"]),
    ("probe validate_certs not bool", {"probes": [probe(validate_certs="maybe")]}, ["validate_certs", "boolean"]),
    ("probe follow_redirects not bool", {"probes": [probe(follow_redirects="maybe")]}, ["follow_redirects", "boolean"]),
    ("probe unknown key", {"probes": [probe(retries=3)]}, ["probes.retries", "supported parameters"]),
    ("timeout negative", {"timeout": -5}, ["timeout", "positive"]),
    ("timeout zero", {"timeout": 0}, ["timeout", "positive"]),
    ("timeout wrong type", {"timeout": "forever"}, ["timeout", "float"]),
    ("interval negative", {"interval": -1}, ["interval", "positive"]),
    ("stable_for zero", {"stable_for": 0}, ["stable_for", "at least 1"]),
    ("stable_for wrong type", {"stable_for": "three"}, ["stable_for", "int"]),
    ("log_lines negative", {"log_lines": -1}, ["log_lines", "negative"]),
    ("fail_on_unhealthy not bool", {"fail_on_unhealthy": "maybe"}, ["fail_on_unhealthy", "bool"]),
    ("docker_host with spaces", {"docker_host": "unix:///var/run/docker.sock --tlsverify"}, ["docker_host", "unix://"]),
    ("docker_host unknown scheme", {"docker_host": "file:///etc/passwd"}, ["docker_host", "unix://"]),
]


@pytest.mark.parametrize("params,needles", [c[1:] for c in BEFORE_DOCKER], ids=[c[0] for c in BEFORE_DOCKER])
def test_bad_input_fails_before_docker_is_asked(params, needles):
    out, calls = run(params)
    assert out.failed, out.result
    for needle in needles:
        assert needle.lower() in out.result["msg"].lower(), (needle, out.result["msg"])
    assert calls == []


@pytest.mark.parametrize("params,needle", [
    ({"services": ["web", "nope"]}, "nope"),
    ({"services": ["web;rm -rf /"]}, "web;rm -rf /"),
    ({"one_shot": ["$(reboot)"]}, "$(reboot)"),
], ids=["unknown service", "service with shell metacharacters", "one_shot with shell metacharacters"])
def test_unknown_services_are_named_with_the_valid_ones(params, needle):
    out, _calls = run(params)
    assert out.failed
    assert needle in out.result["msg"] and "valid services: migrate, web, worker" in out.result["msg"]
