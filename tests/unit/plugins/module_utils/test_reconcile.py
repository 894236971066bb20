# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift logic of berth.compose.reconcile."""
import os
import time

import pytest

from ansible_collections.berth.compose.plugins.module_utils import reconcile as rc
from ansible_collections.berth.compose.plugins.module_utils.release_log import commit_matches

A = "a" * 40
B = "b" * 40
HASHES = {"web": "h-web", "api": "h-api"}
IMAGES = {"web": "app-web:aaaaaaaaaaaa", "api": "app-api:aaaaaaaaaaaa"}


def running(config_hash, health="healthy", created="2026-11-23T10:00:00Z"):
    return {"status": "running", "health": health, "config_hash": config_hash, "created": created}


def test_target_is_the_release_log_current_without_a_pin():
    records = [{"kind": "deploy", "serving_commit": A, "ref": "v1"}, {"kind": "deploy", "serving_commit": B}]
    assert rc.target_release("", records, commit_matches)[0] == B
    assert rc.target_release("", records, commit_matches)[2] == "release log"


def test_the_pin_wins_and_finds_its_record_by_prefix():
    records = [{"kind": "deploy", "serving_commit": A, "ref": "v1"}, {"kind": "deploy", "serving_commit": B}]
    commit, record, source = rc.target_release(A[:12], records, commit_matches)
    assert (commit, record["ref"], source) == (A, "v1", "pin")


def test_nothing_recorded():
    assert rc.target_release("", [{"kind": "deploy", "outcome": "failed"}], commit_matches) == (
        None, None, "nothing recorded")


def test_failed_reconcile_does_not_change_what_serves():
    records = [{"kind": "deploy", "serving_commit": A}, {"kind": "reconcile", "outcome": "failed", "serving_commit": None}]
    assert rc.target_release("", records, commit_matches)[0] == A


def test_parse_config_hashes():
    assert rc.parse_config_hashes("web 123\napi 456\n\nnoise\n") == {"web": "123", "api": "456"}


def test_no_drift_when_everything_matches():
    containers = {"web": [running("h-web")], "api": [running("h-api")]}
    assert rc.service_drift(["web", "api"], HASHES, containers, IMAGES, set(IMAGES.values())) == []


def test_each_kind_of_service_drift():
    containers = {
        "web": [{"status": "exited", "health": None, "config_hash": "h-web", "created": "1"}],
        "api": [running("old")],
        "worker": [running("h-worker", health="unhealthy")],
    }
    hashes = dict(HASHES, worker="h-worker", cron="h-cron")
    drift = rc.service_drift(["web", "api", "worker", "cron"], hashes, containers, IMAGES, {IMAGES["web"]})
    kinds = [(d.subject, d.kind, d.action) for d in drift]
    assert kinds == [("api", "image", "build"), ("api", "config", "recreate"), ("cron", "missing", "create"),
                     ("web", "stopped", "start"), ("worker", "unhealthy", "recreate")]


def test_a_running_container_stands_for_its_service():
    containers = {"web": [{"status": "exited", "config_hash": "x", "created": "9"}, running("h-web", created="1")]}
    assert rc.service_drift(["web"], HASHES, containers, {}, set()) == []


def test_a_crash_loop_caught_between_restarts_is_drift():
    # A container that exits at once and restarts (restart: unless-stopped) reads "running" for an
    # instant after each restart, its healthcheck back at "starting": that is a crash loop, not health.
    looping = dict(running("h-web", health="starting"), restarts=7)
    drift = rc.service_drift(["web"], HASHES, {"web": [looping]}, {}, set())
    assert [(d.kind, d.action) for d in drift] == [("crashloop", "recreate")]
    assert "restarted 7 times" in drift[0].detail
    assert rc.plan_actions(drift, buildable=["web"])["force"] == ["web"]


def test_a_restart_long_ago_or_a_fresh_start_is_not_drift():
    healed = dict(running("h-web"), restarts=3)  # restarted once upon a time, healthy again
    fresh = running("h-api", health="starting")  # just created, healthcheck not run yet
    no_check = dict(running("h-api", health=None), restarts=2)  # no healthcheck: its status is all we know
    assert rc.service_drift(["web", "api"], HASHES, {"web": [healed], "api": [fresh]}, {}, set()) == []
    assert rc.service_drift(["api"], HASHES, {"api": [no_check]}, {}, set()) == []


def test_plan_builds_pulls_and_defers_busy_recreates_only():
    drift = [rc.Drift("image", "web", "", "build"), rc.Drift("image", "db", "", "build"),
             rc.Drift("config", "worker", "", "recreate"), rc.Drift("stopped", "api", "", "start"),
             rc.Drift("unhealthy", "cron", "", "recreate"), rc.Drift("missing", "queue", "", "create")]
    plan = rc.plan_actions(drift, buildable=["web", "worker", "api"], guards_busy=["worker", "queue"])
    assert plan == {"build": ["web"], "pull": ["db"], "up": ["api", "cron", "db", "queue", "web"],
                    "force": ["cron"], "deferred": ["worker"]}


def test_fingerprint_of_files_and_units(tmp_path):
    path = tmp_path / "Caddyfile"
    path.write_text("a.test {\n}\n")
    os.chmod(str(path), 0o644)
    before = rc.baseline_items([str(path), str(tmp_path / "gone")], {"app.service": "enabled"}, {"docker.service": "active"})
    assert before["file:" + str(tmp_path / "gone")] is None
    assert before["file:" + str(path)]["mode"] == "0644"
    assert rc.baseline_drift(before, dict(before)) == []

    os.chmod(str(path), 0o600)
    path.write_text("b.test {\n}\n")
    after = rc.baseline_items([str(path), str(tmp_path / "gone")], {"app.service": "disabled"}, {"docker.service": "inactive"})
    drift = {d.subject: d.detail for d in rc.baseline_drift(before, after)}
    assert drift == {str(path): "content changed, mode 0600 (was 0644)", "app.service": "is disabled (was enabled)",
                     "docker.service": "is inactive (was active)"}
    assert all(d.action == "provision" for d in rc.baseline_drift(before, after))


def test_no_recorded_fingerprint_is_drift():
    drift = rc.baseline_drift(None, {})
    assert [(d.kind, d.action) for d in drift] == [("baseline", "provision")]


def iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def failed(at):
    return {"kind": "reconcile", "outcome": "failed", "started": iso(at), "message": "web unhealthy"}


def test_rate_limit_trips_after_max_failures_within_the_window():
    now = 1795446000
    records = [{"kind": "deploy", "outcome": "ok", "started": iso(now - 9000)}, failed(now - 5000),
               failed(now - 600), failed(now - 300)]
    assert rc.rate_limit(records, now, 3, 3600)[0] is False  # one is outside the window
    records.append(failed(now - 10))
    tripped, message = rc.rate_limit(records, now, 3, 3600)
    assert tripped and "3 failed repairs within 3600 s" in message and "web unhealthy" in message
    assert rc.rate_limit(records, now, 0, 3600)[0] is False


def test_a_good_release_resets_the_count():
    now = 1795446000
    records = [failed(now - 300), failed(now - 200), {"kind": "deploy", "outcome": "ok", "started": iso(now - 100)},
               failed(now - 10)]
    assert len(rc.recent_failures(records, now, 3600)) == 1
    assert rc.rate_limit(records, now, 2, 3600)[0] is False


@pytest.mark.parametrize("record", [
    {"kind": "task", "outcome": "ok", "to_commit": A},  # a one-off task changes nothing that serves
    {"kind": "deploy", "outcome": "rolled_back", "serving_commit": A},
    {"kind": "deploy", "outcome": "failed", "serving_commit": A},
    {"kind": "nonsense", "outcome": "ok", "serving_commit": A},
])
def test_only_a_deploy_rollback_or_repair_that_worked_resets_the_count(record):
    """Issue 18.16: an ok one-off task (or anything else) between failed repairs keeps the limit tripped."""
    now = 1795446000
    records = [failed(now - 300), failed(now - 200), dict(record, started=iso(now - 150)), failed(now - 10)]
    assert len(rc.recent_failures(records, now, 3600)) == 3
    assert rc.rate_limit(records, now, 3, 3600)[0] is True


@pytest.mark.parametrize("kind", ["deploy", "rollback", "reconcile"])
def test_a_deploy_rollback_or_repair_that_worked_resets_the_count(kind):
    now = 1795446000
    records = [failed(now - 300), failed(now - 200), {"kind": kind, "outcome": "ok", "started": iso(now - 100),
                                                      "serving_commit": A}, failed(now - 10)]
    assert len(rc.recent_failures(records, now, 3600)) == 1


def test_summary_names_what_was_wrong_and_what_was_done():
    text = rc.summary([rc.Drift("stopped", "web", "container is exited", "start")],
                      {"up": ["web"], "build": ["api"], "switched": A, "provisioned": True})
    assert text == ("drift: web: container is exited -- done: built api; started/recreated web; "
                    "switched current to aaaaaaaaaaaa; re-applied the provisioning roles")


def test_metrics_text():
    text = rc.render_metrics('my"app', True, 1795446000.7, "repaired", 4)
    assert 'berth_reconcile_enabled{app="my\\"app"} 1' in text
    assert 'berth_reconcile_last_run_timestamp_seconds{app="my\\"app"} 1795446000' in text
    assert 'berth_reconcile_last_result{app="my\\"app",result="repaired"} 1' in text
    assert 'berth_reconcile_last_result{app="my\\"app",result="ok"} 0' in text
    assert 'berth_drift_repaired_total{app="my\\"app"} 4' in text
    assert text.endswith("\n")


def test_state_counts_repaired_drift(tmp_path):
    state = rc.update_state(None, 10, "repaired", 3)
    state = rc.update_state(state, 20, "ok", 0)
    assert state == {"last_run": 20, "last_result": "ok", "repaired_total": 3}
    path = str(tmp_path / "state.json")
    rc.write_json(path, state)
    assert rc.read_json(path) == state
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert rc.read_json(str(tmp_path / "missing")) is None


def test_dry_run_output():
    assert not rc.dry_run_recreates(" DRY-RUN MODE -  Container app-api-1  Running\n", "app", "api")
    assert rc.dry_run_recreates(" DRY-RUN MODE -  Container app-api-1  Recreate\n"
                                " DRY-RUN MODE -  Container app-api-1  Recreated\n", "app", "api")
    # another service's container (a dependency) does not count
    assert not rc.dry_run_recreates(" DRY-RUN MODE -  Container app-migrate-1  Recreate\n"
                                    " DRY-RUN MODE -  Container app-api-1  Running\n", "app", "api")
    assert not rc.dry_run_recreates("", "app", "api")


# ---------------------------------------------------------------- zero-downtime snippets

def test_a_snippet_routing_to_the_running_container_is_no_drift():
    assert rc.snippet_drift("web", ["172.18.0.5:8000"], ["172.18.0.5"]) is None
    # two containers during a cutover, both running and routed
    assert rc.snippet_drift("web", ["172.18.0.5:8000", "172.18.0.9:8000"], ["172.18.0.9", "172.18.0.5"]) is None


def test_a_snippet_routing_to_an_address_no_running_container_has_is_drift():
    drift = rc.snippet_drift("web", ["172.18.0.5:8000"], ["172.18.0.7"])
    assert (drift.kind, drift.subject, drift.action) == ("upstream", "web", "refresh")
    assert "172.18.0.5:8000" in drift.detail and "172.18.0.7" in drift.detail


def test_a_snippet_of_a_service_with_nothing_running_is_drift():
    drift = rc.snippet_drift("web", ["172.18.0.5:8000"], [])
    assert drift.kind == "upstream" and "running: none" in drift.detail


def test_one_stale_address_among_good_ones_is_drift_naming_only_it():
    drift = rc.snippet_drift("web", ["172.18.0.5:8000", "172.18.0.6:8000"], ["172.18.0.5"])
    assert "172.18.0.6:8000" in drift.detail and "172.18.0.5:8000" not in drift.detail.split("(")[0]


def test_an_empty_snippet_is_left_alone_and_the_port_does_not_count():
    assert rc.snippet_drift("web", [], ["172.18.0.5"]) is None
    assert rc.snippet_drift("web", ["172.18.0.5:9000"], ["172.18.0.5"]) is None
    assert rc.snippet_drift("web", ["[fd00::5]:8000"], ["fd00::5"]) is None


def test_drift_lines_and_diff():
    drift = [rc.Drift("upstream", "web", "Caddy routes to x", "refresh")]
    assert rc.drift_lines(drift) == ["web: Caddy routes to x -> refresh"]
    assert rc.drift_diff(drift)["prepared"] == "reconcile would repair:\n  upstream web: Caddy routes to x -> refresh\n"
    assert rc.drift_diff([])["prepared"] == "nothing drifted\n"
