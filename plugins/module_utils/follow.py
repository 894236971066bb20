# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pull mode (``berth_follow``): the logic behind berth.compose.follow.

The VM's reconcile timer follows a branch, or the highest version among the tags that match a
pattern (``v*``). When the followed ref names another commit than the one that serves, the
timer deploys it through the release engine, unless:

* a rollback pin is set: the pin is an operator's rollback, follow never deploys past it;
* the commit already failed its gate (the release log holds a deploy of it that rolled back or
  whose gate failed): it is not retried until the ref moves to another commit;
* ``max_failures`` follow deploys failed within ``window`` seconds (the reconcile rate limit's
  settings), after the last release that was put in place and worked.

Plain functions over plain data. No Ansible imports.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils.reconcile import RESETS_LIMIT, parse_iso
from ansible_collections.berth.compose.plugins.module_utils.release_log import commit_matches, gate_failed

VARIABLE = "berth_follow"
OPERATOR_PREFIX = "follow@"
GLOB_CHARS = "*?["
METRIC_PREFIX = "berth_follow_"
# What git refuses in a ref name (git check-ref-format), the glob characters aside.
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f~^:\\]")
_BAD_PARTS = re.compile(r"\A-|\.\.|@\{|//|\A/|/\Z|\.\Z|\.lock(/|\Z)|(\A|/)\.")

ACTIONS = ("deploy", "current", "pinned", "failed_before", "rate_limited", "missing")


class Spec:
    """What berth_follow names: a branch (``kind`` branch) or a tag pattern (``kind`` tags)."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: str) -> None:
        self.kind = kind
        self.value = value

    def describe(self) -> str:
        return ("branch %s" % self.value) if self.kind == "branch" else ("the highest tag matching %s" % self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Spec) and (self.kind, self.value) == (other.kind, other.value)

    def __repr__(self) -> str:
        return "Spec(%r, %r)" % (self.kind, self.value)


def follow_problem(value: object) -> str | None:
    """Why ``value`` is refused as berth_follow, naming the variable; None when it is usable (or empty: off)."""
    if value is None or value == "":
        return None
    rule = ("use a branch name (main) or a tag pattern with * ? or [...] (v*), as git allows in a ref name: no "
            "whitespace, control characters, ~ ^ : or backslash, no '..', no leading '-', '/' or '.', no "
            "trailing '/' or '.', no '.lock' part")
    if not isinstance(value, str):
        return "%s=%r is not allowed: %s" % (VARIABLE, value, rule)
    name = value[len("refs/heads/"):] if value.startswith("refs/heads/") else value
    if value.startswith("refs/") and not value.startswith("refs/heads/"):
        return "%s=%r is not allowed: name the branch without refs/, or a tag pattern such as v*" % (VARIABLE, value)
    if not name or _BAD_CHARS.search(name) or _BAD_PARTS.search(name) or len(name) > 100:
        return "%s=%r is not allowed: %s" % (VARIABLE, value, rule)
    return None


def parse_follow(value: str) -> Spec | None:
    """The Spec of a valid berth_follow, None when it is off (empty). ValueError (the message) when refused."""
    problem = follow_problem(value)
    if problem:
        raise ValueError(problem)
    if not value:
        return None
    if any(char in value for char in GLOB_CHARS):
        return Spec("tags", value)
    return Spec("branch", value[len("refs/heads/"):] if value.startswith("refs/heads/") else value)


def parse_ls_remote(text: str) -> dict[str, str]:
    """ref name -> commit from ``git ls-remote`` output; an annotated tag's peeled line (``^{}``) wins."""
    refs: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        sha, name = parts
        if name.endswith("^{}"):
            peeled[name[:-3]] = sha
        else:
            refs[name] = sha
    refs.update(peeled)
    return refs


# ---------------------------------------------------------------- tags

def version_key(tag: str) -> tuple[Any, ...]:
    """Sort key of a version tag: the numbers compare as numbers (v10 > v9 > v1.2.3), a release above its
    pre-releases (v2.0.0 > v2.0.0-rc.2 > v2.0.0-rc.1), a tag without any number below every one with."""
    match = re.search(r"\d+(?:\.\d+)*", tag)
    if not match:
        return (0, (), 0, (), tag)
    numbers = tuple(int(n) for n in match.group(0).split("."))
    rest = tag[match.end():]
    build = rest.split("+", 1)[0]
    pre = build.lstrip("-.")
    pre_parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\-]", pre) if p)
    return (1, numbers, 0 if pre_parts else 1, pre_parts, tag)


def highest_tag(tags: Iterable[str], pattern: str) -> str | None:
    """The tag of ``tags`` that matches ``pattern`` (fnmatch, case-sensitive) with the highest version."""
    matching = [t for t in tags if fnmatch.fnmatchcase(t, pattern)]
    return max(matching, key=version_key) if matching else None


def remote_target(spec: Spec, refs: Mapping[str, str]) -> tuple[str, str] | None:
    """(ref, commit) the followed ref names on the remote (``refs`` from parse_ls_remote), or None."""
    if spec.kind == "branch":
        commit = refs.get("refs/heads/%s" % spec.value)
        return (spec.value, commit) if commit else None
    tags = [name[len("refs/tags/"):] for name in refs if name.startswith("refs/tags/")]
    tag = highest_tag(tags, spec.value)
    return (tag, refs["refs/tags/%s" % tag]) if tag else None


# ---------------------------------------------------------------- release log rules

def is_follow(record: Mapping[str, Any]) -> bool:
    return record.get("kind") == "deploy" and str(record.get("operator") or "").startswith(OPERATOR_PREFIX)


def failed_gate(records: Sequence[Mapping[str, Any]], commit: str) -> Mapping[str, Any] | None:
    """The record saying ``commit`` failed its gate: the latest deploy of it rolled back or failed its gate.
    None when it never did, or when its latest deploy worked (a deploy by hand that passed lifts it)."""
    for record in reversed(records):
        if record.get("kind") == "deploy" and commit_matches(record.get("to_commit"), commit):
            if record.get("outcome") == "rolled_back" or gate_failed(record.get("gate")):
                return record
            return None
    return None


def recent_failures(records: Sequence[Mapping[str, Any]], now: float, window: float) -> list[Mapping[str, Any]]:
    """Failed follow deploys within ``window`` s before ``now``, after the last record that put a release in
    place and worked (as reconcile counts its failed repairs)."""
    failures: list[Mapping[str, Any]] = []
    for record in reversed(records):
        if is_follow(record) and record.get("outcome") != "ok":
            started = parse_iso(record.get("started"))
            if started is not None and now - started <= window:
                failures.append(record)
            continue
        if record.get("outcome") == "ok" and record.get("kind") in RESETS_LIMIT:
            break
    return list(reversed(failures))


def last_deployed(records: Sequence[Mapping[str, Any]]) -> float:
    """When follow last deployed a release that worked (the record's end, Unix time); 0 when never."""
    for record in reversed(records):
        if is_follow(record) and record.get("outcome") == "ok":
            started = parse_iso(record.get("started"))
            if started is not None:
                return started + float(record.get("duration_s") or 0)
    return 0


# ---------------------------------------------------------------- the decision

class Decision:
    """What this round does (``action``, one of ACTIONS), with the ref and commit followed and why."""

    __slots__ = ("action", "ref", "commit", "msg", "behind", "pinned")

    def __init__(self, action: str, ref: str | None, commit: str | None, msg: str, behind: bool,
                 pinned: bool) -> None:
        self.action = action
        self.ref = ref
        self.commit = commit
        self.msg = msg
        self.behind = behind
        self.pinned = pinned

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "ref": self.ref, "commit": self.commit, "msg": self.msg,
                "behind": self.behind, "pinned": self.pinned, "deploy": self.action == "deploy"}


def decide(spec: Spec, target: tuple[str, str] | None, serving: str | None, pin: str,
           records: Sequence[Mapping[str, Any]], now: float, max_failures: int, window: float,
           force: bool = False) -> Decision:
    """This round's Decision. target: remote_target's (ref, commit) or None; serving: the commit `current`
    serves (None: nothing deployed); pin: the rollback pin's commit or ''."""
    pinned = bool(pin)
    if target is None:
        what = "branch %s" % spec.value if spec.kind == "branch" else "tag matching %s" % spec.value
        return Decision("missing", None, None, "follow: the remote has no %s; nothing to deploy" % what, False, pinned)
    ref, commit = target
    short = commit[:12]
    where = "%s (%s at %s)" % (ref, spec.describe(), short) if spec.kind == "tags" else "%s at %s" % (ref, short)
    if pin:
        behind = not commit_matches(pin, commit)
        return Decision("pinned", ref, commit, "follow holds at the rollback pin %s (an operator's rollback): %s is "
                        "%s; follow never deploys past the pin. Deploy by hand (deploy.yml) to lift it."
                        % (pin[:12], where, "not deployed" if behind else "what the pin serves"), behind, True)
    if serving and commit_matches(serving, commit):
        return Decision("current", ref, commit, "follow: %s serves, nothing to deploy" % where, False, False)
    failed = failed_gate(records, commit)
    if failed:
        return Decision("failed_before", ref, commit, "follow: %s failed its gate at %s (record %s, %s); it is not "
                        "retried until %s moves (or deploy it by hand)"
                        % (where, failed.get("started"), failed.get("id"), failed.get("outcome"), ref),
                        True, False)
    failures = recent_failures(records, now, window)
    if max_failures > 0 and len(failures) >= max_failures and not force:
        return Decision("rate_limited", ref, commit, "follow stopped: %d failed follow deploys within %d s "
                        "(berth_reconcile_max_failures=%d, berth_reconcile_window=%d), the last at %s; %s waits. It "
                        "tries again after the window, after a good deploy or rollback, or with -e force=true."
                        % (len(failures), window, max_failures, window, failures[-1].get("started"), where),
                        True, False)
    return Decision("deploy", ref, commit, "follow: %s moved, deploying %s (serving %s)"
                    % (ref, short, (serving or "nothing")[:12]), True, False)


# ---------------------------------------------------------------- metrics

def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(app: str, last: float, behind: bool, pinned: bool) -> str:
    """The follow gauges (Prometheus text format), appended to the reconcile metrics file."""
    label = 'app="%s"' % _label(app)
    return "\n".join([
        "# HELP berth_follow_last_deployed_timestamp_seconds When follow last deployed a release that worked.",
        "# TYPE berth_follow_last_deployed_timestamp_seconds gauge",
        "berth_follow_last_deployed_timestamp_seconds{%s} %d" % (label, int(last)),
        "# HELP berth_follow_behind 1 when the followed ref names another commit than the one that serves.",
        "# TYPE berth_follow_behind gauge",
        "berth_follow_behind{%s} %d" % (label, 1 if behind else 0),
        "# HELP berth_follow_pinned 1 when a rollback pin holds follow back.",
        "# TYPE berth_follow_pinned gauge",
        "berth_follow_pinned{%s} %d" % (label, 1 if pinned else 0),
    ]) + "\n"


def _is_follow_line(line: str) -> bool:
    return line.startswith(METRIC_PREFIX) or line.startswith(("# HELP " + METRIC_PREFIX, "# TYPE " + METRIC_PREFIX))


def follow_lines(text: str) -> str:
    """The follow lines of a metrics file's text (kept when reconcile rewrites the file)."""
    kept = [line for line in text.splitlines() if _is_follow_line(line)]
    return "\n".join(kept) + "\n" if kept else ""


def merge_metrics(text: str, follow: str) -> str:
    """The metrics file's text with its follow lines replaced by ``follow`` ('' drops them)."""
    kept = [line for line in text.splitlines() if not _is_follow_line(line)]
    body = "\n".join(kept) + "\n" if kept else ""
    return body + follow
