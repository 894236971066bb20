# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Releases on the host, the logic behind the berth.compose.release module.

Layout under the app root (see DESIGN.md "Releases and rollback"):

    repo/                 the one clone; `git fetch` runs here
    releases/<sha>/       `git worktree add --detach` of repo at <sha>
      .env             -> the shared env file (compose `env_file: .env` reads it)
      .berth/images.yml   compose override: the image every build service runs
      .berth/release.env  BERTH_REF, BERTH_COMMIT, BERTH_SHORT_SHA for interpolation
    current            -> releases/<sha>, switched by rename of a new symlink

Images are named <project>-<service>:<short sha of the release that built them>.
A release that does not rebuild a service keeps the image the previous release ran,
so rolling back re-ups images that still exist and builds nothing.

Plain functions; commands (git, docker) run through :mod:`host` with argv from :mod:`commands`;
no Ansible imports.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils import names
from ansible_collections.berth.compose.plugins.module_utils import commands as cmd
from ansible_collections.berth.compose.plugins.module_utils import host
from ansible_collections.berth.compose.plugins.module_utils.atomic_file import atomic_write

# Kept as an attribute for callers and tests that replace ``rel.subprocess.run`` (a tripwire that
# proves no command ran): it is the module host.run calls.
subprocess = host.subprocess

SHORT = 12
OVERRIDE = os.path.join(".berth", "images.yml")
RELEASE_ENV = os.path.join(".berth", "release.env")
# The registry image each image-only service of a release runs: pruned with the release, like built ones.
REGISTRY_IMAGES = os.path.join(".berth", "registry-images.json")
LABEL_PROJECT = cmd.LABEL_PROJECT
LABEL_SERVICE = cmd.LABEL_SERVICE
LABEL_ONEOFF = "com.docker.compose.oneoff"


class ReleaseError(host.CommandError):
    """A step failed; the message is meant for the operator.

    A :class:`host.CommandError` (``ReleaseError(msg, output="", argv=None, rc=None)``)."""


# ---------------------------------------------------------------- option checks

FULL_SHA = names.FULL_SHA
PROJECT_NAME = names.PROJECT_NAME
SERVICE_NAME = names.SERVICE_NAME
BAD_REF = names.BAD_REF
SERVICE_LISTS = ("services", "buildable", "build", "pull", "zero_downtime", "one_shot")
APP_NAME = names.APP_NAME


def _relative_problem(name: str, value: str) -> str | None:
    if value.startswith(("/", "-")) or ".." in value.split("/") or re.search(r"[\x00-\x1f\x7f]", value):
        return "%s %r: allowed is a path relative to the release directory, without '..' and not starting with '-'" % (
            name, value)
    return None


def option_problems(p: Mapping[str, Any]) -> list[str]:
    """What is wrong with the release module's options, before any git, docker or file system call.

    Each message names the option and what is allowed. ``p`` is the module's params (options a
    version of the module lacks are skipped)."""
    problems: list[str | None] = []
    root = p.get("root") or ""
    if not os.path.isabs(root) or ".." in root.split("/"):
        problems.append("root %r must be an absolute path without '..' (berth_app_root)" % root)
    ref = p.get("ref")
    if ref is not None and (not ref or BAD_REF.search(ref)):
        problems.append("ref %r: allowed is one branch, tag or commit id that does not start with '-' and holds no "
                        "whitespace, control characters or '..'" % ref)
    app_name = p.get("app_name")
    if app_name is not None and not APP_NAME.match(app_name):
        problems.append("app_name %r: allowed are 1 to 64 letters, digits, '-' or '_', starting with a letter or a digit"
                        % app_name)
    for name in ("commit", "images_from", "pin", "from_commit"):
        value = p.get(name)
        if value and not FULL_SHA.match(value):
            problems.append("%s %r must be a full commit id (40 lowercase hexadecimal digits)%s"
                            % (name, value, ", or '' to lift the pin" if name == "pin" else ""))
    bad = [value for value in p.get("protect") or () if not FULL_SHA.match(value)]
    if bad:
        problems.append("protect %s: allowed are full commit ids (40 lowercase hexadecimal digits)" % ", ".join(map(repr, bad)))
    project = p.get("project")
    if project is not None and not PROJECT_NAME.match(project):
        problems.append("project %r: allowed are lowercase letters, digits, '_' and '-', starting with a letter or digit"
                        % project)
    names = [(name, value) for name in SERVICE_LISTS for value in p.get(name) or ()]
    names += [("commands[].service", (command or {}).get("service") or "") for command in p.get("commands") or ()]
    names += [("guards", key) for key in p.get("guards") or {}]
    names += [("previous_images", key) for key in p.get("previous_images") or {}]
    for name, value in names:
        if not isinstance(value, str) or not SERVICE_NAME.match(value):
            problems.append("%s %r: allowed are service names (letters, digits, '_', '.' and '-', starting with a "
                            "letter or digit)" % (name, value))
    for value in p.get("compose_files") or ():
        problems.append(_relative_problem("compose_files", value))
    if p.get("env_template"):
        problems.append(_relative_problem("env_template", p["env_template"]))
    for name in ("min_free_mb", "keep", "log_lines", "max_failures", "window"):
        if p.get(name) is not None and p[name] < 0:
            problems.append("%s must be 0 or more, got %s" % (name, p[name]))
    for name in ("seconds", "gate_timeout", "drain_timeout", "timeout"):
        if p.get(name) is not None and p[name] < 0:
            problems.append("%s must be 0 or more seconds, got %s" % (name, p[name]))
    probe_path = p.get("probe_path")
    if probe_path is not None and not re.match(r"/[^\s]*\Z", probe_path):
        problems.append("probe_path %r: allowed is a URL path starting with '/' without whitespace" % probe_path)
    return [problem for problem in problems if problem]


def short_sha(commit: str) -> str:
    return commit[:SHORT]


def image_ref(project: str, service: str, tag: str) -> str:
    """The name an image built for a release carries: <project>-<service>:<tag>."""
    return "%s-%s:%s" % (project, service, tag)


def run(argv: Iterable[Any], cwd: str | None = None, env: Mapping[str, str] | None = None, check: bool = True,
        timeout: float | None = None) -> tuple[int, str]:
    """Run argv (never a shell) with :func:`host.run`; return (rc, combined output).

    Raises :class:`ReleaseError` (a :class:`host.CommandError`) when it cannot start, times out
    or, with ``check``, exits non-zero."""
    result = host.run(argv, cwd=cwd, env=env, timeout=timeout, check=check, error=ReleaseError)
    return result.rc, result.out


# The last lines of a text (0: nothing; None: all): the one rule, host.tail.
tail = host.tail


# ---------------------------------------------------------------- layout

class Layout:
    def __init__(self, root: str) -> None:
        self.root = root
        self.repo = os.path.join(root, "repo")
        self.releases = os.path.join(root, "releases")
        self.current = os.path.join(root, "current")
        self.state = os.path.join(root, ".berth")
        self.pin = os.path.join(self.state, "pin")

    def release_dir(self, commit: str) -> str:
        return os.path.join(self.releases, commit)

    def current_dir(self) -> str | None:
        """Absolute directory `current` points at, or None."""
        if not os.path.islink(self.current):
            return None
        target = os.readlink(self.current)
        return os.path.normpath(os.path.join(self.root, target))

    def current_commit(self) -> str | None:
        """Commit `current` serves: the name of the release directory it points at, or None."""
        target = self.current_dir()
        if target is None or not os.path.isdir(target):
            return None
        if os.path.dirname(target) == os.path.normpath(self.releases):
            return os.path.basename(target)
        return None


def switch_current(layout: Layout, commit: str) -> str | None:
    """Point `current` at releases/<commit> atomically: a new symlink renamed over the old one.

    Returns the previous target (absolute) or None. Readers see either the old or the new
    release, never a missing link."""
    previous = layout.current_dir()
    target = os.path.join("releases", commit)
    if previous == os.path.normpath(layout.release_dir(commit)):
        return previous
    tmp = layout.current + ".berth-new"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, layout.current)
    return previous


def read_pin(layout: Layout) -> str:
    """The commit of the rollback pin, or '' when there is none."""
    try:
        with open(layout.pin) as handle:
            return handle.read().strip()
    except OSError:
        return ""


def set_pin(layout: Layout, commit: str | None) -> bool:
    """Write the rollback pin (a commit), or remove it (empty); True when it changed."""
    if commit:
        return write_if_changed(layout.pin, commit + "\n")
    if os.path.lexists(layout.pin):
        os.unlink(layout.pin)
        return True
    return False


# ---------------------------------------------------------------- git

def ssh_environment(layout: Layout, key: str | None, known_hosts: str | None) -> tuple[dict[str, str] | None, bool]:
    """Environment for git over SSH with a deploy key: the key (0600) and the pinned host keys
    are written under .berth/; strict host key checking, no agent, no other identity.
    Returns (env or None, changed)."""
    if not key:
        return None, False
    key_path = os.path.join(layout.state, "repo_key")
    hosts_path = os.path.join(layout.state, "repo_known_hosts")
    changed = write_if_changed(key_path, key if key.endswith("\n") else key + "\n", mode=0o600)
    changed |= write_if_changed(hosts_path, known_hosts or "", mode=0o644)
    command = "ssh -i %s -o IdentitiesOnly=yes -o IdentityAgent=none -o UserKnownHostsFile=%s " \
              "-o StrictHostKeyChecking=yes -o BatchMode=yes" % (key_path, hosts_path)
    return dict(os.environ, GIT_SSH_COMMAND=command), changed


@contextlib.contextmanager
def check_mode_ssh_environment(key: str | None, known_hosts: str | None) -> Iterator[dict[str, str] | None]:
    """ssh_environment for check mode: the key and host keys live in a private temporary directory that
    is gone afterwards, so a check run writes nothing under the app root."""
    if not key:
        yield None
        return
    directory = tempfile.mkdtemp(prefix="berth-check-")
    try:
        env = ssh_environment(Layout(directory), key, known_hosts)[0]
        yield env
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def remote_commit(layout: Layout, ref: str, env: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """(commit, kind) that branch or tag ``ref`` names on origin now (`git ls-remote`: reads, never
    writes the clone), or (None, None) when the remote has no such branch or tag."""
    rc, out = run(cmd.ls_remote(layout.repo, ref), check=False, env=env)
    if rc != 0:
        raise ReleaseError("git ls-remote failed in %s: %s" % (layout.repo, tail(out, 10)), out)
    found: dict[str, str] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            found[parts[1]] = parts[0]
    for kind, wanted in (("branch", ["refs/heads/%s" % ref]),
                         ("tag", ["refs/tags/%s^{}" % ref, "refs/tags/%s" % ref])):
        for name in wanted:
            if name in found:
                return found[name], kind
    return None, None


def has_commit(layout: Layout, commit: str) -> bool:
    return run(cmd.verify_commit(layout.repo, commit), check=False)[0] == 0


def resolve(layout: Layout, ref: str, fetch: bool = True, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Fetch, then resolve ref to (commit, kind) with kind branch|tag|commit.

    Branches move fast-forward only: a remote branch that was rewritten is rejected by
    the fetch (no `+` in the refspec), and deploying that branch then fails."""
    rejected: list[str] = []
    if fetch:
        rc, out = run(cmd.fetch(layout.repo), check=False, env=env)
        if rc != 0:
            rejected = [line for line in out.splitlines() if "[rejected]" in line]
            if not rejected:
                raise ReleaseError("git fetch failed in %s: %s" % (layout.repo, tail(out, 10)), out)
    candidates = [("branch", "refs/remotes/origin/%s" % ref), ("tag", "refs/tags/%s" % ref), ("commit", ref)]
    for kind, name in candidates:
        rc, out = run(cmd.verify_commit(layout.repo, name), check=False)
        if rc == 0:
            if kind == "branch" and any(" %s " % ref in line or line.endswith("origin/" + ref) for line in rejected):
                raise ReleaseError("branch %s was rewritten on the remote (not a fast-forward); deploy a sha or tag "
                                   "explicitly to accept the new history" % ref)
            return out.strip(), kind
    raise ReleaseError("ref %r does not resolve to a commit in %s (not a branch, tag or commit of the remote)"
                       % (ref, layout.repo))


def tag_commit(layout: Layout, ref: str) -> str | None:
    """The commit the clone's tag ``ref`` names now, or None (no such tag)."""
    rc, out = run(cmd.verify_commit(layout.repo, "refs/tags/%s" % ref), check=False)
    return out.strip() if rc == 0 and out.strip() else None


def tag_moved(ref: str, before: str | None, after: str | None) -> str | None:
    """The plan's line for a tag the fetch moved, or None."""
    if before and after and before != after:
        return "%s moved: %s -> %s" % (ref, short_sha(before), short_sha(after))
    return None


def ensure_worktree(layout: Layout, commit: str) -> bool:
    """releases/<commit> as a detached worktree at commit; returns True when it was (re)made."""
    path = layout.release_dir(commit)
    if os.path.isdir(path):
        rc, out = run(cmd.rev_parse(path), check=False)
        if rc == 0 and out.strip() == commit:
            return False
        # Left half-made by a killed deploy: start it again.
        run(cmd.worktree_remove(layout.repo, path), check=False)
        shutil.rmtree(path, ignore_errors=True)
    run(cmd.worktree_prune(layout.repo), check=False)
    os.makedirs(layout.releases, exist_ok=True)
    run(cmd.worktree_add(layout.repo, path, commit))
    return True


def remove_worktree(layout: Layout, commit: str) -> None:
    path = layout.release_dir(commit)
    run(cmd.worktree_remove(layout.repo, path), check=False)
    shutil.rmtree(path, ignore_errors=True)
    run(cmd.worktree_prune(layout.repo), check=False)


# ---------------------------------------------------------------- image map

def plan_images(project: str, buildable: Iterable[str], build: Iterable[str], tag: str, previous: Mapping[str, Any],
                image_exists: Callable[[str], bool]) -> tuple[dict[str, str], list[str], list[str]]:
    """The image every build service of a release runs, and what must be built for it.

    buildable: services with a build section; build: services the plan rebuilds;
    tag: this release's short sha; previous: service -> image of the release this one
    follows (or of the release rolled back to); image_exists: ref -> bool.
    A service not rebuilt keeps its previous image while that image exists, else the image
    tagged with this commit when it exists; otherwise it is built now. Returns (images, build, rebuilt_missing)."""
    images: dict[str, str] = {}
    build_now = set(build) & set(buildable)
    missing: list[str] = []
    for service in sorted(buildable):
        own = image_ref(project, service, tag)
        if service not in build_now:
            # The previous release's image first, then one built for this very commit earlier
            # (a rollback to a release whose directory was pruned but whose images were kept).
            reuse = [ref for ref in (previous.get(service), own) if ref and image_exists(ref)]
            if reuse:
                images[service] = reuse[0]
                continue
            build_now.add(service)
            missing.append(service)
        images[service] = own
    return images, sorted(build_now), missing


def render_override(images: Mapping[str, str]) -> str:
    """Compose override text: one `image:` per build service (JSON strings are YAML)."""
    lines = ["# Written by berth.compose: the image each build service of this release runs.",
             "# `docker compose build` tags by it and `up --no-build` runs exactly it."]
    if not images:
        lines.append("services: {}")
    else:
        lines.append("services:")
        for service in sorted(images):
            lines.append("  %s:" % json.dumps(service))
            lines.append("    image: %s" % json.dumps(images[service]))
    return "\n".join(lines) + "\n"


def parse_override(text: str) -> dict[str, Any]:
    """service -> image from render_override's output (no YAML library needed)."""
    images: dict[str, Any] = {}
    service = None
    for line in text.splitlines():
        stripped = line.strip()
        if line.startswith("  ") and not line.startswith("    ") and stripped.endswith(":"):
            service = json.loads(stripped[:-1]) if stripped.startswith('"') else stripped[:-1]
        elif stripped.startswith("image:") and service:
            value = stripped[len("image:"):].strip()
            images[service] = json.loads(value) if value.startswith('"') else value
    return images


def render_release_env(environment: Mapping[str, str]) -> str:
    return "".join("%s=%s\n" % (k, environment[k]) for k in sorted(environment))


def read_images(release_dir: str) -> dict[str, Any]:
    path = os.path.join(release_dir, OVERRIDE)
    try:
        with open(path) as handle:
            return parse_override(handle.read())
    except OSError:
        return {}


def registry_images(model: Mapping[str, Any]) -> dict[str, str]:
    """service -> image of the services of a rendered compose model that run an image without building it."""
    services = model.get("services") or {}
    return dict((str(name), svc["image"]) for name, svc in services.items()
                if isinstance(svc, dict) and svc.get("build") is None and isinstance(svc.get("image"), str)
                and svc["image"])


def write_registry_images(release_dir: str, images: Mapping[str, str]) -> bool:
    """Keep the registry images of the release at ``release_dir``; True when written."""
    return write_if_changed(os.path.join(release_dir, REGISTRY_IMAGES),
                            json.dumps(dict(images), sort_keys=True, indent=1) + "\n")


def read_registry_images(release_dir: str) -> dict[str, str]:
    """What :func:`write_registry_images` kept ({} for a release deployed before they were kept)."""
    try:
        with open(os.path.join(release_dir, REGISTRY_IMAGES)) as handle:
            images = json.load(handle)
    except (OSError, ValueError):
        return {}
    if not isinstance(images, dict):
        return {}
    return dict((str(k), v) for k, v in images.items() if isinstance(v, str))


def release_images(release_dir: str) -> dict[str, str]:
    """Every image a release runs: its built images and its registry images (keys kept apart)."""
    images = dict(read_images(release_dir))
    images.update(("registry:" + service, image) for service, image in read_registry_images(release_dir).items())
    return images


def write_if_changed(path: str, text: str, mode: int = 0o644) -> bool:
    """Write text atomically unless the file already holds it; True when written.

    The temp file is 0600 until it gets ``mode``, so a key never sits world-readable."""
    try:
        with open(path) as handle:
            if handle.read() == text:
                return False
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic_write(path, text, mode)
    return True


def ensure_env_link(release_dir: str, env_file: str) -> bool:
    """releases/<sha>/.env -> the shared env file; True when (re)made."""
    link = os.path.join(release_dir, ".env")
    if os.path.islink(link) and os.readlink(link) == env_file:
        return False
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(env_file, link)
    return True


# ---------------------------------------------------------------- compose command

def prune_plan(releases: Iterable[tuple[str, float]], keep: int, protected: Iterable[str | None]) -> list[str]:
    """Release commits to remove: all but the newest `keep` and the protected ones.

    releases: [(commit, mtime)]; protected: commits never removed (current, last good)."""
    ordered = sorted(releases, key=lambda item: item[1], reverse=True)
    kept = set(item[0] for item in ordered[:max(keep, 1)]) | set(c for c in protected if c)
    return [item[0] for item in ordered if item[0] not in kept]


def prunable_images(removed_maps: Iterable[Mapping[str, str]], kept_maps: Iterable[Mapping[str, str]],
                    in_use: Collection[str]) -> list[str]:
    """Image refs of removed releases no kept release runs and no container uses (by ref or ID).

    removed_maps / kept_maps: lists of service -> image ref; in_use: refs and IDs containers use."""
    kept: set[str] = set()
    for images in kept_maps:
        kept.update(images.values())
    out: set[str] = set()
    for images in removed_maps:
        out.update(ref for ref in images.values() if ref not in kept and ref not in in_use)
    return sorted(out)


# ---------------------------------------------------------------- soak

def soak_problems(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Containers that restarted, exited, turned unhealthy or were replaced during the soak.

    before/after: container name -> dict(id, restart_count, status, health)."""
    problems: list[str] = []
    for name in sorted(before):
        first = before[name]
        last = after.get(name)
        if last is None or last["id"] != first["id"]:
            problems.append("%s: container was replaced or removed during the soak" % name)
        elif last["restart_count"] > first["restart_count"]:
            problems.append("%s: restarted %d time(s) during the soak" % (
                name, last["restart_count"] - first["restart_count"]))
        elif last["status"] != "running":
            problems.append("%s: %s during the soak" % (name, last["status"]))
        elif last.get("health") == "unhealthy":
            problems.append("%s: turned unhealthy during the soak" % name)
    return problems


# ---------------------------------------------------------------- preflight

def env_keys(text: str) -> list[str]:
    """Keys of an env file (KEY=value lines; comments, blanks and `export ` prefixes allowed)."""
    keys: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].strip()
        key = line.split("=", 1)[0].strip()
        if key and key not in keys:
            keys.append(key)
    return keys


def missing_env_keys(template_text: str, env_text: str, optional: Iterable[str]) -> list[str]:
    """Template keys the env file lacks, minus the optional ones; names only, never values."""
    have = set(env_keys(env_text))
    return [key for key in env_keys(template_text) if key not in have and key not in set(optional)]


def free_mb(path: str) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize // (1024 * 1024)


def git_show(layout: Layout, commit: str, path: str) -> str | None:
    """File content at commit, or None when the commit has no such file."""
    rc, out = run(cmd.show(layout.repo, commit, path), check=False)
    return out if rc == 0 else None
