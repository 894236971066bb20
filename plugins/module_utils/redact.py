# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redaction of the known secrets from any text before it is logged, returned or sent.

The one place that decides what is hidden (issue 18, defects 11 and 15). The engine, reconcile
and the gate pass every free text they log, return or send through a :class:`Redactor` - failure
messages (which carry migration, hook and build output), summaries, warnings, the ``output`` of a
step and the ``message`` of a release-log record, and so the webhooks' payloads built from it.
Structured fields (commits, service names, images, refs) are never rewritten: they are not free
text, and a rollback reads them back.

What is a secret:

* every value of the app's env file (what Compose hands the containers: DSNs, passwords, keys);
* the registry password;
* of each probe: the values of its headers (except a few that carry no credential, such as
  ``Host``), and the password and query values of its URL.

How a secret is found in a text (decisions, tested in ``tests/unit/.../test_redact.py``):

* a value shorter than :data:`MIN_LENGTH` characters is not redacted: ``1``, ``true`` or a port
  would shred every message, and a credential that short is no secret anyway. ``true``/``false``
  /``yes``/``no``/``null`` and plain numbers are left alone at any length for the same reason;
* the longer value is replaced first, so a value that is a substring of another never leaves the
  rest of the longer one behind (``abc123`` and ``abc123-suffix`` both vanish whole);
* a multi-line value (a PEM key) is also hidden line by line (each line of at least
  :data:`MIN_LENGTH`), since an output tail may hold only part of it;
* its URL-encoded forms (``quote``, ``quote_plus``) and its JSON-escaped form are hidden too: tools
  print DSNs encoded, and compose prints JSON;
* a value that is a URL with a password (``postgres://app:s3cret@db/app``) also has that password
  hidden alone (a tool that prints the URL re-formatted still shows the password);
* every URL in a text, whatever its origin, has its password and its query values replaced
  (``https://u:<redacted>@h/p?token=<redacted>``): a token in a URL is the usual way one leaks.

Not covered (documented): other encodings (base64, hex) of a value, and a secret the app derives
from one at run time. No Ansible imports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus, unquote, urlsplit

from ansible_collections.berth.compose.plugins.module_utils.env_file import parse as parse_env

MARK = "<redacted>"
MIN_LENGTH = 6
# Header names whose values carry no credential: shown, so a failing probe can be told apart.
PUBLIC_HEADERS = ("host", "accept", "accept-encoding", "accept-language", "content-type", "user-agent",
                  "cache-control", "x-forwarded-proto", "x-forwarded-host")
# The free-text fields of a module result (the rest is structured: commits, services, images).
RESULT_TEXT = ("msg", "output", "summary", "warnings", "rate_limit_msg")
_NOT_SECRET = re.compile(r"(?i)\A(?:true|false|yes|no|on|off|null|none|[-+]?\d+(?:\.\d+)?)\Z")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>`]+")
_USERINFO = re.compile(r"\A([^:@/]*):([^@/]+)@")
_Result = TypeVar("_Result", bound=MutableMapping[str, Any])


def _worth_hiding(text: str) -> bool:
    return len(text) >= MIN_LENGTH and not _NOT_SECRET.match(text.strip())


def forms(value: object) -> set[str]:
    """Every string under which ``value`` is hidden (empty when it is too short or plain to be a secret)."""
    if not isinstance(value, str) or not _worth_hiding(value):
        return set()
    out = {value}
    for line in value.splitlines():
        if _worth_hiding(line.strip()):
            out.add(line.strip())
    for encoded in (quote(value, safe=""), quote_plus(value, safe=""), json.dumps(value)[1:-1]):
        if encoded != value:
            out.add(encoded)
    password = url_password(value)
    if password:
        for part in (password, unquote(password)):
            if _worth_hiding(part):
                out.add(part)
    return out


def url_password(value: str) -> str | None:
    """The password of a URL-shaped value (``scheme://user:password@host``), or None."""
    if "://" not in value:
        return None
    try:
        return urlsplit(value.strip()).password
    except ValueError:
        return None


def _scrub_url(url: str) -> str:
    """The URL with its password and query values replaced by MARK."""
    scheme, sep, rest = url.partition("://")
    rest = _USERINFO.sub(lambda m: "%s:%s@" % (m.group(1), MARK), rest, count=1)
    if "?" in rest:
        head, _q, query = rest.partition("?")
        query, hash_sep, fragment = query.partition("#")
        pairs = []
        for pair in query.split("&"):
            name, eq, value = pair.partition("=")
            pairs.append(name + eq + (MARK if eq and value else ""))
        rest = head + "?" + "&".join(pairs) + hash_sep + fragment
    return scheme + sep + rest


def scrub_urls(text: Any) -> Any:
    """``text`` with every URL's password and query values replaced (the rest of the URL stays)."""
    if not isinstance(text, str) or "://" not in text:
        return text
    return _URL.sub(lambda m: _scrub_url(m.group(0)), text)


def env_values(text: str | None) -> list[str]:
    """The values of an env file's text (the parser of :mod:`env_file`, lenient)."""
    return list(parse_env(text or "").values())


def probe_secrets(probes: Iterable[Any] | None) -> list[str]:
    """Of the probes (the ``probes`` option's dicts): header values but the public ones, URL passwords
    and URL query values."""
    out = []
    for probe in probes or ():
        if not isinstance(probe, Mapping):
            continue
        for name, value in (probe.get("headers") or {}).items():
            if str(name).lower() not in PUBLIC_HEADERS and value is not None:
                out.append(str(value))
        url = probe.get("url")
        if isinstance(url, str) and "://" in url:
            password = url_password(url)
            if password:
                out += [password, unquote(password)]
            try:
                query = urlsplit(url).query
            except ValueError:
                query = ""
            for pair in query.split("&"):
                value = pair.partition("=")[2]
                if value:
                    out += [value, unquote(value)]
    return out


def hide_probe_secrets(module: Any, name: str = "probes") -> None:
    """Add the secrets of the module's probes (URL password and query values, auth headers) to its
    ``no_log_values``: Ansible then masks them in everything the module returns, its invocation included."""
    module.no_log_values.update(Redactor(probe_secrets(module.params.get(name))).secrets())


class Redactor:
    """Hide ``values`` (and their :func:`forms`) and URL credentials in texts and in data."""

    def __init__(self, values: Iterable[object] = ()) -> None:
        needles: set[str] = set()
        for value in values:
            needles |= forms(value)
        # Longest first: a value inside another never leaves part of the longer one behind.
        self.needles = sorted(needles, key=lambda n: (-len(n), n))

    @classmethod
    def for_run(cls, env_file: str | None = None, passwords: Iterable[str | None] = (),
                probes: Iterable[Any] | None = ()) -> Redactor:
        """The secrets of one run: the env file's values (a file that cannot be read adds none), the
        ``passwords`` given (the registry password) and the probes' secrets."""
        values = [p for p in passwords if p]
        if env_file:
            try:
                with open(env_file) as handle:
                    values += env_values(handle.read())
            except (OSError, UnicodeDecodeError):
                pass
        return cls(values + probe_secrets(probes))

    def text(self, text: Any) -> Any:
        """``text`` with every secret replaced by MARK; anything that is not a string is returned as is."""
        if not isinstance(text, str) or not text:
            return text
        for needle in self.needles:
            if needle in text:
                text = text.replace(needle, MARK)
        return scrub_urls(text)

    def data(self, value: Any) -> Any:
        """Every string in ``value`` (nested dicts, lists and tuples) redacted; keys stay."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return dict((k, self.data(v)) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value

    def fields(self, result: _Result, names: Iterable[str]) -> _Result:
        """Redact the free-text fields ``names`` of the dict ``result`` in place; ``result``."""
        for name in names:
            if name in result:
                result[name] = self.data(result[name])
        return result

    def result(self, result: _Result) -> _Result:
        """A module result with its free texts (:data:`RESULT_TEXT`) and its record's message redacted."""
        self.fields(result, RESULT_TEXT)
        if isinstance(result.get("record"), dict):
            self.fields(result["record"], ("message",))
        return result

    def secrets(self) -> list[str]:
        """The strings hidden (for AnsibleModule.no_log_values: the invocation shown at -vvv)."""
        return list(self.needles)


__all__ = ["MARK", "MIN_LENGTH", "PUBLIC_HEADERS", "RESULT_TEXT", "Redactor", "env_values", "forms", "hide_probe_secrets", "probe_secrets", "scrub_urls",
           "url_password"]
