# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release engine: a deploy or a rollback as one process on the host.

    lock -> preflight -> plan -> prepare (build, pull) -> migrate -> hooks before -> cutover
         -> hooks after -> gate + soak -> record -> prune -> unlock
    (a failure at cutover or gate: switch back to the release that served, gate again, record)

The :class:`Deployer` knows its own stage, so a failure after the gate passed (recording,
pruning) never switches back a healthy release. The lock is held by this process for its
whole run (:class:`deploy_lock.ProcessHold`): however it ends, the kernel releases it.
The plan, the summary and the release-log record come back as data; the playbook prints them.
"""
from __future__ import annotations

import dataclasses
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils import backups as bk
from ansible_collections.berth.compose.plugins.module_utils import deploy_lock
from ansible_collections.berth.compose.plugins.module_utils import env_fingerprint
from ansible_collections.berth.compose.plugins.module_utils import commands as cmd
from ansible_collections.berth.compose.plugins.module_utils import host
from ansible_collections.berth.compose.plugins.module_utils import names
from ansible_collections.berth.compose.plugins.module_utils import release_log
from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils.change_plan import UnclaimedPathsError
from ansible_collections.berth.compose.plugins.module_utils.change_rules import ChangedServicesError
from ansible_collections.berth.compose.plugins.module_utils.changed_services import ChangeRequest, compute_plan
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import render_config
from ansible_collections.berth.compose.plugins.module_utils.engine_gate import Gate
from ansible_collections.berth.compose.plugins.module_utils.exposure import exposure_warnings
from ansible_collections.berth.compose.plugins.module_utils.engine_record import (
    Marks, failure_message, plan_lines, record_for, summary_lines)
from ansible_collections.berth.compose.plugins.module_utils.release_dir import (
    ReleaseDir, StepFailed, read_release_ref)
from ansible_collections.berth.compose.plugins.module_utils.redact import Redactor
from ansible_collections.berth.compose.plugins.module_utils import smoke

STEP_LABELS = dict(
    lock="Take the deploy lock",
    preflight="Preflight - fetch, resolve the ref, audit the env file, check free disk",
    plan="Plan from the serving release to the target",
    prepare="Prepare the release directory, build and pull its images",
    check="Check that the zero-downtime services can run two containers side by side",
    backup="Dump the databases before migrations (berth_backup_before_migrate)",
    migrate="Migrate with the new code and the env file, before cutover",
    hooks_before="Run the hooks that go before cutover",
    cutover="Cut over - restart guards, switch current, recreate only the planned services",
    hooks_after="Run the hooks that go after cutover",
    gate="Gate - wait until what changed is healthy and the probes pass",
    soak="Soak - no gated container may restart, exit or turn unhealthy",
    retire="Remove the old containers the zero-downtime cutover kept through the soak",
    restore="Switch Caddy back to the old containers the zero-downtime cutover kept",
    preflight_checks="Preflight checks - the berth_preflight_checks steps against the serving release",
    logs="Startup logs - each recreated container of a berth_log_expect service prints its pattern",
    smoke="Smoke - the berth_smoke steps against the new release",
)


class Stop(Exception):
    """The run stops at ``step`` with ``msg`` (a StepFailed or another error, as the operator reads it)."""

    def __init__(self, step: str, msg: str, output: str = "", extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(msg)
        self.step = step
        self.msg = msg
        self.output = output
        self.extra = extra or {}


def hook_steps(names: Iterable[str], hooks: Mapping[str, Any]) -> list[dict[str, Any]]:
    """berth_hooks: name -> one step or a list of steps {service, command, mode, when} -> flat list."""
    steps: list[dict[str, Any]] = []
    for name in names:
        if name not in hooks:
            continue
        defined = hooks[name]
        for step in [defined] if isinstance(defined, dict) else list(defined or []):
            command = step.get("command") or []
            steps.append(dict(name=name, service=step.get("service"),
                              command=[command] if isinstance(command, str) else list(command),
                              mode=step.get("mode") or "exec", when=step.get("when") or "after"))
    return steps


def backups_before(migrate: Sequence[str], backups: Sequence[Mapping[str, Any]] | None, enabled: object,
                   serving: str | None) -> list[str]:
    """The backups dumped before this deploy's migrations: all of them when there are migrations, a
    release serves (a first deploy has no data) and berth_backup_before_migrate is on."""
    if not (migrate and backups and enabled and serving):
        return []
    return [str(b["name"]) for b in backups]


class Deployer:
    """One deploy or rollback of the app at ``params['root']`` (see the engine module's options)."""

    def __init__(self, params: Mapping[str, Any], check_mode: bool = False, gate: Gate | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.p = params
        self.kind = params["kind"]
        self.check_mode = check_mode
        self.clock = clock
        self.marks = Marks(clock)
        self.stage = "before"
        self.result: dict[str, Any] = dict(changed=False, kind=self.kind, plan=[], summary=[], record=None, outcome=None)
        self.release = ReleaseDir(self._release_params(), check_mode=check_mode)
        self.layout = self.release.layout
        self.gate = gate or Gate(params["project"], params["one_shot"], params["probes"], params["health_timeout"],
                                 params["log_lines"])
        self.hold = deploy_lock.ProcessHold(self.lock_path)
        self.lock: deploy_lock.Outcome | None = None
        self.from_commit: Any = None  # str | None
        self.to_commit: Any = None  # str | None
        self.ref = params["ref"]
        self.pin_before: str | None = None
        self.facts: dict[str, Any] = {}
        # The env file's values, the registry password and the probes' secrets: hidden in every text told.
        # The smoke steps' secret headers and bodies too.
        passwords: list[str | None] = [(params.get("registry_login") or {}).get("password")]
        passwords += smoke.step_secrets(list(params.get("smoke") or []) + list(params.get("preflight_checks") or []))
        self.redactor = Redactor.for_run(params.get("env_file"), passwords, params.get("probes"))

    @property
    def lock_path(self) -> str:
        return os.path.join(self.p["root"], ".berth", "deploy.lock")

    @property
    def log_path(self) -> str:
        return os.path.join(self.p["root"], "releases.jsonl")

    def _release_params(self, **extra: Any) -> dict[str, Any]:
        p = self.p
        params = dict(root=p["root"], ref=p["ref"], project=p["project"], compose_files=p["compose_files"],
                      env_file=p["env_file"], env_template=p["env_template"], env_optional=p["env_optional"],
                      min_free_mb=p["min_free_mb"], repo_ssh_key=p["repo_ssh_key"],
                      repo_known_hosts=p["repo_known_hosts"], zero_downtime=p["zero_downtime"],
                      caddyfile=p["caddyfile"], gate_timeout=p["health_timeout"], log_lines=p["log_lines"],
                      keep=p["keep_releases"], release_log=self.log_path, guards=p["restart_guards"])
        params.update(extra)
        return params

    # ------------------------------------------------------------ running a step

    def step(self, name: str, method: str, **params: Any) -> dict[str, Any]:
        """Run a ReleaseDir step with ``params`` over the run's options; its result dict."""
        self.release.p.update(params)
        result: dict[str, Any] = {}
        try:
            self.release.step(method, result)
        except StepFailed as exc:
            raise Stop(name, exc.msg, exc.extra.get("output", ""), exc.extra)
        return result

    # ------------------------------------------------------------ the story

    def run(self) -> dict[str, Any]:
        try:
            self._lock()
        except Stop as exc:
            self.result.update(failed=True, msg=exc.msg)
            return self.redactor.result(self.result)
        try:
            self._story()
        except Stop as exc:
            self._failed(exc)
        except (host.CommandError, release_log.ReleaseLogError, OSError) as exc:
            self._failed(Stop(self.stage, str(exc)))
        finally:
            self._unlock()
        return self.redactor.result(self.result)

    def _lock(self) -> None:
        p = self.p
        owner = "%s %s" % (self.kind, p["ref"])
        try:
            outcome = deploy_lock.acquire(
                self.lock_path, owner=owner, operator=p["operator"] or deploy_lock.default_operator(),
                controller=p["controller"] or socket.gethostname(), pid=os.getpid(), ttl=p["lock_ttl"],
                wait=p["lock_wait"], force=p["force_unlock"], check_mode=self.check_mode,
                hold=None if self.check_mode else self.hold)
        except deploy_lock.LockError as exc:
            raise Stop("lock", str(exc))
        self.lock = outcome
        self.result["warnings"] = list(outcome.warnings)

    def _unlock(self) -> None:
        if self.lock is None or self.check_mode or not self.lock.token:
            return
        try:
            deploy_lock.release(self.lock_path, token=self.lock.token)
        except deploy_lock.LockError as exc:
            self.result.setdefault("warnings", []).append(str(exc))
        finally:
            self.hold.drop()

    def _story(self) -> None:
        self.marks.start()
        self._resolve_previous()
        target = self.step("preflight", "preflight", ref=self.ref, fetch=self.kind == "deploy")
        self.result["changed"] = bool(target.get("changed"))
        self.facts["target"] = target
        current_dir, self.from_commit = self._serving()
        self.to_commit = target["commit"]
        self.result.update(from_commit=self.from_commit, to_commit=self.to_commit)
        if self.kind == "rollback" and self.p["ref"] == "previous":
            self.ref = self.facts.get("previous_ref") or self.to_commit
        self.marks.mark("preflight")
        plan = self._unfetched_plan(target) if target.get("unfetched") else self._plan(target, current_dir)
        self.marks.mark("plan")
        self.result["plan"] = plan_lines(self, plan)
        self.result["planned"] = plan
        target_model = (self.facts.get("rendered") or {}).get(self.to_commit)
        if target_model and self.kind == "deploy":
            # Ports open around Caddy and the firewall: said before anything changes, never fatal.
            self.result.setdefault("warnings", []).extend(exposure_warnings(target_model, self.p["caddy_sites"]))
        if self.check_mode or not plan["work"]:
            if not self.check_mode and self.kind == "deploy" and self.to_commit == self.from_commit:
                self._keep_env_fingerprint(baseline=True)
            return
        self._apply(plan)

    def _serving(self) -> tuple[str | None, str | None]:
        """(directory, commit) of the release this run starts from: `current`, unless a run that never
        recorded (killed after its switch) moved it; then the release the log says serves, which passed
        its gate: the plan covers what the killed run never applied, and a switch-back goes there."""
        current_dir, current = self.layout.current_dir(), self.layout.current_commit()
        logged = (release_log.current(self.facts.get("records") or []) or {}).get("serving_commit")
        if not (logged and current) or release_log.commit_matches(current, logged) or not names.is_full_sha(logged):
            return current_dir, current
        directory = self.layout.release_dir(logged)
        self.facts.setdefault("notes", []).append(
            "current points at %s, which no run recorded (a run stopped after its switch?): planning from %s, "
            "the release the log says serves" % (current[:12], logged[:12]))
        return (directory if os.path.isdir(directory) else None), logged

    def _resolve_previous(self) -> None:
        records = release_log.read_log(self.log_path)[0] if os.path.exists(self.log_path) else []
        serving = release_log.current(records) or {}
        self.facts["records"] = records
        if self.kind != "rollback" or self.p["ref"] != "previous":
            return
        previous = release_log.last_good(records, serving.get("serving_commit"))
        if not previous:
            raise Stop("preflight", "The release log has no good release before %s; name the release with "
                       "-e ref=<sha|tag>." % ((serving.get("serving_commit") or "the serving one")[:12]))
        if not names.is_full_sha(previous["serving_commit"]):  # it becomes a git argument and a path part
            raise Stop("preflight", "Refusing the rollback, nothing changed: the release log %s names %r as the "
                       "previous release, which is not a full commit id; name the release with -e ref=<sha|tag>."
                       % (self.log_path, previous["serving_commit"]))
        self.ref = previous["serving_commit"]
        self.facts["previous_ref"] = previous.get("ref")

    def _render_for(self, refs: Mapping[Any, Any],
                    render_config: Callable[..., Any] = render_config) -> Callable[..., Any]:
        """Compose renderings with BERTH_REF as each release was deployed (one meaning everywhere)."""
        def render(project: Any, **kwargs: Any) -> Any:
            env = dict(project.environment)
            wanted = refs.get(env.get("BERTH_COMMIT"))
            if wanted:
                env["BERTH_REF"] = wanted
                project = dataclasses.replace(project, environment=env)
            rendered = render_config(project, **kwargs)
            self.facts.setdefault("rendered", {})[env.get("BERTH_COMMIT")] = rendered
            return rendered
        return render

    def _plan(self, target: Mapping[str, Any], current_dir: str | None) -> dict[str, Any]:
        p, deploying = self.p, self.kind == "deploy"
        deferred = list(target.get("deferred") or []) if deploying else []
        pending = release_log.pending(self.facts.get("records") or []) if deploying else []
        services = p["service"]
        if deploying:
            wanted = self.from_commit != self.to_commit or services is not None or deferred or pending
            if services is None and not self.from_commit:
                services = "all"
        else:
            wanted = self.from_commit != self.to_commit
        computed: dict[str, Any] = {}
        env_changed = None
        if deploying:
            # Provision rendered a rotated vault value since the serving release was deployed: its readers go.
            self.facts["env_fingerprint"] = env_fingerprint.fingerprint(p["env_file"])
            if self.from_commit and current_dir:
                env_changed = env_fingerprint.change_reason(current_dir, self.from_commit,
                                                            self.facts["env_fingerprint"])
                wanted = wanted or bool(env_changed)
        if wanted:
            refs = {self.to_commit: self.ref}
            if self.from_commit and current_dir:
                refs[self.from_commit] = read_release_ref(current_dir) or self.from_commit
            sides = dict(from_ref=self.from_commit, to_ref=self.to_commit,
                         from_dir=current_dir if (self.from_commit and current_dir) else None,
                         to_dir=target["release_dir"] if target["release_exists"] else None)
            if not deploying:  # the forward change from the target to what serves: all it touches goes back
                sides = dict(from_ref=self.to_commit, to_ref=self.from_commit,
                             from_dir=target["release_dir"] if target["release_exists"] else None,
                             to_dir=current_dir)
            request = ChangeRequest(
                project_dir=self.layout.repo, compose_project=p["project"], compose_files=list(p["compose_files"]),
                env_file=p["env_file"], rules=p["change_rules"], unclaimed=p["unclaimed"], services=services,
                env_changed=env_changed, **sides)
            try:
                computed = compute_plan(request, render=self._render_for(refs)).as_dict()
            except UnclaimedPathsError as exc:
                raise Stop("plan", str(exc))
            except (ChangedServicesError, host.CommandError) as exc:
                raise Stop("plan", str(exc))
        one_shot = p["one_shot"]
        build = list(computed.get("build", []))
        buildable = list(computed.get("buildable", []))
        services_named = services is not None and services != "all"
        known = set(computed.get("services") or buildable) if computed else set()
        # Left out by an earlier `-e service=`: picked up by the next deploy that names no service;
        # a deploy that names services again carries them on (with what it leaves out itself).
        picked = [] if services_named else [s for s in pending if not known or s in known]
        build = sorted(set(build) | set(s for s in picked if s in buildable))
        changed = build + list(computed.get("recreate", [])) + picked
        up = sorted(set(changed + deferred) - set(one_shot))
        carried = sorted(set(pending) | set(computed.get("pending") or [])) if services_named else []
        plan = dict(build=build if deploying else [], up=up,
                    migrate=[s for s in one_shot if s in changed] if deploying else [],
                    hooks=list(computed.get("hooks", [])) if deploying else [],
                    buildable=buildable, deferred_before=deferred, pending_before=pending if deploying else [],
                    pending=[s for s in carried if s not in up and s not in build],
                    notes=list(self.facts.get("notes") or []) + list(target.get("notes") or []),
                    summary=computed.get("summary"), full=computed.get("full", False),
                    full_reasons=list(computed.get("full_reasons", [])))
        plan["rebuilt_only"] = [s for s in computed.get("rebuilt_only") or [] if s in up] if deploying else []
        plan["hook_steps"] = hook_steps(plan["hooks"], p["hooks"])
        plan["backup"] = backups_before(plan["migrate"], p.get("backups"), p.get("backup_before_migrate"),
                                        self.from_commit)
        plan["work"] = bool(up or plan["build"] or plan["migrate"] or plan["hook_steps"])
        if not deploying:
            plan["work"] = self.from_commit != self.to_commit
        return plan

    def _unfetched_plan(self, target: Mapping[str, Any]) -> dict[str, Any]:
        """Check mode, the target not fetched yet: what can be said without its objects."""
        return dict(build=[], up=[], migrate=[], hooks=[], hook_steps=[], buildable=[], deferred_before=[],
                    pending_before=[], pending=[], notes=list(target.get("notes") or []), full=False,
                    full_reasons=[], summary="not planned: %s is not fetched yet" % self.to_commit[:12], work=True)

    def _apply(self, plan: dict[str, Any]) -> None:
        p = self.p
        self._preflight_checks()
        prepared = self._prepare(plan)
        self.facts["prepared"] = prepared
        self.marks.mark("build")
        if plan.get("rebuilt_only"):
            # `-e service=all` rebuilt them; nothing else changed: recreated only when the image did
            same = self._running_image(plan["rebuilt_only"], prepared.get("images") or {})
            if same:
                plan["up"] = [s for s in plan["up"] if s not in same]
                self._keep_running_refs(prepared, same)
                self.result["plan"].append("unchanged: %s (the rebuilt image is the one that runs: not recreated)"
                                           % ", ".join(sorted(same)))
        if self.kind == "rollback":
            # The services whose image or configuration differs.
            current_images = set(prepared.get("current_images", {}).values())
            differ = [s for s, image in prepared.get("images", {}).items() if image not in current_images]
            plan["up"] = sorted(set(plan["up"] + differ) - set(p["one_shot"]))
        gapless = [s for s in p["zero_downtime"] if s in plan["up"]]
        if gapless:
            self.step("check", "check", commit=self.to_commit, zero_downtime=gapless)
            self.release.p["zero_downtime"] = list(p["zero_downtime"])
        if plan.get("backup"):
            self.facts["backups"] = self._backup(plan["backup"])
        if plan["migrate"]:
            self.facts["migrated"] = self.step("migrate", "run", commit=self.to_commit,
                                               commands=[dict(service=s) for s in plan["migrate"]])
        before = [dict((k, v) for k, v in s.items() if k != "when") for s in plan["hook_steps"] if s["when"] == "before"]
        if before:
            self.step("hooks_before", "run", commit=self.to_commit, commands=before)
        self.marks.mark("migrate")
        after = [dict((k, v) for k, v in s.items() if k != "when") for s in plan["hook_steps"] if s["when"] != "before"]
        self.pin_before = rel.read_pin(self.layout)
        pin = self.to_commit if self.kind == "rollback" else ""
        self._cutover(self.to_commit, plan["up"], p["restart_guards"], pin, after, keep_old=True)
        self.stage = "recorded"  # the gate passed: nothing from here on switches back
        self._retire()
        serving = self.to_commit
        message = "Migrations were not reverted." if self.kind == "rollback" else None
        self._record("ok", serving, message=message)
        if self.kind == "deploy":  # a rollback keeps every release: it may be rolled forward again
            self._keep_env_fingerprint()
            self._prune()

    def _prepare(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        p = self.p
        pull = [s for s in plan["up"] if s not in plan["buildable"]] if self.kind == "deploy" else []
        if p["registry_login"] and pull:
            self._registry_login()
        extra: dict[str, Any] = dict(commit=self.to_commit, ref=self.ref, buildable=plan["buildable"], build=plan["build"], pull=pull)
        if self.kind == "rollback":
            target = self.facts["target"]
            # A rollback re-ups the images its release ran: nothing built unless pruned, nothing pulled.
            extra.update(build=[], pull=[], images_from=self.to_commit if target["release_exists"] else None,
                         previous_images=None if target["release_exists"] else self._rollback_images(plan))
        return self.step("prepare", "prepare", **extra)

    def _rollback_images(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        """The images of a rollback target that has no release directory: those the log recorded for it;
        else the serving release's images of the services the two commits do not differ in. A service that
        differs runs the image built for the target's own commit (built now when missing), never the newer one."""
        logged = release_log.images(self.facts.get("records") or [], self.to_commit)
        if logged:
            return logged
        current = self.layout.current_dir()
        serving = rel.read_images(current) if current else {}
        differ = set(plan["up"]) | set(plan["build"]) | set(plan["migrate"])
        return dict((s, image) for s, image in serving.items() if s not in differ)

    def _backup(self, chosen: Sequence[str]) -> list[str]:
        """Dump each backup in ``chosen`` with the release that serves, before its migrations; the files."""
        runner = bk.Backups(dict(root=self.p["root"], project=self.p["project"], compose_files=self.p["compose_files"],
                                 env_file=self.p["env_file"], docker=self.release.p["docker"], app=self.p.get("app_name")))
        files = []
        for name in chosen:
            try:
                files.append(runner.dump(bk.find(self.p["backups"], name))["file"])
            except bk.BackupError as exc:
                raise Stop("backup", "%s; no migration ran (berth_backup_before_migrate)" % exc)
        return files

    def _running_image(self, services: Iterable[str], images: Mapping[str, Any]) -> dict[str, str]:
        """Of ``services``, those whose every container runs the very image (by ID) this release prepared for it:
        service -> the image name those containers were created with. Any doubt (no container, docker cannot
        tell, containers of different names) counts as changed."""
        docker = self.release.p["docker"]
        same: dict[str, str] = {}
        for service in services:
            if not images.get(service):
                continue
            try:
                wanted = host.run(cmd.image_inspect(images[service], docker=docker)).out.strip()
                ids = host.run(cmd.ps(self.p["project"], service, docker=docker)).out.split()
                running = host.run(cmd.inspect(ids, "{{.Image}} {{.Config.Image}}", docker=docker)).out.splitlines() \
                    if ids else []
            except host.CommandError:
                continue
            pairs = set(tuple(line.split()) for line in running if line.strip())
            if wanted and len(pairs) == 1:
                image_id, name = (list(pairs)[0] + ("", ""))[:2]
                if image_id == wanted and name:
                    same[service] = name
        return same

    def _keep_running_refs(self, prepared: dict[str, Any], same: Mapping[str, str]) -> None:
        """The release names the image refs its unchanged containers were created with (same image): a later
        ``up`` (boot, reconcile) finds their config unchanged; the extra tag of the same image goes."""
        images = dict(prepared.get("images") or {})
        extra = [images[s] for s in same if images.get(s) and images[s] != same[s]]
        images.update(same)
        prepared["images"] = images
        rel.write_if_changed(os.path.join(self.layout.release_dir(self.to_commit), rel.OVERRIDE),
                             rel.render_override(images))
        for ref in extra:
            # untags only: the image keeps the name its containers run
            host.run([self.release.p["docker"], "image", "rm", ref], check=False)

    def _registry_login(self) -> None:
        login = self.p["registry_login"]
        argv = [self.release.p["docker"], "login", "--username", login["username"], "--password-stdin"]
        if login.get("registry"):
            argv.append(login["registry"])
        try:
            host.run(argv, input=login["password"], timeout=120)
        except host.CommandError as exc:
            # The message names the command and docker's answer, never the password (it went to stdin).
            raise Stop("prepare", "docker login to %s failed: %s" % (login.get("registry") or "the registry", exc))

    def _cutover(self, commit: str, services: Sequence[str], guards: Mapping[str, Any], pin: str,
                 hooks_after: Sequence[Mapping[str, Any]], keep_old: bool = False) -> dict[str, Any]:
        """keep_old: the old containers of zero-downtime services stay, unrouted (Caddy's standby),
        until :meth:`_retire` (the gate and soak passed) or :meth:`_restore` (they failed)."""
        self.stage = "cutover"
        try:
            cut = self.step("cutover", "cutover", commit=commit, ref=self.ref if commit == self.to_commit else
                            (read_release_ref(self.layout.release_dir(commit)) or commit),
                            services=services, guards=guards, pin=pin, keep_old=keep_old)
        except Stop as exc:
            self.facts.setdefault("cutovers", []).append(exc.extra)
            raise
        self.facts.setdefault("cutovers", []).append(cut)
        if cut.get("changed"):
            self.result["changed"] = True
        if hooks_after:
            self.stage = "hooks"
            self.facts["hooks_after"] = self.step("hooks_after", "run", commit=commit, commands=hooks_after)
        self.stage = "gate"
        self.marks.mark("cutover")
        gated = self.gate.run(cut.get("recreated", []), soak=self.p["gate_soak"])
        self.facts["gate"] = gated
        if not gated["passed"]:
            raise Stop("gate" if not gated.get("soak_failed") else "soak", gated["msg"])
        if commit == self.to_commit:  # a switch-back goes to what served before: gated, not smoked
            self._log_check(list(cut.get("recreated", [])))
            self._smoke(commit)
        self.marks.mark("gate")
        return cut

    # ------------------------------------------------------------ preflight checks, startup logs, smoke

    def _command(self, step: smoke.Step, commit: str) -> tuple[int | None, str]:
        """A command step in the release of ``commit``: exec in its running container, or a one-off run."""
        directory = self.layout.release_dir(commit)
        if not os.path.isdir(directory):
            directory = self.layout.current
        ref = self.ref if commit == self.to_commit else (read_release_ref(directory) or commit)
        project = self.release.compose(directory, commit, ref)
        args = (["run", "--rm", "--no-deps", "-T"] if step.kind == "run" else ["exec", "-T"]) + [step.service]
        try:
            done = host.run(project.argv(*(args + list(step.command))), env=project.process_env(),
                            timeout=step.timeout, check=False)
        except host.CommandError as exc:
            if "did not finish" in str(exc):
                return None, str(exc)
            raise
        return done.rc, done.out

    def _preflight_checks(self) -> None:
        """berth_preflight_checks against the release that serves, before anything is built."""
        steps = smoke.parse_steps(self.p.get("preflight_checks"), "berth_preflight_checks")
        if not steps or not self.from_commit:
            return
        serving = self.from_commit
        result = smoke.run_steps(steps, lambda step: self._command(step, serving))
        self.facts["preflight_checks"] = "passed" if result.passed else "failed"
        if not result.passed:
            raise Stop("preflight_checks", "nothing was built or changed -- " + smoke.failure_message(
                "preflight check", result, self.p.get("log_lines", smoke.TAIL_LINES)),
                output=smoke.tail((result.failed or smoke.StepResult("", False, "")).output))

    def _log_check(self, recreated: list[str]) -> None:
        """berth_log_expect: each recreated container of an expected service logs its pattern in time."""
        expected = smoke.parse_log_expect(self.p.get("log_expect"))
        if not expected or not any(e.service in recreated for e in expected):
            return
        standby = set()  # the old containers a zero-downtime cutover keeps through the soak
        for report in self._standby():
            standby |= set(str(c.get("id")) for c in report.get("standby") or [] if isinstance(c, dict))
        try:
            state = self.gate.connect()

            def containers(service: str) -> list[tuple[str, str]]:
                return [(c.name, c.id) for c in state.snapshot(self.p["project"])
                        if c.service == service and c.id not in standby]
            problems = smoke.wait_for_logs(expected, recreated, containers, state.logs,
                                           show=int(self.p.get("log_lines", smoke.TAIL_LINES)))
        except Exception as exc:  # Docker unreachable: the check cannot pass
            problems = ["cannot read the containers' logs: %s" % exc]
        self.facts["log_expect"] = "failed" if problems else "passed"
        if problems:
            raise Stop("logs", "Startup log check failed for %s" % "; ".join(problems))

    def _smoke(self, commit: str) -> None:
        """berth_smoke after the gate; skipped (and recorded so) with -e smoke=false."""
        steps = smoke.parse_steps(self.p.get("smoke"))
        if not steps:
            return
        if not self.p.get("smoke_enabled", True):
            self.facts["smoke"] = "skipped"
            return
        result = smoke.run_steps(steps, lambda step: self._command(step, commit))
        self.facts["smoke"] = "passed" if result.passed else "failed"
        self.facts["smoke_summary"] = smoke.summary(result)
        if not result.passed:
            raise Stop("smoke", smoke.failure_message("smoke", result, self.p.get("log_lines", smoke.TAIL_LINES)),
                       output=smoke.tail((result.failed or smoke.StepResult("", False, "")).output))

    def _standby(self) -> list[dict[str, Any]]:
        """Reports of the zero-downtime services whose old containers still stand by."""
        cutovers = self.facts.get("cutovers") or [{}]
        return [r for r in cutovers[-1].get("zero_downtime") or [] if r.get("standby") is not None]

    def _retire(self) -> None:
        """The new release stays: drain and remove the old containers kept through the soak."""
        reports = self._standby()
        if not reports or self.check_mode:
            return
        try:
            self.step("retire", "retire", reports=reports)
        except Stop as exc:
            self.result.setdefault("warnings", []).append(
                "removing the old containers of %s failed: %s" % (", ".join(r["service"] for r in reports), exc.msg))
        for report in reports:
            report["standby"] = None

    def _restore(self, services: list[str]) -> list[str]:
        """Caddy back on the old containers kept through the soak, at once; the services left to switch back."""
        reports = self._standby()
        if not reports:
            return services
        restored = self.step("restore", "restore", reports=reports)["restored"]
        for report in reports:
            report["standby"] = None
        self.facts["restored"] = restored
        return [s for s in services if s not in restored]

    def _record(self, outcome: str, serving: str | None, message: str | None = None,
                gate: Any = None) -> dict[str, Any]:
        record = record_for(self, outcome, serving, self.redactor.text(message), gate)
        if isinstance(record.get("gate"), dict):  # what the smoke and the startup log check said
            record["gate"].update((k, self.facts[k]) for k in ("smoke", "log_expect") if self.facts.get(k))
        if record.get("note"):
            record["note"] = self.redactor.text(record["note"])
        if self.check_mode:
            self.result["record"] = record
            return record
        record = release_log.prepare_record(record)
        release_log.append_record(self.log_path, release_log.encode(record))
        self.result.update(record=record, outcome=outcome, changed=True)
        self.result["summary"] = summary_lines(self, record, message)
        if self.facts.get("smoke"):
            self.result["summary"].insert(-1 if message else len(self.result["summary"]), "smoke:      %s" % (
                dict(skipped="skipped (-e smoke=false)").get(self.facts["smoke"])
                or self.facts.get("smoke_summary") or self.facts["smoke"]))
        return record

    def _keep_env_fingerprint(self, baseline: bool = False) -> None:
        """The env file's fingerprint goes with the release deployed (never its content), unless a reader of it
        was left out (pending: the next deploy picks it up). ``baseline``: a release deployed before
        fingerprints were kept gets the one of now, nothing more."""
        value = self.facts.get("env_fingerprint")
        planned = self.result.get("planned") or {}
        directory = self.layout.release_dir(self.to_commit)
        if not value or planned.get("pending") or not os.path.isdir(directory):
            return
        if baseline and env_fingerprint.recorded(directory):
            return
        try:
            env_fingerprint.record(directory, value)
        except OSError as exc:
            self.result.setdefault("warnings", []).append("could not keep the env file's fingerprint: %s" % exc)

    def _prune(self) -> None:
        target = self.facts["target"]
        if target["releases"] + (0 if target["release_exists"] else 1) <= self.p["keep_releases"]:
            return
        try:
            pruned = self.step("prune", "prune")
            self.result["pruned"] = pruned.get("removed")
        except Stop as exc:
            # The release passed its gate: a failed prune is a warning, never a rollback.
            self.result.setdefault("warnings", []).append("pruning old releases failed: %s" % exc.msg)

    # ------------------------------------------------------------ failure

    def _failed(self, stop: Stop) -> None:
        p = self.p
        stage = self.stage
        task = STEP_LABELS.get(stop.step, stop.step)
        self.result.update(failed_step=stop.step, output=stop.output)
        if stage == "recorded":
            # Past the gate: the release serves and is healthy; say what failed, keep it.
            self.result.update(failed=True, msg="%s of %s passed its gate and serves, but %s failed: %s" % (
                self.kind.capitalize(), self.ref, task, stop.msg))
            return
        back = (stage in ("cutover", "gate") and p["auto_rollback"] and bool(self.from_commit)
                and self.to_commit is not None and self.from_commit != self.to_commit
                and not self.check_mode)
        if back:
            planned_up = self.result.get("planned", {}).get("up", [])
            cutovers = self.facts.get("cutovers") or [{}]
            failed_up = list(cutovers[-1].get("recreated", planned_up) or [])
            try:
                failed_up = self._drop_new_services(self._restore(failed_up))
                self._cutover(self.from_commit, failed_up, {}, self.pin_before or "", [])
            except Stop as again:
                self.result.update(failed=True, msg="%s of %s (%s) failed: %s -- and switching back to %s failed too: "
                                   "%s. Check the host by hand." % (self.kind, self.ref, self.to_commit[:12],
                                                                    stop.msg, self.from_commit[:12], again.msg))
                return
            message = "%s of %s (%s) failed at '%s': %s -- rolled back, %s serves now" % (
                self.kind, self.ref, self.to_commit[:12], task, stop.msg, self.from_commit[:12])
            self._record_failure("rolled_back", self.from_commit, message, gate=dict(passed=False))
            self.result.update(failed=True, msg=failure_message(self, "back", stop.msg))
            return
        self._retire()  # the new release stays (no switch back): the old containers go
        if self.to_commit is not None and not self.check_mode:
            outcome = "hook_failed" if stage == "hooks" else "failed"
            serving = self.to_commit if stage in ("hooks", "cutover", "gate") else self.from_commit
            self._record_failure(outcome, serving, "%s of %s failed at '%s': %s" % (self.kind, self.ref, task, stop.msg))
        self.result.update(failed=True, msg=failure_message(self, stage, stop.msg))

    def _drop_new_services(self, services: list[str]) -> list[str]:
        """Of ``services``, those the release that served knows; the containers of the others are removed
        (a service the failed release added has nothing to go back to)."""
        model = (self.facts.get("rendered") or {}).get(self.from_commit)
        if not model or "services" not in model:
            return services
        known = [s for s in services if s in model["services"]]
        for service in services:
            if service not in known:
                ids = host.run(cmd.ps(self.p["project"], service)).out.split()
                for container in ids:
                    host.run(cmd.rm(container))
        return known

    def _record_failure(self, outcome: str, serving: str | None, message: str, gate: Any = None) -> None:
        try:
            self._record(outcome, serving, message=message, gate=gate)
        except (release_log.ReleaseLogError, OSError) as exc:
            self.result.setdefault("warnings", []).append("could not record the failure: %s" % exc)
