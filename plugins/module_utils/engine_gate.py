# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's health gate: running + healthy + probes (health_gate), then the soak, in one call.

One container reader (docker_state, the Docker SDK) serves the gate and the soak.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils.docker_state import (
    DockerState, DockerUnavailableError, ProjectNotFoundError, http_probe)
from ansible_collections.berth.compose.plugins.module_utils.health_gate import (
    ProbeSpec, UnknownServicesError, resolve_services, run_gate)

# Sub-second polling: a container that turns healthy is seen within a quarter second.
POLL_SECONDS = 0.25
# Without a soak, this many running sightings in a row (0.5 s) count as stable.
STABLE_SIGHTINGS = 3
SOAK_POLL_SECONDS = 0.5


def soak_facts(states: Iterable[Any], services: Iterable[str]) -> dict[str, dict[str, Any]]:
    """container name -> what the soak compares, for the containers of ``services``."""
    return dict((c.name, dict(id=c.id, service=c.service, restart_count=c.restart_count, status=c.status,
                              health=c.health)) for c in states if c.service in services)


def watch_soak(snapshot: Callable[[], Any], services: Iterable[str], seconds: float, interval: float = SOAK_POLL_SECONDS,
               clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], Any] = time.sleep) -> list[str]:
    """Watch the containers of ``services`` for ``seconds``; the problems seen (empty: passed)."""
    services = set(services)
    before = soak_facts(snapshot(), services)
    deadline = clock() + seconds
    while True:
        problems = rel.soak_problems(before, soak_facts(snapshot(), services))
        if problems or clock() >= deadline:
            return problems
        sleep(min(interval, max(0.0, deadline - clock())))


class Gate:
    """Gate the recreated services of one compose project; ``run`` returns a dict, never raises for a failed gate."""

    def __init__(self, project: str, one_shot: Iterable[str], probes: Iterable[dict[str, Any]], timeout: float | str,
                 log_lines: int | str, connect: Callable[[], Any] = DockerState.connect,
                 probe: Callable[..., Any] = http_probe) -> None:
        self.project = project
        self.one_shot = list(one_shot)
        self.specs = [ProbeSpec.from_dict(p) for p in probes]
        self.timeout = float(timeout)
        self.log_lines = int(log_lines)
        self.connect = connect
        self.probe = probe

    def run(self, services: list[str], soak: float = 0.0) -> dict[str, Any]:
        try:
            state = self.connect()
            wanted = resolve_services(self.project, services, self.one_shot, state.services(self.project))
            gated = run_gate(snapshot=lambda: state.snapshot(self.project), services=wanted, one_shot=self.one_shot,
                             probes=self.specs, probe=self.probe, logs=state.logs, timeout=self.timeout,
                             interval=POLL_SECONDS, stable_for=1 if soak > 0 else STABLE_SIGHTINGS,
                             log_lines=self.log_lines)
        except (DockerUnavailableError, ProjectNotFoundError, UnknownServicesError) as exc:
            return dict(passed=False, msg=str(exc), failed_services=[], ready={})
        ready = dict((v.service, round(v.ready_after, 1)) for v in gated.services
                     if v.ready_after is not None and not v.one_shot)
        result = dict(passed=gated.passed, msg=gated.msg, failed_services=gated.failed_services, ready=ready)
        if gated.passed and soak > 0 and services:
            try:
                problems = watch_soak(lambda: state.snapshot(self.project), services, float(soak))
            except DockerUnavailableError as exc:
                problems = [str(exc)]
            if problems:
                names = [p.split(":", 1)[0] for p in problems]
                failed = [s for s in services if any("-%s-" % s in name for name in names)]
                result.update(passed=False, soak_failed=True, failed_services=sorted(failed),
                              msg="Soak failed: " + "; ".join(problems))
        return result
