# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One-off commands in the app's environment (``task.yml``): what the ``berth.compose.task`` module runs.

:class:`Task` is the whole run in one process: it takes the deploy lock (held by this process,
like the release engine's: for the whole run when attached, only while it starts when
detached), resolves the release ``current`` points at, runs the command with that release's
compose project (:meth:`ReleaseDir.compose`, the one factory), and appends its ``kind: task``
record (:func:`engine_record.task_record`). The functions below are its pure parts. No
Ansible imports.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils import names
from ansible_collections.berth.compose.plugins.module_utils import deploy_lock
from ansible_collections.berth.compose.plugins.module_utils import host
from ansible_collections.berth.compose.plugins.module_utils import release_log
from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import ComposeProject, run as compose_run
from ansible_collections.berth.compose.plugins.module_utils.engine_record import task_record
from ansible_collections.berth.compose.plugins.module_utils.release_dir import serving_project
from ansible_collections.berth.compose.plugins.module_utils.redact import Redactor

# What Compose accepts as a service name.
SERVICE_RE = names.SERVICE_NAME
TASK_LABEL = "berth.compose.task"


class TaskError(Exception):
    """The task cannot run; nothing was started."""


def command_argv(command: object) -> list[str]:
    """The argv for ``command``: a string runs under ``sh -c`` (pipes, ``&&`` and ``$VAR`` from the
    container's environment work; the image needs a ``sh``), a list runs as given (no shell)."""
    if isinstance(command, str):
        if not command.strip():
            raise TaskError("cmd is empty: give the command to run, for example -e cmd='./manage.py seed'")
        if "\x00" in command:
            raise TaskError("cmd must not contain a NUL byte")
        return ["sh", "-c", command]
    if isinstance(command, (list, tuple)):
        if not command:
            raise TaskError("cmd is an empty list: give the program and its arguments")
        if not all(isinstance(arg, str) for arg in command):
            raise TaskError("cmd as a list must hold strings only (the program and its arguments)")
        if not command[0].strip():
            raise TaskError("cmd's first item (the program) is empty")
        if any("\x00" in arg for arg in command):
            raise TaskError("cmd must not contain a NUL byte")
        return list(command)
    raise TaskError("cmd must be a string (run with sh -c) or a list (the argv), not %s" % type(command).__name__)


def check_service(service: object, services: Collection[str]) -> None:
    """Refuse a service the current release does not define, naming the ones it does."""
    if not isinstance(service, str) or not SERVICE_RE.match(service):
        raise TaskError("service %r is not a Compose service name (letters, digits, '_', '.', '-')" % (service,))
    if service not in services:
        raise TaskError("service %s is not in the current release; its services: %s"
                        % (service, ", ".join(sorted(services)) or "none"))


def container_name(project: str, service: str, now: float | None = None, random_hex: str | None = None) -> str:
    """A name no other container has: ``<project>-task-<service>-<UTC time>-<4 hex>``."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return "%s-task-%s-%s-%s" % (project, service, stamp, random_hex or secrets.token_hex(2))


def run_args(service: str, argv: Iterable[str], name: str, detach: bool) -> list[str]:
    """``docker compose run`` arguments.

    Attached: ``--rm`` (gone when it ends), ``-T`` (no TTY, output captured). Detached: ``-d``
    and no ``--rm``, so ``docker logs`` and the exit code stay readable after it ends. Both:
    ``--no-deps`` (the running services are left alone), a unique ``--name`` and a label.
    """
    args = ["run", "--no-deps", "--name", name, "--label", "%s=%s" % (TASK_LABEL, service)]
    args += ["-d"] if detach else ["--rm", "-T"]
    return args + [service] + list(argv)


def follow_hint(name: str) -> str:
    """How an operator follows and then removes a detached task."""
    # No Go template in the text (``{{.State.ExitCode}}``): Ansible refuses module results that look like Jinja.
    return ("follow its output: docker logs -f %s; wait for its end and exit code: docker wait %s; "
            "remove it afterwards: docker rm %s" % (name, name, name))


def parse_release_env(text: str | None) -> dict[str, str]:
    """``KEY=value`` lines of a release's ``.berth/release.env`` as a dict."""
    values: dict[str, str] = {}
    for line in (text or "").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def tail(text: str | None, lines: int | None) -> str:
    """The last ``lines`` lines of a task's output, for the task module's ``log_lines``.

    That option documents 0 as "all of it", so 0 (or None) asks :func:`host.tail` for all
    (``None``); any other count is host.tail's one rule."""
    return host.tail(text, lines or None)


def record_message(service: str, argv: Iterable[str], detach: bool, container: str, exit_code: int | None) -> str:
    """The record's message: the service, the command and how it ended (keep secrets out of cmd)."""
    how = "(detached as %s)" % container if detach else "(exit %s)" % exit_code
    return "%s: %s %s" % (service, " ".join(argv), how)


class Task:
    """One task run (``params``: the module's options); :meth:`run` returns the module's result."""

    def __init__(self, params: dict[str, Any], check_mode: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.p = params
        self.check_mode = check_mode
        self.clock = clock
        self.layout = rel.Layout(params["root"])
        self.lock_path = os.path.join(self.layout.state, "deploy.lock")
        self.log_path = os.path.join(params["root"], "releases.jsonl")
        self.redactor = Redactor.for_run(params.get("env_file"))

    def run(self, result: dict[str, Any]) -> dict[str, Any]:
        try:
            self._run(result)
        except TaskError as exc:
            result.update(failed=True, msg=str(exc))
        return result

    def _run(self, result: dict[str, Any]) -> None:
        p = self.p
        try:
            argv = command_argv(p["command"])
        except TaskError as exc:
            raise TaskError("Refusing the task, nothing ran: %s" % exc)
        serving = serving_project(p)
        if serving is None:
            raise TaskError("No release serves yet under %s (current is missing): deploy first" % p["root"])
        directory, commit, ref, project = serving
        result.update(commit=commit, ref=ref, release_dir=directory, argv=argv)
        hold = deploy_lock.ProcessHold(self.lock_path)
        lock = self._lock(hold, result)
        try:
            self._in_lock(result, project, argv, lock)
        finally:
            if lock is not None and not self.check_mode:
                try:
                    deploy_lock.release(self.lock_path, token=lock.token)
                except (deploy_lock.LockError, OSError) as exc:
                    result.setdefault("warnings", []).append(str(exc))
                finally:
                    hold.drop()

    def _lock(self, hold: deploy_lock.ProcessHold, result: dict[str, Any]) -> deploy_lock.Outcome:
        p = self.p
        try:
            lock = deploy_lock.acquire(
                self.lock_path, owner="task %s" % p["service"], operator=p["operator"] or deploy_lock.default_operator(),
                controller=p["controller"] or socket.gethostname(), pid=os.getpid(), ttl=p["lock_ttl"],
                wait=p["lock_wait"], force=p["force_unlock"], check_mode=self.check_mode,
                hold=None if self.check_mode else hold)
        except (deploy_lock.LockError, OSError) as exc:
            raise TaskError("Refusing the task, nothing ran: %s" % exc)
        result.setdefault("warnings", []).extend(lock.warnings)
        return lock

    def _in_lock(self, result: dict[str, Any], project: ComposeProject, argv: list[str], lock: deploy_lock.Outcome) -> None:
        p = self.p
        try:
            services = compose_run(project, ["config", "--services"]).stdout.decode("utf-8", "replace").split()
            check_service(p["service"], services)
        except (host.CommandError, TaskError) as exc:
            raise TaskError("Refusing the task, nothing ran: %s" % exc)
        name = container_name(p["project"], p["service"])
        result["container"] = name
        if self.check_mode:
            return
        started = self.clock()
        began = time.monotonic()
        try:
            done = host.run(project.argv(*run_args(p["service"], argv, name, p["detach"])), env=project.process_env(),
                            timeout=p["timeout"] or None, check=False)
            code, out = done.rc, done.out
        except host.CommandError as exc:
            if exc.timeout is None:
                raise TaskError("cannot run %s: %s" % (p["docker"], exc))
            host.run([p["docker"], "rm", "-f", name], check=False)
            code, out = 124, exc.output + "\n[stopped after %d s]" % p["timeout"]
        result.update(changed=True, seconds=round(time.monotonic() - began, 1))
        if p["detach"]:
            if code != 0:
                raise TaskError("The task did not start (exit %d): %s" % (code, tail(out, 20)))
            result.update(follow=follow_hint(name), output=out.strip())
        else:
            result.update(exit_code=code, output=tail(out, p["log_lines"]))
        record = task_record(result["ref"], result["commit"], "ok" if p["detach"] or code == 0 else "failed", started,
                             result["seconds"], (lock.lock or {}).get("operator"),
                             (p.get("record_prefix") or "") + record_message(p["service"], argv, p["detach"], name, code),
                             kind=p.get("record_kind") or "task")
        # The log and the webhooks never get an env value the command line held; the output stays the
        # operator's, who asked for it (a task that prints a value shows it, as `docker compose run` would).
        record["message"] = self.redactor.text(record["message"])
        try:
            result["record"] = release_log.prepare_record(record)
            release_log.append_record(self.log_path, release_log.encode(result["record"]))
        except (release_log.ReleaseLogError, OSError) as exc:
            raise TaskError("the task ran, but recording it in %s failed: %s" % (self.log_path, exc))


__all__ = ["TASK_LABEL", "Task", "TaskError", "check_service", "command_argv", "container_name", "follow_hint",
           "parse_release_env", "record_message", "run_args", "tail"]
