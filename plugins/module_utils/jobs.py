# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scheduled app jobs (``berth_jobs``): their check, and the run one systemd timer starts.

Each job ``{name, service, command, on_calendar, timeout, single_instance}`` becomes the units
``<app>-job-<name>.service`` and ``.timer`` (role berth.compose.systemd). The service calls the
runner ``<libexec>/<app>-job <name>``, which calls :func:`run_job`: the release is resolved when
the job runs (``current``, :func:`release_dir.serving_project` through :class:`task.Task`), never
when the units were written, so jobs survive deploys and follow the serving release. The run is
the task machinery's (deploy lock, ``docker compose run --rm --no-deps``, timeout), recorded as
``kind: job`` in the release log and notified when it failed. No Ansible imports.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import socket
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils import host
from ansible_collections.berth.compose.plugins.module_utils import names
from ansible_collections.berth.compose.plugins.module_utils import release_log
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import run as compose_run
from ansible_collections.berth.compose.plugins.module_utils.engine_record import task_record
from ansible_collections.berth.compose.plugins.module_utils.redact import Redactor
from ansible_collections.berth.compose.plugins.module_utils.release_dir import serving_project
from ansible_collections.berth.compose.plugins.module_utils.task import Task, TaskError, command_argv

VARIABLE = "berth_jobs"
# Safe in a unit name (<app>-job-<name>.service), a file name and a journal line.
JOB_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}\Z")
JOB_NAME_RULE = "1 to 40 lowercase letters, digits, '_' and '-', starting with a letter or digit"
KEYS = ("name", "service", "command", "on_calendar", "timeout", "single_instance")
REQUIRED = ("name", "service", "command", "on_calendar")
DEFAULT_TIMEOUT = 3600
MAX_TIMEOUT = 7 * 24 * 3600
RECORD_PREFIX = "job %s: "
SKIPPED = 0
NO_SUCH_JOB = 2


def unit_name(app: str, name: str) -> str:
    """``<app>-job-<name>``, the base name of the job's service and timer."""
    return "%s-job-%s" % (app, name)


def normalized(job: Mapping[str, Any]) -> dict[str, Any]:
    """A checked job with its defaults: timeout 3600 s, single_instance true."""
    out = {key: job.get(key) for key in KEYS}
    out["timeout"] = DEFAULT_TIMEOUT if job.get("timeout") is None else int(job["timeout"])
    out["single_instance"] = True if job.get("single_instance") is None else bool(job["single_instance"])
    return out


def _timeout_problem(where: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if not (isinstance(value, str) and value.isdigit()):
            return "%s.timeout must be a whole number of seconds, got %r" % (where, value)
        value = int(value)
    if not 1 <= value <= MAX_TIMEOUT:
        return "%s.timeout must be 1 to %d seconds, got %d" % (where, MAX_TIMEOUT, value)
    return None


def _job_problems(where: str, job: Mapping[str, Any]) -> list[str]:
    problems = []
    unknown = sorted(str(key) for key in job if key not in KEYS)
    if unknown:
        problems.append("%s has unknown keys %s (allowed: %s)" % (where, ", ".join(unknown), ", ".join(KEYS)))
    missing = [key for key in REQUIRED if job.get(key) is None]
    if missing:
        problems.append("%s lacks %s" % (where, ", ".join(missing)))
    name = job.get("name")
    if name is not None and not (isinstance(name, str) and JOB_NAME.match(name)):
        problems.append("%s.name %r is not a job name (%s; it names the units)" % (where, name, JOB_NAME_RULE))
    service = job.get("service")
    if service is not None and not names.is_service(service):
        problems.append("%s.service %r is not a Compose service name (%s)" % (where, service, names.SERVICE_RULE))
    if job.get("command") is not None:
        try:
            command_argv(job["command"])
        except TaskError as exc:
            problems.append("%s.command: %s" % (where, str(exc).replace("cmd", "command")))
    calendar = job.get("on_calendar")
    if calendar is not None and not (isinstance(calendar, str) and calendar.strip()
                                     and not any(c in calendar for c in "\n\r\x00%")):
        problems.append("%s.on_calendar must be a systemd calendar expression (hourly, *-*-* 02:00:00), got %r"
                        % (where, calendar))
    problem = _timeout_problem(where, job.get("timeout"))
    if problem:
        problems.append(problem)
    if job.get("single_instance") is not None and not isinstance(job["single_instance"], bool):
        problems.append("%s.single_instance must be true or false" % where)
    return problems


def job_problems(jobs: object) -> list[str]:
    """What is wrong with ``berth_jobs`` (no host needed), each naming the variable and the entry."""
    if jobs is None:
        return []
    if not isinstance(jobs, list):
        return ["%s must be a list of {name, service, command, on_calendar, timeout, single_instance}" % VARIABLE]
    problems: list[str] = []
    seen: set[str] = set()
    for index, job in enumerate(jobs):
        where = "%s[%d]" % (VARIABLE, index)
        if not isinstance(job, Mapping):
            problems.append("%s must be a mapping of %s" % (where, ", ".join(KEYS)))
            continue
        problems += _job_problems(where, job)
        name = job.get("name")
        if isinstance(name, str):
            if name in seen:
                problems.append("%s.name %s is used twice (job names must be unique)" % (where, name))
            seen.add(name)
    return problems


def calendar_problems(jobs: Iterable[Mapping[str, Any]], analyze: Callable[[str], tuple[int, str]]) -> list[str]:
    """The jobs whose ``on_calendar`` the host's ``systemd-analyze calendar`` refuses.

    ``analyze(expression)`` returns ``(exit code, output)``."""
    problems = []
    for index, job in enumerate(jobs):
        code, out = analyze(str(job["on_calendar"]))
        if code != 0:
            reason = " ".join(out.split())[:200] or "exit %d" % code
            problems.append("%s[%d].on_calendar %r is refused by systemd-analyze calendar: %s"
                            % (VARIABLE, index, job["on_calendar"], reason))
    return problems


def service_problems(jobs: Iterable[Mapping[str, Any]], services: Collection[str]) -> list[str]:
    """The jobs whose service the serving release's compose model does not define."""
    return ["%s[%d].service %s is not a service of the release that serves now; its services: %s"
            % (VARIABLE, index, job["service"], ", ".join(sorted(services)) or "none")
            for index, job in enumerate(jobs) if job["service"] not in services]


def analyze_calendar(expression: str) -> tuple[int, str]:
    """``systemd-analyze calendar EXPRESSION`` on this host: ``(exit code, output)``; (0, "") without it."""
    binary = shutil.which("systemd-analyze")
    if binary is None:
        return 0, ""
    try:
        done = host.run([binary, "calendar", "--", expression], check=False, timeout=30)
    except host.CommandError as exc:
        return 1, str(exc)
    return done.rc, done.out


def serving_services(params: Mapping[str, Any]) -> list[str] | None:
    """The services of the release that serves under ``params['root']`` (its rendered compose model), or None
    when that cannot be known (nothing serves yet, docker or the env file missing)."""
    try:
        serving = serving_project(params)
        if serving is None:
            return None
        return compose_run(serving[3], ["config", "--services"]).stdout.decode("utf-8", "replace").split()
    except (host.CommandError, OSError, ValueError):
        return None


def host_problems(jobs: list[Mapping[str, Any]], params: Mapping[str, Any],
                  analyze: Callable[[str], tuple[int, str]] = analyze_calendar,
                  services: Callable[[Mapping[str, Any]], list[str] | None] = serving_services) -> list[str]:
    """What the host refuses of ``jobs`` (already passed :func:`job_problems`): the calendars, and the
    services when a release serves. ``params``: root, project, compose_files, env_file, docker."""
    if not jobs:
        return []
    problems = calendar_problems(jobs, analyze)
    known = services(params)
    if known is not None:
        problems += service_problems(jobs, known)
    return problems


def find_job(jobs: Iterable[Mapping[str, Any]], name: str) -> dict[str, Any] | None:
    for job in jobs:
        if job.get("name") == name:
            return normalized(job)
    return None


def last_results(records: Iterable[Mapping[str, Any]], jobs: Iterable[str]) -> dict[str, Mapping[str, Any] | None]:
    """job name -> its newest ``kind: job`` record (``records`` oldest first), None when it never ran."""
    wanted = list(jobs)
    found: dict[str, Mapping[str, Any] | None] = {name: None for name in wanted}
    for record in records:
        if record.get("kind") != "job":
            continue
        message = record.get("message") or ""
        for name in wanted:
            if message.startswith(RECORD_PREFIX % name):
                found[name] = record
    return found


def task_params(config: Mapping[str, Any], job: Mapping[str, Any], host_name: str) -> dict[str, Any]:
    """The options :class:`task.Task` runs the job with (attached, its timeout, a ``kind: job`` record)."""
    return dict(root=config["root"], project=config["project"], compose_files=list(config["compose_files"]),
                env_file=config["env_file"], docker=config.get("docker") or "docker", service=job["service"],
                command=job["command"], detach=False, log_lines=int(config.get("log_lines", 50)),
                timeout=int(job["timeout"]), lock_wait=int(config.get("lock_wait", 600)),
                lock_ttl=max(int(config.get("lock_ttl", 1800)), int(job["timeout"]) + 300), force_unlock=False,
                operator="job@%s" % host_name, controller=host_name, record_kind="job",
                record_prefix=RECORD_PREFIX % job["name"])


def _instance_lock(path: str) -> int | None:
    """The job's own flock (non-blocking): the open descriptor, or None when another run holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return None
        raise
    return fd


def failed_record(params: Mapping[str, Any], result: Mapping[str, Any], started: float, seconds: float,
                  reason: str) -> dict[str, Any]:
    """The ``kind: job`` record of a run that could not start (no release, the deploy lock held)."""
    return task_record(result.get("ref") or "", result.get("commit") or "", "failed", started, round(seconds, 1),
                       params["operator"], params["record_prefix"] + reason, kind="job")


Notifier = Callable[[Mapping[str, Any]], list[str]]


def run_job(config: Mapping[str, Any], name: str, *, say: Callable[[str], Any], notifier: Notifier | None = None,
            host_name: str | None = None, task_class: type[Task] = Task) -> int:
    """Run job ``name`` of ``config`` (the runner's settings and ``jobs``) once; the runner's exit code.
    ``say`` prints one line to the unit's journal.

    0: ran and exited 0, or skipped because another run of a single-instance job holds its flock;
    1: failed (recorded ``outcome: failed`` and passed to ``notifier``); 2: no such job."""
    job = find_job(config.get("jobs") or [], name)
    if job is None:
        say("no job %r in this host's berth_jobs (%s)" % (name, ", ".join(
            str(j.get("name")) for j in config.get("jobs") or []) or "none"))
        return NO_SUCH_JOB
    host_name = host_name or socket.gethostname()
    fd = None
    if job["single_instance"]:
        lock = os.path.join(config["root"], ".berth", "job-%s.lock" % name)
        fd = _instance_lock(lock)
        if fd is None:
            say("job %s is already running (single_instance): this start is skipped" % name)
            return SKIPPED
    try:
        return _run_locked(config, job, notifier, say, host_name, task_class)
    finally:
        if fd is not None:
            os.close(fd)


def _run_locked(config: Mapping[str, Any], job: Mapping[str, Any], notifier: Notifier | None,
                say: Callable[[str], Any], host_name: str, task_class: type[Task]) -> int:
    params = task_params(config, job, host_name)
    redactor = Redactor.for_run(params["env_file"])
    started, began = time.time(), time.monotonic()
    result: dict[str, Any] = dict(changed=False, exit_code=None, output="", container=None, seconds=0.0)
    task_class(params).run(result)
    record = result.get("record")
    if record is None:
        # Refused before it ran (no release serves, the deploy lock held past lock_wait, a service the
        # release lacks), or it ran and its record could not be written: record the failure here.
        reason = redactor.text(str(result.get("msg") or "did not run"))
        record = release_log.prepare_record(failed_record(params, result, started, time.monotonic() - began, reason))
        try:
            release_log.append_record(os.path.join(config["root"], "releases.jsonl"), release_log.encode(record))
        except (release_log.ReleaseLogError, OSError) as exc:
            say("recording the job in the release log failed: %s" % exc)
    else:
        for line in redactor.text(result.get("output") or "").splitlines():
            say("| " + line)
    commit = (result.get("commit") or "-")[:12]
    say("job %s (%s at %s): %s, outcome %s"
        % (job["name"], job["service"], commit, record.get("message"), record["outcome"]))
    if record["outcome"] == "ok":
        return 0
    if notifier is not None:
        for warning in notifier(record):
            say("warning: " + warning)
    return 1


def make_notifier(webhooks: list[Any], app: str, environment: str | None, host_name: str) -> Notifier | None:
    """What :func:`run_job` calls with a failed record: ``berth_notify``'s webhooks told, warnings returned."""
    if not webhooks:
        return None

    def tell(record: Mapping[str, Any]) -> list[str]:
        # Imported here: a host whose runner never fails never needs it.
        from ansible_collections.berth.compose.plugins.module_utils import notify

        payload = notify.build_payload(record, app=app, host=host_name)
        return notify.notify(webhooks, payload, environment=environment or None)[1]

    return tell


__all__ = [
    "DEFAULT_TIMEOUT", "JOB_NAME", "KEYS", "RECORD_PREFIX", "VARIABLE", "analyze_calendar", "calendar_problems",
    "failed_record", "find_job", "host_problems", "job_problems", "last_results", "make_notifier", "normalized",
    "run_job", "service_problems", "serving_services", "task_params", "unit_name",
]
