# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconcile repair (module_utils/repair.py) with the release work, the gate and docker faked.

The release work itself runs against a real engine in the Molecule reconcile scenario."""
import json
import os
import time

import pytest

from ansible_collections.berth.compose.plugins.module_utils import deploy_lock as dl
from ansible_collections.berth.compose.plugins.module_utils import repair
from ansible_collections.berth.compose.plugins.module_utils import zero_downtime as zd
from ansible_collections.berth.compose.plugins.modules import reconcile as module

A = "a" * 40
STOPPED = {"kind": "stopped", "subject": "web", "detail": "container is exited", "action": "start"}
BASELINE = {"kind": "baseline", "subject": "/etc/caddy/Caddyfile", "detail": "content changed", "action": "provision"}


class Gate:
    def __init__(self, passed=True):
        self.passed = passed
        self.gated = []

    def run(self, services, soak=0.0):
        self.gated.append(list(services))
        return dict(passed=self.passed, msg="web exited (exit 1)" if not self.passed else "all healthy",
                    failed_services=[] if self.passed else ["web"], ready={})


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "app"
    (path / ".berth").mkdir(parents=True)
    with open(str(path / "releases.jsonl"), "w") as handle:
        handle.write(json.dumps({"kind": "deploy", "outcome": "ok", "serving_commit": A, "ref": "v1"}) + "\n")
    return path


def params(root, **extra):
    p = dict((name, spec.get("default")) for name, spec in module.ARGUMENT_SPEC.items())
    p.update(step="repair", root=str(root), app_name="shop", project="shop", env_file=str(root / "env"),
             systemctl="true", metrics_dir=str(root / "metrics"), drift=[STOPPED], lock_wait=0)
    p.update(extra)
    return p


def started_web(commit, record, source):
    return dict(drift=[STOPPED], actions=dict(up=["web"]), changed=True)


def reconciler(root, gate, work=None, **extra):
    r = repair.Reconciler(params(root, **extra), gate=gate)
    r.release_work = work or started_web
    return r


def records(root):
    return [json.loads(line) for line in (root / "releases.jsonl").read_text().splitlines()]


def metrics(root):
    return (root / "metrics" / "berth_reconcile_shop.prom").read_text()


def test_a_repair_gates_what_it_started_records_once_and_gives_the_lock_back(root):
    gate = Gate()
    result = reconciler(root, gate).run("repair")
    assert not result.get("failed"), result
    assert gate.gated == [["web"]] and result["recreated"] == ["web"]
    last = records(root)[-1]
    assert (last["kind"], last["outcome"], last["serving_commit"]) == ("reconcile", "ok", A)
    assert last["message"] == "drift: web: container is exited -- done: started/recreated web"
    assert result["summary"] == last["message"] and result["record"]["id"] == last["id"]
    assert 'result="repaired"} 1' in metrics(root)
    assert dl.read_lock(str(root / ".berth" / "deploy.lock"))[0] == "absent"
    assert not dl.process_hold_alive(str(root / ".berth" / "deploy.lock"))


def test_a_failed_gate_is_recorded_failed_and_fails_the_step(root):
    result = reconciler(root, Gate(passed=False)).run("repair")
    assert result["failed"] and "Gate" in result["msg"] and "web exited" in result["msg"]
    last = records(root)[-1]
    assert last["outcome"] == "failed" and last["serving_commit"] is None and "web exited" in last["message"]
    assert result["record"]["id"] == last["id"]
    assert 'result="failed"} 1' in metrics(root)
    assert dl.read_lock(str(root / ".berth" / "deploy.lock"))[0] == "absent"


def test_failed_release_work_is_recorded_without_a_gate(root):
    gate = Gate()

    def work(commit, record, source):
        return dict(drift=[STOPPED], actions=dict(up=["web"]), failed=True,
                    msg="docker compose up failed (exit 1): no space", output="x")
    result = reconciler(root, gate, work).run("repair")
    assert result["failed"] and "no space" in result["msg"] and gate.gated == []
    assert records(root)[-1]["outcome"] == "failed" and records(root)[-1]["gate"] == "skipped"


def test_an_engine_holding_the_lock_skips_the_round_and_a_dead_ones_lock_is_taken_over(root):
    path = str(root / ".berth" / "deploy.lock")
    hold = dl.ProcessHold(path)
    dl.acquire(path, owner="deploy web", operator="alice", controller="ctl", pid=1, wait=0, hold=hold)
    gate = Gate()
    result = reconciler(root, gate).run("repair")
    assert result["lock_held"] and "reconcile skipped this round" in result["msg"] and "deploy web" in result["msg"]
    assert gate.gated == [] and len(records(root)) == 1
    assert 'result="skipped_locked"} 1' in metrics(root)
    hold.drop()  # the engine died: its lock file stays, its flock is gone
    assert dl.read_lock(path)[0] == "held"
    result = reconciler(root, gate).run("repair")
    assert not result.get("failed") and not result.get("lock_held"), result
    assert any("stale" in w or "took over" in w or "deploy web" in w for w in result["warnings"]), result
    assert dl.read_lock(path)[0] == "absent"


def test_with_the_playbooks_lock_it_takes_none_and_records_the_fingerprint(root):
    path = str(root / ".berth" / "deploy.lock")
    held = dl.acquire(path, owner="reconcile", operator="bob", controller="ctl", pid=1, wait=0)
    caddyfile = root / "Caddyfile"
    caddyfile.write_text("a.test\n")
    result = reconciler(root, Gate(), lock_token=held.token, provisioned=True, drift=[BASELINE, STOPPED],
                        baseline={"files": [str(caddyfile)], "enabled": [], "active": []}).run("repair")
    assert not result.get("failed"), result
    assert dl.read_lock(path)[1]["token"] == held.token, "the playbook's lock stays for its unlock"
    fingerprint = json.loads((root / ".berth" / "reconcile-baseline.json").read_text())
    assert list(fingerprint["items"]) == ["file:" + str(caddyfile)]
    message = records(root)[-1]["message"]
    assert message.startswith("drift: /etc/caddy/Caddyfile: content changed; web: container is exited")
    assert "re-applied the provisioning roles" in message


def test_check_mode_writes_nothing(root):
    result = repair.Reconciler(params(root), check_mode=True, gate=Gate())
    result.release_work = started_web
    out = result.run("repair")
    assert out["changed"] and out["drift"] == [STOPPED]
    assert len(records(root)) == 1 and not (root / "metrics").exists()
    assert not os.path.exists(str(root / ".berth" / "deploy.lock"))


def snippet(root, service, addresses):
    path = zd.snippet_path(str(root), service)
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    with open(path, "w") as handle:
        handle.write(zd.render_snippet(service, addresses))


def test_upstream_drift_judges_every_snippet_against_its_running_containers(root, monkeypatch):
    snippet(root, "web", ["172.18.0.5:8000"])
    snippet(root, "api", ["172.18.0.8:9000"])
    running = {"web": [dict(status="running", ip="172.18.0.7"), dict(status="exited", ip="172.18.0.5")],
               "api": [dict(status="running", ip="172.18.0.8")]}
    monkeypatch.setattr(repair.zd, "inspect_service", lambda docker, project, service: running[service])
    drift = repair.Reconciler(params(root)).upstream_drift()
    assert [(d.kind, d.subject, d.action) for d in drift] == [("upstream", "web", "refresh")]
    assert "172.18.0.5:8000" in drift[0].detail


def test_the_rate_limit_writes_its_metrics_in_the_check(root, monkeypatch):
    failed = {"kind": "reconcile", "outcome": "failed", "started": dl.iso(time.time() - 10)}
    with open(str(root / "releases.jsonl"), "a") as handle:
        handle.write(json.dumps(failed) + "\n" + json.dumps(failed) + "\n")
    r = repair.Reconciler(params(root, step="check", max_failures=2))
    monkeypatch.setattr(r, "release_ref", lambda commit, record: "v1")
    result = r.run("check")  # no release directory: drift, and the rate limit is tripped
    assert result["blocked"] and "2 failed repairs" in result["rate_limit_msg"]
    assert 'result="rate_limited"} 1' in metrics(root)


def test_a_failed_repair_whose_build_prints_a_secret_leaks_it_nowhere(root):
    """Issue 18.11: the env file's values are hidden in the record (and so the webhooks) and the result."""
    (root / "env").write_text("DB_PASSWORD=rc-s3cret-991\nDEBUG=1\n")

    def work(commit, record, source):
        return dict(drift=[STOPPED], actions=dict(build=["web"]), failed=True,
                    msg="docker compose build failed (exit 1): RUN echo rc-s3cret-991", output="rc-s3cret-991\n")
    result = reconciler(root, Gate(), work).run("repair")
    assert result["failed"] and "RUN echo <redacted>" in result["msg"]
    assert "rc-s3cret-991" not in json.dumps(result)
    assert "rc-s3cret-991" not in (root / "releases.jsonl").read_text()
    assert "RUN echo <redacted>" in records(root)[-1]["message"]


# ------------------------------------------------------------------ the log and the pin are not trusted (issue 18.18)

@pytest.mark.parametrize("pin", ["../../../etc", "--upload-pack=touch /tmp/pwned", "a" * 39, "A" * 40])
def test_a_pin_that_is_not_a_full_commit_is_refused_before_anything_runs(root, pin):
    (root / ".berth" / "pin").write_text(pin + "\n")
    ran = []
    r = reconciler(root, Gate(), work=lambda *args: ran.append(args) or started_web(*args))
    for step in ("check", "repair"):
        result = r.run(step)
        assert result["failed"] and "not a full commit id" in result["msg"] and str(root / ".berth" / "pin") in \
            result["msg"], result
    assert ran == []


@pytest.mark.parametrize("serving", ["../../../etc", "--upload-pack=touch /tmp/pwned", "abc1234"])
def test_a_log_record_whose_commit_is_not_a_full_sha_is_refused(root, serving):
    with open(str(root / "releases.jsonl"), "a") as handle:
        handle.write(json.dumps({"kind": "deploy", "outcome": "ok", "serving_commit": serving}) + "\n")
    ran = []
    result = reconciler(root, Gate(), work=lambda *args: ran.append(args) or started_web(*args)).run("repair")
    assert result["failed"] and "not a full commit id" in result["msg"] and "releases.jsonl" in result["msg"]
    assert ran == []


@pytest.mark.parametrize("step", ["check", "status", "repair"])
def test_a_missing_release_log_while_a_release_serves_is_said_loudly(root, step, monkeypatch):
    (root / "releases" / A).mkdir(parents=True)
    os.symlink(os.path.join("releases", A), str(root / "current"))
    (root / "releases.jsonl").unlink()
    r = reconciler(root, Gate(), step=step)
    monkeypatch.setattr(r, "baseline_now", lambda: {})
    result = r.run(step)
    assert result["release_repair"] is False
    assert any("release repair is OFF" in w and "releases.jsonl" in w for w in result["warnings"]), result


def test_with_the_log_in_place_release_repair_is_on_and_nothing_is_said(root):
    result = reconciler(root, Gate(), step="status").run("status")
    # (This root records no provisioning baseline: that warning is another matter, and the only one.)
    assert result["release_repair"] is True
    assert not [w for w in result.get("warnings") or [] if "release repair" in w], result.get("warnings")
