# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Adopting a hand-run Compose app: what berth reads of the checkout it was run from, and what it refuses.

A team that runs ``docker compose up -d`` by hand from a git checkout has its containers, networks and
named volumes in the compose project Compose derived there: ``COMPOSE_PROJECT_NAME`` (the checkout's
``.env``), else the compose file's top-level ``name:``, else the directory's basename, normalized.
Adopting keeps that name, so the volumes and their data stay. :func:`inspect` reads the checkout, the
engine and berth's app root and returns an :class:`AdoptPlan`; its ``problems`` name everything that
refuses the adoption before the first change. :func:`merge_env` brings the hand-run ``.env`` values
into berth's env file. Nothing here imports Ansible; values of the env files never leave
:func:`merge_env`'s result.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils import env_file
from ansible_collections.berth.compose.plugins.module_utils import host
from ansible_collections.berth.compose.plugins.module_utils.names import PROJECT_NAME, PROJECT_RULE

# What Compose keeps of a directory's basename for the project name (compose-go NormalizeProjectName).
_PROJECT_CHARS = re.compile(r"[a-z0-9_-]")
# A compose file's top-level `name:` (a plain or quoted scalar).
_TOP_NAME = re.compile(r"^name:[ \t]*[\"']?([^\"'#\s]+)[\"']?[ \t]*(?:#.*)?$", re.MULTILINE)
LABEL_PROJECT = "com.docker.compose.project"
LABEL_SERVICE = "com.docker.compose.service"
LABEL_WORKDIR = "com.docker.compose.project.working_dir"

Runner = Callable[[Sequence[str]], "host.Result"]


def normalize_project(basename: str) -> str:
    """The project name Compose derives from a directory's basename: lowercase, only [a-z0-9_-], no leading _ or -."""
    return "".join(_PROJECT_CHARS.findall(basename.lower())).lstrip("_-")


def compose_name(text: str) -> str | None:
    """The top-level ``name:`` of a compose file's text, or None."""
    match = _TOP_NAME.search(text)
    return match.group(1) if match else None


def derive_project(directory: str, env_values: Mapping[str, str], compose_texts: Sequence[str]) -> tuple[str, str]:
    """(project name, where it comes from), in Compose's order: COMPOSE_PROJECT_NAME of the checkout's .env,
    the compose file's ``name:`` (the last file that sets it), the directory's basename."""
    if env_values.get("COMPOSE_PROJECT_NAME"):
        return env_values["COMPOSE_PROJECT_NAME"], "COMPOSE_PROJECT_NAME in %s" % os.path.join(directory, ".env")
    for text in reversed(compose_texts):
        name = compose_name(text)
        if name:
            return name, "the compose file's top-level name"
    return normalize_project(os.path.basename(os.path.normpath(directory))), "the directory's basename"


def path_problem(value: object) -> str | None:
    """A message naming ``from`` when it is not an absolute path of a directory, else None."""
    if not isinstance(value, str) or not value:
        return "from is required: the absolute path of the hand-run git checkout (-e from=/home/ops/app)"
    if not os.path.isabs(value) or "\n" in value:
        return "from=%r is not an absolute path: give the hand-run checkout as /home/ops/app" % value
    if not os.path.isdir(value):
        return "from=%s is not a directory" % value
    return None


def dirty_paths(porcelain: str) -> list[str]:
    """The paths ``git status --porcelain`` lists (changed, staged, untracked), in its order."""
    paths = []
    for line in porcelain.splitlines():
        if len(line) > 3:
            paths.append(line[3:])
    return paths


def dirty_problem(directory: str, paths: Sequence[str], limit: int = 10) -> str | None:
    if not paths:
        return None
    shown = ", ".join(paths[:limit]) + (" and %d more" % (len(paths) - limit) if len(paths) > limit else "")
    return ("from=%s has uncommitted changes (%s): commit and push them, or discard them, then adopt again; "
            "berth runs only committed code" % (directory, shown))


def project_problem(derived: str, source: str, configured: str) -> str | None:
    """A message when berth's compose project is not the hand-run one (its volumes would not be found)."""
    if not PROJECT_NAME.match(derived):
        return "the hand-run project name %r (from %s) is not one berth accepts (%s)" % (
            derived, source, PROJECT_RULE)
    if derived != configured:
        return ("berth_compose_project is %r, but the hand-run app's compose project is %r (from %s): set "
                "berth_compose_project: %s for this app in the inventory, so berth keeps its volumes and their "
                "data, then adopt again" % (configured, derived, source, derived))
    return None


def root_problem(root: str, has_current: bool, serving_records: int) -> str | None:
    """A message when berth's app root already has a release: adopting is for an app berth never ran. A release
    directory left by an adoption that failed before its switch is no release: adopting again goes on."""
    held = []
    if has_current:
        held.append("%s/current exists" % root)
    if serving_records:
        held.append("its release log has %d record(s) of a serving release" % serving_records)
    if held:
        return ("berth's app root %s already has a release (%s): nothing to adopt, nothing changed; deploy with "
                "berth.compose.deploy instead" % (root, "; ".join(held)))
    return None


def live_projects(lines: str, directory: str) -> dict[str, dict[str, str]]:
    """From ``docker ps -a`` lines (id, project, service, working dir; tab-separated): project -> {service: id}
    of the containers started from ``directory``."""
    found: dict[str, dict[str, str]] = {}
    wanted = os.path.normpath(directory)
    for line in lines.splitlines():
        parts = line.split("\t")
        if len(parts) != 4 or not parts[1] or os.path.normpath(parts[3] or "/") != wanted:
            continue
        found.setdefault(parts[1], {})[parts[2]] = parts[0]
    return found


def live_problem(directory: str, derived: str, projects: Mapping[str, Any]) -> str | None:
    """A message when the containers started from the checkout are in another project (docker compose -p)."""
    if projects and derived not in projects:
        return ("the containers started from %s are in compose project %s, not %r as its files say (was it run "
                "with -p?): set COMPOSE_PROJECT_NAME=%s in %s/.env and adopt again"
                % (directory, ", ".join(sorted(projects)), derived, sorted(projects)[0], directory))
    return None


def merge_env(berth: Mapping[str, str], handrun: Mapping[str, str]) -> tuple[dict[str, str], list[str], list[str]]:
    """Berth's env file with the hand-run values in: (values, keys added, keys whose value the hand-run one
    replaced). The hand-run values are what serves now, so they win: the switch changes no setting."""
    merged = dict(berth)
    added = sorted(k for k in handrun if k not in berth)
    replaced = sorted(k for k in handrun if k in berth and berth[k] != handrun[k])
    merged.update(handrun)
    return merged, added, replaced


@dataclass
class AdoptPlan:
    """What adopting ``directory`` would do, and what refuses it (``problems``, empty when it may go on)."""

    directory: str
    root: str
    project: str = ""
    project_source: str = ""
    commit: str = ""
    branch: str = ""
    origin: str = ""
    env_keys: list[str] = field(default_factory=list)
    containers: dict[str, str] = field(default_factory=dict)
    volumes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def lines(self, repo_url: str) -> list[str]:
        """The plan, one line each, for the operator (no env value)."""
        short = self.commit[:12]
        return [
            "adopt %s as compose project %s (%s)" % (self.directory, self.project, self.project_source),
            "clone %s into %s/repo; first release %s/releases/%s (%s), %s/current points at it"
            % (repo_url or self.origin, self.root, self.root, short, self.branch or "detached", self.root),
            "env file: %d key(s) from %s/.env (%s)" % (len(self.env_keys), self.directory,
                                                       ", ".join(self.env_keys) or "none"),
            "volumes kept: %s" % (", ".join(self.volumes) or "none yet"),
            "recreate once each, as berth's release: %s" % (", ".join(sorted(self.containers)) or "no container runs"),
            "record kind adopt in %s/releases.jsonl; %s is left as it is" % (self.root, self.directory),
        ]

    def as_dict(self) -> dict[str, Any]:
        return dict(directory=self.directory, root=self.root, project=self.project,
                    project_source=self.project_source, commit=self.commit, branch=self.branch, origin=self.origin,
                    env_keys=list(self.env_keys), containers=dict(self.containers), volumes=list(self.volumes),
                    problems=list(self.problems))


def _git(directory: str, *args: str) -> list[str]:
    # The checkout belongs to its team's user, not to the one adopting it: trust it for these reads only.
    return ["git", "-c", "safe.directory=%s" % directory, "-C", directory] + list(args)


def _read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def serving_records(text: str | None) -> int:
    """How many release log lines (JSON objects) name a serving commit; unreadable lines count as none."""
    count = 0
    for line in (text or "").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("serving_commit"):
            count += 1
    return count


def inspect(directory: str, root: str, configured_project: str, compose_files: Sequence[str],
            docker: str = "docker", run: Callable[..., host.Result] = host.run) -> AdoptPlan:
    """Read the hand-run checkout, the engine and berth's app root; change nothing."""
    plan = AdoptPlan(directory=directory, root=root)
    problem = path_problem(directory)
    if problem:
        plan.problems.append(problem)
        return plan
    top = run(_git(directory, "rev-parse", "--show-toplevel"), check=False)
    if top.rc != 0:
        plan.problems.append("from=%s is not a git checkout (git rev-parse: %s)" % (directory, top.out.strip()))
        return plan
    if os.path.normpath(top.out.strip()) != os.path.normpath(directory):
        plan.problems.append("from=%s is inside the checkout %s: give its top directory" % (
            directory, top.out.strip()))
        return plan
    plan.commit = run(_git(directory, "rev-parse", "--verify", "HEAD^{commit}")).out.strip()
    plan.branch = run(_git(directory, "symbolic-ref", "-q", "--short", "HEAD"), check=False).out.strip()
    plan.origin = run(_git(directory, "remote", "get-url", "origin"), check=False).out.strip()
    # The .env it was run with is what adopting brings into berth's env file, not a change of the code.
    dirty = [path for path in dirty_paths(run(_git(directory, "status", "--porcelain", "--untracked-files=all"),
                                              merge=False).out) if path != ".env"]
    plan.problems += [p for p in [dirty_problem(directory, dirty)] if p]
    texts = []
    for name in compose_files:
        tracked = run(_git(directory, "ls-files", "--error-unmatch", "--", name), check=False)
        if tracked.rc != 0:
            plan.problems.append("from=%s has no committed compose file %s (berth_compose_files)" % (directory, name))
        else:
            texts.append(_read(os.path.join(directory, name)) or "")
    remote = run(_git(directory, "branch", "-r", "--contains", plan.commit), check=False).out.strip()
    tagged = run(_git(directory, "tag", "--contains", plan.commit), check=False).out.strip()
    if not remote and not tagged:
        plan.problems.append("the checked-out commit %s of %s is on no remote branch and no tag: push it, so "
                             "berth's clone has it, then adopt again" % (plan.commit[:12], directory))
    env_text = _read(os.path.join(directory, ".env"))
    env_values = env_file.parse(env_text) if env_text is not None else {}
    plan.env_keys = sorted(env_values)
    plan.project, plan.project_source = derive_project(directory, env_values, texts)
    problem = project_problem(plan.project, plan.project_source, configured_project)
    if problem:
        plan.problems.append(problem)
    ps = run([docker, "ps", "-a", "--filter", "label=" + LABEL_PROJECT, "--format",
              "{{.ID}}\t{{.Label \"%s\"}}\t{{.Label \"%s\"}}\t{{.Label \"%s\"}}"
              % (LABEL_PROJECT, LABEL_SERVICE, LABEL_WORKDIR)], merge=False)
    projects = live_projects(ps.out, directory)
    problem = live_problem(directory, plan.project, projects)
    if problem:
        plan.problems.append(problem)
    plan.containers = dict(projects.get(plan.project, {}))
    volumes = run([docker, "volume", "ls", "-q", "--filter", "label=%s=%s" % (LABEL_PROJECT, plan.project)],
                  merge=False)
    plan.volumes = sorted(volumes.out.split())
    problem = root_problem(root, os.path.lexists(os.path.join(root, "current")),
                           serving_records(_read(os.path.join(root, "releases.jsonl"))))
    if problem:
        plan.problems.append(problem)
    return plan


__all__ = ["AdoptPlan", "compose_name", "derive_project", "dirty_paths", "dirty_problem", "inspect",
           "live_problem", "live_projects", "merge_env", "normalize_project", "path_problem", "project_problem",
           "root_problem", "serving_records"]
