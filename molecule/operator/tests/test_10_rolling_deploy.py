"""A good commit rolls through both hosts (converge, serial 1); a bad one stops at the first."""
from conftest import HOSTS, OPTIONAL_COLOR, commit_of, container_ids, current_commit, hooks, records, run_playbook

PAYLOAD_KEYS = {"schema", "event", "app", "host", "id", "kind", "outcome", "ref", "from_commit", "to_commit",
                "serving_commit", "services_built", "services_recreated", "services_deferred", "started",
                "duration_s", "operator", "message", "note", "job_url"}


def test_the_good_commit_rolled_through_both_hosts_and_each_was_told(vms):
    for name, host in vms.items():
        web_only = commit_of(host, "web-only")
        assert current_commit(host) == web_only
        last = records(host)[-1]
        assert (last["kind"], last["outcome"], last["services_recreated"]) == ("deploy", "ok", ["web"])
        assert host.run("curl -sf --max-time 5 http://127.0.0.1:8080/").stdout.find("web v2") >= 0
        told = [p for p in hooks(host) if p["event"] == "deploy.ok"]
        assert len(told) == 1, hooks(host)
        payload = told[0]
        assert set(payload) == PAYLOAD_KEYS
        assert payload["schema"] == "berth.compose.notify/1"
        assert (payload["app"], payload["host"], payload["ref"]) == ("sample", name, "web-only")
        assert (payload["to_commit"], payload["serving_commit"]) == (web_only, web_only)
        assert payload["from_commit"] == commit_of(host, "v1") and payload["services_built"] == ["web"]
        assert payload["id"] == last["id"]


def test_a_bad_commit_fails_its_gate_on_the_first_host_and_the_second_never_changes(vms):
    before = {name: (container_ids(host), current_commit(host), len(records(host))) for name, host in vms.items()}
    failed = run_playbook("deploy", "-e", "ref=bad/api-unhealthy", "-e", "berth_serial=1", "-e", OPTIONAL_COLOR)
    assert failed.rc != 0
    first, second = HOSTS
    assert "automatic rollback done" in failed.out, failed.out
    # The first host tried it, failed its gate and rolled back: it serves what it served.
    host = vms[first]
    assert current_commit(host) == before[first][1]
    last = records(host)[-1]
    assert (last["kind"], last["outcome"], last["serving_commit"]) == ("deploy", "rolled_back", before[first][1])
    assert last["to_commit"] == commit_of(host, "bad/api-unhealthy")
    assert host.run("curl -sf --max-time 5 http://127.0.0.1:8081/health").rc == 0
    told = hooks(host)[-1]
    assert (told["event"], told["serving_commit"]) == ("deploy.rolled_back", before[first][1])
    assert "unhealthy" in told["message"]
    # The play stopped before the second host changed anything: same containers, release, log.
    host = vms[second]
    assert (container_ids(host), current_commit(host), len(records(host))) == before[second]
    assert not any(p["event"] == "deploy.rolled_back" for p in hooks(host))
