# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One-off commands in the app's environment (``task.yml``): the pure parts.

Pure logic for the ``berth.compose.task`` module; no Ansible imports. The command line
itself is built by :mod:`compose_cli` (the same ``-p``/``--project-directory``/``-f``/
``--env-file`` line the boot unit and every deploy step use).
"""

import re
import secrets
import time

from ansible_collections.berth.compose.plugins.module_utils import host

# What Compose accepts as a service name.
SERVICE_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")
TASK_LABEL = "berth.compose.task"


class TaskError(Exception):
    """The task cannot run; nothing was started."""


def command_argv(command):
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


def check_service(service, services):
    """Refuse a service the current release does not define, naming the ones it does."""
    if not isinstance(service, str) or not SERVICE_RE.match(service):
        raise TaskError("service %r is not a Compose service name (letters, digits, '_', '.', '-')" % (service,))
    if service not in services:
        raise TaskError("service %s is not in the current release; its services: %s"
                        % (service, ", ".join(sorted(services)) or "none"))


def container_name(project, service, now=None, random_hex=None):
    """A name no other container has: ``<project>-task-<service>-<UTC time>-<4 hex>``."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return "%s-task-%s-%s-%s" % (project, service, stamp, random_hex or secrets.token_hex(2))


def run_args(service, argv, name, detach):
    """``docker compose run`` arguments.

    Attached: ``--rm`` (gone when it ends), ``-T`` (no TTY, output captured). Detached: ``-d``
    and no ``--rm``, so ``docker logs`` and the exit code stay readable after it ends. Both:
    ``--no-deps`` (the running services are left alone), a unique ``--name`` and a label.
    """
    args = ["run", "--no-deps", "--name", name, "--label", "%s=%s" % (TASK_LABEL, service)]
    args += ["-d"] if detach else ["--rm", "-T"]
    return args + [service] + list(argv)


def follow_hint(name):
    """How an operator follows and then removes a detached task."""
    # No Go template in the text (``{{.State.ExitCode}}``): Ansible refuses module results that look like Jinja.
    return ("follow its output: docker logs -f %s; wait for its end and exit code: docker wait %s; "
            "remove it afterwards: docker rm %s" % (name, name, name))


def parse_release_env(text):
    """``KEY=value`` lines of a release's ``.berth/release.env`` as a dict."""
    values = {}
    for line in (text or "").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def tail(text, lines):
    """The last ``lines`` lines of a task's output, for the task module's ``log_lines``.

    That option documents 0 as "all of it", so 0 (or None) asks :func:`host.tail` for all
    (``None``); any other count is host.tail's one rule."""
    return host.tail(text, lines or None)


__all__ = ["TASK_LABEL", "TaskError", "check_service", "command_argv", "container_name", "follow_hint",
           "parse_release_env", "run_args", "tail"]
