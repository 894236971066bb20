# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health gate: decide from container state snapshots and HTTP probe results
whether a compose project is up, still coming up, or lost.

Pure logic, no Docker and no Ansible: the poll loop receives ``snapshot()``,
``probe()``, ``logs()``, ``clock()`` and ``sleep()`` as callables, so unit
tests drive it with recorded container states and a fake clock.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Dict, List, Optional, Tuple

PASSED = "passed"
PENDING = "pending"
FAILED = "failed"

# Longest reason / excerpt kept in the one-line failure message.
_MSG_REASON_MAX = 240


# HTTP methods a probe may use.
PROBE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

# The ``probes`` option's suboptions, one spec for the modules that gate (health_gate, engine, reconcile).
# ``headers`` is no_log: an Authorization or Cookie header never shows at -vvv, in a result or in the host's
# journal. A URL's password and query values are hidden from results at run time (redact.probe_secrets).
PROBE_OPTIONS = dict(
    url=dict(type="str", required=True),
    name=dict(type="str"),
    status=dict(type="list", elements="int", default=[]),
    body=dict(type="str"),
    headers=dict(type="dict", default={}, no_log=True),
    method=dict(type="str", default="GET"),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    timeout=dict(type="float", default=5),
    follow_redirects=dict(type="bool", default=False),
)


@dataclass(frozen=True)
class ContainerState:
    """One container of a compose project, as seen at one poll."""

    id: str
    name: str
    service: str
    status: str  # Docker State.Status: created running restarting paused exited dead removing
    exit_code: int = 0
    restart_count: int = 0
    health: Optional[str] = None  # None when the container has no healthcheck
    health_output: str = ""  # output of the latest healthcheck run
    oom_killed: bool = False
    error: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContainerState:
        """Build from a plain dict (recorded states in tests, JSON fixtures)."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def summary(self) -> dict[str, Any]:
        out = {"name": self.name, "status": self.status, "health": self.health,
               "exit_code": self.exit_code, "restart_count": self.restart_count}
        return out


@dataclass(frozen=True)
class ProbeSpec:
    """One HTTP probe, normalised from the module's ``probes`` option."""

    url: str
    name: str = ""
    status: Tuple[int, ...] = ()  # empty: any 2xx
    body: Optional[str] = None  # regex searched in the response body
    headers: Tuple[Tuple[str, str], ...] = ()
    method: str = "GET"
    validate_certs: bool = True
    ca_path: Optional[str] = None
    timeout: float = 5.0
    follow_redirects: bool = False

    @classmethod
    def from_dict(cls, data: Any) -> ProbeSpec:
        """Validate and normalise a probe dict; raise ValueError with a clear message."""
        if not isinstance(data, dict):
            raise ValueError("each probe must be a dict with at least 'url', got %r" % (data,))
        url = data.get("url")
        if not url or not isinstance(url, str):
            raise ValueError("probe %r has no 'url'" % (data,))
        if not re.match(r"^https?://", url):
            raise ValueError("probe url %r must start with http:// or https://" % url)
        status = data.get("status") or ()
        if isinstance(status, int):
            status = (status,)
        try:
            status = tuple(int(s) for s in status)
        except (TypeError, ValueError):
            raise ValueError("probe %s: 'status' must be a list of HTTP status codes, got %r" % (url, data.get("status")))
        for code in status:
            if not 100 <= code <= 599:
                raise ValueError("probe %s: %d is not an HTTP status code" % (url, code))
        body = data.get("body")
        if body is not None:
            try:
                re.compile(body)
            except re.error as exc:
                raise ValueError("probe %s: 'body' is not a valid regular expression: %s" % (url, exc))
        headers = data.get("headers") or {}
        if not isinstance(headers, dict):
            raise ValueError("probe %s: 'headers' must be a dict" % url)
        for key, value in headers.items():
            if not re.match(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", str(key)) or re.search(r"[\r\n\x00]", str(value)):
                raise ValueError("probe %s: 'headers' %r: allowed are token names and values without a line break"
                                 % (url, str(key)))
        method = (data.get("method") or "GET").upper()
        if method not in PROBE_METHODS:
            raise ValueError("probe %s: 'method' %r: allowed are %s" % (url, method, ", ".join(PROBE_METHODS)))
        timeout = float(data.get("timeout") if data.get("timeout") is not None else 5.0)  # type: ignore[arg-type]  # not None
        if timeout <= 0:
            raise ValueError("probe %s: 'timeout' must be positive" % url)
        return cls(
            url=url,
            name=data.get("name") or "",
            status=status,
            body=body,
            headers=tuple(sorted((str(k), str(v)) for k, v in headers.items())),
            method=method,
            validate_certs=bool(data.get("validate_certs", True)),
            ca_path=data.get("ca_path") or None,
            timeout=timeout,
            follow_redirects=bool(data.get("follow_redirects", False)),
        )


@dataclass
class ProbeResult:
    """Outcome of a probe: one attempt from ``probe()``, then aggregated by the gate."""

    url: str
    name: str = ""
    state: str = PENDING
    status: Optional[int] = None
    reason: str = ""
    body_excerpt: Optional[str] = None
    attempts: int = 0
    passed_after: Optional[float] = None

    @property
    def passed(self) -> bool:
        return self.state == PASSED


@dataclass
class ServiceVerdict:
    service: str
    state: str = PENDING
    reason: str = ""
    one_shot: bool = False
    containers: List[dict] = field(default_factory=list)
    ready_after: Optional[float] = None
    logs: Dict[str, List[str]] = field(default_factory=dict)


@dataclass
class GateResult:
    passed: bool
    msg: str
    elapsed: float
    polls: int
    timed_out: bool = False
    services: List[ServiceVerdict] = field(default_factory=list)
    probes: List[ProbeResult] = field(default_factory=list)

    @property
    def failed_services(self) -> list[str]:
        return [v.service for v in self.services if v.state == FAILED]

    @property
    def failed_probes(self) -> list[str]:
        return [p.name or p.url for p in self.probes if p.state == FAILED]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["failed_services"] = self.failed_services
        out["failed_probes"] = self.failed_probes
        return out


class UnknownServicesError(ValueError):
    def __init__(self, project: str, unknown: Iterable[str], valid: Iterable[str]) -> None:
        self.unknown = list(unknown)
        self.valid = sorted(valid)
        super().__init__(
            "unknown service(s) %s in compose project %r; valid services: %s"
            % (", ".join(self.unknown), project, ", ".join(self.valid) or "(none)"))


# Methods a probe may send in check mode: they only read (check mode changes nothing, in the app neither).
READ_ONLY_METHODS = ("GET", "HEAD")


def probe_label(spec: ProbeSpec) -> str:
    """``POST enqueue`` or ``PUT http://host/path``: the method and the probe's name, else its URL without the
    query and fragment (where tokens go)."""
    url = spec.url.split("#", 1)[0].split("?", 1)[0]
    if "@" in url.split("//", 1)[-1].split("/", 1)[0]:  # user:password@host
        scheme, rest = url.split("//", 1)
        url = scheme + "//" + rest.split("@", 1)[1]
    return "%s %s" % (spec.method, spec.name or url)


def split_for_check_mode(specs: Sequence[ProbeSpec]) -> tuple[list[ProbeSpec], list[str]]:
    """(probes check mode may send, the labels of those it must not send: every method but GET and HEAD)."""
    kept = [spec for spec in specs if spec.method in READ_ONLY_METHODS]
    return kept, [probe_label(spec) for spec in specs if spec.method not in READ_ONLY_METHODS]


def resolve_services(project: str, requested: Iterable[str] | None, one_shot: Iterable[str],
                     valid: Collection[str]) -> list[str]:
    """Services to gate: ``requested`` (all ``valid`` ones when empty) plus ``one_shot``.

    Keeps the operator's order, drops duplicates, and raises UnknownServicesError
    naming every unknown service and listing the valid ones.
    """
    wanted = list(requested) if requested else sorted(valid)
    for name in one_shot:
        if name not in wanted:
            wanted.append(name)
    unknown = [s for s in wanted if s not in valid]
    if unknown:
        raise UnknownServicesError(project, unknown, valid)
    seen: list[str] = []
    for name in wanted:
        if name not in seen:
            seen.append(name)
    return seen


def check_response(spec: ProbeSpec, status: int, body: str | None, location: str | None = None,
                   excerpt_chars: int = 300) -> ProbeResult:
    """Judge one HTTP response against a probe spec (status list, body regex)."""
    result = ProbeResult(url=spec.url, name=spec.name, status=status)
    expected = spec.status
    if (status not in expected) if expected else not 200 <= status < 300:
        want = ", ".join(str(s) for s in expected) if expected else "any 2xx"
        result.state = FAILED
        result.reason = "HTTP %d, expected %s" % (status, want)
        if location:
            result.reason += " (redirect to %s)" % location
        result.body_excerpt = _excerpt(body, excerpt_chars)
        return result
    if spec.body is not None and not re.search(spec.body, body or ""):
        result.state = FAILED
        result.reason = "HTTP %d but the body does not match %r" % (status, spec.body)
        result.body_excerpt = _excerpt(body, excerpt_chars)
        return result
    result.state = PASSED
    result.reason = "HTTP %d" % status + (", body matches" if spec.body is not None else "")
    return result


def _excerpt(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "..."


class _Tracker:
    """What the gate remembers between polls."""

    def __init__(self) -> None:
        self.baseline_restarts: dict[str, int] = {}  # container id -> RestartCount at first sight
        self.running_polls: dict[str, int] = {}  # container id -> consecutive polls seen running
        self.ready_since: dict[str, float] = {}  # service -> elapsed when it started passing


def _judge_container(c: ContainerState, one_shot: bool, tracker: _Tracker, stable_for: int,
                     fail_on_unhealthy: bool) -> tuple[str, str]:
    """Return (state, reason) for one container at one poll."""
    base = tracker.baseline_restarts.setdefault(c.id, c.restart_count)
    if c.restart_count > base:
        tracker.running_polls[c.id] = 0
        return FAILED, "container %s restarted %d time(s) during the gate (last exit code %d)" % (
            c.name, c.restart_count - base, c.exit_code)
    if c.status == "restarting":
        tracker.running_polls[c.id] = 0
        return FAILED, "container %s is crash-looping (restarting, last exit code %d, %d restart(s))" % (
            c.name, c.exit_code, c.restart_count)
    if c.status in ("exited", "dead"):
        tracker.running_polls[c.id] = 0
        if one_shot and c.status == "exited" and c.exit_code == 0:
            return PASSED, "container %s completed (exit code 0)" % c.name
        why = "container %s %s with code %d" % (c.name, "exited" if c.status == "exited" else "is dead", c.exit_code)
        if c.oom_killed:
            why += " (killed: out of memory)"
        if c.error:
            why += " (%s)" % c.error
        if not one_shot:
            why += " but must keep running"
        return FAILED, why
    if c.status != "running":
        tracker.running_polls[c.id] = 0
        return PENDING, "container %s is %s" % (c.name, c.status)
    if one_shot:
        return PENDING, "one-shot container %s is still running" % c.name
    if c.health == "healthy":
        return PASSED, "container %s is healthy" % c.name
    if c.health == "unhealthy":
        why = "container %s is unhealthy" % c.name
        if c.health_output:
            why += " (last check: %s)" % c.health_output.strip()
        return (FAILED if fail_on_unhealthy else PENDING), why
    if c.health is not None:
        why = "container %s health is %s" % (c.name, c.health)
        if c.health_output:
            why += " (last check: %s)" % c.health_output.strip()
        return PENDING, why
    polls = tracker.running_polls.get(c.id, 0) + 1
    tracker.running_polls[c.id] = polls
    if polls >= stable_for:
        return PASSED, "container %s running for %d poll(s), no healthcheck" % (c.name, polls)
    return PENDING, "container %s running for %d/%d poll(s), no healthcheck" % (c.name, polls, stable_for)


def evaluate_service(service: str, containers: Sequence[ContainerState], one_shot: bool, tracker: _Tracker,
                     stable_for: int, fail_on_unhealthy: bool, elapsed: float) -> ServiceVerdict:
    """Verdict for one service at one poll, from all its containers."""
    verdict = ServiceVerdict(service=service, one_shot=one_shot,
                             containers=[c.summary() for c in containers])
    if not containers:
        verdict.state = FAILED
        verdict.reason = "no containers for service %s" % service
        tracker.ready_since.pop(service, None)
        return verdict
    judged = [_judge_container(c, one_shot, tracker, stable_for, fail_on_unhealthy) for c in containers]
    failed = [why for state, why in judged if state == FAILED]
    pending = [why for state, why in judged if state == PENDING]
    if failed:
        verdict.state, verdict.reason = FAILED, "; ".join(failed)
    elif pending:
        verdict.state, verdict.reason = PENDING, "; ".join(pending)
    else:
        verdict.state, verdict.reason = PASSED, "; ".join(item[1] for item in judged)
    if verdict.state == PASSED:
        verdict.ready_after = round(tracker.ready_since.setdefault(service, elapsed), 2)
    else:
        tracker.ready_since.pop(service, None)
    return verdict


def run_gate(snapshot: Callable[[], Iterable[ContainerState]], services: Sequence[str], one_shot: Iterable[str] = (),
             probes: Iterable[Any] = (), probe: Callable[[ProbeSpec], ProbeResult] | None = None,
             logs: Callable[[str, int], Iterable[str]] | None = None,
             timeout: float = 120.0, interval: float = 2.0, stable_for: int = 3, log_lines: int = 50,
             fail_on_unhealthy: bool = True, clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], Any] = time.sleep) -> GateResult:
    """Poll until every service (and probe) passes, one fails for good, or ``timeout``.

    snapshot(): list of ContainerState of the project (all services; the gate filters).
    probe(spec): ProbeResult of one HTTP attempt for a ProbeSpec.
    logs(container_id, lines): list of the last log lines of a container.
    """
    if stable_for < 1:
        raise ValueError("stable_for must be at least 1")
    if interval <= 0:
        raise ValueError("interval must be positive")
    one_shot = set(one_shot)
    specs = [p if isinstance(p, ProbeSpec) else ProbeSpec.from_dict(p) for p in probes]
    if specs and probe is None:
        raise ValueError("probes given but no probe() callable")
    tracker = _Tracker()
    probe_state = [ProbeResult(url=s.url, name=s.name) for s in specs]
    start = clock()
    polls = 0
    last_containers: dict[str, list[ContainerState]] = {}
    while True:
        polls += 1
        elapsed = clock() - start
        by_service: dict[str, list[ContainerState]] = {}
        for c in snapshot():
            by_service.setdefault(c.service, []).append(c)
        for name in services:
            last_containers[name] = by_service.get(name, [])
        verdicts = [evaluate_service(s, by_service.get(s, []), s in one_shot, tracker, stable_for,
                                     fail_on_unhealthy, elapsed) for s in services]
        lost = [v for v in verdicts if v.state == FAILED]
        if not lost:
            for i, spec in enumerate(specs):
                # specs given: probe is not None (checked above)
                probe_state[i] = _attempt(probe, spec, probe_state[i], elapsed)  # type: ignore[arg-type]
        done = not lost and all(v.state == PASSED for v in verdicts) and all(p.passed for p in probe_state)
        timed_out = not done and not lost and clock() - start >= timeout
        if done or lost or timed_out:
            break
        sleep(max(0.0, min(interval, timeout - (clock() - start))))
    elapsed = round(clock() - start, 2)
    if timed_out:
        for v in verdicts:
            if v.state == PENDING:
                v.state, v.reason = FAILED, "timed out: " + v.reason
        for p in probe_state:
            if p.state == PENDING:
                p.state = FAILED
                p.reason = "timed out: " + (p.reason or "never attempted")
    if not done and logs is not None and log_lines > 0:
        for v in verdicts:
            if v.state == FAILED:
                v.logs = _collect_logs(logs, last_containers.get(v.service, []), log_lines)
    result = GateResult(passed=done, msg="", elapsed=elapsed, polls=polls, timed_out=timed_out,
                        services=verdicts, probes=probe_state)
    result.msg = gate_message(result, lost_fast=bool(lost))
    return result


def _attempt(probe: Callable[[ProbeSpec], ProbeResult], spec: ProbeSpec, previous: ProbeResult,
             elapsed: float) -> ProbeResult:
    try:
        outcome = probe(spec)
    except Exception as exc:  # a probe must never crash the gate; report it instead
        outcome = ProbeResult(url=spec.url, name=spec.name, state=FAILED, reason="probe error: %s" % exc)
    # A single failed attempt is not final: the service may still be warming up.
    state = PASSED if outcome.state == PASSED else PENDING
    passed_after = None
    if state == PASSED:
        passed_after = previous.passed_after if previous.passed_after is not None else round(elapsed, 2)
    return replace(outcome, url=spec.url, name=spec.name, state=state,
                   attempts=previous.attempts + 1, passed_after=passed_after)


def _collect_logs(logs: Callable[[str, int], Iterable[str]], containers: Iterable[ContainerState],
                  lines: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in containers:
        try:
            out[c.name] = list(logs(c.id, lines))[-lines:]
        except Exception as exc:  # logs are best effort, the verdict stands without them
            out[c.name] = ["<could not read logs: %s>" % exc]
    return out


def _short(text: object) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _MSG_REASON_MAX else text[:_MSG_REASON_MAX] + "..."


def gate_message(result: GateResult, lost_fast: bool = False) -> str:
    """One line: what passed, or which services / probes failed and why."""
    if result.passed:
        ok = [v.service for v in result.services if not v.one_shot]
        done = [v.service for v in result.services if v.one_shot]
        parts: list[str] = []
        if ok:
            parts.append("%s up" % ", ".join(ok))
        if done:
            parts.append("%s completed" % ", ".join(done))
        if result.probes:
            parts.append("%d probe(s) passed" % len(result.probes))
        return "Health gate passed in %.1fs: %s" % (result.elapsed, "; ".join(parts) or "nothing to check")
    how = "failed fast" if lost_fast else ("timed out" if result.timed_out else "failed")
    failures = ["%s: %s" % (v.service, _short(v.reason)) for v in result.services if v.state == FAILED]
    failures += ["probe %s: %s%s" % (p.name or p.url, _short(p.reason),
                                     " (body: %s)" % _short(p.body_excerpt) if p.body_excerpt else "")
                 for p in result.probes if p.state == FAILED]
    names = result.failed_services + ["probe " + n for n in result.failed_probes]
    return "Health gate %s after %.1fs for %s -- %s" % (
        how, result.elapsed, ", ".join(names) or "nothing", " | ".join(failures))
