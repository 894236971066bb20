# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A service's logs from the current release (``logs.yml``), or Caddy's journal: what ``berth.compose.logs`` runs.

The app's logs come from ``docker compose logs`` of the compose project as the release that serves runs it
(:meth:`ReleaseDir.compose`, the one factory); ``caddy`` is Caddy's systemd journal. Read-only. The pure
parts (the checks, the journal's ``--since``) are functions; no Ansible imports.
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils import host
from ansible_collections.berth.compose.plugins.module_utils import names
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import run as compose_run
from ansible_collections.berth.compose.plugins.module_utils.release_dir import serving_project

CADDY = "caddy"
MAX_LINES = 100000
# docker logs --since: a Go duration (10m, 1h30m, 1.5h), a Unix timestamp, or an RFC 3339 date or time.
GO_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|\u00b5s|ms|s|m|h))+\Z")
UNIX_TIME = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,9})?\Z")
RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
                     r"(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?\Z")
SINCE_RULE = ("a duration such as 10m, 1h30m or 90s, a Unix timestamp, or an RFC 3339 time such as "
              "2026-12-07T03:00:00Z (docker logs --since)")
UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class LogsError(Exception):
    """A refusal or a failure, as the operator reads it."""


def since_problem(since: object) -> str | None:
    """A message naming ``since`` when docker would not take it, else None (None and '' mean no limit)."""
    if since is None or since == "":
        return None
    if not isinstance(since, str) or not (GO_DURATION.match(since) or UNIX_TIME.match(since)
                                          or (RFC3339.match(since) and _parse_time(since) is not None)):
        return "since %r: allowed is %s" % (since, SINCE_RULE)
    return None


def lines_problem(lines: object) -> str | None:
    if isinstance(lines, bool) or not isinstance(lines, int) or not 0 <= lines <= MAX_LINES:
        return "lines %r: allowed is a whole number from 0 (all) to %d" % (lines, MAX_LINES)
    return None


def service_problem(service: object) -> str | None:
    return names.service_problem("service", service)


def duration_seconds(text: str) -> float:
    """Seconds of a Go duration (``1h30m`` -> 5400.0)."""
    return sum(float(number) * UNIT_SECONDS[unit]
               for number, unit in re.findall(r"([0-9]+(?:\.[0-9]+)?)(ns|us|\u00b5s|ms|s|m|h)", text))


def _parse_time(text: str) -> float | None:
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)  # docker reads a time without a zone as UTC
    return value.timestamp()


def since_epoch(since: str | None, now: float) -> float | None:
    """The Unix time ``since`` means at ``now`` (None: no limit), for journalctl's ``--since @<epoch>``."""
    if not since:
        return None
    if GO_DURATION.match(since):
        return now - duration_seconds(since)
    if UNIX_TIME.match(since):
        return float(since)
    return _parse_time(since)


def journal_argv(unit: str, lines: int, since: str | None, now: float, journalctl: str = "journalctl") -> list[str]:
    argv = [journalctl, "--unit", unit, "--no-pager", "--quiet", "--output", "short-iso"]
    if lines:
        argv += ["--lines", str(lines)]
    epoch = since_epoch(since, now)
    if epoch is not None:
        argv += ["--since", "@%d" % int(epoch)]
    return argv


def compose_logs_args(service: str, lines: int, since: str | None) -> list[str]:
    args = ["logs", "--no-color", "--timestamps", "--tail", str(lines) if lines else "all"]
    if since:
        args += ["--since", since]
    return args + [service]


def problems(p: Mapping[str, Any]) -> list[str]:
    found = [service_problem(p["service"]), lines_problem(p["lines"]), since_problem(p["since"])]
    return [m for m in found if m]


def read_logs(p: Mapping[str, Any], clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """``{source, argv, output, commit, ref}`` of ``p['service']``'s logs; raises LogsError."""
    bad = problems(p)
    if bad:
        raise LogsError("Refusing, nothing was read: " + "; ".join(bad))
    if p["service"] == CADDY:
        argv = journal_argv(p["caddy_unit"], p["lines"], p["since"], clock(), p["journalctl"])
        try:
            done = host.run(argv, check=False)
        except host.CommandError as exc:
            raise LogsError("cannot read Caddy's journal: %s" % exc)
        if done.rc != 0:
            raise LogsError("%s failed (exit %d): %s" % (" ".join(argv), done.rc, done.out.strip()[-500:]))
        return dict(source="journal", argv=argv, output=done.out, commit=None, ref=None)
    serving = serving_project(p)
    if serving is None:
        raise LogsError("No release serves yet under %s (current is missing): deploy first" % p["root"])
    _directory, commit, ref, project = serving
    try:
        services = compose_run(project, ["config", "--services"]).stdout.decode("utf-8", "replace").split()
    except host.CommandError as exc:
        raise LogsError("cannot read the services of the current release: %s" % exc)
    if p["service"] not in services:
        raise LogsError("service %s is not in the current release (%s); its services: %s, or caddy for Caddy's journal"
                        % (p["service"], commit[:12], ", ".join(sorted(services))))
    args = compose_logs_args(p["service"], p["lines"], p["since"])
    try:
        done = host.run(project.argv(*args), env=project.process_env(), check=False)
    except host.CommandError as exc:
        raise LogsError("cannot run docker compose logs: %s" % exc)
    if done.rc != 0:
        raise LogsError("docker compose logs failed (exit %d): %s" % (done.rc, done.out.strip()[-500:]))
    return dict(source="compose", argv=project.argv(*args), output=done.out, commit=commit, ref=ref)


__all__ = ["CADDY", "LogsError", "compose_logs_args", "duration_seconds", "journal_argv", "lines_problem",
           "problems", "read_logs", "service_problem", "since_epoch", "since_problem"]
