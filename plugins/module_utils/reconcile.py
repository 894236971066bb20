# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift of a host from its recorded release: the logic behind berth.compose.reconcile.

What counts as drift (each one a :class:`Drift` with the action that repairs it):

* the baseline the provisioning roles manage (file content, mode and owner, units enabled
  and active) differs from the fingerprint recorded after the last good provision or
  reconcile -> the roles run again;
* ``current`` does not point at the recorded release (the rollback pin first, else the
  release log's current record) -> switch it back;
* a service of the release has no container, a stopped one, one whose
  ``com.docker.compose.config-hash`` label differs from what ``docker compose config --hash``
  says for the release, an unhealthy one, or one in a crash loop (it restarted and its
  healthcheck has not passed since) -> create, start or recreate it;
* an image the release runs is gone -> build it at the release's commit, or pull it;
* a zero-downtime snippet (``<root>/.berth/upstreams/<service>.caddy``) names an address that
  is not a running container of its service -> point it at the running ones again.

Plain functions over plain data; the only I/O here is reading files for the fingerprint
and the small state file. No Ansible imports.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils.atomic_file import atomic_write
from ansible_collections.berth.compose.plugins.module_utils.names import FULL_SHA

# Every value berth_reconcile_last_result can take, in the order the metric lists them.
RESULTS = ("ok", "repaired", "failed", "skipped_locked", "rate_limited", "checked")
CONFIG_HASH_LABEL = "com.docker.compose.config-hash"
BASELINE_FILE = "reconcile-baseline.json"
STATE_FILE = "reconcile-state.json"
# The kinds of service drift a repair fixes by recreating the container (a busy restart guard defers them).
RECREATE_KINDS = ("config", "unhealthy", "crashloop")


class Drift:
    """One thing that differs from the recorded state, and what repairs it."""

    __slots__ = ("kind", "subject", "detail", "action")

    @classmethod
    def from_dict(cls, data: Any) -> Drift:
        return cls(data.get("kind"), data.get("subject"), data.get("detail"), data.get("action"))

    def __init__(self, kind: str, subject: str, detail: str, action: str) -> None:
        self.kind = kind
        self.subject = subject
        self.detail = detail
        self.action = action

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "detail": self.detail, "action": self.action}

    def text(self) -> str:
        return "%s: %s" % (self.subject, self.detail)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Drift) and self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return "Drift(%r)" % (self.as_dict(),)


# ---------------------------------------------------------------- what the host should run

def target_release(pin: str | None, records: Sequence[Mapping[str, Any]],
                   commit_matches: Callable[[Any, str], bool]) -> tuple[str | None, Mapping[str, Any] | None, str]:
    """(commit, record, source) of the release reconcile brings back.

    pin: the rollback pin's commit or ""; records: the release log, oldest first;
    commit_matches: release_log.commit_matches. The pin wins (a rollback holds until the next
    deploy); else the last record that says what serves. The record is the latest one of that
    commit that names what served (for its ref and images); None when the log has none."""
    serving = [r for r in records if r.get("serving_commit")]
    if pin:
        for record in reversed(serving):
            if commit_matches(record.get("serving_commit"), pin):
                return record["serving_commit"] if len(record["serving_commit"]) > len(pin) else pin, record, "pin"
        return pin, None, "pin"
    if serving:
        return serving[-1]["serving_commit"], serving[-1], "release log"
    return None, None, "nothing recorded"


def commit_problem(value: object, where: str) -> str | None:
    """Why ``value`` (from the pin or the release log, files reconcile reads as root and uses as path parts
    and git arguments) is refused, or None for a full commit id."""
    if isinstance(value, str) and FULL_SHA.match(value):
        return None
    return ("Refusing to reconcile, nothing was changed: %s holds %r, which is not a full commit id (40 or 64 "
            "lowercase hexadecimal digits); the engine writes only full ones, so it was edited by hand or is "
            "corrupt. Fix or remove it (without the pin the release log decides), or deploy or roll back to "
            "write a good one." % (where, value))


def image_problem(images: Mapping[str, Any] | None, where: str) -> str | None:
    """Why an image map from the release log is refused (a value docker would read as an option), or None."""
    bad = sorted(s for s, image in (images or {}).items() if not isinstance(image, str) or not image
                 or image.startswith("-") or re.search(r"[\s\x00-\x1f]", image))
    if bad:
        return ("Refusing to reconcile, nothing was changed: %s names images for %s that are not image references"
                % (where, ", ".join(map(str, bad))))
    return None


def release_repair_problem(pin: str | None, records: Iterable[Mapping[str, Any]], serving_dir: str | None) -> str | None:
    """Loud words when release repair is off: no pin and no record says what serves, yet ``serving_dir``
    (``current``'s target, or a release directory) shows a release was deployed - the log was deleted."""
    if pin or any(r.get("serving_commit") for r in records) or not serving_dir:
        return None
    return ("release repair is OFF: the release log %%s has no record of what serves, yet %s is deployed (the log "
            "was deleted or emptied). Reconcile cannot tell which release to bring back: it only re-applies the "
            "provisioning roles. Restore the log from a backup (releases.jsonl.1 holds the older records "
            "rotation moved), or deploy or roll back to record the release that should serve." % serving_dir)


def parse_config_hashes(text: str) -> dict[str, str]:
    """service -> hash from ``docker compose config --hash '*'`` (one ``<service> <hash>`` per line)."""
    hashes = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            hashes[parts[0]] = parts[1]
    return hashes


def pick_container(containers: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The container that stands for a service: a running one first, then the newest."""
    if not containers:
        return None
    running = [c for c in containers if c.get("status") == "running"]
    pool = running or containers
    return sorted(pool, key=lambda c: c.get("created") or "")[-1]


def service_drift(services: Iterable[str], hashes: Mapping[str, str], containers: Mapping[str, Any],
                  images: Mapping[str, Any], present: Collection[str]) -> list[Drift]:
    """Drift of the release's long-running services.

    services: the services to judge (one-shots already left out); hashes: service -> the
    release's config hash; containers: service -> list of dict(status, health, config_hash,
    created, restarts); images: service -> image ref the release runs (build services and image-only
    ones); present: image refs that exist. Returns a list of Drift, in service order."""
    out: list[Drift] = []
    for service in sorted(services):
        image = images.get(service)
        if image and image not in present:
            out.append(Drift("image", service, "image %s is missing" % image, "build"))
        container = pick_container(containers.get(service) or [])
        if container is None:
            out.append(Drift("missing", service, "no container", "create"))
            continue
        want = hashes.get(service)
        if want and container.get("config_hash") != want:
            out.append(Drift("config", service, "container config differs from the release's (hash %s, want %s)"
                             % ((container.get("config_hash") or "none")[:12], want[:12]), "recreate"))
        elif container.get("status") != "running":
            out.append(Drift("stopped", service, "container is %s" % container.get("status"), "start"))
        elif container.get("health") == "unhealthy":
            out.append(Drift("unhealthy", service, "container is unhealthy", "recreate"))
        elif container.get("restarts") and container.get("health") == "starting":
            # Caught in the instant after a restart: a crash loop reads "running", its healthcheck reset.
            out.append(Drift("crashloop", service, "container restarted %d times and has not passed its "
                             "healthcheck since" % container["restarts"], "recreate"))
    return out


def dry_run_recreates(output: str, project: str, service: str) -> bool:
    """Whether ``docker compose --dry-run up`` output says the service's container would be recreated or created."""
    pattern = re.compile(r"%s[-_]%s[-_]\d+\Z" % (re.escape(project), re.escape(service)))
    for line in output.splitlines():
        words = line.split()
        if ("Container" in words and words[-1] in ("Recreate", "Recreated", "Create", "Created")
                and any(pattern.match(word) for word in words)):
            return True
    return False


def _host_of(address: str) -> str:
    """The host part of ``ip:port`` (``[v6]:port`` too), without brackets."""
    host = address.rsplit(":", 1)[0] if ":" in address else address
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def snippet_drift(service: str, routed: Iterable[str], running_ips: Iterable[str]) -> Drift | None:
    """Drift of a zero-downtime snippet: it routes to an address no running container of ``service`` has.

    routed: the ``ip:port`` addresses the snippet names (zero_downtime.parse_snippet); running_ips:
    the addresses of the service's running containers. None when every routed address is one of
    them (a snippet naming no address is left alone: nothing there is stale)."""
    running = set(running_ips)
    stray = [address for address in routed if _host_of(address) not in running]
    if not stray:
        return None
    return Drift("upstream", service, "Caddy routes to %s, not a running container of it (running: %s)"
                 % (", ".join(stray), ", ".join(sorted(running)) or "none"), "refresh")


def drift_lines(drift: Iterable[Drift]) -> list[str]:
    """The drift in words, one line each (``subject: detail -> action``)."""
    return ["%s: %s -> %s" % (d.subject, d.detail, d.action) for d in drift]


def drift_diff(drift: Iterable[Drift]) -> dict[str, str]:
    """The drift as Ansible's prepared diff."""
    lines = ["%s %s: %s -> %s" % (d.kind, d.subject, d.detail, d.action) for d in drift]
    return {"prepared": "reconcile would repair:\n" + "".join("  %s\n" % line for line in lines) if lines
            else "nothing drifted\n"}


def plan_actions(drift: Iterable[Drift], buildable: Collection[str],
                 guards_busy: Collection[str] = ()) -> dict[str, list[str]]:
    """What a repair does for the service drift: dict(build, pull, up, force, deferred).

    buildable: services with a build section (a missing image of another service is pulled);
    guards_busy: services whose restart guard says busy (a recreate waits for the next round;
    a missing or stopped container has nothing to interrupt and starts anyway)."""
    build: set[str] = set()
    pull: set[str] = set()
    up: set[str] = set()
    force: set[str] = set()
    deferred: set[str] = set()
    for item in drift:
        service = item.subject
        if item.kind == "image":
            (build if service in buildable else pull).add(service)
            # A new image means a new container, or a boot would recreate it later.
            up.add(service)
        elif item.kind in RECREATE_KINDS:
            if service in guards_busy:
                deferred.add(service)
                continue
            up.add(service)
            if item.kind != "config":
                force.add(service)
        elif item.kind in ("missing", "stopped"):
            up.add(service)
    up -= deferred
    return {"build": sorted(build), "pull": sorted(pull), "up": sorted(up), "force": sorted(force & up),
            "deferred": sorted(deferred)}


# ---------------------------------------------------------------- baseline fingerprint

def file_item(path: str) -> dict[str, Any] | None:
    """What the fingerprint keeps of a file: sha256 of its content, mode and owner; None when missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    digest = hashlib.sha256()
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 16), b""):
                digest.update(chunk)
    return {"sha256": digest.hexdigest(), "mode": "%04o" % stat.S_IMODE(st.st_mode), "uid": st.st_uid,
            "gid": st.st_gid}


def baseline_items(files: Iterable[str], enabled: Mapping[str, Any], active: Mapping[str, Any]) -> dict[str, Any]:
    """The baseline as a flat mapping: ``file:<path>`` -> file_item, ``enabled:<unit>`` and
    ``active:<unit>`` -> the state systemd reported (passed in as dicts unit -> state)."""
    items: dict[str, Any] = {}
    for path in files:
        items["file:" + path] = file_item(path)
    for unit, state in enabled.items():
        items["enabled:" + unit] = state
    for unit, state in active.items():
        items["active:" + unit] = state
    return items


def describe_file_change(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str:
    if before is None:
        return "appeared"
    if after is None:
        return "is missing"
    parts: list[str] = []
    if before["sha256"] != after["sha256"]:
        parts.append("content changed")
    if before["mode"] != after["mode"]:
        parts.append("mode %s (was %s)" % (after["mode"], before["mode"]))
    if before["uid"] != after["uid"] or before["gid"] != after["gid"]:
        parts.append("owner %s:%s (was %s:%s)" % (after["uid"], after["gid"], before["uid"], before["gid"]))
    return ", ".join(parts)


def baseline_drift(recorded: Mapping[str, Any] | None, now: Mapping[str, Any]) -> list[Drift]:
    """Drift between the recorded baseline and now; with nothing recorded, one item saying so.

    No value of a file is ever named: only that its content, mode or owner changed."""
    if recorded is None:
        return [Drift("baseline", "baseline", "no fingerprint recorded yet", "provision")]
    out: list[Drift] = []
    for key in sorted(set(recorded) | set(now)):
        before = recorded.get(key)
        after = now.get(key)
        if before == after:
            continue
        kind, _sep, subject = key.partition(":")
        if kind == "file":
            detail = describe_file_change(before, after)
        else:
            detail = "is %s (was %s)" % (after or "unknown", before or "unknown")
        out.append(Drift("baseline", subject, detail, "provision"))
    return out


def read_json(path: str) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is missing or not a JSON object."""
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: str, data: Any, mode: int = 0o600) -> None:
    atomic_write(path, json.dumps(data, sort_keys=True, indent=1) + "\n", mode)


# ---------------------------------------------------------------- rate limit

def parse_iso(text: object) -> int | None:
    """Epoch seconds of ``2026-11-23T15:00:00Z``; None when it is not that shape."""
    try:
        return calendar.timegm(time.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return None


# The kinds of record that put a release in place: only one of these, when it worked, resets the count.
# A one-off task (kind task) runs beside the release and repairs nothing, so it never does.
RESETS_LIMIT = ("deploy", "rollback", "reconcile")


def recent_failures(records: Sequence[Mapping[str, Any]], now: float, window: float) -> list[Mapping[str, Any]]:
    """Failed reconcile records within ``window`` seconds before ``now``, after the last record
    that put a good release in place (a deploy, rollback or repair that worked resets the count;
    an ok ``task`` or any other record does not)."""
    failures: list[Mapping[str, Any]] = []
    for record in reversed(records):
        if record.get("kind") == "reconcile" and record.get("outcome") == "failed":
            started = parse_iso(record.get("started"))
            if started is not None and now - started <= window:
                failures.append(record)
            continue
        if record.get("outcome") == "ok" and record.get("kind") in RESETS_LIMIT:
            break
    return list(reversed(failures))


def rate_limit(records: Sequence[Mapping[str, Any]], now: float, max_failures: int,
               window: float) -> tuple[bool, str]:
    """(tripped, message): tripped after ``max_failures`` failed repairs within ``window`` s."""
    if max_failures <= 0:
        return False, ""
    failures = recent_failures(records, now, window)
    if len(failures) < max_failures:
        return False, ""
    oldest = parse_iso(failures[-max_failures].get("started")) or now
    resume = oldest + window
    return True, ("reconcile stopped: %d failed repairs within %d s (berth_reconcile_max_failures=%d, "
                  "berth_reconcile_window=%d), the last at %s: %s. It tries again after %s, after a good deploy or "
                  "rollback, or with -e force=true."
                  % (len(failures), window, max_failures, window, failures[-1].get("started"),
                     failures[-1].get("message") or "no message",
                     time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(resume))))


# ---------------------------------------------------------------- record and metrics

def summary(drift: Iterable[Drift], actions: Mapping[str, Any]) -> str:
    """One line for the release log: what was wrong and what was done (never a value)."""
    wrong = "; ".join(d.text() for d in drift) or "nothing"
    done: list[str] = []
    for name in ("build", "pull", "up", "deferred"):
        if actions.get(name):
            label = {"build": "built", "pull": "pulled", "up": "started/recreated", "deferred": "deferred (busy)"}[name]
            done.append("%s %s" % (label, ", ".join(actions[name])))
    if actions.get("switched"):
        done.append("switched current to %s" % actions["switched"][:12])
    if actions.get("provisioned"):
        done.append("re-applied the provisioning roles")
    return "drift: %s -- done: %s" % (wrong, "; ".join(done) or "nothing")


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(app: str, enabled: bool, last_run: float, last_result: str, repaired_total: int) -> str:
    """node_exporter textfile metrics (Prometheus text format)."""
    app_label = 'app="%s"' % _label(app)
    lines = [
        "# HELP berth_reconcile_enabled 1 when the reconcile enable-file exists on this host.",
        "# TYPE berth_reconcile_enabled gauge",
        "berth_reconcile_enabled{%s} %d" % (app_label, 1 if enabled else 0),
        "# HELP berth_reconcile_last_run_timestamp_seconds When reconcile last ran (Unix time).",
        "# TYPE berth_reconcile_last_run_timestamp_seconds gauge",
        "berth_reconcile_last_run_timestamp_seconds{%s} %d" % (app_label, int(last_run)),
        "# HELP berth_reconcile_last_result Result of the last reconcile run: 1 for the result it had.",
        "# TYPE berth_reconcile_last_result gauge",
    ]
    for result in RESULTS:
        value = 1 if result == last_result else 0
        lines.append('berth_reconcile_last_result{%s,result="%s"} %d' % (app_label, result, value))
    lines += [
        "# HELP berth_drift_repaired_total Drift items reconcile repaired on this host.",
        "# TYPE berth_drift_repaired_total counter",
        "berth_drift_repaired_total{%s} %d" % (app_label, int(repaired_total)),
    ]
    return "\n".join(lines) + "\n"


def metrics_path(directory: str, app: str) -> str:
    return os.path.join(directory, "berth_reconcile_%s.prom" % app)


def update_state(state: Mapping[str, Any] | None, now: float, result: str, repaired: int) -> dict[str, Any]:
    """The state file's next content: last run, last result, the running total of repaired drift."""
    state = dict(state or {})
    state["last_run"] = int(now)
    state["last_result"] = result
    state["repaired_total"] = int(state.get("repaired_total") or 0) + int(repaired)
    return state
