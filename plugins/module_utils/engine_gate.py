# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's health gate: running + healthy + probes (health_gate), then the soak, in one call."""
from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils.docker_state import (
    DockerState, DockerUnavailableError, ProjectNotFoundError, http_probe)
from ansible_collections.berth.compose.plugins.module_utils.health_gate import (
    ProbeSpec, UnknownServicesError, resolve_services, run_gate)

# Sub-second polling: a container that turns healthy is seen within a quarter second.
POLL_SECONDS = 0.25
# Without a soak, this many running sightings in a row (0.5 s) count as stable.
STABLE_SIGHTINGS = 3


class Gate(object):
    """Gate the recreated services of one compose project; ``run`` returns a dict, never raises for a failed gate."""

    def __init__(self, project, one_shot, probes, timeout, log_lines, docker="docker",
                 connect=DockerState.connect, probe=http_probe, soak=rel.soak):
        self.project = project
        self.one_shot = list(one_shot)
        self.specs = [ProbeSpec.from_dict(p) for p in probes]
        self.timeout = float(timeout)
        self.log_lines = int(log_lines)
        self.docker = docker
        self.connect = connect
        self.probe = probe
        self.soak = soak

    def run(self, services, soak=0.0):
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
            problems = self.soak(self.docker, self.project, set(services), float(soak))
            if problems:
                result.update(passed=False, soak_failed=True, failed_services=sorted(
                    set(p.split(":", 1)[0] for p in problems)), msg="Soak failed: " + "; ".join(problems))
        return result
