# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Database backups by service (``berth_backups``): dump, keep, check, restore.

A backup is ``{name, service, command, restore_command, extension, keep, on_calendar, writers}``.
Its dump runs inside ``service``'s container of the release that serves
(``docker compose exec -T``, the serving release's compose project from
:func:`release_dir.serving_project`) and its stdout becomes
``<root>/backups/<name>/<UTC time>.<extension>`` (0600), with ``<file>.sha256`` beside it
(``sha256sum`` format). The dump goes to a hidden temporary name first and is renamed only
after the command exited 0 with a non-empty output: a failed dump never replaces a good one
and never counts toward ``keep``. The restore pipes a dump whose sha256 matches into
``restore_command`` with the writers stopped, then starts and gates them.

Each backup keeps its last attempt in ``<dir>/.state.json``; :func:`render_metrics` turns
those into node_exporter textfile metrics. The functions are pure; :class:`Backups` and
:class:`Restore` run them against the host. No Ansible imports.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any

from ansible_collections.berth.compose.plugins.module_utils import host
from ansible_collections.berth.compose.plugins.module_utils import names
from ansible_collections.berth.compose.plugins.module_utils.atomic_file import atomic_write, fsync_dir, unlink_quietly
from ansible_collections.berth.compose.plugins.module_utils.release_dir import serving_project

KEYS = ("name", "service", "command", "restore_command", "extension", "keep", "on_calendar", "writers")
DEFAULT_KEEP = 7
DEFAULT_ON_CALENDAR = "daily"
DEFAULT_EXTENSION = "dump"
DEFAULT_MAX_AGE = 26 * 3600
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
EXTENSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$")
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
STAMP_RE = r"[0-9]{8}T[0-9]{6}Z"
STATE_FILE = ".state.json"
RESULTS = ("ok", "failed")
DURATION_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class BackupError(Exception):
    """A backup or a restore cannot go on; the message is for the operator."""


# --------------------------------------------------------------------------- settings


def command_problems(value: object, where: str) -> list[str]:
    """A command is a non-empty string (run with ``sh -c``) or a non-empty list of strings (the argv)."""
    if isinstance(value, str):
        return [] if value.strip() and "\x00" not in value else ["%s must be a non-empty command" % where]
    if isinstance(value, list) and value and all(isinstance(a, str) for a in value) and value[0].strip():
        return []
    return ["%s must be a non-empty string (run with sh -c) or a non-empty list of strings (the argv)" % where]


def validate(backups: object, variable: str = "berth_backups") -> list[str]:
    """Everything wrong with ``backups``, each problem naming the variable, the entry and the key."""
    if backups is None:
        return []
    if not isinstance(backups, list):
        return ["%s must be a list of {name, service, command, restore_command, ...}" % variable]
    problems: list[str] = []
    seen: set[str] = set()
    for index, entry in enumerate(backups):
        where = "%s[%d]" % (variable, index)
        if not isinstance(entry, Mapping):
            problems.append("%s must be a mapping" % where)
            continue
        unknown = sorted(str(k) for k in entry if k not in KEYS)
        if unknown:
            problems.append("%s has unknown keys %s (allowed: %s)" % (where, ", ".join(unknown), ", ".join(KEYS)))
        name = entry.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.append("%s.name must be 1-40 of a-z, 0-9, '_', '-' (it names a directory and a unit)" % where)
        elif name in seen:
            problems.append("%s.name %s is used twice" % (where, name))
        else:
            seen.add(name)
            where = "%s (%s)" % (where, name)
        service = entry.get("service")
        if not isinstance(service, str) or not names.SERVICE_NAME.match(service):
            problems.append("%s.service must be a Compose service name" % where)
        problems += command_problems(entry.get("command"), where + ".command")
        problems += command_problems(entry.get("restore_command"), where + ".restore_command")
        extension = entry.get("extension", DEFAULT_EXTENSION)
        if not isinstance(extension, str) or not EXTENSION_RE.match(extension) or extension.endswith("sha256"):
            problems.append("%s.extension must be 1-20 of letters, digits, '.', '_', '-' (not sha256)" % where)
        keep = entry.get("keep", DEFAULT_KEEP)
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            problems.append("%s.keep must be a whole number of 1 or more" % where)
        calendar = entry.get("on_calendar", DEFAULT_ON_CALENDAR)
        if not isinstance(calendar, str) or not calendar.strip() or any(c in calendar for c in "\n\r%"):
            problems.append("%s.on_calendar must be a systemd OnCalendar expression on one line" % where)
        writers = entry.get("writers")
        if writers is not None and (not isinstance(writers, list) or not all(
                isinstance(w, str) and names.SERVICE_NAME.match(w) for w in writers)):
            problems.append("%s.writers must be a list of Compose service names" % where)
    return problems


def normalise(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One valid entry with its defaults filled in."""
    return dict(name=entry["name"], service=entry["service"], command=entry["command"],
                restore_command=entry["restore_command"],
                extension=entry.get("extension") or DEFAULT_EXTENSION,
                keep=int(entry.get("keep") or DEFAULT_KEEP),
                on_calendar=entry.get("on_calendar") or DEFAULT_ON_CALENDAR,
                writers=list(entry["writers"]) if entry.get("writers") is not None else None)


def find(backups: Sequence[Mapping[str, Any]], name: object) -> dict[str, Any]:
    """The backup called ``name``, defaults filled in; refused naming the ones there are."""
    for entry in backups:
        if entry.get("name") == name:
            return normalise(entry)
    known = ", ".join(str(e.get("name")) for e in backups) or "none (berth_backups is empty)"
    raise BackupError("no backup is called %r; berth_backups has: %s" % (name, known))


def argv(command: str | Sequence[str]) -> list[str]:
    """A string runs under ``sh -c`` in the container; a list is the argv."""
    return ["sh", "-c", command] if isinstance(command, str) else list(command)


def parse_duration(value: object) -> float:
    """Seconds of ``26h``, ``90m``, ``2d``, ``3600`` or a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = DURATION_RE.match(value) if isinstance(value, str) else None
    if not match:
        raise BackupError("%r is not a duration (a number of seconds, or with s, m, h or d: 26h)" % (value,))
    return float(match.group(1)) * UNITS[match.group(2)]


# --------------------------------------------------------------------------- files


def backup_dir(root: str, name: str) -> str:
    return os.path.join(root, "backups", name)


def stamp(now: float) -> str:
    return time.strftime(STAMP_FORMAT, time.gmtime(now))


def file_name(now: float, extension: str) -> str:
    """``<UTC time>.<extension>``: names sort by time."""
    return "%s.%s" % (stamp(now), extension)


def dump_re(extension: str) -> re.Pattern[str]:
    return re.compile(r"^%s\.%s$" % (STAMP_RE, re.escape(extension)))


def list_dumps(names_in_dir: Iterable[str], extension: str) -> list[str]:
    """The complete dumps among a directory's names, oldest first (temporary and sha256 files are not dumps)."""
    pattern = dump_re(extension)
    return sorted(n for n in names_in_dir if pattern.match(n))


def to_prune(dumps: Sequence[str], keep: int) -> list[str]:
    """The dumps beyond the newest ``keep`` (``dumps`` oldest first)."""
    keep = max(int(keep), 1)
    return list(dumps[:-keep]) if len(dumps) > keep else []


def sha_line(digest: str, name: str) -> str:
    """``sha256sum`` format, so ``sha256sum -c <file>.sha256`` checks it by hand."""
    return "%s  %s\n" % (digest, name)


def parse_sha(text: str) -> str | None:
    """The digest of a ``.sha256`` file, or None."""
    match = re.match(r"^([0-9a-f]{64})\b", text.strip())
    return match.group(1) if match else None


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve(directory: str, extension: str, wanted: object) -> str:
    """The dump ``wanted`` names: ``latest``, a file name in ``directory`` or a path to one there."""
    dumps = list_dumps(os.listdir(directory) if os.path.isdir(directory) else [], extension)
    if wanted in (None, "", "latest"):
        if not dumps:
            raise BackupError("no dump in %s yet" % directory)
        return os.path.join(directory, dumps[-1])
    if not isinstance(wanted, str):
        raise BackupError("backup must be latest or a dump's file name")
    base = os.path.basename(wanted)
    if (os.path.dirname(wanted) and os.path.realpath(os.path.dirname(wanted)) != os.path.realpath(directory)) \
            or base not in dumps:
        raise BackupError("%s is not a dump of this backup; the dumps in %s: %s" % (
            wanted, directory, ", ".join(dumps[-10:]) or "none"))
    return os.path.join(directory, base)


# --------------------------------------------------------------------------- state and metrics


def read_state(directory: str) -> dict[str, Any]:
    try:
        with open(os.path.join(directory, STATE_FILE)) as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def next_state(state: Mapping[str, Any], now: float, result: str, size: int | None = None,
               file: str | None = None, error: str | None = None) -> dict[str, Any]:
    """The state after an attempt: a failure keeps the last success's time, size and file."""
    new = dict(state)
    new.update(last_attempt=int(now), last_result=result, last_error=error if result != "ok" else None)
    if result == "ok":
        new.update(last_success=int(now), last_size=int(size or 0), last_file=file)
    return new


def next_copy_state(state: Mapping[str, Any], now: float, result: str, remote: str | None = None,
                    error: str | None = None) -> dict[str, Any]:
    """The state after an off-host copy (``berth_backup_copy``): a failure keeps the last success's time."""
    new = dict(state)
    new.update(copy_last_attempt=int(now), copy_last_result=result, copy_last_error=error if result != "ok" else None,
               copy_remote=remote)
    if result == "ok":
        new.update(copy_last_success=int(now))
    return new


def copy_report(name: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
    """What verify says of the last off-host copy of ``name``, or None when none was tried."""
    result = state.get("copy_last_result")
    if result is None:
        return None
    when = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(int(state.get("copy_last_attempt") or 0)))
    if result == "ok":
        return dict(name=name, ok=True, msg="backup %s: last copy to %s ok (%s)" % (
            name, state.get("copy_remote"), when))
    return dict(name=name, ok=False, msg="backup %s: the last copy to %s FAILED (%s): %s" % (
        name, state.get("copy_remote"), when, state.get("copy_last_error") or "unknown error"))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _gauge(name: str, help_text: str, labels: Mapping[str, str], values: Mapping[str, int]) -> list[str]:
    """One gauge: its HELP and TYPE lines, then one sample per backup (labels: backup -> its labels)."""
    lines = ["# HELP %s %s" % (name, help_text), "# TYPE %s gauge" % name]
    return lines + ["%s{%s} %d" % (name, labels[backup], values[backup]) for backup in sorted(labels)]


def _result_gauge(name: str, help_text: str, labels: Mapping[str, str], results: Mapping[str, Any]) -> list[str]:
    """A gauge per backup and result of RESULTS: 1 for the result its last attempt had, 0 for the others."""
    lines = ["# HELP %s %s" % (name, help_text), "# TYPE %s gauge" % name]
    for backup in sorted(labels):
        lines += ['%s{%s,result="%s"} %d' % (name, labels[backup], result, 1 if results[backup] == result else 0)
                  for result in RESULTS]
    return lines


def render_metrics(app: str, states: Mapping[str, Mapping[str, Any]], copy: bool = False) -> str:
    """node_exporter textfile metrics of every backup (Prometheus text format); with ``copy``
    (``berth_backup_copy`` set) those of the off-host copies too."""
    labels = dict((name, 'app="%s",backup="%s"' % (_label(app), _label(name))) for name in states)

    def of(key: str) -> dict[str, Any]:
        return dict((name, state.get(key)) for name, state in states.items())

    def number(key: str) -> dict[str, int]:
        return dict((name, int(value or 0)) for name, value in of(key).items())

    lines = _gauge("berth_backup_last_success_timestamp_seconds",
                   "When the backup last succeeded (Unix time, 0 never).", labels, number("last_success"))
    lines += _gauge("berth_backup_last_size_bytes", "Size of the last good dump.", labels, number("last_size"))
    lines += _result_gauge("berth_backup_last_result", "Result of the last attempt: 1 for the result it had.",
                           labels, of("last_result"))
    if copy:
        lines += _gauge("berth_backup_copy_last_success_timestamp_seconds",
                        "When the off-host copy last succeeded (Unix time, 0 never).", labels,
                        number("copy_last_success"))
        lines += _result_gauge("berth_backup_copy_last_result",
                               "Result of the last off-host copy: 1 for the result it had.", labels,
                               of("copy_last_result"))
    return "\n".join(lines) + "\n"


def metrics_path(directory: str, app: str) -> str:
    return os.path.join(directory, "berth_backup_%s.prom" % app)


def human_age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return "%d s" % seconds
    if seconds < 7200:
        return "%d min" % (seconds // 60)
    return "%.1f h" % (seconds / 3600.0)


def age_report(name: str, dumps: Sequence[str], now: float, max_age: float,
               mtime: Callable[[str], float]) -> dict[str, Any]:
    """How old the newest dump of ``name`` is, and whether that is within ``max_age`` seconds."""
    if not dumps:
        return dict(name=name, newest=None, age_s=None, ok=False,
                    msg="backup %s: no dump yet (older than %s)" % (name, human_age(max_age)))
    newest = dumps[-1]
    age = max(now - mtime(newest), 0.0)
    ok = age <= max_age
    return dict(name=name, newest=newest, age_s=round(age, 1), ok=ok,
                msg="backup %s: newest %s is %s old (%s %s)" % (
                    name, newest, human_age(age), "within" if ok else "OLDER THAN", human_age(max_age)))


# --------------------------------------------------------------------------- writers


def writers_of(model: Mapping[str, Any], service: str, one_shot: Iterable[str] = (),
               explicit: Sequence[str] | None = None) -> list[str]:
    """The services that write to ``service``'s database: ``explicit`` when given, else those whose
    ``depends_on`` names it in the rendered model; run-to-completion services are not stopped."""
    services = model.get("services") or {}
    if explicit is not None:
        unknown = [s for s in explicit if s not in services]
        if unknown:
            raise BackupError("writers %s are not services of the serving release (%s)" % (
                ", ".join(unknown), ", ".join(sorted(services))))
        return sorted(set(explicit) - {service})
    skip = set(one_shot) | {service}
    found = []
    for name, definition in services.items():
        depends = (definition or {}).get("depends_on") or {}
        if service in depends and name not in skip:
            found.append(name)
    return sorted(found)


# --------------------------------------------------------------------------- running


Runner = Callable[..., "subprocess.CompletedProcess[bytes]"]


class Backups:
    """Dumps of an app root's backups (``params``: root, project, compose_files, env_file, docker, app,
    metrics_dir, owner uid/gid, timeout) with the serving release's compose project."""

    def __init__(self, params: Mapping[str, Any], clock: Callable[[], float] = time.time,
                 runner: Runner = subprocess.run, copier: Any = None) -> None:
        self.p = params
        self.clock = clock
        self.runner = runner
        # berth_backup_copy: a backup_copy.Copier (copy(file, app, name, extension, keep), destination), or None.
        self.copier = copier

    def project(self) -> Any:
        serving = serving_project(dict(root=self.p["root"], project=self.p["project"],
                                       compose_files=self.p["compose_files"], env_file=self.p["env_file"],
                                       docker=self.p.get("docker") or "docker"))
        if serving is None:
            raise BackupError("no release serves under %s yet (current is missing): nothing to back up"
                              % self.p["root"])
        return serving[3]

    def _own(self, path: str) -> None:
        uid, gid = self.p.get("uid"), self.p.get("gid")
        if (uid is not None or gid is not None) and os.geteuid() == 0:
            os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)

    def ensure_dir(self, directory: str) -> None:
        for path in (os.path.dirname(directory), directory):
            if not os.path.isdir(path):
                os.mkdir(path, 0o700)
                self._own(path)

    def dump(self, spec: Mapping[str, Any], project: Any = None) -> dict[str, Any]:
        """One dump of ``spec``; its result (file, size, sha256, seconds, pruned). Raises BackupError
        after recording the failure (the good dumps stay, none is pruned)."""
        directory = backup_dir(self.p["root"], spec["name"])
        self.ensure_dir(directory)
        final = os.path.join(directory, file_name(self.clock(), spec["extension"]))
        tries = 0
        while os.path.exists(final) and tries < 20:  # two dumps in one second: the second waits for the next
            time.sleep(0.1)
            tries += 1
            final = os.path.join(directory, file_name(self.clock(), spec["extension"]))
        if os.path.exists(final):
            raise BackupError("backup %s: %s exists already" % (spec["name"], final))
        temp = os.path.join(directory, ".%s.partial" % os.path.basename(final))
        started = time.monotonic()
        error = None
        try:
            project = project or self.project()
            command = project.argv("exec", "-T", spec["service"], *argv(spec["command"]))
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                done = self.run(command, handle, project.process_env())
                handle.flush()
                os.fsync(handle.fileno())
            size = os.path.getsize(temp)
            if done.returncode != 0:
                error = "the dump command exited %d: %s" % (done.returncode, host.tail(
                    (done.stderr or b"").decode("utf-8", "replace"), 10) or "(no output)")
            elif size == 0:
                error = "the dump command exited 0 but wrote nothing"
        except (OSError, BackupError, subprocess.SubprocessError) as exc:
            error = str(exc)
        if error is not None:
            unlink_quietly(temp)
            self._state(directory, spec["name"], "failed", error=error)
            raise BackupError("backup %s failed, nothing stored (the previous dumps stay): %s" % (spec["name"], error))
        digest = sha256_of(temp)
        self._own(temp)
        atomic_write(final + ".sha256", sha_line(digest, os.path.basename(final)), 0o600,
                     uid=self.p.get("uid") if os.geteuid() == 0 else None,
                     gid=self.p.get("gid") if os.geteuid() == 0 else None)
        os.rename(temp, final)
        fsync_dir(directory)
        pruned = self.prune(directory, spec)
        self._state(directory, spec["name"], "ok", size=size, file=final)
        result = dict(name=spec["name"], file=final, size=size, sha256=digest, pruned=pruned,
                      seconds=round(time.monotonic() - started, 1))
        if self.copier is not None:
            result["off_host"] = self.copy(directory, spec, final)
        return result

    def copy(self, directory: str, spec: Mapping[str, Any], final: str) -> dict[str, Any]:
        """The off-host copy of the dump ``final`` (the dump stays and counts whatever happens): its result,
        recorded in the state; a failure's ``error`` names the local file and the target."""
        app = self.p.get("app") or self.p["project"]
        where = self.copier.destination
        try:
            done = self.copier.copy(final, app, spec["name"], spec["extension"], spec["keep"])
        except BackupError as exc:
            error = str(exc)
            self._write_state(directory, next_copy_state(read_state(directory), self.clock(), "failed",
                                                         remote=where, error=error))
            return dict(result="failed", remote=where, error="backup %s: the dump is stored locally at %s; the copy "
                        "to %s failed: %s" % (spec["name"], final, where, error))
        self._write_state(directory, next_copy_state(read_state(directory), self.clock(), "ok", remote=done["remote"]))
        return dict(done, result="ok")

    def run(self, command: Sequence[str], out: IO[bytes], env: Mapping[str, str]) -> subprocess.CompletedProcess[bytes]:
        return self.runner(list(command), stdout=out, stderr=subprocess.PIPE, env=dict(env),
                           timeout=self.p.get("timeout") or None, check=False)

    def prune(self, directory: str, spec: Mapping[str, Any]) -> list[str]:
        removed = []
        for name in to_prune(list_dumps(os.listdir(directory), spec["extension"]), spec["keep"]):
            unlink_quietly(os.path.join(directory, name))
            unlink_quietly(os.path.join(directory, name + ".sha256"))
            removed.append(name)
        return removed

    def _state(self, directory: str, name: str, result: str, size: int | None = None, file: str | None = None,
               error: str | None = None) -> None:
        self._write_state(directory, next_state(read_state(directory), self.clock(), result, size, file, error))

    def _write_state(self, directory: str, state: Mapping[str, Any]) -> None:
        atomic_write(os.path.join(directory, STATE_FILE), json.dumps(state, sort_keys=True) + "\n", 0o600,
                     uid=self.p.get("uid") if os.geteuid() == 0 else None,
                     gid=self.p.get("gid") if os.geteuid() == 0 else None)

    def write_metrics(self, backups: Sequence[Mapping[str, Any]]) -> str | None:
        """The metrics file of every backup, when ``metrics_dir`` is set; its path."""
        directory = self.p.get("metrics_dir")
        if not directory:
            return None
        states = dict((b["name"], read_state(backup_dir(self.p["root"], b["name"]))) for b in backups)
        os.makedirs(directory, exist_ok=True)
        path = metrics_path(directory, self.p.get("app") or self.p["project"])
        atomic_write(path, render_metrics(self.p.get("app") or self.p["project"], states,
                                          copy=self.copier is not None), 0o644)
        return path

    def ages(self, backups: Sequence[Mapping[str, Any]], max_age: float) -> list[dict[str, Any]]:
        reports = []
        now = self.clock()
        for entry in backups:
            spec = normalise(entry)
            directory = backup_dir(self.p["root"], spec["name"])
            dumps = list_dumps(os.listdir(directory) if os.path.isdir(directory) else [], spec["extension"])
            reports.append(age_report(spec["name"], dumps, now, max_age, _mtime_in(directory)))
        return reports

    def copies(self, backups: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The last off-host copy of each backup that tried one (``copy_report``)."""
        reports = []
        for entry in backups:
            report = copy_report(entry["name"], read_state(backup_dir(self.p["root"], entry["name"])))
            if report is not None:
                reports.append(report)
        return reports


def _mtime_in(directory: str) -> Callable[[str], float]:
    def mtime(name: str) -> float:
        return os.path.getmtime(os.path.join(directory, name))
    return mtime


def verify_file(path: str) -> tuple[str, int]:
    """(sha256, size) of a dump whose ``.sha256`` matches; BackupError otherwise (nothing changed)."""
    try:
        with open(path + ".sha256") as handle:
            expected = parse_sha(handle.read())
    except OSError:
        expected = None
    if expected is None:
        raise BackupError("%s has no readable %s.sha256: refusing to restore it, nothing changed"
                          % (path, os.path.basename(path)))
    actual = sha256_of(path)
    if actual != expected:
        raise BackupError("%s does not match its sha256 (file %s, recorded %s): refusing to restore it, "
                          "nothing changed" % (path, actual[:16], expected[:16]))
    return actual, os.path.getsize(path)


__all__ = ["BackupError", "Backups", "DEFAULT_KEEP", "DEFAULT_MAX_AGE", "DEFAULT_ON_CALENDAR", "age_report", "argv",
           "backup_dir", "copy_report", "file_name", "find", "list_dumps", "metrics_path", "next_copy_state", "next_state", "normalise",
           "parse_duration", "parse_sha", "read_state", "render_metrics", "resolve", "sha256_of", "sha_line",
           "to_prune", "validate", "verify_file", "writers_of"]
