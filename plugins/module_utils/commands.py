# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure argv builders for the commands the collection runs: docker compose, docker, git, caddy.

Nothing here runs anything: each function returns the argv list :func:`host.run` is given, so a
unit test asserts the exact command line (as Kamal's tests do) and a reader sees every flag in
one place.

Compose subcommands take ``base``, the project's own prefix from :func:`compose` (or
``ComposeProject.argv()``); with an empty ``base`` they return the subcommand's words alone,
which is what ``compose_cli.run(project, args)`` takes. Programs default to their names on PATH
(``docker``, ``git``, ``caddy``); the modules' options can name others.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

LABEL_PROJECT = "com.docker.compose.project"
LABEL_SERVICE = "com.docker.compose.service"
# `fetch` moves branches fast-forward only: no `+` in the refspec, a rewritten branch is rejected.
FETCH_REFSPEC = "refs/heads/*:refs/remotes/origin/*"
# Tags follow the remote, re-pointed ones included (a floating `stable`, a re-cut tag): `--tags` alone
# never moves a tag the clone already has.
FETCH_TAGS_REFSPEC = "+refs/tags/*:refs/tags/*"
CADDY_ADAPTER = ["--adapter", "caddyfile"]


def _names(value: str | Iterable[str] | None) -> list[str]:
    """One name or several (None: none) as a list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


# ---------------------------------------------------------------- docker compose

def compose(project_name: str, project_dir: str, files: str | Iterable[str] | None = (),
            env_files: str | Iterable[str] | None = (), docker: str = "docker") -> list[str]:
    """``docker compose -p <name> --project-directory <dir> -f <file>... --env-file <env>...``.

    The one compose command line of a project, the same the app's boot unit runs. ``files``
    relative to ``project_dir`` are made absolute under it; ``env_files`` is one path or several."""
    argv = [docker, "compose", "-p", project_name, "--project-directory", project_dir]
    for name in _names(files):
        argv += ["-f", name if os.path.isabs(name) else os.path.join(project_dir, name)]
    for name in _names(env_files):
        argv += ["--env-file", name]
    return argv


def up(base: Iterable[str], services: Iterable[str], recreate: bool | None = True, no_deps: bool = True,
       build: bool | None = False, wait: bool = False, dry_run: bool = False,
       scale: Mapping[str, int] | None = None) -> list[str]:
    """``up -d`` of ``services``.

    recreate: True ``--force-recreate``, False ``--no-recreate``, None Compose decides (recreates
    what changed). no_deps: ``--no-deps`` (other services are left alone). build: False
    ``--no-build`` (run exactly the images there are), True ``--build``, None neither. wait:
    ``--wait`` (until running/healthy). dry_run: the global ``--dry-run`` (Compose says what it
    would do). scale: service -> number of containers (``--scale web=2``)."""
    argv = list(base) + (["--dry-run"] if dry_run else []) + ["up", "-d"]
    if no_deps:
        argv.append("--no-deps")
    if build is not None:
        argv.append("--build" if build else "--no-build")
    if recreate is not None:
        argv.append("--force-recreate" if recreate else "--no-recreate")
    if wait:
        argv.append("--wait")
    for service in sorted(scale or {}):
        argv += ["--scale", "%s=%d" % (service, scale[service])]  # type: ignore[index]  # the loop runs only when scale is set
    return argv + list(services)


def build(base: Iterable[str], services: Iterable[str]) -> list[str]:
    """``build`` of ``services`` (each tagged with the image its compose model names)."""
    return list(base) + ["build"] + list(services)


def pull(base: Iterable[str], services: Iterable[str]) -> list[str]:
    """``pull`` of ``services``, quietly, only images not on the host yet."""
    return list(base) + ["pull", "--quiet", "--policy", "missing"] + list(services)


def run_once(base: Iterable[str], service: str, argv: Iterable[str]) -> list[str]:
    """``run`` of ``argv`` in a new one-off container of ``service``: removed afterwards, no
    dependencies started, no TTY (output captured)."""
    return list(base) + ["run", "--rm", "--no-deps", "-T", service] + list(argv)


def exec_(base: Iterable[str], service: str, argv: Iterable[str]) -> list[str]:
    """``exec`` of ``argv`` in the running container of ``service``, no TTY."""
    return list(base) + ["exec", "-T", service] + list(argv)


def config_json(base: Iterable[str], interpolate: bool = True) -> list[str]:
    """``config --format json``: the project as Compose renders it (holds secret values).

    interpolate=False adds ``--no-interpolate`` (each service keeps its ``env_file`` list)."""
    return list(base) + ["config", "--format", "json"] + ([] if interpolate else ["--no-interpolate"])


def config_services(base: Iterable[str]) -> list[str]:
    """``config --services``: service names only, no values."""
    return list(base) + ["config", "--services"]


def config_hash(base: Iterable[str], services: Iterable[str] | None = None) -> list[str]:
    """``config --hash``: the config hash of ``services`` (all: ``*``)."""
    return list(base) + ["config", "--hash", ",".join(services) if services else "*"]


# ---------------------------------------------------------------- docker

def ps(project: str | None = None, service: str | None = None, docker: str = "docker") -> list[str]:
    """IDs of all containers (running or not), of a compose project and service when given."""
    argv = [docker, "ps", "-aq", "--no-trunc"]
    if project is not None:
        argv += ["--filter", "label=%s=%s" % (LABEL_PROJECT, project)]
    if service is not None:
        argv += ["--filter", "label=%s=%s" % (LABEL_SERVICE, service)]
    return argv


def inspect(ids: Iterable[str], fmt: str | None = None, docker: str = "docker") -> list[str]:
    """``docker inspect`` of containers (JSON, or one ``fmt`` Go template line each)."""
    return [docker, "inspect"] + (["--format", fmt] if fmt else []) + list(ids)


def image_inspect(ref: str, fmt: str = "{{.Id}}", docker: str = "docker") -> list[str]:
    """``docker image inspect`` of one image: exits non-zero when the host does not have it."""
    return [docker, "image", "inspect", "--format", fmt, ref]


def images(docker: str = "docker") -> list[str]:
    """Every image on the host as ``repository:tag``, one a line."""
    return [docker, "images", "--format", "{{.Repository}}:{{.Tag}}"]


def image_rm(ref: str, docker: str = "docker") -> list[str]:
    return [docker, "image", "rm", ref]


def logs(container: str, lines: int | str, docker: str = "docker") -> list[str]:
    """The last ``lines`` lines a container printed."""
    return [docker, "logs", "--tail", str(lines), container]


def stop(container: str, docker: str = "docker") -> list[str]:
    """``docker stop``: the container's own stop timeout (compose's stop_grace_period) applies."""
    return [docker, "stop", container]


def rm(container: str, docker: str = "docker") -> list[str]:
    return [docker, "rm", "-f", container]


# ---------------------------------------------------------------- git

def fetch(repo: str, git: str = "git") -> list[str]:
    """Fetch branches (fast-forward only) and tags (re-pointed ones too) from origin, pruning deleted ones."""
    return [git, "-C", repo, "fetch", "--prune", "origin", FETCH_REFSPEC, FETCH_TAGS_REFSPEC]


def ls_remote(repo: str, ref: str, git: str = "git") -> list[str]:
    """What origin's branch and tag ``ref`` name (an annotated tag also as ``<tag>^{}``)."""
    return [git, "-C", repo, "ls-remote", "origin", "refs/heads/%s" % ref, "refs/tags/%s" % ref,
            "refs/tags/%s^{}" % ref]


def rev_parse(repo: str, rev: str = "HEAD", git: str = "git") -> list[str]:
    return [git, "-C", repo, "rev-parse", rev]


def verify_commit(repo: str, name: str, git: str = "git") -> list[str]:
    """The commit ``name`` (a ref or commit id) names; exits non-zero, printing nothing, when none."""
    return [git, "-C", repo, "rev-parse", "--verify", "--quiet", name + "^{commit}"]


def worktree_add(repo: str, path: str, commit: str, git: str = "git") -> list[str]:
    """A detached worktree of ``repo`` at ``commit`` in ``path``."""
    return [git, "-C", repo, "worktree", "add", "--detach", path, commit]


def worktree_remove(repo: str, path: str, git: str = "git") -> list[str]:
    return [git, "-C", repo, "worktree", "remove", "--force", path]


def worktree_prune(repo: str, git: str = "git") -> list[str]:
    return [git, "-C", repo, "worktree", "prune"]


def show(repo: str, commit: str, path: str, git: str = "git") -> list[str]:
    """The content of ``path`` at ``commit``."""
    return [git, "-C", repo, "show", "%s:%s" % (commit, path)]


def for_each_ref(repo: str, git: str = "git") -> list[str]:
    """Every ref of ``repo`` as ``<object id> <ref name>`` lines."""
    return [git, "-C", repo, "for-each-ref", "--format=%(objectname) %(refname)"]


def diff_name_status(repo: str, from_commit: str, to_commit: str, git: str = "git") -> list[str]:
    """Paths changed between two commits, NUL-separated with their status, renames found,
    relative to ``repo`` (a subdirectory sees its own paths), names never quoted."""
    return [git, "-C", repo, "-c", "core.quotepath=off", "diff", "--no-color", "--no-ext-diff", "--name-status",
            "-z", "-M", "--relative", from_commit, to_commit]


# ---------------------------------------------------------------- caddy

def adapt(caddyfile: str, caddy: str = "caddy") -> list[str]:
    """Adapt the Caddyfile (with the snippets it imports) to JSON: fails on an invalid one."""
    return [caddy, "adapt"] + CADDY_ADAPTER + ["--config", caddyfile]


def reload(caddyfile: str, caddy: str = "caddy") -> list[str]:
    """Load the Caddyfile through Caddy's admin API (graceful: requests in flight finish)."""
    return [caddy, "reload"] + CADDY_ADAPTER + ["--config", caddyfile]


def validate(caddyfile: str, caddy: str = "caddy") -> list[str]:
    """Adapt and provision the Caddyfile without running it."""
    return [caddy, "validate"] + CADDY_ADAPTER + ["--config", caddyfile]


__all__ = ["LABEL_PROJECT", "LABEL_SERVICE", "adapt", "build", "compose", "config_hash", "config_json",
           "config_services", "diff_name_status", "exec_", "fetch", "for_each_ref", "image_inspect", "image_rm",
           "images", "inspect", "logs", "ps", "pull", "reload", "rev_parse", "rm", "run_once", "show", "stop",
           "up", "validate", "verify_commit", "worktree_add", "worktree_prune", "worktree_remove"]
