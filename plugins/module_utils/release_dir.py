# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release on the host: ``releases/<sha>``, ``current``, the pin and the upstream snippets.

One object, :class:`ReleaseDir`, owns what "this commit's release" means: its worktree,
``.berth/images.yml`` and ``.berth/release.env``, the one factory of its compose project
(:meth:`ReleaseDir.compose`), ``current``, the pin and the snippets of zero-downtime services.
Its steps (preflight, prepare, run, check, cutover, upstreams, soak, prune) are what the
``release`` module exposes one at a time and what :mod:`deployer` runs in one process.

A step fails by raising :class:`StepFailed` with the operator's message and the result
fields gathered so far; nothing here imports Ansible.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn

from ansible_collections.berth.compose.plugins.module_utils import release_log
from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils import zero_downtime as zd
from ansible_collections.berth.compose.plugins.module_utils import host
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import (
    ComposeProject, release_environment, render_config)
from ansible_collections.berth.compose.plugins.module_utils.docker_state import DockerState, DockerUnavailableError
from ansible_collections.berth.compose.plugins.module_utils.engine_gate import watch_soak
from ansible_collections.berth.compose.plugins.module_utils.exposure import exposure_warnings

# The release module's options and their defaults: the deployer fills the same dict.
DEFAULTS: dict[str, Any] = dict(
    step=None, root=None, ref=None, commit=None, fetch=True, repo_ssh_key=None, repo_known_hosts=None,
    project=None, compose_files=["compose.yaml"], env_file=None, env_template=".env.example", env_optional=[],
    min_free_mb=0, release_log=None, buildable=[], build=[], pull=[], images_from=None, previous_images=None,
    commands=[], services=[], guards={}, pin=None, zero_downtime=[], caddy="caddy",
    caddyfile="/etc/caddy/Caddyfile", gate_timeout=120.0, drain_timeout=30.0, probe_path="/", seconds=5.0,
    keep=5, protect=[], log_lines=20, docker="docker", caddy_sites=None, keep_old=False, reports=[],
)


class StepFailed(Exception):
    """A step stopped; ``msg`` is for the operator, ``extra`` joins the module's result."""

    def __init__(self, msg: str, **extra: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.extra = extra


def read_release_ref(directory: str) -> str | None:
    """BERTH_REF written in a release directory's .berth/release.env, or None."""
    try:
        with open(os.path.join(directory, rel.RELEASE_ENV)) as handle:
            for line in handle:
                if line.startswith("BERTH_REF="):
                    return line.split("=", 1)[1].strip() or None
    except OSError:
        return None
    return None


class ReleaseDir:
    """The releases of one app root, with the options of one run (``params``, keys of DEFAULTS)."""

    def __init__(self, params: Mapping[str, Any], check_mode: bool = False) -> None:
        self.p: dict[str, Any] = dict(DEFAULTS, **{k: v for k, v in params.items() if v is not None or k not in DEFAULTS})
        if self.p["ref"] is None and self.p["commit"]:
            self.p["ref"] = self.p["commit"]
        self.layout = rel.Layout(self.p["root"])
        self.check_mode = check_mode

    # ------------------------------------------------------------ the compose project, written once

    def compose(self, directory: str, commit: str, ref: str | None = None) -> ComposeProject:
        """The compose project of the release of ``commit`` run from ``directory``."""
        p = self.p
        return ComposeProject(
            name=p["project"], project_dir=directory,
            files=tuple(p["compose_files"]) + (rel.OVERRIDE,),
            env_file=p["env_file"], environment=release_environment(commit, ref or p["ref"]),
            docker=p["docker"])

    def image_exists(self, ref: str) -> bool:
        return rel.run([self.p["docker"], "image", "inspect", "--format", "{{.Id}}", ref], check=False)[0] == 0

    def fail(self, msg: str, result: Mapping[str, Any], **extra: Any) -> NoReturn:
        merged = dict(result)
        merged.update(extra)
        raise StepFailed(msg, **merged)

    # ------------------------------------------------------------ steps

    def preflight(self, result: dict[str, Any]) -> None:
        p, layout = self.p, self.layout
        if not p["ref"]:
            self.fail("ref is required with step=preflight", result)
        refs = ["git", "-C", layout.repo, "for-each-ref", "--format=%(objectname) %(refname)"]
        notes = result.setdefault("notes", [])
        if self.check_mode and p["fetch"]:
            commit, kind, key_changed, before, after = self._check_mode_resolve(result)
        else:
            before = rel.run(refs, check=False)[1] if p["fetch"] else ""
            tag_before = rel.tag_commit(layout, p["ref"]) if p["fetch"] else None
            env, key_changed = rel.ssh_environment(layout, p["repo_ssh_key"], p["repo_known_hosts"])
            commit, kind = rel.resolve(layout, p["ref"], fetch=p["fetch"], env=env)
            after = rel.run(refs, check=False)[1] if p["fetch"] else ""
            moved = rel.tag_moved(p["ref"], tag_before, commit) if kind == "tag" else None
            if moved:
                notes.append(moved)
        result.update(commit=commit, short=rel.short_sha(commit), kind=kind, changed=before != after or key_changed,
                      release_dir=layout.release_dir(commit), release_exists=os.path.isdir(layout.release_dir(commit)),
                      releases=len(os.listdir(layout.releases)) if os.path.isdir(layout.releases) else 0)
        problems: list[str] = []
        missing: list[str] = []
        template = rel.git_show(layout, commit, p["env_template"]) if (
            p["env_template"] and not result.get("unfetched")) else None
        if template is not None and p["env_file"]:
            try:
                with open(p["env_file"]) as handle:
                    env_text = handle.read()
            except OSError as exc:
                self.fail("cannot read the env file %s: %s" % (p["env_file"], exc.strerror), result)
            missing = rel.missing_env_keys(template, env_text, p["env_optional"])
            if missing:
                problems.append("the env file %s lacks %s, which %s at %s (%s) lists; add them to the vault or to "
                                "berth_env_optional" % (p["env_file"], ", ".join(missing), p["env_template"],
                                                        rel.short_sha(commit), p["ref"]))
        result["missing_keys"] = missing
        result["deferred"] = []
        if p["release_log"]:
            try:
                serving = release_log.current(release_log.read_log(p["release_log"])[0]) or {}
            except (release_log.ReleaseLogError, OSError) as exc:
                self.fail("cannot read the release log %s: %s" % (p["release_log"], exc), result)
            result["deferred"] = list(serving.get("services_deferred") or [])
        free = rel.free_mb(layout.root)
        if free < p["min_free_mb"]:
            problems.append("only %d MB free under %s, berth_min_free_mb is %d" % (free, layout.root, p["min_free_mb"]))
        if problems:
            self.fail("Preflight failed, nothing changed: " + "; ".join(problems), result)

    def _check_mode_resolve(self, result: dict[str, Any]) -> tuple[Any, Any, bool, str, str]:
        """Check mode: what the remote names now, read with `git ls-remote` (the deploy key in a temporary
        directory); the clone and the app root are left as they are."""
        p, layout = self.p, self.layout
        with rel.check_mode_ssh_environment(p["repo_ssh_key"], p["repo_known_hosts"]) as env:
            remote, kind = rel.remote_commit(layout, p["ref"], env=env)
        if remote is None:  # a commit id, or a ref the remote lacks: what the clone has
            commit, kind = rel.resolve(layout, p["ref"], fetch=False)
            return commit, kind, False, "", ""
        if not rel.has_commit(layout, remote):
            result["unfetched"] = True
            result["notes"].append("check mode: %s is at %s on the remote, which this host has not fetched; a real "
                                   "run fetches it, and only then can the services be planned"
                                   % (p["ref"], rel.short_sha(remote)))
        elif kind == "tag":
            moved = rel.tag_moved(p["ref"], rel.tag_commit(layout, p["ref"]), remote)
            if moved:
                result["notes"].append(moved)
        return remote, kind, False, "", "fetch" if result.get("unfetched") else ""

    def prepare(self, result: dict[str, Any]) -> None:
        p, layout = self.p, self.layout
        commit = p["commit"]
        directory = layout.release_dir(commit)
        source = layout.release_dir(p["images_from"]) if p["images_from"] else layout.current_dir()
        # Given (even empty): exactly what the caller knows of this release's images, never `current`'s.
        previous = p["previous_images"] if p["previous_images"] is not None else (
            rel.read_images(source) if source else {})
        current = layout.current_dir()
        result["current_images"] = rel.read_images(current) if current else {}
        images, build, missing = rel.plan_images(p["project"], p["buildable"], p["build"], rel.short_sha(commit),
                                                 previous, self.image_exists)
        result.update(commit=commit, short=rel.short_sha(commit), release_dir=directory, images=images,
                      built=build, rebuilt_missing=missing)
        if self.check_mode:
            result["changed"] = bool(build or p["pull"]) or not os.path.isdir(directory)
            return
        changed = rel.ensure_worktree(layout, commit)
        changed |= rel.ensure_env_link(directory, p["env_file"])
        changed |= rel.write_if_changed(os.path.join(directory, rel.OVERRIDE), rel.render_override(images))
        changed |= rel.write_if_changed(os.path.join(directory, rel.RELEASE_ENV), rel.render_release_env(
            release_environment(commit, p["ref"])))
        project = self.compose(directory, commit)
        # what the image-only services run, so the prune of this release removes their images too
        # (metadata: not a change of the release)
        rel.write_registry_images(directory, rel.registry_images(render_config(project)))
        for args, services in ((["build"], build), (["pull", "--quiet", "--policy", "missing"], p["pull"])):
            if services:
                rel.run(project.argv(*(args + list(services))), env=project.process_env())
                changed = True
        result["changed"] = result.get("changed", False) or changed

    def run(self, result: dict[str, Any], commands: Iterable[Mapping[str, Any]] | None = None) -> None:
        """Run ``commands`` (one-shots in the new release, or exec in the running one); stop at the first failure."""
        p, layout = self.p, self.layout
        commit = p["commit"]
        results = result.setdefault("results", [])
        for command in (p["commands"] if commands is None else commands):
            command = dict(dict(name=None, command=[], mode="run"), **command)
            command["name"] = command["name"] or command["service"]
            if self.check_mode:
                results.append(dict(name=command["name"], service=command["service"], rc=None, seconds=0, output=""))
                continue
            if command["mode"] == "run":
                project = self.compose(layout.release_dir(commit), commit)
                args = ["run", "--rm", "--no-deps", "-T", command["service"]] + list(command["command"])
            else:
                project = self.compose(layout.current, commit)
                args = ["exec", "-T", command["service"]] + list(command["command"])
            started = time.monotonic()
            rc, out = rel.run(project.argv(*args), env=project.process_env(), check=False)
            entry = dict(name=command["name"], service=command["service"], rc=rc,
                         seconds=round(time.monotonic() - started, 1), output=rel.tail(out, p["log_lines"]))
            results.append(entry)
            result["changed"] = True
            if rc != 0:
                self.fail("%s failed (exit %d in service %s); its last lines:\n%s" % (
                    command["name"], rc, command["service"], entry["output"]), result, output=entry["output"])

    def guard_idle(self, service: str, guard: Mapping[str, Any]) -> bool:
        project = self.compose(self.layout.current, self.p["commit"])
        rc = rel.run(project.argv("exec", "-T", service, *guard["command"]), env=project.process_env(),
                     check=False)[0]
        return rc == 0

    def zero_downtime_model(self, directory: str, commit: str, result: dict[str, Any],
                            services: Sequence[str]) -> dict[str, Any]:
        """The release's compose model when zero-downtime services are asked for; fails on what blocks them."""
        problems = zd.name_problems(services)
        if problems or not services:
            result["problems"] = problems
            if problems:
                self.fail("Zero-downtime preflight failed, nothing changed: " + "; ".join(problems), result)
            return {}
        model = render_config(self.compose(directory, commit))
        problems = zd.service_problems(model, services)
        result["problems"] = problems
        if problems:
            self.fail("Zero-downtime preflight failed at %s, nothing changed: %s"
                      % (rel.short_sha(commit), "; ".join(problems)), result)
        return model

    def check(self, result: dict[str, Any]) -> None:
        directory = self.layout.release_dir(self.p["commit"])
        result.update(commit=self.p["commit"], release_dir=directory)
        if not os.path.isdir(directory):
            if self.check_mode:
                result["problems"] = []
                return
            self.fail("release directory %s is missing; run step=prepare first" % directory, result)
        model = self.zero_downtime_model(directory, self.p["commit"], result, self.p["zero_downtime"])
        if self.p["caddy_sites"] is not None:
            model = model or render_config(self.compose(directory, self.p["commit"]))
            result["exposure"] = exposure_warnings(model, self.p["caddy_sites"])

    def sync_upstreams(self, model: Mapping[str, Any], services: Iterable[str]) -> tuple[dict[str, list[str]], bool]:
        """Point the snippets of services at their running containers; ({service: addresses}, changed)."""
        p = self.p
        changed = False
        routes: dict[str, list[str]] = {}
        for service in services:
            port = zd.upstream_port((model.get("services") or {}).get(service) or {})
            if port is None:
                routed = zd.parse_snippet(zd.read_snippet(zd.snippet_path(self.layout.root, service)))
                port = int(routed[0].rsplit(":", 1)[1]) if routed else None
            if port is None:
                continue
            moved, routes[service] = zd.sync_service(p["docker"], p["project"], service, port, self.layout.root,
                                                     p["caddy"], p["caddyfile"])
            changed |= moved
        return routes, changed

    def with_snippet(self, services: Iterable[str]) -> list[str]:
        return [s for s in services if zd.SERVICE_NAME.match(s)
                and os.path.exists(zd.snippet_path(self.layout.root, s))]

    def wait_for_guards(self, services: Iterable[str], result: dict[str, Any]) -> list[str]:
        """Restart guards: the services still busy after their wait (deferred); fails when one says so."""
        deferred: list[str] = []
        if self.check_mode or self.layout.current_dir() is None:
            return deferred
        for service in services:
            guard = self.p["guards"].get(service)
            if not guard:
                continue
            deadline = time.monotonic() + float(guard.get("wait", 600))
            while not self.guard_idle(service, guard):
                if time.monotonic() >= deadline:
                    if guard.get("on_busy", "defer") == "fail":
                        self.fail("%s stayed busy for %s s (restart guard); nothing was switched"
                                  % (service, guard.get("wait", 600)), result)
                    deferred.append(service)
                    break
                time.sleep(2)
        return deferred

    def cutover(self, result: dict[str, Any]) -> None:
        p, layout = self.p, self.layout
        commit = p["commit"]
        services = list(p["services"])
        deferred = self.wait_for_guards(services, result)
        recreate = [s for s in services if s not in deferred]
        gapless = [s for s in recreate if s in p["zero_downtime"]]
        plain = [s for s in recreate if s not in gapless]
        switching = layout.current_dir() != os.path.normpath(layout.release_dir(commit))
        result.update(commit=commit, recreated=recreate, deferred=deferred, release_dir=layout.release_dir(commit),
                      changed=switching or bool(recreate), zero_downtime=[])
        if self.check_mode:
            return
        if not os.path.isdir(layout.release_dir(commit)):
            self.fail("release directory %s is missing; run step=prepare first" % layout.release_dir(commit), result)
        model = self.zero_downtime_model(layout.release_dir(commit), commit, result, gapless) if gapless else {}
        previous = layout.current_dir()
        rel.switch_current(layout, commit)
        project = self.compose(layout.current, commit)
        done: list[str] = []
        for service in gapless:
            # zero_downtime_model failed on a service without a single port: port is an int here
            port: int = zd.upstream_port(model["services"][service])  # type: ignore[assignment]
            try:
                result["zero_downtime"].append(zd.cutover_service(
                    project.argv(), project.process_env(), p["docker"], p["project"], service, port, layout.root,
                    p["caddy"], p["caddyfile"], gate_timeout=p["gate_timeout"], drain_timeout=p["drain_timeout"],
                    probe_path=p["probe_path"], log_lines=p["log_lines"], keep_old=p["keep_old"]))
            except rel.ReleaseError as exc:
                # Nothing switched yet: `current` goes back to what the running containers were made from.
                if not done and previous and os.path.dirname(previous) == os.path.normpath(layout.releases):
                    rel.switch_current(layout, os.path.basename(previous))
                result["recreated"] = done
                self.fail(str(exc), result, output=rel.tail(exc.output, p["log_lines"]))
            done.append(service)
        if p["pin"] is not None:
            result["changed"] |= rel.set_pin(layout, p["pin"])
        if plain:
            rel.run(project.argv("up", "-d", "--no-deps", "--no-build", "--force-recreate", *plain),
                    env=project.process_env())
            # A recreated container has a new address: a snippet that routes to the service follows it.
            stale = self.with_snippet(plain)
            if stale:
                self.sync_upstreams(render_config(project), stale)

    def retire(self, result: dict[str, Any]) -> None:
        """After a passed soak: the old containers kept by a ``keep_old`` cutover (``reports``) go."""
        p = self.p
        result["drained_s"] = 0.0
        for report in p["reports"]:
            if report.get("standby") is not None:
                result["drained_s"] += zd.retire(p["docker"], report, self.layout.root, p["caddy"], p["caddyfile"],
                                                 drain_timeout=p["drain_timeout"])
        result["changed"] = bool(p["reports"])

    def restore(self, result: dict[str, Any]) -> None:
        """After a failed gate or soak: Caddy back on the old containers a ``keep_old`` cutover kept
        (``reports``); the services it could not restore are left in ``result['left']``."""
        p = self.p
        result.update(restored=[], left=[])
        for report in p["reports"]:
            if report.get("standby") is None:
                result["left"].append(report["service"])
                continue
            try:
                zd.restore(p["docker"], p["project"], report, self.layout.root, p["caddy"], p["caddyfile"])
                result["restored"].append(report["service"])
            except host.CommandError:
                result["left"].append(report["service"])
        result["changed"] = bool(result["restored"])

    def upstreams(self, result: dict[str, Any]) -> None:
        p, layout = self.p, self.layout
        extra = [s for s in self.with_snippet(p["services"]) if s not in p["zero_downtime"]]
        services = list(p["zero_downtime"]) + extra
        problems = zd.name_problems(services)
        if problems:
            self.fail("; ".join(problems), result)
        result["zero_downtime"] = {}
        if not services or layout.current_dir() is None:
            return
        commit = layout.current_commit() or ""
        ref = read_release_ref(layout.current) or p["ref"] or commit
        model = render_config(self.compose(layout.current, commit, ref=ref))
        if self.check_mode:
            for service in services:
                port = zd.upstream_port((model.get("services") or {}).get(service) or {})
                running = [c for c in zd.inspect_service(p["docker"], p["project"], service)
                           if c["status"] == "running" and c["ip"]]
                addresses = ["%s:%d" % (c["ip"], port) for c in running] if port else []
                result["zero_downtime"][service] = addresses
                if zd.read_snippet(zd.snippet_path(layout.root, service)) != zd.render_snippet(service, addresses):
                    result["changed"] = True
            return
        result["zero_downtime"], moved = self.sync_upstreams(model, services)
        result["changed"] = result.get("changed", False) or moved

    def soak(self, result: dict[str, Any], services: Sequence[str] | None = None, seconds: float | None = None) -> None:
        services = self.p["services"] if services is None else services
        seconds = self.p["seconds"] if seconds is None else seconds
        if self.check_mode or seconds <= 0 or not services:
            result["problems"] = []
            return
        try:
            state = DockerState.connect()
            problems = watch_soak(lambda: state.snapshot(self.p["project"]), services, seconds)
        except DockerUnavailableError as exc:
            self.fail(str(exc), result)
        result["problems"] = problems
        if problems:
            self.fail("Soak failed: " + "; ".join(problems), result)

    def prune(self, result: dict[str, Any]) -> None:
        p, layout = self.p, self.layout
        current = layout.current_commit()
        found: list[tuple[str, float]] = []
        if os.path.isdir(layout.releases):
            for name in os.listdir(layout.releases):
                path = os.path.join(layout.releases, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    found.append((name, os.stat(path).st_mtime))
        protect = list(p["protect"]) + [current]
        if p["release_log"]:
            try:
                records = release_log.read_log(p["release_log"])[0]
            except (release_log.ReleaseLogError, OSError) as exc:
                self.fail("cannot read the release log %s: %s" % (p["release_log"], exc), result)
            # keep good releases; failed attempts never take their places (release_log.prune_plan)
            remove = release_log.prune_plan(found, records, p["keep"], protect)
        else:
            remove = rel.prune_plan(found, p["keep"], protect)
        keep = [commit for commit, _mtime in found if commit not in remove]
        in_use: set[str] = set()
        if remove:
            ids = rel.run([p["docker"], "ps", "-aq", "--no-trunc"])[1].split()
            if ids:
                raw = rel.run([p["docker"], "inspect", "--format", "{{.Image}} {{.Config.Image}}"] + ids)[1]
                in_use.update(raw.split())
        # built and registry images alike: an image-only service's image goes with its release
        images = rel.prunable_images([rel.release_images(layout.release_dir(c)) for c in remove],
                                     [rel.release_images(layout.release_dir(c)) for c in keep], in_use)
        images = [ref for ref in images if self.image_exists(ref)]
        result.update(removed=dict(releases=remove, images=images), changed=bool(remove or images))
        if self.check_mode:
            return
        for commit in remove:
            rel.remove_worktree(layout, commit)
        for ref in images:
            # Without -f: an image a container still uses stays.
            rel.run([p["docker"], "image", "rm", ref], check=False)

    STEPS = ("preflight", "prepare", "check", "run", "cutover", "upstreams", "soak", "prune")

    def step(self, name: str, result: dict[str, Any]) -> None:
        """Run one step by name; ReleaseError and Compose errors become StepFailed."""
        try:
            getattr(self, name)(result)
        except host.CommandError as exc:  # ReleaseError, ComposeCliError and CutoverError among them
            self.fail(str(exc), result, output=rel.tail(exc.output, self.p["log_lines"]))


def serving_project(params: Mapping[str, Any]) -> tuple[str, str, str, ComposeProject] | None:
    """The release that serves under ``params['root']`` and its compose project as that release runs it:
    ``(directory, commit, ref, project)``, or None when nothing serves yet (``current`` is missing).
    ``params``: root, project, compose_files, env_file, docker (what a task or logs call names)."""
    layout = rel.Layout(params["root"])
    directory, commit = layout.current_dir(), layout.current_commit()
    if not directory or not commit:
        return None
    ref = read_release_ref(directory) or commit
    release = ReleaseDir(dict(root=params["root"], project=params["project"], compose_files=params["compose_files"],
                              env_file=params["env_file"], docker=params["docker"], commit=commit, ref=ref))
    return directory, commit, ref, release.compose(directory, commit, ref)
