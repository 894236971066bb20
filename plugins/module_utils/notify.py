# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Webhook notifications of deploy, rollback, reconcile and task outcomes.

Logic for the ``berth.compose.notify`` module; its one Ansible import is ``open_url`` (Ansible's
HTTP client: certificate checks, proxies from the environment).

* The payload is built from a release log record through a closed list of fields
  (:data:`RECORD_FIELDS`), so a caller can never send an env value or a whole Ansible
  result by accident.
* A webhook's URL usually holds a secret token: it never appears in a result, an error or a
  warning. Errors are scrubbed of the URL, its host and its path (:func:`scrub`); webhooks
  are named by their ``name`` or their position (``webhook 1``).
* A delivery is bounded: ``timeout`` seconds per attempt, at most ``1 + retries`` attempts
  (``retries`` capped at :data:`MAX_RETRIES`), retrying only what may pass the next time
  (connection errors, timeouts, HTTP 408, 429 and 5xx).
* A failed delivery is returned, never raised: the caller warns, the deploy goes on.
"""

from __future__ import annotations

import fnmatch
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

try:
    from ansible.module_utils.urls import open_url
except ImportError:  # the scheduled-job runner on a VM without ansible-core (module_utils/jobs.py)
    open_url = None

SCHEMA = "berth.compose.notify/1"
KINDS = ("deploy", "rollback", "reconcile", "task", "job", "restore", "backup", "adopt")
OUTCOMES = ("ok", "rolled_back", "failed", "hook_failed")
# The release log fields a payload carries (images, steps, hooks and migrations stay in the log).
RECORD_FIELDS = (
    "id", "kind", "outcome", "ref", "from_commit", "to_commit", "serving_commit",
    "services_built", "services_recreated", "services_deferred", "started", "duration_s",
    "operator", "message", "note", "job_url",
)
# What a webhook gets: berth's own JSON document (generic), or one readable line in the field Slack's
# (``text``) or Discord's (``content``) incoming webhooks read - both answer 400 to anything else.
FORMATS = ("generic", "slack", "discord")
TEST_EVENT = "test"
MAX_RETRIES = 5
MAX_TIMEOUT = 120.0
DEFAULT_TIMEOUT = 10.0
RETRY_STATUS = (408, 429)
USER_AGENT = "berth.compose-notify/1"


class NotifyError(Exception):
    """The input cannot make a notification (a programming or settings error, not a delivery)."""


def event_name(kind: object, outcome: object) -> str:
    """``<kind>.<outcome>``, the name ``events`` patterns match (``deploy.rolled_back``)."""
    return "%s.%s" % (kind, outcome)


def known_events() -> list[str]:
    return [event_name(k, o) for k in KINDS for o in OUTCOMES]


def wants(patterns: Iterable[str] | None, event: str) -> bool:
    """True when one of the shell-style ``patterns`` matches ``event``; no patterns means every event."""
    if not patterns:
        return True
    return any(fnmatch.fnmatchcase(event, pattern) for pattern in patterns)


def dead_patterns(patterns: Iterable[str] | None) -> list[str]:
    """The patterns that match no known event (a typo like ``deploy.rollback``)."""
    events = known_events()
    return [p for p in patterns or () if not any(fnmatch.fnmatchcase(e, p) for e in events)]


def build_payload(record: object, app: str | None = None, host: str | None = None) -> dict[str, Any]:
    """The JSON payload for ``record`` (a release log record, or at least ``kind`` and ``outcome``).

    Keys: ``schema``, ``event``, ``app``, ``host`` and every field of :data:`RECORD_FIELDS`
    (missing ones are null, lists default to empty). Other keys of ``record`` are dropped.
    """
    if not isinstance(record, Mapping):
        raise NotifyError("record must be a mapping (a release log record)")
    kind, outcome = record.get("kind"), record.get("outcome")
    if kind not in KINDS:
        raise NotifyError("record kind must be one of %s" % ", ".join(KINDS))
    if outcome not in OUTCOMES:
        raise NotifyError("record outcome must be one of %s" % ", ".join(OUTCOMES))
    payload = {"schema": SCHEMA, "event": event_name(kind, outcome), "app": app, "host": host}
    for name in RECORD_FIELDS:
        value = record.get(name)
        if value is None and name.startswith("services_"):
            value = []
        payload[name] = value
    return payload


def test_payload(app: str | None = None, host: str | None = None, operator: str | None = None) -> dict[str, Any]:
    """The payload of ``notify.yml -e event=test``: the generic shape, event ``test``, no run behind it."""
    payload: dict[str, Any] = {"schema": SCHEMA, "event": TEST_EVENT, "app": app, "host": host}
    for name in RECORD_FIELDS:
        payload[name] = [] if name.startswith("services_") else None
    payload.update(operator=operator, message="test message from berth.compose: this webhook is reachable")
    return payload


def summary_line(payload: Mapping[str, Any], environment: str | None = None) -> str:
    """One readable line: app, environment, event, ref, short sha, services, outcome, link (and who, and why)."""
    where = ", ".join(str(x) for x in (environment, payload.get("host")) if x)
    head = "%s%s" % (payload.get("app") or "app", " (%s)" % where if where else "")
    if payload.get("event") == TEST_EVENT:
        return "%s: test - %s" % (head, payload.get("message"))
    commit = payload.get("to_commit") or payload.get("serving_commit") or ""
    services = payload.get("services_recreated") or payload.get("services_built") or []
    parts = ["%s: %s of %s @ %s" % (head, payload.get("event"), payload.get("ref") or "-", commit[:7] or "-"),
             "services %s" % (", ".join(services) or "none"), "outcome %s" % payload.get("outcome")]
    if payload.get("operator"):
        parts.append("by %s" % payload["operator"])
    if payload.get("note"):
        parts.append("note: %s" % payload["note"])
    return " - ".join(parts)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shaped(payload: Mapping[str, Any], fmt: str = "generic", environment: str | None = None) -> Mapping[str, Any]:
    """The body a webhook of format ``fmt`` gets for ``payload`` (:data:`FORMATS`)."""
    if fmt == "slack":
        line = _slack_escape(summary_line(payload, environment))
        url = payload.get("job_url")
        return {"text": line + (" - <%s|job>" % url.replace("|", "%7C").replace(">", "%3E") if url else "")}
    if fmt == "discord":
        line = summary_line(payload, environment) + (" - %s" % payload["job_url"] if payload.get("job_url") else "")
        # Discord's limit is 2000 characters; a note cannot @mention anyone.
        return {"content": line[:2000], "allowed_mentions": {"parse": []}}
    return payload


def label(webhook: object, index: int) -> str:
    """How results and warnings name a webhook: its ``name``, else ``webhook <1-based index>``."""
    name = webhook.get("name") if isinstance(webhook, Mapping) else None
    return str(name) if name else "webhook %d" % (index + 1)


def scrub(text: object, url: str | None) -> str:
    """``text`` without the URL, its host:port, host, path or query (any may carry a token)."""
    text = str(text)
    if not url:
        return text
    parts = []
    try:
        split = urlsplit(url)
        parts = [split.netloc, split.hostname or "", split.path if len(split.path) > 1 else "", split.query]
    except ValueError:
        pass
    for secret in sorted([url] + [p for p in parts if p], key=len, reverse=True):
        text = text.replace(secret, "<url>")
    return text


def check_webhook(webhook: object) -> tuple[str | None, list[str], float, str | None]:
    """``(url, events, timeout, problem)`` of one ``berth_notify`` entry; ``problem`` is None when usable."""
    if not isinstance(webhook, Mapping):
        return None, [], DEFAULT_TIMEOUT, "is not a mapping of url, events, timeout"
    url = webhook.get("url")
    events = webhook.get("events")
    events = ["*"] if events is None else events
    timeout = webhook.get("timeout")
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if not isinstance(url, str) or not url:
        return None, [], DEFAULT_TIMEOUT, "has no url"
    scheme = url.split(":", 1)[0].lower()
    if scheme not in ("http", "https"):
        return None, [], DEFAULT_TIMEOUT, "url must start with http:// or https://"
    if webhook.get("format") is not None and webhook.get("format") not in FORMATS:
        return None, [], DEFAULT_TIMEOUT, "format must be one of %s" % ", ".join(FORMATS)
    if isinstance(events, str):
        events = [events]
    if not isinstance(events, list) or not all(isinstance(e, str) and e for e in events):
        return None, [], DEFAULT_TIMEOUT, "events must be a list of patterns like deploy.* or *.failed"
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        return None, [], DEFAULT_TIMEOUT, "timeout must be a number of seconds"
    if not 0 < timeout <= MAX_TIMEOUT:
        return None, [], DEFAULT_TIMEOUT, "timeout must be more than 0 and at most %d s" % MAX_TIMEOUT
    return url, events, timeout, None


def retryable(status: int | None) -> bool:
    """Whether an attempt that ended with HTTP ``status`` (None: no answer) may pass the next time."""
    return status is None or status in RETRY_STATUS or status >= 500


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def urllib_open(url: str, data: bytes | None = None, method: str = "POST", timeout: float = DEFAULT_TIMEOUT,
                http_agent: str = USER_AGENT, headers: Mapping[str, str] | None = None,
                follow_redirects: str = "none") -> Any:
    """``open_url``'s subset that :func:`post_once` uses, on the standard library (where Ansible is not
    installed: the job runner on the VM). Redirects are never followed; certificates are checked."""
    request = Request(url, data=data, method=method, headers=dict(headers or {}, **{"User-Agent": http_agent}))
    handlers = [_NoRedirect()] if follow_redirects == "none" else []
    return build_opener(*handlers).open(request, timeout=timeout)


def post_once(url: str, body: bytes, timeout: float,
              opener: Callable[..., Any] | None = None) -> tuple[int | None, str | None]:
    """POST ``body`` (bytes, JSON) once; ``(status or None, error text or None)``, never raises."""
    try:
        response = (opener or open_url or urllib_open)(
            url, data=body, method="POST", timeout=timeout, http_agent=USER_AGENT,
            headers={"Content-Type": "application/json"}, follow_redirects="none")
        try:
            status = response.getcode()
            response.read(65536)
        finally:
            response.close()
    except HTTPError as exc:
        return exc.code, "HTTP %d %s" % (exc.code, exc.reason)
    except URLError as exc:
        return None, "no answer: %s" % (exc.reason,)
    except TimeoutError:
        return None, "no answer within %s s" % timeout
    except (OSError, ValueError) as exc:
        return None, "%s: %s" % (type(exc).__name__, exc)
    if 200 <= status < 300:
        return status, None
    return status, "HTTP %d" % status


def deliver(url: str, payload: Mapping[str, Any], timeout: float, retries: int = 2, delay: float = 1.0,
            opener: Callable[..., Any] | None = None, sleep: Callable[[float], Any] = time.sleep) -> dict[str, Any]:
    """POST ``payload`` with bounded retries; ``{status, attempts, error}`` with the URL scrubbed out."""
    retries = max(0, min(int(retries), MAX_RETRIES))
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    attempts = 0
    status = error = None
    while attempts <= retries:
        attempts += 1
        status, error = post_once(url, body, timeout, opener)
        if error is None or not retryable(status) or attempts > retries:
            break
        sleep(delay * attempts)
    return {"status": status, "attempts": attempts, "error": scrub(error, url) if error else None}


def notify(webhooks: Iterable[object] | None, payload: Mapping[str, Any], retries: int = 2, delay: float = 1.0,
           opener: Callable[..., Any] | None = None, sleep: Callable[[float], Any] = time.sleep,
           environment: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Send ``payload`` (shaped by each webhook's ``format``) to every webhook whose ``events`` match its
    event; the test event goes to every webhook.

    Returns ``(results, warnings)``: one result per webhook (``name``, ``sent``, ``status``,
    ``attempts``, ``error``; never the URL) and one warning per webhook that failed or is
    misconfigured.
    """
    results: list[dict[str, Any]] = []
    warnings: list[str] = []
    for index, webhook in enumerate(webhooks or []):
        name = label(webhook, index)
        url, events, timeout, problem = check_webhook(webhook)
        entry: dict[str, Any] = {"name": name, "sent": False, "skipped": False, "status": None, "attempts": 0, "error": None}
        if problem:
            entry["error"] = "berth_notify entry %s %s" % (name, problem)
            warnings.append(entry["error"])
            results.append(entry)
            continue
        dead = dead_patterns(events)
        if dead:
            warnings.append("%s: events %s match no event (events are <kind>.<outcome>: %s)"
                            % (name, ", ".join(dead), ", ".join(known_events())))
        if payload["event"] != TEST_EVENT and not wants(events, payload["event"]):
            entry["skipped"] = True
            results.append(entry)
            continue
        # check_webhook found no problem: the entry is a mapping.
        fmt = webhook.get("format") if isinstance(webhook, Mapping) else None
        body = shaped(payload, fmt or "generic", environment)
        # url is None only with a problem (skipped above)
        outcome = deliver(url, body, timeout, retries=retries, delay=delay, opener=opener,  # type: ignore[arg-type]
                          sleep=sleep)
        entry.update(outcome, sent=outcome["error"] is None)
        if outcome["error"]:
            warnings.append("%s was not told of %s after %d attempt(s): %s (the run itself is not affected)"
                            % (name, payload["event"], outcome["attempts"], outcome["error"]))
        results.append(entry)
    return results, warnings


__all__ = [
    "FORMATS", "KINDS", "MAX_RETRIES", "NotifyError", "OUTCOMES", "RECORD_FIELDS", "SCHEMA", "TEST_EVENT",
    "build_payload", "check_webhook", "dead_patterns", "deliver", "event_name", "known_events", "label", "notify",
    "post_once", "retryable", "scrub", "shaped", "summary_line", "test_payload", "urllib_open", "wants",
]
