# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A CI job's summary of a deploy or rollback, in Markdown (GitHub's job summary, a GitLab artifact).

Pure: built from what the controller saw - each host's recap counts, the release records the
playbook published (``berth_records``) and the last failure of each host - by the callback
``berth.compose.ci_summary``. Every cell is one line; the records hold no secret (the engine's
messages are redacted), and failure messages come from Ansible's results (no_log ones censored).
"""

from __future__ import annotations

import re
from typing import Any

CELL_MAX = 300


def cell(value: object) -> str:
    """``value`` as one Markdown table cell: one line, pipes escaped, at most CELL_MAX characters."""
    text = " ".join(str("" if value is None else value).split())
    if len(text) > CELL_MAX:
        text = text[:CELL_MAX - 3] + "..."
    return text.replace("|", "\\|")


def explain(message: str) -> str:
    """A failure message as one readable line; SSH's host key refusals named as what they are."""
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in message:
        return "host key mismatch: the host's key is not the pinned one (REMOTE HOST IDENTIFICATION HAS CHANGED); nothing was run"
    if "Host key verification failed" in message:
        return "host key verification failed: no pinned host key for this host; nothing was run"
    return re.sub(r"@{3,}", " ", message)


def short(commit: object) -> str:
    return ("`%s`" % str(commit)[:12]) if commit else "-"


def names(values: object) -> str:
    return ", ".join(str(v) for v in values) if isinstance(values, list) and values else "-"


def host_outcome(record: dict[str, Any] | None, counts: dict[str, int], problem: str | None) -> str:
    """ok, rolled_back, failed, ... (the record's), or unreachable / failed (the recap's) when no record, or
    unchanged (nothing to do: the engine writes no record)."""
    if counts.get("unreachable"):
        return "unreachable"
    if record is not None and record.get("outcome"):
        return str(record["outcome"])
    if counts.get("failures"):
        return "failed"
    return "unchanged" if problem is None else "failed"


def overall(outcomes: list[str]) -> str:
    if not outcomes:
        return "no host matched"
    bad = sorted({o for o in outcomes if o not in ("ok", "unchanged")})
    return "ok" if not bad else "FAILED (%s)" % ", ".join(bad)


def markdown(playbook: str, ref: str | None, hosts: dict[str, dict[str, int]], records: dict[str, Any],
             problems: dict[str, str], plans: dict[str, list[str]] | None = None) -> str:
    """The summary: a heading with the outcome, one table row per host, who ran it and from which job.

    ``plans``: each host's plan lines as the engine returned them (the message of a host with nothing to do)."""
    rows = []
    outcomes = []
    for host in sorted(hosts):
        record = records.get(host) if isinstance(records.get(host), dict) else None
        outcome = host_outcome(record, hosts[host], problems.get(host))
        outcomes.append(outcome)
        failed = outcome not in ("ok", "unchanged")
        why = explain(problems[host]) if failed and problems.get(host) else None
        if record is None and outcome == "unchanged":
            why = "; ".join((plans or {}).get(host) or []) or None
        if record is None:
            rows.append("| %s | %s | - | - | - | - | - | %s |" % (cell(host), cell(outcome), cell(why or "-")))
            continue
        duration = record.get("duration_s")
        rows.append("| %s | %s | %s -> %s | %s | %s | %s | %s | %s |" % (
            cell(host), cell(outcome), short(record.get("from_commit")), short(record.get("to_commit")),
            short(record.get("serving_commit")), cell(names(record.get("services_built"))),
            cell(names(record.get("services_recreated"))), "-" if duration is None else "%s s" % duration,
            cell(why or record.get("message") or "-")))
    shown_ref = ref or next((str(r.get("ref")) for r in records.values() if isinstance(r, dict) and r.get("ref")), "-")
    lines = ["### berth.compose %s `%s`: %s" % (cell(playbook), cell(shown_ref), overall(outcomes)), ""]
    if rows:
        lines += ["| host | outcome | from -> to | serving | built | recreated | duration | message |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"] + rows + [""]
    first = next((r for r in (records.get(h) for h in sorted(records)) if isinstance(r, dict)), {})
    shown = (("operator", "operator"), ("job", "job_url"), ("note", "note"))
    about = ["%s: %s" % (label, cell(first[key])) for label, key in shown if first.get(key)]
    if about:
        lines += [" - ".join(about), ""]
    return "\n".join(lines)
