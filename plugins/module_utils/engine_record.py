# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engine tells: the plan, the release-log record, the summary and the failure message.

One record builder for deploy and rollback (and the step durations), written once; reconcile and
task records are the same shape, filled from what those runs know (:func:`reconcile_record`,
:func:`task_record`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils import release_log

STEP_ORDER = ("preflight", "plan", "build", "migrate", "cutover", "gate")


class Marks:
    """When each step ended; ``steps()`` is the seconds each took, in story order."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.started: float | None = None
        self.ends: dict[str, float] = {}

    def start(self) -> None:
        self.started = self.clock()

    def mark(self, name: str) -> None:
        self.ends[name] = self.clock()

    def steps(self) -> dict[str, float]:
        out: dict[str, float] = {}
        last = self.started
        for name in STEP_ORDER:
            if name in self.ends:
                out[name] = round(self.ends[name] - last, 1)  # type: ignore[operator]  # start() comes first
                last = self.ends[name]
        return out

    def duration(self) -> float:
        return round(self.clock() - self.started, 1)  # type: ignore[operator]  # start() comes first


def short(commit: str | None) -> str:
    return (commit or "")[:12]


def plan_lines(run: Any, plan: dict[str, Any]) -> list[str]:
    """The plan as the operator reads it before anything changes."""
    if run.kind == "rollback":
        differ = sorted(set(plan["up"]) | set(plan["build"]))
        return ["rollback %s: %s -> %s" % (run.ref, short(run.from_commit) or "nothing", short(run.to_commit)),
                "nothing to do: it serves already" if run.from_commit == run.to_commit
                else "services that differ: " + ", ".join(differ),
                "Migrations are not reverted: the database keeps what newer releases migrated."] + (
                    ["check mode: nothing changes"] if run.check_mode else [])
    lines = ["%s: %s -> %s" % (run.ref, short(run.from_commit) or "nothing", short(run.to_commit))]
    lines += ["note:      " + note for note in plan.get("notes") or []]
    if not plan["work"]:
        lines.append("nothing to deploy")
    for label, key in (("build:     ", "build"), ("recreate:  ", "up"), ("backup:    ", "backup"),
                       ("migrate:   ", "migrate"), ("hooks:     ", "hooks")):
        if plan.get(key):
            lines.append(label + ", ".join(plan[key]) + (" (dumped before the migrations)" if key == "backup" else ""))
    if plan["deferred_before"]:
        lines.append("picks up:  %s (deferred last time)" % ", ".join(plan["deferred_before"]))
    if plan.get("pending_before") and not plan.get("pending"):
        lines.append("picks up:  %s (left out by an earlier -e service=)" % ", ".join(plan["pending_before"]))
    if plan.get("pending"):
        lines.append("pending:   %s (changed, left out by -e service=: still the older code; the next deploy "
                     "without service= picks them up)" % ", ".join(plan["pending"]))
    if plan.get("summary"):
        lines.append("why:       " + plan["summary"])
    if plan.get("full"):
        lines.append("full:      " + "; ".join(plan["full_reasons"]))
    if run.check_mode:
        lines.append("check mode: nothing changes")
    return lines


def record_for(run: Any, outcome: str, serving: str | None, message: str | None = None,
               gate: Any = None) -> dict[str, Any]:
    """The release-log record of this run (kind, refs, what was built and recreated, gate, steps, operator)."""
    prepared = run.facts.get("prepared") or {}
    cutovers = run.facts.get("cutovers") or []
    first = cutovers[0] if cutovers else {}
    plan = run.result.get("planned") or {}
    gated = run.facts.get("gate")
    if gate is None:
        gate = dict(passed=bool(gated["passed"]), services=list(gated["failed_services"])) if gated else "skipped"
    lock = (run.lock.lock or {}) if run.lock else {}
    return dict(
        kind=run.kind, ref=run.ref, from_commit=run.from_commit or None, to_commit=run.to_commit,
        serving_commit=serving, services_built=list(prepared.get("built", [])),
        services_recreated=list(first.get("recreated", [])), services_deferred=list(first.get("deferred", [])),
        services_pending=list(plan.get("pending" if serving == run.to_commit else "pending_before") or []),
        images=dict(prepared.get("images", {})), migrations=list(plan.get("migrate", [])),
        hooks=list(plan.get("hooks", [])), backups=list(run.facts.get("backups") or []), gate=gate, outcome=outcome,
        started=release_log.iso_now(run.marks.started), duration_s=run.marks.duration(), steps=run.marks.steps(),
        operator=lock.get("operator"), pinned=run.kind == "rollback" and outcome == "ok", message=message,
        note=run.p.get("note") or None, job_url=run.p.get("job_url") or None)


NOTE_MAX = 200
JOB_URL_MAX = 500


def note_problems(note: object, job_url: object) -> list[str]:
    """What is wrong with ``note`` (one line of at most NOTE_MAX characters) and ``job_url`` (one http(s) URL)."""
    problems = []
    if note is not None and (not isinstance(note, str) or "\n" in note or "\r" in note or len(note) > NOTE_MAX
                             or any(ord(c) < 32 and c != "\t" for c in note)):
        problems.append("note must be one line of at most %d characters (no line breaks or control characters)"
                        % NOTE_MAX)
    if job_url is not None and job_url != "" and (
            not isinstance(job_url, str) or len(job_url) > JOB_URL_MAX
            or not job_url.startswith(("http://", "https://")) or any(c.isspace() or ord(c) < 32 for c in job_url)):
        problems.append("job_url must be one http:// or https:// URL of at most %d characters, without spaces"
                        % JOB_URL_MAX)
    return problems


def reconcile_record(commit: str, record: dict[str, Any] | None, outcome: str, drift_text: str | None,
                     actions: dict[str, Any], from_commit: str | None, gate: dict[str, Any] | None,
                     started: float | None, now: float, operator: str | None, pinned: bool) -> dict[str, Any]:
    """The ``kind: reconcile`` record: the recorded release ``commit`` (its log ``record``) brought back.

    actions: what the repair did (build, pull, up, deferred); gate: the gate's result dict or None
    (skipped); ``drift_text``: the message (what was wrong and what was done, never a value)."""
    record = record or {}
    return dict(
        kind="reconcile", ref=record.get("ref"), from_commit=from_commit or None, to_commit=commit,
        serving_commit=commit if outcome == "ok" else None,
        services_built=list(actions.get("build") or []) + list(actions.get("pull") or []),
        services_recreated=list(actions.get("up") or []), services_deferred=list(actions.get("deferred") or []),
        images=dict(record.get("images") or {}),
        gate=(dict(passed=bool(gate.get("passed")), services=list(gate.get("failed_services") or []))
              if gate and "passed" in gate else "skipped"),
        outcome=outcome, started=release_log.iso_now(started or now), duration_s=round(now - (started or now), 1),
        operator=operator, pinned=pinned, message=drift_text)


def task_record(ref: str, commit: str, outcome: str, started: float, seconds: float, operator: str | None,
                message: str | None, kind: str = "task") -> dict[str, Any]:
    """The ``kind: task`` record (``kind: job`` for a scheduled job): no serving_commit, a task changes nothing
    that serves."""
    return dict(kind=kind, ref=ref, to_commit=commit, outcome=outcome, gate="skipped",
                started=release_log.iso_now(started), duration_s=seconds, operator=operator, message=message)


def summary_lines(run: Any, record: dict[str, Any], message: str | None = None) -> list[str]:
    gated = run.facts.get("gate")
    ready = ", ".join("%s %.1f s" % item for item in sorted((gated or {}).get("ready", {}).items()))
    gate = "passed" if (gated or {}).get("passed") and record["outcome"] == "ok" else (
        "failed" if gated else "skipped")
    lines = ["%s %s: %s -> %s, outcome %s, now serving %s" % (
        run.kind, run.ref, short(run.from_commit) or "nothing", short(run.to_commit), record["outcome"],
        short(record["serving_commit"])),
        "built:      " + (", ".join(record["services_built"]) or "-"),
        "recreated:  " + (", ".join(record["services_recreated"]) or "-")]
    if record["services_deferred"]:
        lines.append("deferred:   %s (busy; the next deploy or reconcile picks it up)"
                     % ", ".join(record["services_deferred"]))
    if record.get("backups"):
        lines.append("backups:    " + ", ".join(record["backups"]))
    lines += ["migrated:   " + (", ".join(record["migrations"]) or "-"),
              "hooks:      " + (", ".join(record["hooks"]) or "-"),
              "gate:       " + gate + (" (healthy after: %s)" % ready if ready and gate == "passed" else ""),
              "steps (s):  %s; total %s" % (
                  ", ".join("%s %s" % kv for kv in record["steps"].items()), record["duration_s"])]
    lines += ["%-12s%s" % (name + ":", record[name]) for name in ("operator", "note", "job_url") if record.get(name)]
    if message:
        lines.append(message)
    return lines


def failure_message(run: Any, stage: str, failure: object) -> str:
    """What the failed play says: the same words for deploy and rollback, by the stage it failed in."""
    what = "%s of %s" % (run.kind.capitalize(), run.ref)
    was = short(run.from_commit) or "what served before"
    new = short(run.to_commit)
    if stage == "back":
        return "%s (%s) failed: %s -- automatic rollback done, %s serves now." % (what, new, failure, was)
    if stage == "hooks":
        return ("A hook failed after cutover to %s; not rolled back (the hook may have changed data): %s"
                % (new, failure))
    if stage == "cutover":
        return "%s failed at cutover, no automatic rollback: %s" % (what, failure)
    if stage == "gate":
        return "%s failed its gate, no automatic rollback: %s" % (what, failure)
    return "%s stopped before cutover, nothing was switched (%s still serves): %s" % (what, was, failure)
