# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the app-wide ``berth_*`` settings, made before any task changes the host.

``check_settings`` judges the values alone (names and path shapes); ``check_app_root``
looks at the app root on the host (a symlink to a system directory, a directory that
belongs to another app or to nothing of ours). Both return a list of problems, one
sentence each, naming the variable and what is allowed; an empty list means the
settings may be used.
"""

from __future__ import annotations
import os
import posixpath
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils import names

# Names that end up in unit names (<app>.service), file names and paths: no separators,
# no spaces, no leading "-" that a command line would read as an option.
SIMPLE_NAME = names.APP_NAME
SIMPLE_NAME_RULE = "1 to 64 letters, digits, '-' or '_', starting with a letter or a digit"
# What Docker Compose itself accepts as a project name.
PROJECT_NAME = names.PROJECT_NAME
PROJECT_NAME_RULE = "1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or a digit, as Compose requires"
# The portable POSIX user name set, lowercase as useradd and groupadd accept it by default.
POSIX_NAME = re.compile(r"[a-z_][a-z0-9_.-]{0,31}\Z")
POSIX_NAME_RULE = "1 to 32 lowercase letters, digits, '_', '.' or '-', starting with a letter or '_'"
# Path components end up unquoted in systemd unit lines and shell scripts.
PATH_COMPONENT = re.compile(r"[A-Za-z0-9._@+-]+\Z")
PATH_RULE = "letters, digits and '.', '_', '-', '@', '+' in each component"

# Directories whose whole tree belongs to the operating system.
SYSTEM_TREES = (
    "/bin", "/boot", "/dev", "/etc", "/proc", "/run", "/sbin", "/sys", "/usr", "/var/lib/docker",
    "/var/lib/dpkg", "/var/lib/apt", "/var/lib/systemd", "/var/log",
)
# Directories that hold other things and must never become an app root themselves.
SYSTEM_DIRS = frozenset((
    "/", "/home", "/lost+found", "/media", "/mnt", "/opt", "/root", "/snap", "/srv", "/tmp", "/var",
    "/var/backups", "/var/cache", "/var/lib", "/var/local", "/var/lock", "/var/mail", "/var/opt",
    "/var/spool", "/var/tmp", "/var/www",
))
# /lib, /lib32, /lib64, /libx32 and their trees.
LIB_TREE = re.compile(r"/lib(32|64|x32)?(/|\Z)")

# What berth.compose.layout and the deploy put in an app root; a directory holding nothing
# else was made by us (hosts provisioned before the marker existed have no marker).
LAYOUT_ENTRIES = frozenset(("repo", "releases", "current", "shared", "backups", ".berth", "releases.jsonl"))
# Written by berth.compose.layout: the name of the app that owns the root.
MARKER = ".berth/app"


@dataclass
class Settings:
    """The app-wide settings this module judges (the berth_ prefix dropped)."""

    app_name: str
    app_root: str
    compose_project: str
    deploy_user: str
    deploy_group: str
    env_file: str
    compose_files: list = field(default_factory=list)


def check_settings(settings: Settings) -> list[str]:
    """Problems with the values themselves, without looking at any host."""
    problems: list[str] = []
    problems += _check_name("berth_app_name", settings.app_name, SIMPLE_NAME, SIMPLE_NAME_RULE,
                            "it names the systemd units, scripts and the default app root")
    problems += _check_name("berth_compose_project", settings.compose_project, PROJECT_NAME, PROJECT_NAME_RULE,
                            "it defaults to berth_app_name")
    problems += _check_name("berth_deploy_user", settings.deploy_user, POSIX_NAME, POSIX_NAME_RULE)
    problems += _check_name("berth_deploy_group", settings.deploy_group, POSIX_NAME, POSIX_NAME_RULE,
                            "it defaults to berth_deploy_user")

    root_problem = path_problem("berth_app_root", settings.app_root)
    if root_problem is None:
        root_problem = system_dir_problem("berth_app_root", settings.app_root)
    if root_problem is not None:
        problems.append(root_problem)
        # Whether the other paths are inside a root that is itself refused says nothing.
        return problems

    env_problem = path_problem("berth_env_file", settings.env_file)
    if env_problem is None and not is_inside(settings.env_file, settings.app_root):
        env_problem = ("berth_env_file=%r is not allowed: it must be a file inside berth_app_root (%s), "
                       "for example %s/shared/.env" % (settings.env_file, settings.app_root, settings.app_root))
    if env_problem is not None:
        problems.append(env_problem)

    if not settings.compose_files:
        problems.append("berth_compose_files is empty: list at least one compose file, relative to the release "
                        "directory (for example compose.yaml)")
    for compose_file in settings.compose_files:
        problem = compose_file_problem(compose_file, settings.app_root)
        if problem is not None:
            problems.append(problem)
    return problems


def _check_name(variable: str, value: object, pattern: re.Pattern[str], rule: str,
                why: str | None = None) -> list[str]:
    if isinstance(value, str) and pattern.match(value):
        return []
    return ["%s=%r is not allowed: use %s%s" % (variable, value, rule, " (%s)" % why if why else "")]


def path_problem(variable: str, path: object, absolute: bool = True) -> str | None:
    """Why ``path`` is not a plain normalized path, or None."""
    if not isinstance(path, str) or not path:
        return "%s=%r is not allowed: it must be a non-empty path" % (variable, path)
    if absolute and not path.startswith("/"):
        return "%s=%r is not allowed: it must be an absolute path" % (variable, path)
    if path != "/" and (path.endswith("/") or "//" in path):
        return "%s=%r is not allowed: write it normalized, without '//' or a trailing '/'" % (variable, path)
    components = [part for part in path.split("/") if part]
    if any(part in (".", "..") for part in components):
        return "%s=%r is not allowed: it must not contain '.' or '..' components" % (variable, path)
    if not all(PATH_COMPONENT.match(part) for part in components):
        return "%s=%r is not allowed: use %s" % (variable, path, PATH_RULE)
    return None


def is_system_dir(path: str) -> bool:
    """True for / and the operating system's directories an app root must never be (or be under)."""
    if path in SYSTEM_DIRS or LIB_TREE.match(path):
        return True
    return any(path == tree or path.startswith(tree + "/") for tree in SYSTEM_TREES)


def system_dir_problem(variable: str, path: str) -> str | None:
    if not is_system_dir(path):
        return None
    return ("%s=%r is not allowed: it is / or a system directory; use a directory of its own such as "
            "/opt/<app> or /srv/<app>" % (variable, path))


def is_inside(path: str, root: str) -> bool:
    """True when ``path`` is strictly below ``root`` (both normalized absolute paths)."""
    return path.startswith(root.rstrip("/") + "/") and path != root


def compose_file_problem(compose_file: object, app_root: str) -> str | None:
    """A compose file is relative to the release directory, or absolute inside the app root."""
    variable = "berth_compose_files"
    if isinstance(compose_file, str) and compose_file.startswith("/"):
        problem = path_problem(variable, compose_file)
        if problem is None and not is_inside(compose_file, app_root):
            problem = ("%s entry %r is not allowed: an absolute compose file must be inside berth_app_root (%s); "
                       "otherwise give it relative to the release directory" % (variable, compose_file, app_root))
        return problem
    problem = path_problem(variable, compose_file, absolute=False)
    if problem is not None:
        return problem.replace("berth_compose_files=", "berth_compose_files entry ", 1) + \
            " (a relative path inside the release directory)"
    return None


# berth_hooks: hook name -> one step or a list of steps; berth_restart_guards: service -> one guard.
HOOK_KEYS = ("service", "command", "mode", "when")
HOOK_MODES = ("exec", "run")
HOOK_WHENS = ("before", "after")
GUARD_KEYS = ("command", "wait", "on_busy")
GUARD_ON_BUSY = ("defer", "fail")
ARGV_RULE = "a non-empty list of strings (the argv, no shell: for example [sh, -c, 'test ! -e /tmp/busy'])"


def _argv_problem(where: str, command: object) -> str | None:
    if command is None:
        return "%s: command is required, %s" % (where, ARGV_RULE)
    if (not isinstance(command, (list, tuple)) or not command
            or not all(isinstance(part, str) and part for part in command)):
        return "%s: command=%r is not allowed: use %s" % (where, command, ARGV_RULE)
    return None


def _unknown_keys_problem(where: str, entry: Iterable[Any], allowed: Collection[str]) -> str | None:
    unknown = sorted(str(key) for key in entry if key not in allowed)
    if unknown:
        return "%s: %s not allowed (a typo?); allowed keys are %s" % (
            where, ", ".join(repr(key) for key in unknown), ", ".join(allowed))
    return None


def _seconds(value: Any) -> bool:
    """True for a number of seconds, 0 or more (a templated "4" included; a bool is no number)."""
    if isinstance(value, bool):
        return False
    try:
        return float(value) >= 0
    except (TypeError, ValueError):
        return False


def hook_problems(hooks: object) -> list[str]:
    """What is wrong with ``berth_hooks``, each message naming the variable, the hook and what is allowed.

    ``{name: step or [step, ...]}``, each step ``{service, command, mode: exec|run, when: before|after}``;
    judged before anything runs, so a typo in ``when`` can never run a before-hook after cutover.
    """
    if hooks is None:
        return []
    if not isinstance(hooks, dict):
        return ["berth_hooks=%r is not allowed: it must be a mapping of hook name to a step or a list of steps"
                % (hooks,)]
    problems: list[str | None] = []
    for name, defined in hooks.items():
        where = "berth_hooks[%r]" % (name,)
        if not isinstance(name, str) or not name:
            problems.append("%s is not allowed: a hook name is a non-empty string (the name the change rules use)"
                            % where)
        if isinstance(defined, dict):
            steps = [defined]
        elif isinstance(defined, list):
            steps = defined
            if not steps:
                problems.append("%s is empty: give at least one step {service, command, mode, when}" % where)
        else:
            problems.append("%s=%r is not allowed: it must be a step {service, command, mode, when} or a list of "
                            "steps" % (where, defined))
            continue
        for index, step in enumerate(steps, 1):
            at = where if isinstance(defined, dict) else "%s step %d" % (where, index)
            if not isinstance(step, dict):
                problems.append("%s=%r is not allowed: a step is a mapping {service, command, mode, when}"
                                % (at, step))
                continue
            problems.append(_unknown_keys_problem(at, step, HOOK_KEYS))
            service = step.get("service")
            if service is None:
                problems.append("%s: service is required (the compose service the command runs in)" % at)
            elif not names.is_service(service):
                problems.append("%s: service=%r is not allowed: use a compose service name (%s)"
                                % (at, service, names.SERVICE_RULE))
            problems.append(_argv_problem(at, step.get("command")))
            for key, allowed, default in (("mode", HOOK_MODES, "exec"), ("when", HOOK_WHENS, "after")):
                if key in step and step[key] not in allowed:
                    problems.append("%s: %s=%r is not allowed: use %s (default %s)"
                                    % (at, key, step[key], " or ".join(allowed), default))
    return [problem for problem in problems if problem]


def guard_problems(guards: object) -> list[str]:
    """What is wrong with ``berth_restart_guards``: ``{service: {command, wait, on_busy: defer|fail}}``."""
    if guards is None:
        return []
    if not isinstance(guards, dict):
        return ["berth_restart_guards=%r is not allowed: it must be a mapping of service name to "
                "{command, wait, on_busy}" % (guards,)]
    problems: list[str | None] = []
    for service, guard in guards.items():
        where = "berth_restart_guards[%r]" % (service,)
        if not names.is_service(service):
            problems.append("%s is not allowed: the key is a compose service name (%s)"
                            % (where, names.SERVICE_RULE))
        if not isinstance(guard, dict):
            problems.append("%s=%r is not allowed: a guard is a mapping {command, wait, on_busy}" % (where, guard))
            continue
        problems.append(_unknown_keys_problem(where, guard, GUARD_KEYS))
        problems.append(_argv_problem(where, guard.get("command")))
        wait = guard.get("wait", 600)
        if not _seconds(wait):
            problems.append("%s: wait=%r is not allowed: use a number of seconds, 0 or more (default 600)"
                            % (where, wait))
        on_busy = guard.get("on_busy", "defer")
        if on_busy not in GUARD_ON_BUSY:
            problems.append("%s: on_busy=%r is not allowed: use defer (keep the old container for the next run) "
                            "or fail (default defer)" % (where, on_busy))
    return [problem for problem in problems if problem]


@dataclass
class RootState:
    """What the host holds at the app root.

    ``state`` is ``absent``, ``empty``, ``marked`` (the marker names this app), ``legacy`` (a berth
    layout from before the marker) or ``refused`` (``problem`` says why).
    """

    state: str
    problem: str | None = None


def check_app_root(app_root: str, app_name: str) -> RootState:
    """Look at the app root on this host: it may be missing, empty, marked for this app, or a berth layout."""
    if not os.path.lexists(app_root):
        # A symlink in a parent (/opt -> /etc) must not lead the root into a system directory.
        parent = _existing_parent(app_root)
        real = posixpath.join(os.path.realpath(parent), posixpath.relpath(app_root, parent))
        if real != app_root and is_system_dir(real):
            return RootState("refused", "berth_app_root=%r is not allowed: it resolves to %s, a system directory"
                             % (app_root, real))
        return RootState("absent")
    real = os.path.realpath(app_root)
    if real != app_root and is_system_dir(real):
        return RootState("refused", "berth_app_root=%r is not allowed: it resolves to %s, a system directory"
                         % (app_root, real))
    if not os.path.isdir(app_root):
        return RootState("refused", "berth_app_root=%r is not allowed: it exists and is not a directory" % app_root)
    marker = os.path.join(app_root, MARKER)
    if os.path.isfile(marker):
        owner = _read_marker(marker)
        if owner == app_name:
            return RootState("marked")
        return RootState("refused", "berth_app_root=%r is not allowed: it belongs to the app %r (see %s), not to "
                         "berth_app_name=%r; choose another root, or put %r in %s if this really is a rename"
                         % (app_root, owner, marker, app_name, app_name, marker))
    entries = set(os.listdir(app_root))
    if not entries:
        return RootState("empty")
    if entries <= LAYOUT_ENTRIES:
        return RootState("legacy")
    strangers = sorted(entries - LAYOUT_ENTRIES)
    return RootState("refused", "berth_app_root=%r is not allowed: the directory exists and holds %s, which no "
                     "berth.compose app put there (it has no %s marker); use an empty or new directory, or write "
                     "%r to %s when it really is this app's root"
                     % (app_root, ", ".join(strangers[:5]) + (", ..." if len(strangers) > 5 else ""), MARKER,
                        app_name, marker))


def _existing_parent(path: str) -> str:
    parent = posixpath.dirname(path)
    while parent != "/" and not os.path.lexists(parent):
        parent = posixpath.dirname(parent)
    return parent


def _read_marker(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read(256).strip()
