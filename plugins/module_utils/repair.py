# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift repair on the host: what berth.compose.reconcile runs, one step per call.

    check   read-only: baseline fingerprint, `current`, containers, images, upstream snippets,
            rate limit; with nothing drifted (or the rate limit tripped) it writes the metrics
    repair  lock (unless the playbook holds it) -> as the app's owner: release directory
            (ReleaseDir.prepare), `current`, restart guards, build/pull/up of what drifted, snippets
            (ReleaseDir.upstreams) -> as root: the app unit, the gate (engine_gate.Gate), the
            baseline fingerprint, one `kind: reconcile` record and the metrics -> unlock
    baseline, finish, status: the fingerprint, a record or metrics alone, the rate limit

Why: a drifted round is the check plus one repair call (plus the lock, the roles and the unlock
when the fingerprint changed, since the roles run under the lock). The repair works as the owner
of the app's files (git refuses a repository of another user; files it writes keep their owner);
the gate, the units and the fingerprint stay with root, who reads the probes' CA roots and the
files the roles manage. It never rolls forward: the target is the rollback pin, else the release
log's current release. No Ansible imports.
"""
from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils import commands
from ansible_collections.berth.compose.plugins.module_utils import deploy_lock
from ansible_collections.berth.compose.plugins.module_utils import follow
from ansible_collections.berth.compose.plugins.module_utils import host
from ansible_collections.berth.compose.plugins.module_utils import reconcile as rc
from ansible_collections.berth.compose.plugins.module_utils import release_log
from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils import zero_downtime as zd
from ansible_collections.berth.compose.plugins.module_utils.atomic_file import atomic_write
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import render_config
from ansible_collections.berth.compose.plugins.module_utils.engine_gate import Gate
from ansible_collections.berth.compose.plugins.module_utils.engine_record import reconcile_record
from ansible_collections.berth.compose.plugins.module_utils.redact import Redactor
from ansible_collections.berth.compose.plugins.module_utils.release_dir import (
    ReleaseDir, StepFailed, read_release_ref)
from ansible_collections.berth.compose.plugins.module_utils.run_as import in_child_as, owner_of, user_to_become


class Failed(Exception):
    """The step fails with ``msg`` (the result gathered so far stays)."""


def _json_list(drift: Iterable[rc.Drift]) -> list[dict[str, str]]:
    return [d.as_dict() for d in drift]


class Reconciler:
    """The reconcile steps of one app (``params``: the module's options)."""

    def __init__(self, params: Mapping[str, Any], check_mode: bool = False, diff: bool = False,
                 clock: Callable[[], float] = time.time, gate: Gate | None = None,
                 as_user: Callable[..., Any] = in_child_as) -> None:
        self.p = params
        self.check_mode = check_mode
        self.diff = diff
        self.clock = clock
        self.as_user = as_user
        self.layout = rel.Layout(params["root"])
        self.log_path = params["release_log"] or os.path.join(params["root"], "releases.jsonl")
        self.state_path = os.path.join(self.layout.state, rc.STATE_FILE)
        self.baseline_path = os.path.join(self.layout.state, rc.BASELINE_FILE)
        self.lock_path = os.path.join(self.layout.state, "deploy.lock")
        self._gate = gate
        # The env file's values and the probes' secrets: hidden in every record, result and message.
        self.redactor = Redactor.for_run(params.get("env_file"), probes=params.get("probes"))

    # -------------------------------------------------------------- reading

    def records(self) -> list[dict[str, Any]]:
        try:
            return release_log.read_log(self.log_path)[0]
        except (release_log.ReleaseLogError, OSError) as exc:
            raise Failed("cannot read the release log %s: %s" % (self.log_path, exc))

    def pin(self) -> str:
        return rel.read_pin(self.layout)

    def target(self, records: Sequence[Mapping[str, Any]]) -> tuple[Any, Any, str]:
        """(commit, record, source) of the release to bring back; Failed when the pin or the log holds a
        commit that is not a full sha (they are used as path parts and git arguments, as root)."""
        pin = self.pin()
        problem = rc.commit_problem(pin, "the rollback pin %s" % self.layout.pin) if pin else None
        commit, record, source = rc.target_release(pin, records, release_log.commit_matches)
        if not problem and commit and source != "pin":
            problem = rc.commit_problem(commit, "the release log %s (record %s)" % (
                self.log_path, (record or {}).get("id") or "without id"))
        if not problem and record:
            problem = rc.image_problem(record.get("images"), "the release log %s (record %s)" % (
                self.log_path, record.get("id") or "without id"))
        if problem:
            raise Failed(problem)
        return commit, record, source

    def release_repair(self, records: Sequence[Mapping[str, Any]], result: dict[str, Any]) -> None:
        """Say loudly when release repair is off because the log lost what serves (result: release_repair)."""
        serving = self.layout.current_dir() or (self.layout.releases if os.path.isdir(self.layout.releases) and
                                                os.listdir(self.layout.releases) else None)
        problem = rc.release_repair_problem(self.pin(), records, serving)
        result["release_repair"] = problem is None
        if problem:
            result.setdefault("warnings", []).append(problem % self.log_path)

    def unit_state(self, verb: str, unit: str) -> str:
        out = host.run([self.p["systemctl"], verb, unit], check=False, merge=False).out
        return (out.strip().splitlines()[-1:] or ["unknown"])[0]

    def baseline_now(self) -> dict[str, Any]:
        spec = self.p["baseline"] or {}
        enabled = dict((unit, self.unit_state("is-enabled", unit)) for unit in spec.get("enabled") or [])
        active = dict((unit, self.unit_state("is-active", unit)) for unit in spec.get("active") or [])
        return rc.baseline_items(spec.get("files") or [], enabled, active)

    def docker_active(self) -> bool:
        return self.unit_state("is-active", self.p["docker_unit"]) == "active"

    def release_ref(self, commit: str, record: Mapping[str, Any] | None) -> str:
        """BERTH_REF of the release: its .berth/release.env (what the boot unit reads), else the record's ref."""
        return read_release_ref(self.layout.release_dir(commit)) or (record or {}).get("ref") or commit

    def release(self, commit: str, ref: str) -> ReleaseDir:
        """The ReleaseDir of the recorded release; a busy restart guard defers (the next round picks it up)."""
        p = self.p
        guards = dict((s, dict(g, on_busy="defer")) for s, g in (p["guards"] or {}).items())
        return ReleaseDir(dict(root=p["root"], project=p["project"], compose_files=p["compose_files"],
                               env_file=p["env_file"], docker=p["docker"], guards=guards, commit=commit, ref=ref,
                               caddyfile=p["caddyfile"], log_lines=p["log_lines"], release_log=self.log_path),
                          check_mode=self.check_mode)

    def _compose(self, project: Any, argv: Iterable[Any], check: bool = True) -> str:
        return host.run(argv, env=project.process_env(), check=check, error=rel.ReleaseError).out

    def containers(self) -> dict[str, list[dict[str, Any]]]:
        """service -> [dict(status, health, config_hash, created, restarts)] of the project (one-off runs left out)."""
        docker = self.p["docker"]
        ids = host.run(commands.ps(self.p["project"], docker=docker)).out.split()
        out: dict[str, list[dict[str, Any]]] = {}
        if not ids:
            return out
        for item in json.loads(host.run(commands.inspect(ids, docker=docker)).out):
            labels = (item.get("Config") or {}).get("Labels") or {}
            if labels.get(rel.LABEL_ONEOFF) == "True":
                continue
            state = item.get("State") or {}
            # a container of the project (ps filters on its label) carries the service label too
            out.setdefault(labels.get(rel.LABEL_SERVICE), []).append({  # type: ignore[arg-type]
                "status": state.get("Status"), "health": (state.get("Health") or {}).get("Status"),
                "config_hash": labels.get(rc.CONFIG_HASH_LABEL), "created": item.get("Created"),
                "restarts": int(item.get("RestartCount") or 0)})
        return out

    def analyse(self, release: ReleaseDir, commit: str, ref: str) -> tuple[list[rc.Drift], list[str]]:
        """(drift, buildable) of the release's long-running services, judged against `current`."""
        project = release.compose(self.layout.current, commit, ref)
        hashes = rc.parse_config_hashes(self._compose(project, commands.config_hash(project.argv())))
        images = rel.read_images(self.layout.current)
        buildable = sorted(images)
        services = sorted(set(hashes) - set(self.p["one_shot"]))
        image_only = [s for s in services if s not in images]
        if image_only:
            model = render_config(project)
            for service in image_only:
                image = ((model.get("services") or {}).get(service) or {}).get("image")
                if image:
                    images[service] = image if ":" in image.rsplit("/", 1)[-1] else image + ":latest"
        images = dict((s, images[s]) for s in services if s in images)
        present = set(host.run(commands.images(docker=self.p["docker"])).out.split())
        drift = rc.service_drift(services, hashes, self.containers(), images, present)
        # A service with depends_on hashes differently under `up --no-deps` (deploy, repair) and a plain `up`
        # (the boot unit), and `config --hash` matches neither: for a label that differs, ask Compose itself
        # whether either of those two `up`s would recreate the container; drift only when both would.
        judged = [item for item in drift if item.kind != "config" or all(
            rc.dry_run_recreates(self._compose(project, commands.up(
                project.argv(), [item.subject], recreate=None, no_deps=no_deps, dry_run=True)),
                self.p["project"], item.subject) for no_deps in (True, False))]
        return judged, buildable

    def snippet_services(self) -> list[str]:
        directory = os.path.join(self.p["root"], zd.UPSTREAMS_DIR)
        names = [n[:-len(".caddy")] for n in sorted(os.listdir(directory)) if n.endswith(".caddy")] if (
            os.path.isdir(directory)) else []
        return [n for n in names if zd.SERVICE_NAME.match(n)]

    def upstream_drift(self) -> list[rc.Drift]:
        """Snippets that route to an address that is not a running container of their service."""
        out: list[rc.Drift] = []
        for service in self.snippet_services():
            routed = zd.parse_snippet(zd.read_snippet(zd.snippet_path(self.p["root"], service)))
            running = [c["ip"] for c in zd.inspect_service(self.p["docker"], self.p["project"], service)
                       if c["status"] == "running" and c["ip"]]
            item = rc.snippet_drift(service, routed, running)
            if item is not None:
                out.append(item)
        return out

    # -------------------------------------------------------------- writing

    def owner_paths(self) -> tuple[str, str, str]:
        return (self.log_path, self.layout.releases, self.layout.root)

    def record_run(self, result: str, repaired: int, now: float) -> dict[str, Any]:
        state = rc.update_state(rc.read_json(self.state_path), now, result, repaired)
        if os.path.isdir(self.layout.state):
            rc.write_json(self.state_path, state, 0o644)
        directory = self.p["metrics_dir"]
        if directory:
            enabled = bool(self.p["enable_file"]) and os.path.exists(self.p["enable_file"])
            os.makedirs(directory, exist_ok=True)
            text = rc.render_metrics(self.p["app_name"], enabled, now, result, state.get("repaired_total", 0))
            path = rc.metrics_path(directory, self.p["app_name"])
            # The follow gauges (berth.compose.follow) share the file: kept as they are.
            try:
                with open(path) as handle:
                    text += follow.follow_lines(handle.read())
            except OSError:
                pass
            atomic_write(path, text, 0o644)
        return state

    def record_baseline(self) -> None:
        items = self.baseline_now()
        if self.check_mode:
            return
        if not os.path.isdir(self.layout.state):
            raise Failed("%s is missing: provision the app root first (role berth.compose.layout)" % self.layout.state)
        rc.write_json(self.baseline_path, {"items": items, "recorded": int(self.clock())}, 0o600)

    def finish(self, outcome: str, drift: Sequence[rc.Drift], actions: dict[str, Any], gate: dict[str, Any] | None = None,
               started: float | None = None, operator: str | None = None, failure: str | None = None,
               from_commit: str | None = None) -> dict[str, Any] | None:
        """One `kind: reconcile` record (ok or failed, when something drifted), the state file and the metrics."""
        now = self.clock()
        if self.check_mode:
            return None
        prepared = None
        if outcome in ("ok", "failed") and drift:
            commit, record, dummy = self.target(self.records())
            text = self.redactor.text(rc.summary(drift, actions) + (" -- " + failure if failure else ""))
            entry = reconcile_record(commit, record, outcome, text, actions, from_commit, gate, started, now,
                                     operator, bool(self.pin()))
            try:
                prepared = release_log.prepare_record(entry, now=now)
                uid, gid = owner_of(self.owner_paths())
                release_log.append_record(self.log_path, release_log.encode(prepared), uid=uid, gid=gid)
            except (release_log.ReleaseLogError, OSError) as exc:
                raise Failed("cannot append to the release log %s: %s" % (self.log_path, exc))
        self.record_run("repaired" if outcome == "ok" and drift else outcome,
                        len(drift) if outcome == "ok" else 0, now)
        return prepared

    # -------------------------------------------------------------- steps

    def check(self, result: dict[str, Any]) -> None:
        p = self.p
        now = self.clock()
        records = self.records()
        self.release_repair(records, result)
        commit, record, source = self.target(records)
        result.update(commit=commit, source=source)
        recorded = rc.read_json(self.baseline_path)
        self.say_no_baseline(result, recorded)
        drift = rc.baseline_drift(recorded.get("items") if recorded else None, self.baseline_now())
        result["baseline_changed"] = bool(drift)
        repair = False
        if commit:
            directory = os.path.normpath(self.layout.release_dir(commit))
            if not os.path.isdir(directory):
                drift.append(rc.Drift("release", commit[:12], "release directory %s is missing" % directory, "prepare"))
                repair = True
            elif self.layout.current_dir() != directory:
                drift.append(rc.Drift("current", "current", "points at %s, the recorded release is %s (%s)"
                                      % (self.layout.current_dir(), commit[:12], source), "switch"))
                repair = True
            elif not self.docker_active():
                repair = True  # the roles start docker; the repair judges the containers afterwards
            else:
                ref = self.release_ref(commit, record)
                found = self.analyse(self.release(commit, ref), commit, ref)[0] + self.upstream_drift()
                drift += found
                repair = bool(found)
        tripped, message = rc.rate_limit(records, now, p["max_failures"], p["window"])
        blocked = tripped and not p["force"] and bool(drift)
        result.update(drift=_json_list(drift), lines=rc.drift_lines(drift), repair_needed=repair,
                      rate_limited=tripped, rate_limit_msg=message, blocked=blocked)
        if self.diff:
            result["diff"] = rc.drift_diff(drift)
        if not self.check_mode and (blocked or not drift):
            self.record_run("rate_limited" if blocked else "ok", 0, now)

    def baseline(self, result: dict[str, Any]) -> None:
        result["changed"] = False
        self.record_baseline()

    def say_no_baseline(self, result: dict[str, Any], recorded: Mapping[str, Any] | None) -> None:
        """Without a recorded baseline (provision never finished here), a warning that says so."""
        result["baseline_recorded"] = recorded is not None
        if recorded is None:
            why = ("cannot be read as JSON" if os.path.exists(self.baseline_path)
                   else "is missing: provision never finished on this host")
            result.setdefault("warnings", []).append(
                "no provisioning baseline is recorded (%s %s), so drift of what the roles manage cannot be told; "
                "reconcile re-applies the provisioning roles and records one after a good repair (or run provision "
                "again)" % (self.baseline_path, why))

    def status(self, result: dict[str, Any]) -> None:
        p = self.p
        records = self.records()
        self.release_repair(records, result)
        self.say_no_baseline(result, rc.read_json(self.baseline_path))
        tripped, message = rc.rate_limit(records, self.clock(), p["max_failures"], p["window"])
        result.update(rate_limited=tripped, rate_limit_msg=message, last=rc.read_json(self.state_path) or {})

    def finish_step(self, result: dict[str, Any]) -> None:
        p = self.p
        record = self.finish(p["outcome"], [rc.Drift.from_dict(d) for d in p["drift"]], p["actions"], gate=p["gate"],
                             started=p["started"], operator=p["operator"], failure=p["failure"],
                             from_commit=p["from_commit"])
        if record is not None:
            result.update(record=record, changed=True)

    # -------------------------------------------------------------- repair

    def repair(self, result: dict[str, Any]) -> None:
        p = self.p
        actions: dict[str, Any] = dict(build=[], pull=[], up=[], force=[], deferred=[], switched="", release_dir=False, upstreams=[])
        result.update(actions=actions, recreated=[], drift=[])
        lock = self._lock(result)
        if lock is False:
            return
        started = p["started"] or self.clock()
        operator = (lock.lock or {}).get("operator") if lock else p["operator"]
        checked = [rc.Drift.from_dict(d) for d in p["drift"]]
        baseline = [d for d in checked if d.kind == "baseline"]
        actions["provisioned"] = bool(p["provisioned"])
        from_commit = p["from_commit"] or result.get("current_commit")
        stage, gate = "Bring the recorded release back", None
        try:
            drift = self._bring_back(result, actions)
            if self.check_mode:
                return
            if result.get("commit"):
                stage = "Gate - what was started is healthy and the probes pass"
                gate = self.gate().run(result["recreated"])
                result["gate"] = gate
                if not gate["passed"]:
                    raise Failed(gate["msg"])
            if p["provisioned"]:
                stage = "Record the fingerprint of the repaired baseline"
                self.record_baseline()
            stage = "Record the repair"
            record = self.finish("ok", baseline + drift, actions, gate=gate, started=started, operator=operator,
                                 from_commit=from_commit)
            result.update(record=record, changed=True if record else result.get("changed", False))
            result["summary"] = record["message"] if record else "nothing was repaired"
        except (Failed, host.CommandError, OSError) as exc:
            failure = "failed at '%s': %s" % (stage, exc)
            result.update(failed=True, msg="Reconcile " + failure)
            if not self.check_mode:
                repaired = [rc.Drift.from_dict(d) for d in result["drift"]] or [
                    d for d in checked if d.kind != "baseline"]
                try:
                    result["record"] = self.finish("failed", baseline + repaired, actions, gate=gate, started=started,
                                                   operator=operator, failure=failure, from_commit=from_commit)
                except Failed as again:
                    result["msg"] += "; and recording it failed: %s" % again
        finally:
            self._unlock(lock, result)

    def gate(self) -> Gate:
        p = self.p
        return self._gate or Gate(p["project"], p["one_shot"], p["probes"], p["health_timeout"], p["log_lines"])

    def _bring_back(self, result: dict[str, Any], actions: dict[str, Any]) -> list[rc.Drift]:
        """The release work (as the owner of the app's files), then the app unit; the repair's drift."""
        p = self.p
        records = self.records()
        self.release_repair(records, result)
        commit, record, source = self.target(records)
        result.update(commit=commit, source=source)
        if not commit:
            return []
        drift: list[rc.Drift] = []
        if p["app_unit"] and not self.check_mode and self.unit_state("is-active", p["app_unit"]) != "active":
            drift.append(rc.Drift("unit", p["app_unit"], "is not active", "start"))
        user = None if self.check_mode else user_to_become(self.owner_paths())

        def work() -> dict[str, Any]:
            return self.release_work(commit, record, source)
        done = self.as_user(user, work, name="the reconcile repair") if user else work()
        actions.update(done.get("actions") or {})
        drift += [rc.Drift.from_dict(d) for d in done.get("drift") or []]
        result.update(drift=_json_list(drift), recreated=list(actions.get("up") or []),
                      changed=bool(done.get("changed")))
        if self.diff:
            result["diff"] = rc.drift_diff(drift)
        if done.get("failed"):
            result["output"] = done.get("output", "")
            raise Failed(done.get("msg"))
        if p["app_unit"] and not self.check_mode and self.unit_state("is-active", p["app_unit"]) != "active":
            # Everything matches the release now: the unit's `up` changes nothing and marks the app started.
            host.run([p["systemctl"], "start", p["app_unit"]], error=rel.ReleaseError)
            actions["app_unit"] = p["app_unit"]
            result["changed"] = True
        return drift

    def release_work(self, commit: str, record: Mapping[str, Any] | None, source: str) -> dict[str, Any]:
        """Release directory, `current`, guards, build/pull/up, snippets: a JSON-able dict, never raises."""
        out: dict[str, Any] = dict(drift=[], actions={}, changed=False)
        drift: list[rc.Drift] = []
        try:
            self._release_work(commit, record, source, out, drift)
        except StepFailed as exc:
            out.update(failed=True, msg=exc.msg, output=exc.extra.get("output", ""))
        except host.CommandError as exc:
            out.update(failed=True, msg=str(exc), output=rel.tail(exc.output, self.p["log_lines"]))
        except (Failed, OSError) as exc:
            out.update(failed=True, msg=str(exc))
        out["drift"] = _json_list(drift)
        return out

    def _release_work(self, commit: str, record: Mapping[str, Any] | None, source: str, out: dict[str, Any],
                      drift: list[rc.Drift]) -> None:
        layout, actions = self.layout, out["actions"]
        ref = self.release_ref(commit, record)
        release = self.release(commit, ref)
        directory = os.path.normpath(layout.release_dir(commit))
        if not os.path.isdir(directory):
            drift.append(rc.Drift("release", commit[:12], "release directory %s is missing" % directory, "prepare"))
            actions["release_dir"] = out["changed"] = True
            if self.check_mode:
                return
            images = (record or {}).get("images") or {}
            release.p.update(previous_images=images, buildable=sorted(images), build=[], pull=[])
            release.step("prepare", {})
            ref = self.release_ref(commit, record)
        if layout.current_dir() != directory:
            drift.append(rc.Drift("current", "current", "points at %s, the recorded release is %s (%s)"
                                  % (layout.current_dir(), commit[:12], source), "switch"))
            actions["switched"] = commit
            out["changed"] = True
            if self.check_mode:
                return
            rel.switch_current(layout, commit)
        if self.check_mode and not self.docker_active():
            # A docker command would start Docker through its socket: judge the containers after the roles ran.
            drift.append(rc.Drift("docker", self.p["docker_unit"], "is not active; containers are judged once it runs",
                                  "start"))
            out["changed"] = True
            return
        service_drift, buildable = self.analyse(release, commit, ref)
        upstream = self.upstream_drift()
        drift += service_drift + upstream
        recreating = sorted(set(d.subject for d in service_drift if d.kind in rc.RECREATE_KINDS))
        busy = release.wait_for_guards(recreating, {}) if recreating else []
        plan = rc.plan_actions(service_drift, buildable, busy)
        actions.update(plan)
        out["changed"] |= bool(plan["up"] or plan["build"] or plan["pull"] or upstream)
        if self.check_mode:
            return
        builder = release.compose(directory, commit, ref)
        if plan["build"]:
            self._compose(builder, commands.build(builder.argv(), plan["build"]))
        if plan["pull"]:
            self._compose(builder, commands.pull(builder.argv(), plan["pull"]))
        project = release.compose(layout.current, commit, ref)
        plain = [s for s in plan["up"] if s not in plan["force"]]
        if plain:
            self._compose(project, commands.up(project.argv(), plain, recreate=None))
        if plan["force"]:
            self._compose(project, commands.up(project.argv(), plan["force"], recreate=True))
        # A started or recreated container has a new address: a snippet that routes to it follows.
        snippets = release.with_snippet(sorted(set(plan["up"]) | set(d.subject for d in upstream)))
        if snippets:
            release.p.update(services=snippets, zero_downtime=[])
            routed: dict[str, Any] = {}
            release.step("upstreams", routed)
            actions["upstreams"] = snippets
            out["changed"] |= bool(routed.get("changed"))

    # -------------------------------------------------------------- the lock

    def _lock(self, result: dict[str, Any]) -> Any:  # the Outcome, None or False
        """The deploy lock held by this process (None: the playbook holds it, or check mode; False: skip the round)."""
        p = self.p
        if self.check_mode or p["lock_token"]:
            return None
        hold = deploy_lock.ProcessHold(self.lock_path)
        try:
            outcome = deploy_lock.acquire(
                self.lock_path, owner="reconcile", operator=p["operator"] or deploy_lock.default_operator(),
                controller=p["controller"] or socket.gethostname(), pid=os.getpid(), ttl=p["lock_ttl"],
                wait=p["lock_wait"], force=p["force_unlock"], hold=hold)
        except (deploy_lock.LockError, OSError) as exc:
            result.update(lock_held=True, msg="reconcile skipped this round: %s" % exc)
            self.record_run("skipped_locked", 0, self.clock())
            return False
        outcome.hold = hold  # type: ignore[attr-defined]  # _unlock drops it
        result.setdefault("warnings", []).extend(outcome.warnings)
        return outcome

    def _unlock(self, lock: Any, result: dict[str, Any]) -> None:
        if not lock:
            return
        try:
            deploy_lock.release(self.lock_path, token=lock.token)
        except (deploy_lock.LockError, OSError) as exc:
            result.setdefault("warnings", []).append(str(exc))
        finally:
            lock.hold.drop()

    STEPS = ("check", "repair", "baseline", "finish", "status")

    def run(self, step: str) -> dict[str, Any]:
        """The result of ``step``; ``failed``/``msg`` in it when the step failed."""
        result: dict[str, Any] = dict(changed=False, current_commit=self.layout.current_commit())
        method = self.finish_step if step == "finish" else getattr(self, step)
        try:
            method(result)
        except Failed as exc:
            result.update(failed=True, msg=str(exc))
        except host.CommandError as exc:
            result.update(failed=True, msg=str(exc), output=rel.tail(exc.output, 20))
        return self.redactor.result(result)
