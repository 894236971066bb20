# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release engine's own logic: the process-held lock, the plan and summary text, the record,
the failure messages and BERTH_REF's one meaning. The whole story runs on a real VM in the
deploy, reconcile, cutover and operator Molecule scenarios."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.berth.compose.plugins.module_utils import deploy_lock as dl
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import ComposeProject
from ansible_collections.berth.compose.plugins.module_utils import deployer as deployer_module
from ansible_collections.berth.compose.plugins.module_utils.deployer import Deployer, hook_steps
from ansible_collections.berth.compose.plugins.module_utils.release_dir import StepFailed
from ansible_collections.berth.compose.plugins.module_utils.engine_gate import Gate, watch_soak
from ansible_collections.berth.compose.plugins.module_utils.health_gate import ContainerState
from ansible_collections.berth.compose.plugins.module_utils.engine_record import (
    Marks, failure_message, plan_lines, record_for, summary_lines)

A = "a" * 40
B = "b" * 40
HERE = os.path.dirname(os.path.abspath(__file__))
NS = os.path.join(HERE, "..", "..", "..", "..", ".build", "pytest-collections")


def params(root, **extra):
    p = dict(kind="deploy", root=str(root), ref="main", service=None, auto_rollback=True, force_unlock=False,
             lock_wait=0, lock_ttl=1800, operator="alice", controller="ctl", run_as=None, project="shop",
             compose_files=["compose.yaml"], env_file=str(root) + "/shared/.env", env_template=".env.example",
             env_optional=[], min_free_mb=0, repo_ssh_key=None, repo_known_hosts=None, change_rules=[],
             unclaimed="full", one_shot=["migrate"], hooks={}, restart_guards={}, zero_downtime=[],
             caddyfile="/etc/caddy/Caddyfile", caddy_sites=[], probes=[], health_timeout=120.0, gate_soak=0.0, log_lines=20,
             keep_releases=5, registry_login={})
    p.update(extra)
    return p


class Ticks:
    def __init__(self, *values):
        self.values = list(values)

    def __call__(self):
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


# ------------------------------------------------------------------ the lock held by the process

HOLDER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, %r)
    from ansible_collections.berth.compose.plugins.module_utils import deploy_lock as dl
    hold = dl.ProcessHold(sys.argv[1])
    dl.acquire(sys.argv[1], owner="deploy web", operator="bob", controller="vm", pid=1, wait=0, hold=hold)
    print("held", flush=True)
    time.sleep(60)
""")


def start_holder(path):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER % os.path.abspath(NS), path], stdout=subprocess.PIPE,
                            universal_newlines=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_live_process_hold_is_never_taken_over_even_past_its_ttl(tmp_path):
    path = str(tmp_path / "deploy.lock")
    holder = start_holder(path)
    try:
        assert json.load(open(path))["held"] == "flock"
        assert dl.process_hold_alive(path)
        later = dl.Clock(now=lambda: time.time() + 10 ** 6, sleep=lambda s: None)
        with pytest.raises(dl.LockHeld) as raised:
            dl.acquire(path, owner="deploy api", wait=0, clock=later)
        assert "held by 'deploy web'" in str(raised.value)
        assert "is released when its process ends" in str(raised.value)
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_leaves_a_lock_the_next_run_takes_over_as_stale(tmp_path):
    path = str(tmp_path / "deploy.lock")
    holder = start_holder(path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert os.path.exists(path) and not dl.process_hold_alive(path)
    hold = dl.ProcessHold(path)
    try:
        outcome = dl.acquire(path, owner="deploy api", operator="alice", controller="vm", pid=2, wait=0, hold=hold)
        assert outcome.stale["reason"] == "dead"
        assert "whose process is gone" in outcome.warnings[0]
        assert dl.process_hold_alive(path)
    finally:
        hold.drop()
    assert not dl.process_hold_alive(path)


def test_a_lock_without_a_process_hold_keeps_the_ttl_rule(tmp_path):
    path = str(tmp_path / "deploy.lock")
    dl.acquire(path, owner="reconcile", operator="timer", controller="vm", pid=1, wait=0)
    assert "held" not in json.load(open(path))
    with pytest.raises(dl.LockHeld) as raised:
        dl.acquire(path, owner="deploy", wait=0)
    assert "turns stale at" in str(raised.value)


# ------------------------------------------------------------------ text and record

def test_marks_give_each_step_its_own_seconds_in_story_order():
    marks = Marks(Ticks(100.0, 101.0, 101.5, 104.0, 110.0))
    marks.start()
    marks.mark("preflight")
    marks.mark("plan")
    marks.mark("gate")
    assert marks.steps() == {"preflight": 1.0, "plan": 0.5, "gate": 2.5}
    assert marks.duration() == 10.0


def test_hook_steps_expand_one_step_or_a_list_and_skip_unknown_names():
    hooks = {"warm": {"service": "web", "command": "warm-cache"},
             "notify": [{"service": "api", "command": ["./n", "-q"], "when": "before", "mode": "run"}]}
    assert hook_steps(["notify", "missing", "warm"], hooks) == [
        dict(name="notify", service="api", command=["./n", "-q"], mode="run", when="before"),
        dict(name="warm", service="web", command=["warm-cache"], mode="exec", when="after")]


def deployer(tmp_path, **extra):
    run = Deployer(params(tmp_path, **extra), check_mode=False, gate=object(), clock=Ticks(100.0))
    run.from_commit, run.to_commit = A, B
    run.marks.start()
    return run


def test_plan_lines_say_what_the_deploy_does_and_what_it_does_not(tmp_path):
    run = deployer(tmp_path)
    plan = dict(build=["web"], up=["web"], migrate=[], hooks=[], deferred_before=["worker"], summary="app/ -> web",
                full=False, full_reasons=[], work=True)
    assert plan_lines(run, plan) == ["main: %s -> %s" % (A[:12], B[:12]), "build:     web", "recreate:  web",
                                     "picks up:  worker (deferred last time)", "why:       app/ -> web"]
    idle = dict(plan, build=[], up=[], deferred_before=[], work=False, summary="")
    run.check_mode = True
    assert plan_lines(run, idle)[1:] == ["nothing to deploy", "check mode: nothing changes"]


def test_rollback_plan_lines_name_the_services_that_differ(tmp_path):
    run = deployer(tmp_path, kind="rollback")
    lines = plan_lines(run, dict(build=[], up=["web", "api"], work=True))
    assert lines[1] == "services that differ: api, web"
    assert "Migrations are not reverted" in lines[2]


def test_record_and_summary_come_from_one_builder(tmp_path):
    run = deployer(tmp_path, kind="rollback")

    class Lock:
        lock = {"operator": "alice"}
    run.lock = Lock()
    run.facts.update(prepared=dict(built=[], images={"web": "shop-web:" + A[:12]}),
                     cutovers=[dict(recreated=["web"], deferred=[])],
                     gate=dict(passed=True, failed_services=[], ready={"web": 1.25}))
    run.result["planned"] = dict(migrate=[], hooks=[])
    record = record_for(run, "ok", B, message="Migrations were not reverted.")
    assert record["kind"] == "rollback" and record["pinned"] is True and record["operator"] == "alice"
    assert record["gate"] == {"passed": True, "services": []}
    assert record["services_recreated"] == ["web"] and record["images"] == {"web": "shop-web:" + A[:12]}
    lines = summary_lines(run, record, "Migrations were not reverted.")
    assert lines[0] == "rollback main: %s -> %s, outcome ok, now serving %s" % (A[:12], B[:12], B[:12])
    assert "gate:       passed (healthy after: web 1.2 s)" in lines
    assert lines[-1] == "Migrations were not reverted."


@pytest.mark.parametrize("stage, words", [
    ("back", "automatic rollback done, %s serves now." % A[:12]),
    ("before", "stopped before cutover, nothing was switched (%s still serves)" % A[:12]),
    ("hooks", "not rolled back (the hook may have changed data)"),
    ("cutover", "failed at cutover, no automatic rollback"),
    ("gate", "failed its gate, no automatic rollback"),
])
def test_failure_messages_by_stage(tmp_path, stage, words):
    assert words in failure_message(deployer(tmp_path), stage, "boom")


def test_the_planner_renders_each_side_with_the_ref_it_was_deployed_as(tmp_path):
    """BERTH_REF means the ref a release was deployed as, in the plan as in the release (it was the sha)."""
    seen = []

    def fake_render(project, **kwargs):
        seen.append(dict(project.environment))
        return {}
    run = deployer(tmp_path)
    render = run._render_for({B: "v2.0", A: "v1.0"}, render_config=fake_render)
    for commit in (A, B, "c" * 40):
        render(ComposeProject(name="shop", project_dir="/x", environment={"BERTH_REF": commit, "BERTH_COMMIT": commit}))
    assert [e["BERTH_REF"] for e in seen] == ["v1.0", "v2.0", "c" * 40]
    # Each side's model is kept: the deploy judges the target's published ports without rendering again.
    assert sorted(run.facts["rendered"]) == sorted([A, B, "c" * 40])


# ------------------------------------------------------------------ the soak, through the gate's reader

def container(cid="c1", restarts=0, status="running", health="healthy", service="api"):
    return ContainerState(id=cid, name="shop-%s-1" % service, service=service, status=status,
                          restart_count=restarts, health=health)


def test_the_soak_polls_until_the_time_is_up_or_a_problem_shows():
    snapshots = [[container()], [container()], [container(restarts=2)]]
    calls = []

    def snapshot():
        calls.append(1)
        return snapshots[min(len(calls) - 1, 2)]
    clock = iter(range(100))
    problems = watch_soak(snapshot, ["api"], 10, clock=lambda: next(clock), sleep=lambda s: None)
    assert problems == ["shop-api-1: restarted 2 time(s) during the soak"]


def test_the_soak_passes_when_nothing_changes_and_ignores_other_services():
    clock = iter(range(100))
    web = iter(range(100))
    problems = watch_soak(lambda: [container(), container(cid="w%d" % next(web), service="web")], ["api"], 3,
                          clock=lambda: next(clock), sleep=lambda s: None)
    assert problems == []


class FakeState:
    def __init__(self, snapshots):
        self.snapshots = snapshots

    def services(self, project):
        return ["api", "web"]

    def snapshot(self, project):
        return self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]

    def logs(self, container_id, lines):
        return []


def test_the_gate_fails_on_a_restart_during_its_soak_naming_the_service():
    healthy = [container(), container(service="web")]
    restarted = [container(restarts=1), container(service="web")]
    gate = Gate("shop", [], [], 5, 5, connect=lambda: FakeState([healthy, healthy, restarted]), probe=None)
    result = gate.run(["api"], soak=1.0)
    assert result["passed"] is False and result["soak_failed"] is True
    assert result["failed_services"] == ["api"] and "restarted 1 time(s)" in result["msg"]


def test_the_gate_reports_time_to_healthy_per_service():
    gate = Gate("shop", [], [], 5, 5, connect=lambda: FakeState([[container(), container(service="web")]]), probe=None)
    result = gate.run(["api", "web"])
    assert result["passed"] is True and sorted(result["ready"]) == ["api", "web"]


# ------------------------------------------------------------------ the story's failure policy
# The release steps and the gate are replaced by recorders here (the real ones run on a VM in the
# deploy scenario); what is tested is the engine's own decisions: what it switches back, when, and
# what it records.

class FakePlan:
    def __init__(self, **fields):
        self.fields = dict(build=[], recreate=[], hooks=[], buildable=["web", "api"], summary="", full=False,
                           full_reasons=[])
        self.fields.update(fields)

    def as_dict(self):
        return dict(self.fields)


class FakeRelease:
    """Records every step; ``fail`` maps a step name to the message it fails with."""

    def __init__(self, params, layout, fail=None, standby=()):
        self.p = dict(params)
        self.layout = layout
        self.fail = fail or {}
        self.calls = []
        self.standby = list(standby)  # zero-downtime services whose cutover keeps the old container

    def step(self, name, result):
        self.calls.append((name, dict(self.p)))
        if name in self.fail:
            raise StepFailed(self.fail[name], **({"recreated": []} if name == "cutover" else {}))
        if name == "preflight":
            result.update(commit=self.p["ref"] if len(self.p["ref"]) == 40 else B, changed=False, deferred=[],
                          release_dir=self.layout.release_dir(B), release_exists=False, releases=2)
        elif name == "prepare":
            result.update(built=list(self.p["build"]), images={"web": "shop-web:" + B[:12]}, current_images={})
        elif name == "cutover":
            os.makedirs(self.layout.release_dir(self.p["commit"]), exist_ok=True)
            tmp = self.layout.current + ".new"
            os.symlink(os.path.join("releases", self.p["commit"]), tmp)
            os.replace(tmp, self.layout.current)
            if self.p["pin"] is not None:
                dl.atomic_write(self.layout.pin, (self.p["pin"] + "\n").encode(), 0o644) if self.p["pin"] else (
                    os.path.exists(self.layout.pin) and os.unlink(self.layout.pin))
            result.update(recreated=list(self.p["services"]), deferred=[], changed=True, zero_downtime=[
                dict(service=s, port=8080, address="new", new_id="new-" + s,
                     standby=[dict(id="old-" + s)] if self.p.get("keep_old") else None)
                for s in self.p["services"] if s in self.standby])
        elif name == "restore":
            result.update(restored=[r["service"] for r in self.p["reports"]], left=[])


class FakeGate:
    def __init__(self, verdicts):
        self.verdicts = list(verdicts)
        self.calls = []

    def run(self, services, soak=0.0):
        self.calls.append(list(services))
        passed = self.verdicts.pop(0)
        return dict(passed=passed, msg="Health gate %s" % ("passed" if passed else "failed for web -- web: unhealthy"),
                    failed_services=[] if passed else ["web"], ready={})


def story(tmp_path, monkeypatch, verdicts=(True,), fail=None, kind="deploy", ref="main", pin=None, **extra):
    root = tmp_path / "shop"
    (root / "releases" / A).mkdir(parents=True)
    (root / ".berth").mkdir()
    os.symlink(os.path.join("releases", A), str(root / "current"))
    if pin:
        (root / ".berth" / "pin").write_text(pin + "\n")
    monkeypatch.setattr(deployer_module, "compute_plan", lambda request, render: FakePlan(build=["web"]))
    gate = FakeGate(verdicts)
    run = Deployer(params(root, kind=kind, ref=ref, **extra), gate=gate)
    run.release = FakeRelease(run.release.p, run.layout, fail)
    return run, gate, root


def log_of(root):
    path = root / "releases.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def cutovers(run):
    return [(p["commit"], p["services"], p["pin"]) for name, p in run.release.calls if name == "cutover"]


def test_a_failed_gate_switches_back_to_the_release_that_served_and_records_it(tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch, verdicts=(False, True))
    result = run.run()
    assert result["failed"] and "automatic rollback done, %s serves now" % A[:12] in result["msg"]
    assert cutovers(run) == [(B, ["web"], ""), (A, ["web"], "")]
    assert gate.calls == [["web"], ["web"]]
    assert [(r["outcome"], r["serving_commit"]) for r in log_of(root)] == [("rolled_back", A)]
    assert not (root / ".berth" / "deploy.lock").exists()


def test_a_failure_after_the_gate_passed_never_switches_back(tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch)

    def full_disk(path, line, *args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(deployer_module.release_log, "append_record", full_disk)
    result = run.run()
    assert result["failed"] and "passed its gate and serves" in result["msg"]
    assert cutovers(run) == [(B, ["web"], "")]
    assert os.readlink(str(root / "current")) == os.path.join("releases", B)


def test_a_failed_rollback_puts_back_the_pin_that_was_in_force(tmp_path, monkeypatch):
    older = "c" * 40
    run, gate, root = story(tmp_path, monkeypatch, verdicts=(False, True), kind="rollback", ref=B, pin=older)
    result = run.run()
    assert result["failed"] and "automatic rollback done" in result["msg"]
    assert [c[2] for c in cutovers(run)] == [B, older]
    assert (root / ".berth" / "pin").read_text().strip() == older


def test_a_failed_migration_switches_nothing_and_records_failed(tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch, fail={"run": "migrate failed (exit 3 in service migrate)"},
                            one_shot=["migrate"])
    monkeypatch.setattr(deployer_module, "compute_plan", lambda request, render: FakePlan(build=["web", "migrate"]))
    result = run.run()
    assert result["failed"] and "stopped before cutover, nothing was switched" in result["msg"]
    assert cutovers(run) == [] and gate.calls == []
    assert [(r["outcome"], r["serving_commit"]) for r in log_of(root)] == [("failed", A)]


def test_check_mode_plans_and_changes_nothing(tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch)
    run.check_mode = run.release.check_mode = True
    result = run.run()
    assert not result.get("failed") and "check mode: nothing changes" in result["plan"]
    assert [name for name, _p in run.release.calls] == ["preflight"]
    assert log_of(root) == [] and not (root / ".berth" / "deploy.lock").exists()


def test_a_service_the_failed_release_added_is_removed_not_switched_back(tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch, verdicts=(False, True))
    monkeypatch.setattr(deployer_module, "compute_plan", lambda request, render: FakePlan(recreate=["cache", "web"]))
    ran = []
    monkeypatch.setattr(deployer_module.host, "run", lambda argv, **kw: ran.append(argv) or host_result("c1\n"))
    run.facts["rendered"] = {A: {"services": {"web": {}, "api": {}}}}
    result = run.run()
    assert "automatic rollback done" in result["msg"]
    assert cutovers(run) == [(B, ["cache", "web"], ""), (A, ["web"], "")]
    assert ran[-1] == ["docker", "rm", "-f", "c1"]


def host_result(out):
    from ansible_collections.berth.compose.plugins.module_utils.host import Result
    return Result(0, out, [], "")


# ------------------------------------------------------------------ what the plan starts from (issue 18)

def deploy_again(root, monkeypatch, plan, **extra):
    """A further run against the same app root, with compute_plan answering ``plan`` (its request is kept)."""
    requests = []
    monkeypatch.setattr(deployer_module, "compute_plan",
                        lambda request, render: requests.append(request) or FakePlan(**plan))
    run = Deployer(params(root, **extra), gate=FakeGate((True,)))
    run.release = FakeRelease(run.release.p, run.layout)
    return run, requests


def test_a_deploy_that_names_a_service_leaves_the_other_changes_pending_until_the_next_deploy(tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch, service="web")
    monkeypatch.setattr(deployer_module, "compute_plan",
                        lambda request, render: FakePlan(build=["web"], pending=["api"]))
    result = run.run()
    assert not result.get("failed"), result
    assert log_of(root)[-1]["services_pending"] == ["api"]
    assert any(line.startswith("pending:   api") for line in result["plan"])
    # The same commit again, naming no service: api is built and recreated, nothing stays pending.
    again, _requests = deploy_again(root, monkeypatch, dict(build=[]), ref=B)
    result = again.run()
    assert not result.get("failed"), result
    assert result["planned"]["build"] == ["api"] and result["planned"]["up"] == ["api"]
    assert "picks up:  api (left out by an earlier -e service=)" in result["plan"]
    assert log_of(root)[-1]["services_pending"] == []


def test_a_deploy_that_names_a_service_again_carries_the_pending_ones_on(tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch, service="web")
    monkeypatch.setattr(deployer_module, "compute_plan",
                        lambda request, render: FakePlan(build=["web"], pending=["api"]))
    run.run()
    again, _requests = deploy_again(root, monkeypatch, dict(build=["web"], pending=["worker"]), ref=B, service="web")
    result = again.run()
    assert result["planned"]["build"] == ["web"] and log_of(root)[-1]["services_pending"] == ["api", "worker"]


def test_a_switch_no_run_recorded_is_planned_from_the_release_the_log_says_serves(tmp_path, monkeypatch):
    older = "c" * 40
    run, gate, root = story(tmp_path, monkeypatch)
    (root / "releases" / older).mkdir()
    (root / "releases.jsonl").write_text(json.dumps(dict(
        id="r1", kind="deploy", to_commit=older, serving_commit=older, outcome="ok", started="2026-12-01T00:00:00Z"))
        + "\n")
    again, requests = deploy_again(root, monkeypatch, dict(build=["web"]))
    result = again.run()
    assert not result.get("failed"), result
    # current points at A (switched by a run that never recorded): the plan and the record start from `older`.
    assert requests[0].from_ref == older and result["from_commit"] == older
    assert any("which no run recorded" in line for line in result["plan"])
    assert log_of(root)[-1]["from_commit"] == older


def test_a_rollback_to_a_release_without_directory_or_logged_images_never_runs_the_newer_images(tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch, kind="rollback", ref=B)
    (root / "releases" / A / ".berth").mkdir()
    (root / "releases" / A / ".berth" / "images.yml").write_text(
        'services:\n  "web":\n    image: "shop-web:%s"\n  "api":\n    image: "shop-api:%s"\n' % (A[:12], A[:12]))
    monkeypatch.setattr(deployer_module, "compute_plan", lambda request, render: FakePlan(build=["web"]))
    run.run()
    prepare = [p for name, p in run.release.calls if name == "prepare"][0]
    # web differs between the two commits: it gets B's own image (built when missing), never A's.
    assert prepare["previous_images"] == {"api": "shop-api:" + A[:12]}
    assert prepare["images_from"] is None


def test_a_rollback_to_a_release_the_log_recorded_takes_its_logged_images(tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch, kind="rollback", ref=B)
    first = dict(id="r1", kind="deploy", to_commit=B, serving_commit=B, outcome="ok",
                 started="2026-12-01T00:00:00Z", images={"web": "shop-web:" + B[:12]})
    second = dict(id="r2", kind="deploy", from_commit=B, to_commit=A, serving_commit=A, outcome="ok",
                  started="2026-12-02T00:00:00Z")
    (root / "releases.jsonl").write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    monkeypatch.setattr(deployer_module, "compute_plan", lambda request, render: FakePlan(build=["web"]))
    run.run()
    prepare = [p for name, p in run.release.calls if name == "prepare"][0]
    assert prepare["previous_images"] == {"web": "shop-web:" + B[:12]}


# ------------------------------------------------------------------ secrets never leave the host (issue 18.11, 18.15)

DSN = "postgres://app:pw-" + "7f3a9c2e1b" + "@db:5432/app"


def with_env(root, text):
    (root / "shared").mkdir(parents=True)
    (root / "shared" / ".env").write_text(text)


def test_a_failing_migration_that_prints_its_env_leaks_no_value_into_the_result_or_the_log(tmp_path, monkeypatch):
    printed = "applying 003\nmigration 003 failed\nDATABASE_URL=%s\nAPI_KEY=k3y-0123456789\nDEBUG=1" % DSN
    with_env(tmp_path / "shop", "DATABASE_URL=%s\nAPI_KEY='k3y-0123456789'\nDEBUG=1\n" % DSN)
    run, gate, root = story(tmp_path, monkeypatch, one_shot=["migrate"],
                            fail={"run": "migrate failed (exit 1); its last lines:\n%s\nlogin regpass-42x" % printed},
                            registry_login={"username": "ci", "password": "regpass-42x"})
    monkeypatch.setattr(deployer_module, "compute_plan", lambda request, render: FakePlan(build=["web", "migrate"]))
    result = run.run()
    assert result["failed"] and "nothing was switched" in result["msg"]
    written = (root / "releases.jsonl").read_text()
    shown = json.dumps(result)
    for secret in ("pw-7f3a9c2e1b", "k3y-0123456789", "regpass-42x"):
        assert secret not in shown and secret not in written, secret
    # The output is still there, with the mark where each value was.
    assert "DATABASE_URL=<redacted>" in result["msg"] and "API_KEY=<redacted>" in log_of(root)[-1]["message"]
    assert "DEBUG=1" in result["msg"]  # too short and plain to be a secret


def test_a_failed_probe_with_a_token_leaks_neither_the_token_nor_its_auth_header(tmp_path, monkeypatch):
    probe = dict(url="https://127.0.0.1/health?token=tok-55aa66bb", headers={"Authorization": "Bearer abcdef123456",
                                                                             "Host": "shop.example"})
    run, gate, root = story(tmp_path, monkeypatch, verdicts=(False, True), probes=[probe])
    gate.verdicts = [False, True]

    def failing(services, soak=0.0):
        gate.calls.append(list(services))
        passed = gate.verdicts.pop(0)
        return dict(passed=passed, failed_services=[] if passed else ["web"], ready={},
                    msg="probe https://127.0.0.1/health?token=tok-55aa66bb: HTTP 401 (sent Bearer abcdef123456)")
    gate.run = failing
    result = run.run()
    assert "automatic rollback done" in result["msg"]
    shown, written = json.dumps(result), (root / "releases.jsonl").read_text()
    for secret in ("tok-55aa66bb", "abcdef123456"):
        assert secret not in shown and secret not in written, secret
    assert "https://127.0.0.1/health?token=<redacted>" in result["msg"]


@pytest.mark.parametrize("serving", ["--upload-pack=touch /tmp/pwned", "../../etc", "abc1234"])
def test_rollback_to_previous_refuses_a_log_commit_that_is_not_a_full_sha(tmp_path, monkeypatch, serving):
    """Issue 18.18: the log's commit would become a git argument and a path part."""
    run, gate, root = story(tmp_path, monkeypatch, kind="rollback", ref="previous")
    with open(str(root / "releases.jsonl"), "w") as handle:
        for record in ({"kind": "deploy", "outcome": "ok", "to_commit": serving, "serving_commit": serving},
                       {"kind": "deploy", "outcome": "ok", "to_commit": A, "serving_commit": A}):
            handle.write(json.dumps(record) + "\n")
    result = run.run()
    assert result["failed"] and "not a full commit id" in result["msg"], result
    assert [name for name, _p in run.release.calls] == []


def steps(run):
    return [name for name, _p in run.release.calls]


def test_the_old_zero_downtime_container_stays_until_the_soak_passed_then_goes(tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch)
    run.release.standby = ["web"]
    result = run.run()
    assert not result.get("failed"), result
    cut = [p for name, p in run.release.calls if name == "cutover"]
    assert [p["keep_old"] for p in cut] == [True]
    assert steps(run)[-2:] == ["cutover", "retire"] and gate.calls == [["web"]]
    retired = [p["reports"] for name, p in run.release.calls if name == "retire"][0]
    assert [r["service"] for r in retired] == ["web"]


def test_a_failed_soak_puts_caddy_back_on_the_old_container_without_recreating_it(tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch, verdicts=(False, True))
    run.release.standby = ["web"]
    result = run.run()
    assert result["failed"] and "automatic rollback done, %s serves now" % A[:12] in result["msg"]
    assert steps(run)[-3:] == ["cutover", "restore", "cutover"]
    assert "retire" not in steps(run)
    # The switch back recreates nothing: web's old container serves again; current and the pin go back.
    assert cutovers(run) == [(B, ["web"], ""), (A, [], "")]
    assert [p["keep_old"] for name, p in run.release.calls if name == "cutover"] == [True, False]
    assert os.readlink(str(root / "current")) == os.path.join("releases", A)
    assert [(r["outcome"], r["serving_commit"]) for r in log_of(root)] == [("rolled_back", A)]


def test_without_automatic_rollback_a_failed_gate_keeps_the_new_release_and_removes_the_old_containers(
        tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch, verdicts=(False,), auto_rollback=False)
    run.release.standby = ["web"]
    result = run.run()
    assert result["failed"]
    assert steps(run)[-2:] == ["cutover", "retire"]
    assert [(r["outcome"], r["serving_commit"]) for r in log_of(root)] == [("failed", B)]


# ------------------------------------------------------------------ issue 20.2: -e note, the CI job URL

def test_a_deploy_records_its_note_and_job_url_and_the_summary_names_them(tmp_path, monkeypatch):
    run, _gate, root = story(tmp_path, monkeypatch, note="hotfix for INC-42, approved by bob",
                             job_url="https://github.com/acme/shop/actions/runs/123", operator="octocat")
    result = run.run()
    assert not result.get("failed"), result
    written = log_of(root)[-1]
    assert (written["note"], written["job_url"]) == ("hotfix for INC-42, approved by bob",
                                                     "https://github.com/acme/shop/actions/runs/123")
    assert written["operator"] == "octocat"
    assert "note:       hotfix for INC-42, approved by bob" in result["summary"]
    assert "job_url:    https://github.com/acme/shop/actions/runs/123" in result["summary"]


def test_a_failed_rollback_keeps_its_note_and_a_run_without_one_records_null(tmp_path, monkeypatch):
    run, _gate, root = story(tmp_path, monkeypatch, verdicts=(False, True), note="checkout 500s, INC-7")
    assert run.run()["failed"]
    assert [(r["outcome"], r["note"], r["job_url"]) for r in log_of(root)] == [("rolled_back", "checkout 500s, INC-7", None)]
    run, _gate, root = story(tmp_path / "again", monkeypatch)
    run.run()
    assert log_of(root)[-1]["note"] is None and log_of(root)[-1]["job_url"] is None


def test_a_secret_of_the_env_file_in_a_note_is_redacted_from_the_log(tmp_path, monkeypatch):
    with_env(tmp_path / "shop", "API_KEY='k3y-0123456789'\n")
    run, _gate, root = story(tmp_path, monkeypatch, note="rotated k3y-0123456789")
    run.run()
    assert log_of(root)[-1]["note"] == "rotated <redacted>"


@pytest.mark.parametrize("note, job_url, words", [
    ("two\nlines", None, "note must be one line"),
    ("x" * 201, None, "note must be one line of at most 200"),
    ("bell\x07", None, "note must be"),
    (None, "ftp://ci/job/1", "job_url must be one http"),
    (None, "https://ci/job 1", "job_url must be"),
])
def test_note_and_job_url_problems_are_named(note, job_url, words):
    from ansible_collections.berth.compose.plugins.module_utils.engine_record import note_problems
    assert any(words in problem for problem in note_problems(note, job_url))


def test_a_good_note_and_job_url_have_no_problem():
    from ansible_collections.berth.compose.plugins.module_utils.engine_record import note_problems
    assert note_problems("x" * 200, "https://gitlab.example.com/g/p/-/jobs/9") == []
    assert note_problems(None, None) == [] and note_problems("tab\tok", "") == []


# ------------------------------------------------------------------ the smoke gate (issue 19.7, 19.8)

class _Login:
    """A real HTTP server on the loopback: POST /login answers 401 and echoes the body it got."""

    def __enter__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                data = b"bad credentials for " + body
                self.send_response(401)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return "http://127.0.0.1:%d/login" % self.httpd.server_address[1]

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_failing_smoke_step_switches_back_naming_the_step_with_the_body_redacted(tmp_path, monkeypatch):
    with _Login() as url:
        steps = [dict(name="login", url=url, method="POST", body="user=smoke&password=pw-5mok3-secret",
                      status=[204])]
        run, gate, root = story(tmp_path, monkeypatch, verdicts=(True, True), smoke=steps)
        result = run.run()
    assert result["failed"] and "automatic rollback done" in result["msg"], result["msg"]
    assert "smoke step 'login' failed: HTTP 401, expected 204" in result["msg"]
    assert cutovers(run) == [(B, ["web"], ""), (A, ["web"], "")]  # switched back as for an unhealthy container
    record = log_of(root)[-1]
    assert record["outcome"] == "rolled_back" and record["gate"]["smoke"] == "failed"
    assert "bad credentials for <redacted>" in record["message"], record["message"]
    assert "pw-5mok3-secret" not in json.dumps(result) + (root / "releases.jsonl").read_text()


def test_smoke_disabled_is_recorded_skipped_and_a_passing_smoke_passed(tmp_path, monkeypatch):
    step = dict(name="check", service="web", command=["true"])
    run, gate, root = story(tmp_path, monkeypatch, smoke=[step], smoke_enabled=False)
    ran = []
    monkeypatch.setattr(run, "_command", lambda s, commit: ran.append(s.name) or (0, ""))
    result = run.run()
    assert not result.get("failed") and log_of(root)[-1]["gate"]["smoke"] == "skipped"
    assert "smoke:      skipped (-e smoke=false)" in result["summary"] and ran == []
    run, gate, root = story(tmp_path / "again", monkeypatch, smoke=[step])
    monkeypatch.setattr(run, "_command", lambda s, commit: ran.append((s.service, s.command, commit)) or (0, "ok"))
    result = run.run()
    assert not result.get("failed") and log_of(root)[-1]["gate"]["smoke"] == "passed"
    assert ran == [("web", ("true",), B)]  # in the new release


def test_a_failing_preflight_check_stops_before_the_build(tmp_path, monkeypatch):
    step = dict(name="credentials", service="api", command=["check-login"])
    run, gate, root = story(tmp_path, monkeypatch, preflight_checks=[step])
    monkeypatch.setattr(run, "_command", lambda s, commit: (1, "HTTP 401 for user smoke\n") if commit == A
                        else (0, ""))
    result = run.run()
    assert result["failed"] and "nothing was switched" in result["msg"]
    assert "preflight check step 'credentials' failed: exit 1 in service api" in result["msg"]
    assert "HTTP 401 for user smoke" in result["msg"]
    assert [name for name, _p in run.release.calls] == ["preflight"]  # no prepare: nothing built
    assert cutovers(run) == [] and gate.calls == []


def test_a_log_pattern_that_never_appears_switches_back_naming_the_service(tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch, verdicts=(True, True),
                            log_expect=[dict(service="web", pattern="started", within=0.5)])

    class State:
        def snapshot(self, project):
            return [ContainerState(id="c1", name="shop-web-1", service="web", status="running")]

        def logs(self, container, lines):
            return ["booting", "still booting"]
    gate.connect = State
    result = run.run()
    assert result["failed"] and "automatic rollback done" in result["msg"]
    assert "Startup log check failed for web: no log line matched 'started'" in result["msg"]
    assert "shop-web-1: booting | still booting" in result["msg"]
    assert log_of(root)[-1]["gate"]["log_expect"] == "failed"


# ------------------------------------------------------------------ an env-only change (issue 20 part 7)

def test_a_deploy_of_the_same_ref_after_the_env_file_changed_plans_a_recreate_of_its_readers(tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch)
    (root / "shared").mkdir()
    env = root / "shared" / ".env"
    env.write_text("DB_PASSWORD=first-secret\n")
    result = run.run()
    assert not result.get("failed"), result
    recorded = (root / "releases" / B / ".berth" / "env.sha256").read_text()
    assert "first-secret" not in recorded and len(recorded.strip()) == 64
    # The same ref, the env file unchanged: nothing is planned.
    again, requests = deploy_again(root, monkeypatch, dict(build=[]), ref=B)
    result = again.run()
    assert not result.get("failed"), result
    assert requests == [] and not result["planned"]["work"]
    # Provision rotated a vault value: the same ref again plans, and says why.
    env.write_text("DB_PASSWORD=rotated-secret\n")
    again, requests = deploy_again(root, monkeypatch, dict(recreate=["api"], summary="recreate [api]"), ref=B)
    result = again.run()
    assert not result.get("failed"), result
    assert requests[0].env_changed == "env file changed since %s was deployed" % B[:12]
    assert result["planned"]["up"] == ["api"]
    assert (root / "releases" / B / ".berth" / "env.sha256").read_text() != recorded
    assert "rotated-secret" not in json.dumps(result)


def test_a_release_deployed_before_fingerprints_gets_one_and_plans_nothing(tmp_path, monkeypatch):
    run, gate, root = story(tmp_path, monkeypatch)
    (root / "shared").mkdir()
    (root / "shared" / ".env").write_text("A=1\n")
    again, requests = deploy_again(root, monkeypatch, dict(build=[]), ref=A)
    result = again.run()
    assert not result.get("failed") and requests == [] and not result["planned"]["work"]
    assert (root / "releases" / A / ".berth" / "env.sha256").exists()


def docker_answers(monkeypatch, image_id, running_id, ran):
    """host.run for the rebuilt-image check: the image's ID, one container, the ID and name that container runs."""
    def run(argv, **kw):
        ran.append(argv)
        if argv[1:3] == ["image", "inspect"]:
            return host_result(image_id + "\n")
        if argv[1] == "ps":
            return host_result("c1\n")
        if argv[1] == "inspect":
            return host_result(running_id + " shop-web:" + A[:12] + "\n")
        if argv[1:3] == ["image", "rm"]:
            return host_result("")
        raise AssertionError(argv)
    monkeypatch.setattr(deployer_module.host, "run", run)


@pytest.mark.parametrize("running,up", [("sha256:same", []), ("sha256:older", ["web"])])
def test_service_all_recreates_a_service_rebuilt_at_the_operators_word_only_when_its_image_changed(
        tmp_path, monkeypatch, running, up):
    run, gate, root = story(tmp_path, monkeypatch, service="all")
    monkeypatch.setattr(deployer_module, "compute_plan",
                        lambda request, render: FakePlan(build=["web"], rebuilt_only=["web"]))
    ran = []
    docker_answers(monkeypatch, "sha256:same", running, ran)
    result = run.run()
    assert not result.get("failed"), result
    assert cutovers(run) == [(B, up, "")]
    assert log_of(root)[-1]["services_built"] == ["web"] and log_of(root)[-1]["services_recreated"] == up
    if not up:
        assert any(line.startswith("unchanged: web") for line in result["plan"]), result["plan"]
        # the release runs what its container was created with (a later `up` finds nothing to change);
        # the new tag of that same image goes
        assert log_of(root)[-1]["images"] == {"web": "shop-web:" + A[:12]}
        override = (root / "releases" / B / ".berth" / "images.yml").read_text()
        assert "shop-web:" + A[:12] in override and B[:12] not in override
        assert ["docker", "image", "rm", "shop-web:" + B[:12]] in ran
    else:
        assert log_of(root)[-1]["images"] == {"web": "shop-web:" + B[:12]}
