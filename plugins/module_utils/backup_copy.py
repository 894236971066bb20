# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The off-host copy of database backups (``berth_backup_copy``).

``berth_backup_copy`` is ``{host, user, path, port, key, host_key}``: after each new dump, the dump
and its ``.sha256`` go with ``rsync`` over SSH to ``<path>/<app>/<backup name>/`` on ``host`` as
``user``, authenticated by ``key`` (a private key from the vault, installed root-only by provision)
and checking the target against ``host_key`` alone (pinned in a known_hosts file of its own). The
copies there are pruned to the backup's ``keep`` with the same rules as the local dumps
(:func:`backups.list_dumps`, :func:`backups.to_prune`), removing only names of the dump pattern:
never ``rsync --delete`` (a rebuilt host with an empty directory would wipe the remote history).

The functions are pure; :class:`Copier` runs them with :func:`host.run`. The key text never reaches
an argv, a message or a result: SSH reads it from its file. No Ansible imports.
"""

from __future__ import annotations

import ipaddress
import os
import posixpath
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils import host
from ansible_collections.berth.compose.plugins.module_utils.backups import BackupError, list_dumps, to_prune

VARIABLE = "berth_backup_copy"
KEYS = ("host", "user", "path", "port", "key", "host_key")
REQUIRED = ("host", "user", "path", "key", "host_key")
DEFAULT_PORT = 22
CONNECT_TIMEOUT = 10
# Where provision puts the key and the pinned host key: root's own, outside the app root the deploy
# user (and so the app's code) owns.
FILES_DIR = "/etc/berth/%s/backup-copy"
KEY_NAME = "id_key"
KNOWN_HOSTS_NAME = "known_hosts"
HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                         r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
USER_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
PATH_COMPONENT_RE = re.compile(r"^[A-Za-z0-9._@+-]+$")
KEY_BLOCK_RE = re.compile(r"^\s*-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----\s*\n[A-Za-z0-9+/=:,\-\s]+\n"
                          r"-----END \1PRIVATE KEY-----\s*$")
HOST_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                  "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")
HOST_KEY_RE = re.compile(r"^(%s) ([A-Za-z0-9+/]{16,}={0,2})$" % "|".join(re.escape(t) for t in HOST_KEY_TYPES))
ERROR_LINES = 5


def _host_ok(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return bool(HOSTNAME_RE.match(value)) and not value.startswith("-")


def validate(copy: object, variable: str = VARIABLE, secrets: bool = True) -> list[str]:
    """Everything wrong with ``copy``, each problem naming ``<variable>.<key>`` and what is allowed;
    empty (or None) is off. The key's value is never quoted. ``secrets`` False: the key and the host
    key may be left out (a module that only reads the files provision wrote)."""
    if copy is None or copy == {} or copy == "":
        return []
    if not isinstance(copy, Mapping):
        return ["%s must be a mapping {host, user, path, port, key, host_key} (or {} for no copy)" % variable]
    problems: list[str] = []
    unknown = sorted(str(k) for k in copy if k not in KEYS)
    if unknown:
        problems.append("%s has unknown keys %s (allowed: %s)" % (variable, ", ".join(unknown), ", ".join(KEYS)))
    missing = [k for k in REQUIRED if copy.get(k) in (None, "") and (secrets or k not in ("key", "host_key"))]
    if missing:
        problems.append("%s needs %s" % (variable, ", ".join("%s.%s" % (variable, k) for k in missing)))
    value = copy.get("host")
    if value not in (None, "") and not (isinstance(value, str) and _host_ok(value)):
        problems.append("%s.host must be a host name or an IP address (%r is not)" % (variable, value))
    value = copy.get("user")
    if value not in (None, "") and not (isinstance(value, str) and USER_RE.match(value)):
        problems.append("%s.user must be a plain user name: 1-32 of a-z, 0-9, '_', '.', '-', starting with a letter "
                        "or '_' (%r is not)" % (variable, value))
    value = copy.get("path")
    if value not in (None, ""):
        problem = path_problem(value)
        if problem:
            problems.append("%s.path %s (%r is not)" % (variable, problem, value))
    value = copy.get("port", DEFAULT_PORT)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        problems.append("%s.port must be a port number 1-65535 (default 22)" % variable)
    value = copy.get("key")
    if value not in (None, "") and not (isinstance(value, str) and KEY_BLOCK_RE.match(value)):
        problems.append("%s.key must be an OpenSSH or PEM private key block (-----BEGIN ... PRIVATE KEY----- to "
                        "-----END ... PRIVATE KEY-----), from the vault; its value is not shown" % variable)
    value = copy.get("host_key")
    if value not in (None, "") and not (isinstance(value, str) and HOST_KEY_RE.match(value.strip())):
        problems.append("%s.host_key must be the target's public host key on one line, '<type> <base64>' with a type "
                        "of %s (ssh-keyscan -t ed25519 <host> prints it after the host name)"
                        % (variable, ", ".join(HOST_KEY_TYPES[:3])))
    return problems


def path_problem(path: object) -> str | None:
    """What is wrong with the remote base path, or None."""
    if not isinstance(path, str) or not path.startswith("/"):
        return "must be an absolute path"
    if path.rstrip("/") == "" or posixpath.normpath(path) == "/":
        return "must not be /"
    parts = path.strip("/").split("/")
    if ".." in parts or "." in parts or "" in parts or posixpath.normpath(path) != path.rstrip("/"):
        return "must be normalised (no '..', '.' or '//')"
    if not all(PATH_COMPONENT_RE.match(p) for p in parts):
        return "must have only letters, digits and '.', '_', '-', '@', '+' in each component"
    return None


def enabled(copy: object) -> bool:
    return isinstance(copy, Mapping) and bool(copy.get("host"))


def target(copy: Mapping[str, Any]) -> dict[str, Any]:
    """The settings without the key (what a module needs and may show), port defaulted."""
    return dict(host=str(copy["host"]), user=str(copy["user"]), path=str(copy["path"]).rstrip("/"),
                port=int(copy.get("port") or DEFAULT_PORT))


def files_dir(app: str) -> str:
    return FILES_DIR % app


def key_file(app: str) -> str:
    return posixpath.join(files_dir(app), KEY_NAME)


def known_hosts_file(app: str) -> str:
    return posixpath.join(files_dir(app), KNOWN_HOSTS_NAME)


def known_hosts_name(host_name: str, port: int) -> str:
    """How ssh looks the target up in known_hosts: the bare name on port 22, ``[host]:port`` otherwise."""
    return host_name if int(port) == DEFAULT_PORT else "[%s]:%d" % (host_name, int(port))


def known_hosts_line(copy: Mapping[str, Any]) -> str:
    """The known_hosts line that pins the target's host key."""
    t = target(copy)
    return "%s %s\n" % (known_hosts_name(t["host"], t["port"]), " ".join(str(copy["host_key"]).split()))


def remote_dir(t: Mapping[str, Any], app: str, name: str) -> str:
    return posixpath.join(t["path"], app, name)


def destination(t: Mapping[str, Any]) -> str:
    """``user@host:path`` as messages name the target."""
    return "%s@%s:%s" % (t["user"], t["host"], t["path"])


def _rsync_host(host_name: str) -> str:
    return "[%s]" % host_name if ":" in host_name else host_name


def ssh_options(t: Mapping[str, Any], key: str, known_hosts: str) -> list[str]:
    """ssh's options: this key only, the pinned host key only, never a prompt."""
    return ["-i", key, "-o", "UserKnownHostsFile=" + known_hosts, "-o", "GlobalKnownHostsFile=" + known_hosts,
            "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=%d" % CONNECT_TIMEOUT,
            "-p", str(int(t["port"]))]


def ssh_argv(t: Mapping[str, Any], key: str, known_hosts: str, command: str) -> list[str]:
    return ["ssh"] + ssh_options(t, key, known_hosts) + ["--", "%s@%s" % (t["user"], t["host"]), command]


def mkdir_command(directory: str) -> str:
    """Remote shell: make the directory (and its parents)."""
    return "mkdir -p -- %s" % shlex.quote(directory)


def list_command(directory: str) -> str:
    """Remote shell: the directory's names, one a line."""
    return "ls -1A -- %s" % shlex.quote(directory)


def rsync_argv(t: Mapping[str, Any], key: str, known_hosts: str, files: Sequence[str], directory: str) -> list[str]:
    """Copy ``files`` into the existing remote ``directory`` (no --delete: nothing else there is touched)."""
    shell = " ".join(shlex.quote(a) for a in ["ssh"] + ssh_options(t, key, known_hosts))
    return ["rsync", "--times", "--timeout=300", "-e", shell, "--", *files, "%s@%s:%s/" % (t["user"], _rsync_host(t["host"]), directory)]


def remote_prune(listing: str, extension: str, keep: int) -> list[str]:
    """The remote dumps beyond the newest ``keep`` among the names a listing printed."""
    return to_prune(list_dumps([line.strip() for line in listing.splitlines()], extension), keep)


def prune_command(directory: str, dumps: Sequence[str], extension: str) -> str:
    """Remote shell: remove ``dumps`` and their sha256 files; refuses any name outside the dump pattern."""
    checked = list_dumps(dumps, extension)
    if sorted(dumps) != checked:
        raise BackupError("refusing to remove names that are not dumps: %s" % ", ".join(
            sorted(set(dumps) - set(checked))))
    names = []
    for name in checked:
        names += [name, name + ".sha256"]
    return "cd -- %s && rm -f -- %s" % (shlex.quote(directory), " ".join(shlex.quote(n) for n in names))


def clean_error(text: str, lines: int = ERROR_LINES) -> str:
    """The last lines of ssh/rsync output, one line, for a message."""
    return " ".join(host.tail(text or "", lines).split()) or "no output"


Run = Callable[..., host.Result]


class Copier:
    """Copies dumps to the target ``t`` (``target()``) with the key and known_hosts files provision wrote."""

    def __init__(self, t: Mapping[str, Any], key: str, known_hosts: str, run: Run = host.run,
                 timeout: float | None = 3600) -> None:
        self.t = dict(t)
        self.key = key
        self.known_hosts = known_hosts
        self.run = run
        self.timeout = timeout
        self.destination = destination(self.t)

    def _call(self, argv: Sequence[str], what: str) -> str:
        try:
            return str(self.run(list(argv), timeout=self.timeout, check=True).out)
        except host.CommandError as exc:
            raise BackupError("%s failed: %s" % (what, clean_error(str(getattr(exc, "output", "") or exc))))

    def copy(self, file: str, app: str, name: str, extension: str, keep: int) -> dict[str, Any]:
        """Copy ``file`` and its sha256 to ``<path>/<app>/<name>/``, then prune the copies there to ``keep``.
        The remote directory and what it holds; BackupError naming the step that failed."""
        for path, what in ((self.key, "the key"), (self.known_hosts, "the pinned host key")):
            if not os.path.isfile(path):
                raise BackupError("%s file %s is missing (provision.yml installs it from berth_backup_copy)"
                                  % (what, path))
        directory = remote_dir(self.t, app, name)
        self._call(ssh_argv(self.t, self.key, self.known_hosts, mkdir_command(directory)),
                   "ssh (mkdir -p %s)" % directory)
        self._call(rsync_argv(self.t, self.key, self.known_hosts, [file, file + ".sha256"], directory), "rsync")
        listing = self._call(ssh_argv(self.t, self.key, self.known_hosts, list_command(directory)),
                             "ssh (ls %s)" % directory)
        pruned = remote_prune(listing, extension, keep)
        if pruned:
            self._call(ssh_argv(self.t, self.key, self.known_hosts, prune_command(directory, pruned, extension)),
                       "ssh (prune %s)" % directory)
        kept = [n for n in list_dumps(listing.split(), extension) if n not in pruned]
        return dict(remote="%s@%s:%s" % (self.t["user"], self.t["host"], directory), pruned=pruned, kept=kept)


__all__ = ["Copier", "destination", "enabled", "files_dir", "key_file", "known_hosts_file", "known_hosts_line",
           "known_hosts_name", "list_command", "mkdir_command", "path_problem", "prune_command", "remote_dir", "remote_prune",
           "rsync_argv", "ssh_argv", "ssh_options", "target", "validate"]
