# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gate's evaluation logic on recorded container states, with a fake clock."""
import pytest

from ansible_collections.berth.compose.plugins.module_utils.health_gate import (
    FAILED, PASSED, PENDING, ContainerState, ProbeResult, ProbeSpec, UnknownServicesError,
    check_response, resolve_services, run_gate)


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def c(service, status="running", health=None, restarts=0, exit_code=0, idx=1, output=""):
    return ContainerState(id="%s-%d-id" % (service, idx), name="app-%s-%d" % (service, idx), service=service,
                          status=status, health=health, restart_count=restarts, exit_code=exit_code,
                          health_output=output)


def recorded(*polls):
    """snapshot() returning one recorded poll per call, repeating the last one."""
    calls = {"n": 0}

    def snapshot():
        i = min(calls["n"], len(polls) - 1)
        calls["n"] += 1
        return list(polls[i])
    snapshot.calls = calls
    return snapshot


def gate(snapshot, services, clock=None, **kw):
    clock = clock or FakeClock()
    kw.setdefault("timeout", 60)
    kw.setdefault("interval", 2)
    kw.setdefault("stable_for", 3)
    return run_gate(snapshot, services, clock=clock, sleep=clock.sleep, **kw)


HEALTHY = [c("web", health="healthy"), c("api", health="healthy"), c("worker"), c("migrate", "exited")]


def test_healthy_app_passes_once_unhealthchecked_service_is_stable():
    result = gate(recorded(HEALTHY), ["web", "api", "worker", "migrate"], one_shot=["migrate"])
    assert result.passed
    assert result.polls == 3  # worker has no healthcheck: seen running on 3 polls
    assert result.elapsed == 4.0
    assert [v.state for v in result.services] == [PASSED] * 4
    assert result.failed_services == []
    assert result.msg.startswith("Health gate passed in 4.0s: web, api, worker up; migrate completed")


def test_healthcheck_service_passes_as_soon_as_healthy():
    result = gate(recorded([c("web", health="starting")], [c("web", health="healthy")]), ["web"])
    assert result.passed and result.polls == 2
    assert result.services[0].ready_after == 2.0


def test_starting_service_times_out_with_last_check_output_and_logs():
    logs = {}

    def fetch(cid, n):
        logs[cid] = n
        return ["line %d" % i for i in range(100)]
    result = gate(recorded([c("api", health="starting", output="connection refused")]), ["api"],
                  timeout=10, log_lines=5, logs=fetch)
    assert not result.passed and result.timed_out
    assert result.elapsed == 10.0
    verdict = result.services[0]
    assert verdict.state == FAILED
    assert verdict.reason.startswith("timed out: container app-api-1 health is starting")
    assert "connection refused" in verdict.reason
    assert verdict.logs == {"app-api-1": ["line 95", "line 96", "line 97", "line 98", "line 99"]}
    assert logs == {"api-1-id": 5}
    assert "timed out after 10.0s for api" in result.msg


def test_unhealthy_fails_fast_not_at_timeout():
    snap = recorded([c("api", health="starting")], [c("api", health="unhealthy", output="HTTP 500")])
    result = gate(snap, ["api"], timeout=120, logs=lambda cid, n: ["boom"])
    assert not result.passed and not result.timed_out
    assert result.polls == 2 and result.elapsed == 2.0
    assert result.services[0].reason == "container app-api-1 is unhealthy (last check: HTTP 500)"
    assert result.services[0].logs == {"app-api-1": ["boom"]}
    assert result.msg.startswith("Health gate failed fast after 2.0s for api -- api: container app-api-1 is unhealthy")


def test_unhealthy_is_waited_for_when_fail_on_unhealthy_is_off():
    snap = recorded([c("api", health="unhealthy")], [c("api", health="unhealthy")], [c("api", health="healthy")])
    result = gate(snap, ["api"], fail_on_unhealthy=False)
    assert result.passed and result.polls == 3


def test_exited_service_fails_at_once_with_exit_code():
    result = gate(recorded([c("worker", "exited", exit_code=3)]), ["worker"])
    assert not result.passed and result.polls == 1
    assert result.services[0].reason == "container app-worker-1 exited with code 3 but must keep running"


def test_restart_count_growth_fails_fast_even_while_running():
    snap = recorded([c("worker", restarts=2)], [c("worker", restarts=2)], [c("worker", restarts=3, exit_code=1)])
    result = gate(snap, ["worker"], stable_for=5)
    assert not result.passed and result.polls == 3
    assert "restarted 1 time(s) during the gate (last exit code 1)" in result.services[0].reason


def test_restart_count_from_before_the_gate_is_not_held_against_it():
    result = gate(recorded([c("worker", restarts=4)]), ["worker"])
    assert result.passed


def test_restarting_container_is_a_crash_loop():
    result = gate(recorded([c("worker", "restarting", restarts=1, exit_code=137)]), ["worker"])
    assert not result.passed and result.polls == 1
    assert "crash-looping" in result.services[0].reason and "137" in result.services[0].reason


def test_missing_service_fails_with_no_containers():
    result = gate(recorded([c("web", health="healthy")]), ["web", "api"])
    assert not result.passed and result.polls == 1
    assert result.failed_services == ["api"]
    assert result.services[1].reason == "no containers for service api"
    assert result.services[0].state == PASSED


def test_container_that_vanishes_mid_gate_fails():
    result = gate(recorded([c("worker")], []), ["worker"])
    assert not result.passed and result.polls == 2
    assert result.services[0].reason == "no containers for service worker"


def test_one_shot_waits_while_running_then_passes_on_exit_zero():
    snap = recorded([c("migrate")], [c("migrate", "exited")])
    result = gate(snap, ["migrate"], one_shot=["migrate"])
    assert result.passed and result.polls == 2
    assert result.services[0].one_shot


def test_one_shot_non_zero_exit_fails():
    result = gate(recorded([c("migrate", "exited", exit_code=2)]), ["migrate"], one_shot=["migrate"])
    assert not result.passed
    assert result.services[0].reason == "container app-migrate-1 exited with code 2"


def test_any_failing_replica_fails_the_service():
    snap = recorded([c("web", health="healthy", idx=1), c("web", "exited", exit_code=1, idx=2)])
    result = gate(snap, ["web"])
    assert not result.passed and "app-web-2 exited with code 1" in result.services[0].reason


def test_created_or_paused_container_is_pending():
    result = gate(recorded([c("web", "created")], [c("web", health="healthy")]), ["web"])
    assert result.passed and result.polls == 2


def test_running_streak_restarts_after_a_non_running_poll():
    snap = recorded([c("worker")], [c("worker", "paused")], [c("worker")], [c("worker")])
    result = gate(snap, ["worker"], stable_for=2)
    assert result.passed and result.polls == 4


def test_pending_services_are_not_named_as_failed_when_another_fails_fast():
    snap = recorded([c("web", health="starting"), c("worker", "exited", exit_code=1)])
    result = gate(snap, ["web", "worker"])
    assert result.failed_services == ["worker"]
    assert [v.state for v in result.services] == [PENDING, FAILED]


def test_last_poll_never_oversleeps_the_timeout():
    clock = FakeClock()
    result = gate(recorded([c("api", health="starting")]), ["api"], clock=clock, timeout=5, interval=2)
    assert clock.sleeps == [2, 2, 1]
    assert result.elapsed == 5.0 and result.polls == 4


def test_log_lines_zero_fetches_no_logs():
    def fetch(cid, n):
        raise AssertionError("logs must not be read")
    result = gate(recorded([c("worker", "exited", exit_code=1)]), ["worker"], log_lines=0, logs=fetch)
    assert result.services[0].logs == {}


def test_unreadable_logs_do_not_hide_the_verdict():
    def fetch(cid, n):
        raise RuntimeError("socket closed")
    result = gate(recorded([c("worker", "exited", exit_code=1)]), ["worker"], logs=fetch)
    assert result.services[0].logs == {"app-worker-1": ["<could not read logs: socket closed>"]}


# --- probes ------------------------------------------------------------------

def test_probe_must_pass_too_and_is_retried():
    answers = iter([ProbeResult(url="u", state=FAILED, reason="request failed: refused"),
                    ProbeResult(url="u", state=PASSED, status=200, reason="HTTP 200")])
    result = gate(recorded([c("web", health="healthy")]), ["web"],
                  probes=[{"url": "http://127.0.0.1:8080/", "name": "web"}], probe=lambda spec: next(answers))
    assert result.passed and result.polls == 2
    assert result.probes[0].attempts == 2 and result.probes[0].passed_after == 2.0
    assert "1 probe(s) passed" in result.msg


def test_failing_probe_times_out_with_body_excerpt_in_the_message():
    spec = ProbeSpec.from_dict({"url": "http://127.0.0.1:8081/value", "body": "^hello"})

    def probe(s):
        return check_response(s, 200, "goodbye world")
    result = gate(recorded([c("api", health="healthy")]), ["api"], probes=[spec], probe=probe, timeout=6)
    assert not result.passed and result.timed_out
    assert result.failed_services == [] and result.failed_probes == ["http://127.0.0.1:8081/value"]
    assert result.probes[0].body_excerpt == "goodbye world"
    assert "probe http://127.0.0.1:8081/value: timed out: HTTP 200 but the body does not match '^hello'" in result.msg
    assert "(body: goodbye world)" in result.msg


def test_probe_exception_is_reported_not_raised():
    def probe(spec):
        raise OSError("no route")
    result = gate(recorded([c("web", health="healthy")]), ["web"], probes=[{"url": "http://127.0.0.1/"}],
                  probe=probe, timeout=2)
    assert not result.passed and "probe error: no route" in result.probes[0].reason


def test_probes_are_not_run_once_a_service_failed():
    def probe(spec):
        raise AssertionError("must not probe")
    result = gate(recorded([c("web", "exited", exit_code=1)]), ["web"], probes=[{"url": "http://127.0.0.1/"}],
                  probe=probe)
    assert result.probes[0].state == PENDING and result.failed_probes == []


def test_gate_result_serialises_with_failed_lists():
    result = gate(recorded([c("worker", "exited", exit_code=1)]), ["worker"]).to_dict()
    assert result["failed_services"] == ["worker"] and result["passed"] is False
    assert result["services"][0]["containers"][0] == {
        "name": "app-worker-1", "status": "exited", "health": None, "exit_code": 1, "restart_count": 0}


def test_message_is_one_line():
    snap = recorded([c("api", health="unhealthy", output="line one\nline two")])
    assert "\n" not in gate(snap, ["api"]).msg


@pytest.mark.parametrize("kw", [{"stable_for": 0}, {"interval": 0}])
def test_gate_rejects_bad_settings(kw):
    with pytest.raises(ValueError):
        gate(recorded([]), ["web"], **kw)


# --- check_response / ProbeSpec ------------------------------------------------

@pytest.mark.parametrize("status,expected,ok", [
    (200, (), True), (204, (), True), (301, (), False), (500, (), False), (404, (404,), True), (200, (404,), False)])
def test_status_rule(status, expected, ok):
    spec = ProbeSpec(url="http://x/", status=expected)
    assert check_response(spec, status, "").passed is ok


def test_status_mismatch_reports_redirect_target_and_body():
    result = check_response(ProbeSpec(url="http://x/"), 308, "moved", location="https://x/")
    assert result.reason == "HTTP 308, expected any 2xx (redirect to https://x/)"
    assert result.body_excerpt == "moved"


def test_body_regex_is_searched_and_excerpt_is_cut():
    spec = ProbeSpec(url="http://x/", body=r'"status":\s*"ok"')
    assert check_response(spec, 200, '{"status": "ok"}').passed
    bad = check_response(spec, 200, "x" * 1000, excerpt_chars=10)
    assert not bad.passed and bad.body_excerpt == "x" * 10 + "..."


def test_probe_spec_normalises_and_validates():
    spec = ProbeSpec.from_dict({"url": "https://127.0.0.1/", "status": 200, "headers": {"Host": "a.test"},
                                "method": "head", "validate_certs": False})
    assert spec.status == (200,) and spec.headers == (("Host", "a.test"),) and spec.method == "HEAD"
    assert spec.url == "https://127.0.0.1/" and spec.validate_certs is False
    for bad, words in [({"url": "ftp://x"}, "must start with"), ({}, "no 'url'"),
                       ({"url": "http://x", "body": "("}, "not a valid regular expression"),
                       ({"url": "http://x", "status": [999]}, "not an HTTP status code"),
                       ({"url": "http://x", "timeout": 0}, "positive")]:
        with pytest.raises(ValueError, match=words):
            ProbeSpec.from_dict(bad)


# --- resolve_services ----------------------------------------------------------

def test_resolve_defaults_to_all_services_and_adds_one_shot():
    valid = ["worker", "api", "web", "migrate"]
    assert resolve_services("app", [], [], valid) == ["api", "migrate", "web", "worker"]
    assert resolve_services("app", ["web", "web"], ["migrate"], valid) == ["web", "migrate"]


def test_resolve_names_unknown_services_and_lists_valid_ones():
    with pytest.raises(UnknownServicesError) as err:
        resolve_services("app", ["web", "wbe"], ["migrat"], ["web", "api", "migrate"])
    assert str(err.value) == "unknown service(s) wbe, migrat in compose project 'app'; valid services: api, migrate, web"


def test_container_state_from_recorded_dict_ignores_extra_keys():
    state = ContainerState.from_dict({"id": "1", "name": "n", "service": "s", "status": "running", "extra": 1})
    assert state.health is None and state.restart_count == 0
