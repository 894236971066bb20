# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smoke gate (issue 19, parts 7 and 8): functional steps after the health gate, the same kind of
steps before anything is built (preflight checks), and the startup log check.

A step (``berth_smoke``, ``berth_preflight_checks``) is either

* an HTTP request - ``url``, ``method``, ``headers``, ``body``, ``status`` (accepted codes, empty: any
  2xx), ``expect`` (a substring the body must hold); the HTTP steps of one ``session`` (default: all of a
  list) share one cookie jar, so login -> call -> logout works; or
* a command - ``service`` and ``command`` (an argv), ``mode`` V(exec) (in the service's running container)
  or V(run) (a one-off ``run --rm`` of that service).

Every step has a ``timeout`` (seconds). The steps run in order; the first that fails stops the smoke, and
the message names it and shows the end of its output (its response body, or the command's output), which
the caller redacts. Header values (but the public ones) and bodies are secrets (:func:`step_secrets`).

``berth_log_expect`` is a list of ``{service, pattern, within}``: each container of a recreated
``service`` must print a line matching ``pattern`` (a Python regular expression) within ``within``
seconds of the gate (:func:`wait_for_logs`).

Pure logic: the HTTP client is urllib with an :class:`http.cookiejar.CookieJar`; the commands and the
container logs come in as callables. No Ansible imports.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils.redact import PUBLIC_HEADERS

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MODES = ("exec", "run")
DEFAULT_TIMEOUT = 30.0
DEFAULT_WITHIN = 60.0
BODY_READ_LIMIT = 65536
# Lines of a failing step's output kept in the message.
TAIL_LINES = 20
LOG_POLL_SECONDS = 0.5
LOG_READ_LINES = 2000
STEP_KEYS = ("name", "url", "method", "headers", "body", "status", "expect", "service", "command", "mode",
             "timeout", "session", "validate_certs", "ca_path")
LOG_EXPECT_KEYS = ("service", "pattern", "within")

# The options of a step, for the modules (engine): headers and body are no_log.
STEP_OPTIONS: dict[str, dict[str, Any]] = dict(
    name=dict(type="str"),
    url=dict(type="str"),
    method=dict(type="str", default="GET"),
    headers=dict(type="dict", default={}, no_log=True),
    body=dict(type="str", no_log=True),
    status=dict(type="list", elements="int", default=[]),
    expect=dict(type="str"),
    service=dict(type="str"),
    command=dict(type="list", elements="str"),
    mode=dict(type="str", default="exec"),
    timeout=dict(type="float", default=DEFAULT_TIMEOUT),
    session=dict(type="str", default="default"),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
)
LOG_EXPECT_OPTIONS: dict[str, dict[str, Any]] = dict(
    service=dict(type="str", required=True),
    pattern=dict(type="str", required=True),
    within=dict(type="float", default=DEFAULT_WITHIN),
)


@dataclass(frozen=True)
class Step:
    """One smoke step, validated (:func:`parse_steps`)."""

    name: str
    kind: str  # http | exec | run
    url: str = ""
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    status: tuple[int, ...] = ()
    expect: str | None = None
    service: str = ""
    command: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    session: str = "default"
    validate_certs: bool = True
    ca_path: str | None = None


@dataclass
class StepResult:
    """What one step did: ``passed``, a one-line ``detail`` and its ``output`` (body or command output)."""

    name: str
    passed: bool
    detail: str
    output: str = ""
    seconds: float = 0.0


@dataclass
class SmokeResult:
    """The run of a list of steps; ``failed`` is the step that stopped it (None: all passed)."""

    results: list[StepResult] = field(default_factory=list)
    failed: StepResult | None = None

    @property
    def passed(self) -> bool:
        return self.failed is None


@dataclass(frozen=True)
class LogExpect:
    service: str
    pattern: str
    within: float = DEFAULT_WITHIN


# ------------------------------------------------------------------ validation

def _label(variable: str, index: int, data: Any) -> str:
    name = data.get("name") if isinstance(data, Mapping) else None
    return "%s[%d]%s" % (variable, index, " (%s)" % name if isinstance(name, str) and name else "")


def _number(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool):
        raise ValueError
    return float(value)


def parse_step(data: Any, variable: str = "berth_smoke", index: int = 0) -> Step:
    """Validate one step; ValueError naming ``variable[index]`` and what is wrong."""
    where = _label(variable, index, data)
    if not isinstance(data, Mapping):
        raise ValueError("%s must be a mapping with a url (an HTTP step) or a service and a command, got %r"
                         % (where, data))
    unknown = sorted(str(k) for k in data if k not in STEP_KEYS)
    if unknown:
        raise ValueError("%s: unknown key(s) %s (allowed: %s)" % (where, ", ".join(unknown), ", ".join(STEP_KEYS)))
    try:
        timeout = _number(data.get("timeout"), DEFAULT_TIMEOUT)
    except (TypeError, ValueError):
        raise ValueError("%s: timeout must be a number of seconds, got %r" % (where, data.get("timeout")))
    if timeout <= 0:
        raise ValueError("%s: timeout must be positive, got %s" % (where, timeout))
    session = data.get("session") or "default"
    if not isinstance(session, str):
        raise ValueError("%s: session must be a string" % where)
    url, service = data.get("url"), data.get("service")
    if bool(url) == bool(service):
        raise ValueError("%s: give either url (an HTTP request) or service and command (a command), not %s"
                         % (where, "both" if url else "neither"))
    if service:
        return _command_step(data, where, timeout, session)
    return _http_step(data, where, timeout, session)


def _command_step(data: Mapping[str, Any], where: str, timeout: float, session: str) -> Step:
    service, command = data.get("service"), data.get("command")
    if not isinstance(service, str) or not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$", service):
        raise ValueError("%s: service must be a compose service name, got %r" % (where, service))
    if isinstance(command, str) or not command or not all(isinstance(a, str) for a in command):
        raise ValueError("%s: command must be a non-empty list of strings (the argv), got %r" % (where, command))
    mode = data.get("mode") or "exec"
    if mode not in MODES:
        raise ValueError("%s: mode %r: allowed are %s" % (where, mode, ", ".join(MODES)))
    for key in ("headers", "body", "status", "expect"):
        if data.get(key) not in (None, "", [], {}, ()):
            raise ValueError("%s: %s is for HTTP steps, not a command" % (where, key))
    return Step(name=data.get("name") or "%s %s" % (mode, service), kind=mode, service=service,
                command=tuple(command), timeout=timeout, session=session)


def _http_step(data: Mapping[str, Any], where: str, timeout: float, session: str) -> Step:
    url = data.get("url")
    if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url) or re.search(r"\s", url):
        raise ValueError("%s: url must be an http:// or https:// URL without spaces, got %r" % (where, url))
    method = str(data.get("method") or "GET").upper()
    if method not in HTTP_METHODS:
        raise ValueError("%s: method %r: allowed are %s" % (where, method, ", ".join(HTTP_METHODS)))
    status = data.get("status") or ()
    if isinstance(status, int):
        status = (status,)
    try:
        codes = tuple(int(s) for s in status if not isinstance(s, bool))
    except (TypeError, ValueError):
        raise ValueError("%s: status must be a list of HTTP status codes, got %r" % (where, data.get("status")))
    if len(codes) != len(status) or not all(100 <= c <= 599 for c in codes):
        raise ValueError("%s: status must be a list of HTTP status codes (100-599), got %r"
                         % (where, data.get("status")))
    headers = data.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise ValueError("%s: headers must be a mapping" % where)
    for key, value in headers.items():
        if not re.match(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", str(key)) or re.search(r"[\r\n\x00]", str(value)):
            raise ValueError("%s: header %r: allowed are token names and values without a line break"
                             % (where, str(key)))
    body, expect = data.get("body"), data.get("expect")
    if body is not None and not isinstance(body, str):
        raise ValueError("%s: body must be a string" % where)
    if expect is not None and not isinstance(expect, str):
        raise ValueError("%s: expect must be a string (a substring of the response body)" % where)
    if data.get("command") not in (None, [], ()) or data.get("mode") not in (None, "", "exec"):
        raise ValueError("%s: command and mode are for command steps, not an HTTP request" % where)
    name = data.get("name") or "%s %s" % (method, urllib.parse.urlsplit(url)._replace(query="", fragment="",
                                                                                      netloc=_host(url)).geturl())
    return Step(name=name, kind="http", url=url, method=method,
                headers=tuple((str(k), str(v)) for k, v in headers.items()), body=body, status=codes,
                expect=expect or None, timeout=timeout, session=session,
                validate_certs=bool(data.get("validate_certs", True)), ca_path=data.get("ca_path") or None)


def _host(url: str) -> str:
    """The URL's host and port, without a user or password."""
    return urllib.parse.urlsplit(url).netloc.rpartition("@")[2]


def parse_steps(value: Any, variable: str = "berth_smoke") -> list[Step]:
    """Validate a list of steps; ValueError naming the variable and the first step that is wrong."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValueError("%s must be a list of steps, got %r" % (variable, type(value).__name__))
    steps = [parse_step(item, variable, index) for index, item in enumerate(value)]
    names = [s.name for s in steps]
    twice = sorted(set(n for n in names if names.count(n) > 1))
    if twice:
        raise ValueError("%s: step names must differ (each failure names its step): %s twice"
                         % (variable, ", ".join(twice)))
    return steps


def parse_log_expect(value: Any, variable: str = "berth_log_expect") -> list[LogExpect]:
    """Validate ``[{service, pattern, within}]``; ValueError naming the variable and the item."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValueError("%s must be a list of {service, pattern, within}, got %r" % (variable, type(value).__name__))
    out = []
    for index, item in enumerate(value):
        where = "%s[%d]" % (variable, index)
        if not isinstance(item, Mapping):
            raise ValueError("%s must be a mapping {service, pattern, within}, got %r" % (where, item))
        unknown = sorted(str(k) for k in item if k not in LOG_EXPECT_KEYS)
        if unknown:
            raise ValueError("%s: unknown key(s) %s (allowed: %s)" % (where, ", ".join(unknown),
                                                                      ", ".join(LOG_EXPECT_KEYS)))
        service, pattern = item.get("service"), item.get("pattern")
        if not isinstance(service, str) or not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$", service):
            raise ValueError("%s: service must be a compose service name, got %r" % (where, service))
        if not isinstance(pattern, str) or not pattern:
            raise ValueError("%s: pattern must be a non-empty regular expression" % where)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError("%s: pattern is not a valid regular expression: %s" % (where, exc))
        try:
            within = _number(item.get("within"), DEFAULT_WITHIN)
        except (TypeError, ValueError):
            raise ValueError("%s: within must be a number of seconds, got %r" % (where, item.get("within")))
        if within <= 0:
            raise ValueError("%s: within must be positive, got %s" % (where, within))
        out.append(LogExpect(service=service, pattern=pattern, within=within))
    return out


def problems(smoke: Any, preflight: Any, log_expect: Any) -> list[str]:
    """What is wrong with the three settings, each message naming its variable (empty: all valid)."""
    out = []
    for variable, value in (("berth_smoke", smoke), ("berth_preflight_checks", preflight)):
        try:
            parse_steps(value, variable)
        except ValueError as exc:
            out.append(str(exc))
    try:
        parse_log_expect(log_expect)
    except ValueError as exc:
        out.append(str(exc))
    return out


# ------------------------------------------------------------------ secrets

def step_secrets(steps: Iterable[Any] | None) -> list[str]:
    """The secrets of the steps (their dicts): header values but the public ones, and each request body,
    whole and, for a JSON object or a form, each of its values."""
    out: list[str] = []
    for step in steps or ():
        if not isinstance(step, Mapping):
            continue
        for name, value in (step.get("headers") or {}).items():
            if str(name).lower() not in PUBLIC_HEADERS and value is not None:
                out.append(str(value))
        body = step.get("body")
        if isinstance(body, str) and body:
            out.append(body)
            out += _body_values(body)
    return out


def _body_values(body: str) -> list[str]:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return [str(v) for v in data.values() if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
    if "=" in body and not re.search(r"\s", body.strip()):
        return [v for _k, v in urllib.parse.parse_qsl(body.strip(), keep_blank_values=False)]
    return []


# ------------------------------------------------------------------ running

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: Any, msg: Any, headers: Any, newurl: Any) -> None:
        return None  # a 3xx is judged like any status (a login answering 302 is expected with status [302])


def opener_for(step: Step, jar: http.cookiejar.CookieJar) -> urllib.request.OpenerDirector:
    """An opener that keeps cookies in ``jar``, never uses a proxy and never follows a redirect."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPCookieProcessor(jar), _NoRedirect()]
    if step.url.lower().startswith("https://"):
        context = ssl.create_default_context(cafile=step.ca_path) if step.ca_path else ssl.create_default_context()
        if not step.validate_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers)


def judge(step: Step, status: int, body: str) -> StepResult:
    """An HTTP answer against the step's ``status`` and ``expect``."""
    if (status not in step.status) if step.status else not 200 <= status < 300:
        want = ", ".join(str(s) for s in step.status) if step.status else "any 2xx"
        return StepResult(step.name, False, "HTTP %d, expected %s" % (status, want), body)
    if step.expect is not None and step.expect not in body:
        return StepResult(step.name, False, "HTTP %d but the body does not hold %r" % (status, step.expect), body)
    return StepResult(step.name, True, "HTTP %d" % status + (", body holds %r" % step.expect if step.expect else ""),
                      body)


def http_step(step: Step, jar: http.cookiejar.CookieJar) -> StepResult:
    """Send the step's request with the cookies of ``jar`` (and keep those the answer sets); never raises."""
    data = step.body.encode("utf-8") if step.body is not None else None
    request = urllib.request.Request(step.url, data=data, method=step.method, headers=dict(step.headers))
    try:
        response = opener_for(step, jar).open(request, timeout=step.timeout)
        try:
            status, raw = response.getcode(), response.read(BODY_READ_LIMIT)
        finally:
            response.close()
    except urllib.error.HTTPError as exc:
        status = exc.code
        try:
            raw = exc.read(BODY_READ_LIMIT)
        except Exception:
            raw = b""
    except (TimeoutError, urllib.error.URLError, ssl.SSLError, http.client.HTTPException, OSError) as exc:
        return StepResult(step.name, False, "request failed: %s" % (getattr(exc, "reason", None) or exc))
    return judge(step, status, raw.decode("utf-8", "replace"))


# (step) -> (exit code, output); None as the code: it did not finish within the step's timeout.
CommandRunner = Callable[[Step], "tuple[int | None, str]"]


def command_step(step: Step, runner: CommandRunner) -> StepResult:
    try:
        rc, output = runner(step)
    except Exception as exc:  # a runner that cannot start the command: the step failed, the gate decides
        return StepResult(step.name, False, "could not run: %s" % exc)
    if rc is None:
        return StepResult(step.name, False, "did not finish within %s s" % _seconds(step.timeout), output)
    if rc != 0:
        return StepResult(step.name, False, "exit %d in service %s" % (rc, step.service), output)
    return StepResult(step.name, True, "exit 0 in service %s" % step.service, output)


def _seconds(value: float) -> str:
    return ("%d" % value) if float(value).is_integer() else ("%s" % value)


def run_steps(steps: Sequence[Step], runner: CommandRunner,
              send: Callable[[Step, http.cookiejar.CookieJar], StepResult] = http_step,
              clock: Callable[[], float] = time.monotonic) -> SmokeResult:
    """Run ``steps`` in order, one cookie jar per session; stop at the first that fails."""
    jars: dict[str, http.cookiejar.CookieJar] = {}
    result = SmokeResult()
    for step in steps:
        started = clock()
        if step.kind == "http":
            outcome = send(step, jars.setdefault(step.session, http_cookiejar()))
        else:
            outcome = command_step(step, runner)
        outcome.seconds = round(clock() - started, 2)
        result.results.append(outcome)
        if not outcome.passed:
            result.failed = outcome
            break
    return result


def http_cookiejar() -> http.cookiejar.CookieJar:
    """A jar that also keeps the cookies of a plain host such as ``127.0.0.1`` or ``localhost``."""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(strict_ns_domain=0))


def tail(text: str, lines: int = TAIL_LINES) -> str:
    kept = [line.rstrip() for line in (text or "").strip().splitlines()]
    return "\n".join(kept[-lines:]) if lines > 0 else ""


def failure_message(what: str, result: SmokeResult, lines: int = TAIL_LINES) -> str:
    """``smoke step 'login' failed: HTTP 401, expected 204; the end of its output: ...``; redact it after."""
    failed = result.failed
    if failed is None:
        return ""
    text = "%s step '%s' failed: %s" % (what, failed.name, failed.detail)
    end = tail(failed.output, lines)
    return text + ("; the end of its output:\n" + end if end else "")


def summary(result: SmokeResult) -> str:
    """``3 step(s) passed in 1.2 s`` (the summary line)."""
    return "%d step(s) passed in %.1f s" % (len(result.results), sum(r.seconds for r in result.results))


# ------------------------------------------------------------------ startup logs

# () -> [(container name, container id)] of one service
Containers = Callable[[str], "list[tuple[str, str]]"]
# (container id, lines) -> the last lines of its log
Logs = Callable[[str, int], "list[str]"]


def wait_for_logs(expectations: Sequence[LogExpect], services: Iterable[str], containers: Containers, logs: Logs,
                  clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], Any] = time.sleep,
                  interval: float = LOG_POLL_SECONDS, show: int = TAIL_LINES) -> list[str]:
    """Wait until each container of each expected service among ``services`` (those recreated) logged a line
    matching its pattern, each within its ``within`` seconds from now. The problems (empty: all matched),
    one per service, naming it and showing its containers' last lines."""
    wanted = [e for e in expectations if e.service in set(services)]
    start = clock()
    pending = list(wanted)
    last: dict[str, list[str]] = {}
    while pending:
        still = []
        for expect in pending:
            found = containers(expect.service)
            matched = bool(found)
            for name, container in found:
                lines = _read(logs, container)
                last[name] = lines
                if not any(re.search(expect.pattern, line) for line in lines):
                    matched = False
            if not matched:
                still.append(expect)
        pending = still
        elapsed = clock() - start
        if not pending or all(elapsed >= e.within for e in pending):
            break
        waits = [e.within - elapsed for e in pending if e.within > elapsed]
        sleep(max(0.0, min([interval] + waits)))
    out = []
    for expect in pending:
        found = containers(expect.service)
        shown = "; ".join("%s: %s" % (name, " | ".join(last.get(name, [])[-show:]) or "(no output)")
                          for name, _id in found) or "no container"
        out.append("%s: no log line matched %r within %s s (last lines: %s)"
                   % (expect.service, expect.pattern, _seconds(expect.within), shown))
    return out


def _read(logs: Logs, container: str) -> list[str]:
    try:
        return list(logs(container, LOG_READ_LINES))
    except Exception as exc:  # logs are read again at the next poll
        return ["<could not read the logs: %s>" % exc]


__all__ = ["LOG_EXPECT_OPTIONS", "STEP_OPTIONS", "LogExpect", "SmokeResult", "Step", "StepResult", "command_step",
           "failure_message", "http_step", "judge", "parse_log_expect", "parse_steps", "problems", "run_steps",
           "step_secrets", "summary", "tail", "wait_for_logs"]
