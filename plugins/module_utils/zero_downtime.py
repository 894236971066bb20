# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Zero-downtime cutover of HTTP services behind Caddy (berth_zero_downtime).

The mechanism (docs/decisions.md, "Zero-downtime cutover"): Caddy runs on the host and
reaches the containers of an opted-in service by their IP on the compose network. The
upstreams of each such service live in one generated snippet,
``<app root>/.berth/upstreams/<service>.caddy``, that the Caddyfile imports inside the
site's ``reverse_proxy`` block (role berth.compose.caddy, ``upstreams_file``). A change is
written, adapted with the Caddyfile (``caddy adapt``) and applied with ``caddy reload``: a
graceful config swap through Caddy's admin API that finishes in-flight requests. The file
on disk is what runs; provision re-renders the same Caddyfile and never undoes a cutover.

Cutover of one service (:func:`cutover_service`):

1. containers of the service now; those Caddy does not route to (left by a killed run) go;
2. ``up -d --no-deps --no-build --no-recreate --scale <service>=<n+1> <service>``: a new
   container from the new release beside the old one;
3. gate the new container directly (running, its healthcheck healthy, an HTTP answer
   below 500 from ``http://<ip>:<port><probe_path>``); failed: remove it, Caddy never saw it;
4. the snippet names the new container only; validate and reload Caddy;
5. drain: wait until Caddy holds no established connection to the old container;
6. ``docker stop`` (its ``stop_grace_period`` is the container's stop timeout) and
   ``docker rm`` the old one: Compose again sees one container, as the boot unit expects.

With ``keep_old`` (the engine's deploys and rollbacks, which soak), steps 4-6 wait for the soak:
the snippet routes to the new container and names the old one only as Caddy's standby (``lb_policy
first`` with passive health checks: a request the new container cannot take goes to the old one),
and the old container keeps running. Then :func:`retire` (the soak passed: snippet on the new
container alone, drain, stop and remove the old) or :func:`restore` (gate or soak failed: snippet
on the old container alone at once, the new one removed, nothing rebuilt or restarted).

Pure functions first (unit-tested), then the few that run docker and caddy.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils import names
from ansible_collections.berth.compose.plugins.module_utils import commands as cmd
from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils.docker_state import http_probe
from ansible_collections.berth.compose.plugins.module_utils.health_gate import ProbeSpec

SERVICE_NAME = names.SERVICE_NAME
UPSTREAMS_DIR = os.path.join(".berth", "upstreams")
SNIPPET_HEADER = "# Written by berth.compose on every cutover: the containers of %s that Caddy routes to."
# Inside reverse_proxy: the first healthy upstream, so a list of one or two is used in order.
SNIPPET_POLICY = "lb_policy first"
# While a release soaks, the old container stays as the standby after the new one: a dial or request
# failure marks the new one down (passive health check) and Caddy retries the request on the old one.
STANDBY_HEALTH = ("fail_duration 30s", "max_fails 1")
TCP_ESTABLISHED = "01"


class CutoverError(rel.ReleaseError):
    """The cutover of a service failed; ``removed_new`` says the new container is gone again.

    A ReleaseError, so a :class:`host.CommandError` too."""

    def __init__(self, msg: str, output: str = "", removed_new: bool = True) -> None:
        super().__init__(msg, output)
        self.removed_new = removed_new


# ---------------------------------------------------------------- pure: settings and compose model

def name_problems(services: Iterable[object]) -> list[str]:
    """berth_zero_downtime entries that cannot be a compose service name (they name a file)."""
    return ["berth_zero_downtime entry %r is not a compose service name (letters, digits, '_', '.', '-', "
            "starting with a letter or digit)" % (name,) for name in services if not SERVICE_NAME.match(str(name))]


def upstream_port(service: Mapping[str, Any]) -> int | None:
    """The one container port Caddy proxies to: the single ``expose`` entry, else the single ``ports`` target."""
    exposed: list[int] = []
    for item in service.get("expose") or []:
        text = str(item).split("/", maxsplit=1)[0]
        if "-" not in text and text.isdigit():
            exposed.append(int(text))
    if len(exposed) == 1:
        return exposed[0]
    targets = [int(p["target"]) for p in service.get("ports") or [] if isinstance(p, dict) and p.get("target")]
    if not exposed and len(set(targets)) == 1:
        return targets[0]
    return None


def _published(port: object) -> bool:
    if isinstance(port, dict):
        return port.get("published") not in (None, "", "0", 0)
    return True


def _port_text(port: object) -> str:
    if not isinstance(port, dict):
        return str(port)
    host = port.get("host_ip")
    return "%s%s:%s" % (host + ":" if host else "", port.get("published"), port.get("target"))


def service_problems(model: Mapping[str, Any], services: Sequence[object]) -> list[str]:
    """Why the opted-in services cannot run two containers side by side, one sentence each.

    model: the project as ``docker compose config --format json`` renders it."""
    problems = name_problems(services)
    defined = model.get("services") or {}
    for name in services:
        if not SERVICE_NAME.match(str(name)):
            continue
        service = defined.get(name)
        if service is None:
            problems.append("berth_zero_downtime names %s, which the compose project does not define (it has %s)"
                            % (name, ", ".join(sorted(defined)) or "no services"))
            continue
        fixed = [_port_text(p) for p in service.get("ports") or [] if _published(p)]
        if fixed:
            problems.append(
                "service %s publishes the fixed host port %s: a zero-downtime cutover runs a second %s container "
                "beside the first and the port would collide. In the compose file, replace `ports:` of %s with "
                "`expose: [\"<container port>\"]`; Caddy reaches the container on the compose network"
                % (name, ", ".join(fixed), name, name))
        if service.get("container_name"):
            problems.append(
                "service %s sets container_name %s: two containers cannot share it during a cutover. Remove "
                "container_name from %s in the compose file" % (name, service["container_name"], name))
        if str(service.get("network_mode") or "").startswith(("host", "container:", "service:")):
            problems.append(
                "service %s uses network_mode %s: Caddy needs a container address of its own. Put %s on a compose "
                "network (remove network_mode)" % (name, service["network_mode"], name))
        replicas = ((service.get("deploy") or {}).get("replicas"))
        if replicas not in (None, 1):
            problems.append("service %s sets deploy.replicas %s: a zero-downtime cutover runs exactly one %s "
                            "container; remove deploy.replicas" % (name, replicas, name))
        if not fixed and upstream_port(service) is None:
            problems.append(
                "service %s declares no single container port for Caddy: add `expose: [\"<port>\"]` (one entry) "
                "to %s in the compose file" % (name, name))
    return problems


# ---------------------------------------------------------------- pure: the snippet

def snippet_path(root: str, service: str) -> str:
    return os.path.join(root, UPSTREAMS_DIR, service + ".caddy")


def render_snippet(service: str, addresses: Iterable[str], standby: Sequence[str] = ()) -> str:
    """The upstreams snippet imported inside ``reverse_proxy { ... }``: one ``to`` line per address.

    ``standby``: addresses after them that Caddy uses only when the first are down (a soaking
    release's old container), with passive health checks on. With no address the block still
    parses (Caddy answers 502 until a container is there)."""
    lines = [SNIPPET_HEADER % service, SNIPPET_POLICY]
    lines += ["to %s" % address for address in addresses]
    if standby:
        lines.append("# Standby until the new release's soak passes: the old container(s).")
        lines += ["to %s" % address for address in standby]
        lines += list(STANDBY_HEALTH)
    return "\n".join(lines) + "\n"


def parse_snippet(text: str | None) -> list[str]:
    """Addresses (``ip:port``) a snippet routes to, in order."""
    out: list[str] = []
    for line in (text or "").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "to":
            out.extend(words[1:])
    return out


def read_snippet(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


# ---------------------------------------------------------------- pure: containers, gate, drain

def container_from_inspect(item: Mapping[str, Any], preferred_network: str | None = None) -> dict[str, Any]:
    """One container of ``docker inspect`` output -> the few facts a cutover needs."""
    state = item.get("State") or {}
    labels = (item.get("Config") or {}).get("Labels") or {}
    networks = (item.get("NetworkSettings") or {}).get("Networks") or {}
    return {
        "id": item["Id"], "name": item.get("Name", "").lstrip("/"),
        "service": labels.get(rel.LABEL_SERVICE), "oneoff": labels.get(rel.LABEL_ONEOFF) == "True",
        "number": int(labels.get("com.docker.compose.container-number") or 0),
        "status": state.get("Status"), "health": (state.get("Health") or {}).get("Status"),
        "restart_count": item.get("RestartCount", 0), "exit_code": state.get("ExitCode"),
        "ip": pick_address(networks, preferred_network),
    }


def pick_address(networks: Mapping[str, Any], preferred: str | None = None) -> Any:
    """The container's IPv4 address: on the preferred network (the project's default) when it has one there."""
    if preferred and (networks.get(preferred) or {}).get("IPAddress"):
        return networks[preferred]["IPAddress"]
    for name in sorted(networks):
        address = (networks[name] or {}).get("IPAddress")
        if address:
            return address
    return None


def gate_verdict(container: Mapping[str, Any] | None, http_status: int | None) -> tuple[str, str]:
    """('ok'|'wait'|'fail', reason) for a new container: running, healthy when it has a healthcheck,
    and an HTTP answer below 500 on its own address. Fails fast on exit, restart or unhealthy."""
    if container is None:
        return "fail", "the new container is gone"
    if container["status"] in ("exited", "dead", "removing"):
        return "fail", "the new container %s exited (code %s)" % (container["name"], container["exit_code"])
    if container["restart_count"]:
        return "fail", "the new container %s restarted" % container["name"]
    if container["health"] == "unhealthy":
        return "fail", "the new container %s is unhealthy (its healthcheck fails)" % container["name"]
    if container["status"] != "running":
        return "wait", "the new container %s is %s" % (container["name"], container["status"])
    if container["health"] not in (None, "healthy"):
        return "wait", "the new container %s is %s" % (container["name"], container["health"])
    if http_status is None or http_status >= 500:
        return "wait", "the new container %s does not answer HTTP yet (%s)" % (
            container["name"], http_status if http_status is not None else "no answer")
    return "ok", "the new container %s is healthy and answers HTTP %s" % (container["name"], http_status)


def _hex_ipv4(ip: str, port: int) -> str:
    """``ip:port`` as /proc/net/tcp spells it (little-endian address, big-endian port)."""
    return "%s:%04X" % ("".join("%02X" % int(part) for part in reversed(ip.split("."))), port)


def established_to(proc_net_tcp: str, ip: str, port: int) -> int:
    """How many ESTABLISHED connections of the host go to ip:port (text of /proc/net/tcp)."""
    want = _hex_ipv4(ip, port)
    count = 0
    for line in proc_net_tcp.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[2] == want and fields[3] == TCP_ESTABLISHED:
            count += 1
    return count


def stale_containers(containers: Sequence[dict[str, Any]], routed: Sequence[str]) -> list[dict[str, Any]]:
    """Containers of the service Caddy does not route to while others it routes to exist (a killed run's)."""
    serving = [c for c in containers if c["ip"] and any(a.startswith(c["ip"] + ":") for a in routed)]
    if not serving:
        return []
    return [c for c in containers if c not in serving]


# ---------------------------------------------------------------- docker, HTTP, caddy

def inspect_service(docker: str, project: str, service: str) -> list[dict[str, Any]]:
    """Containers (not one-off runs) of one compose service, oldest number first."""
    ids = rel.run(cmd.ps(project, service, docker=docker))[1].split()
    if not ids:
        return []
    items = json.loads(rel.run(cmd.inspect(ids, docker=docker))[1])
    out = [container_from_inspect(item, project + "_default") for item in items]
    return sorted([c for c in out if not c["oneoff"]], key=lambda c: (c["number"], c["name"]))


def http_status(ip: str, port: int, path: str, timeout: float = 2.0) -> int | None:
    """Status of GET http://ip:port/path (no redirects followed), None when nothing answers.

    The gate's one HTTP probe (docker_state.http_probe) makes the request."""
    return http_probe(ProbeSpec(url="http://%s:%d%s" % (ip, port, path), timeout=timeout)).status


def reload_caddy(caddy: str, caddyfile: str) -> None:
    """Adapt the Caddyfile (with its imported snippets) and load it through Caddy's admin API.

    ``caddy reload`` is graceful: listeners stay, requests in flight finish on the old config,
    and Caddy itself keeps the old config when the new one fails to load."""
    rel.run(cmd.adapt(caddyfile, caddy=caddy), check=True)
    rel.run(cmd.reload(caddyfile, caddy=caddy), check=True)


def apply_snippet(path: str, text: str, caddy: str, caddyfile: str) -> bool:
    """Write the snippet and reload Caddy; on a failed reload, put the old text back (disk and the
    running config never disagree). Returns True when something changed."""
    old = read_snippet(path)
    if old == text:
        return False
    rel.write_if_changed(path, text)
    try:
        reload_caddy(caddy, caddyfile)
    except rel.ReleaseError:
        if old is None:
            os.unlink(path)
        else:
            rel.write_if_changed(path, old)
        raise
    return True


def sync_service(docker: str, project: str, service: str, port: int, root: str, caddy: str,
                 caddyfile: str) -> tuple[bool, list[str]]:
    """Point Caddy at the running containers of service (reconcile, first start, after a plain recreate).

    Returns (changed, addresses)."""
    running = [c for c in inspect_service(docker, project, service) if c["status"] == "running" and c["ip"]]
    addresses = ["%s:%d" % (c["ip"], port) for c in running]
    return apply_snippet(snippet_path(root, service), render_snippet(service, addresses), caddy, caddyfile), addresses


def drain(ip: str, port: int, timeout: float, clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], Any] = time.sleep, proc: str = "/proc/net/tcp") -> float:
    """Wait until the host holds no established connection to ip:port (or timeout); return the seconds waited."""
    started = clock()
    while True:
        try:
            with open(proc) as handle:
                left = established_to(handle.read(), ip, port)
        except OSError:
            left = 0
        waited = clock() - started
        if left == 0 or waited >= timeout:
            return round(waited, 2)
        sleep(0.1)


def remove_container(docker: str, container_id: str) -> None:
    """docker stop (the container's own stop timeout: compose's stop_grace_period), then rm."""
    rel.run(cmd.stop(container_id, docker=docker), check=False)
    rel.run(cmd.rm(container_id, docker=docker), check=False)


def cutover_service(project_cmd: Sequence[str], env: Mapping[str, str] | None, docker: str, project: str, service: str,
                    port: int, root: str, caddy: str, caddyfile: str,
                    gate_timeout: float = 120.0, drain_timeout: float = 30.0, probe_path: str = "/", log_lines: int = 20,
                    clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], Any] = time.sleep,
                    keep_old: bool = False) -> dict[str, Any]:
    """Start the new container of service beside the old, gate it, switch Caddy, drain and remove the old.

    project_cmd: argv prefix ``docker compose -p ... -f ...`` of the new release; env: its environment.
    keep_old: leave the old containers running as Caddy's standby (report ``standby``) for
    :func:`retire` or :func:`restore`.
    Returns a report dict; raises CutoverError (the new container removed, the old one serving)."""
    report: dict[str, Any] = {"service": service, "old": [], "new": None, "drained_s": 0.0, "gate_s": 0.0}
    path = snippet_path(root, service)
    before = inspect_service(docker, project, service)
    for stale in stale_containers(before, parse_snippet(read_snippet(path))):
        remove_container(docker, stale["id"])
        before.remove(stale)
    report["old"] = [c["name"] for c in before]
    rel.run(cmd.up(project_cmd, [service], recreate=False, scale={service: len(before) + 1}), env=env)
    known = set(c["id"] for c in before)
    fresh = [c for c in inspect_service(docker, project, service) if c["id"] not in known]
    if len(fresh) != 1:
        for c in fresh:
            remove_container(docker, c["id"])
        raise CutoverError("%s: expected one new container beside the old, compose made %d" % (service, len(fresh)))
    new = fresh[0]
    report["new"] = new["name"]
    started = clock()
    while True:
        current = {c["id"]: c for c in inspect_service(docker, project, service)}.get(new["id"])
        status = http_status(current["ip"], port, probe_path) if current and current["ip"] and \
            current["status"] == "running" else None
        verdict, reason = gate_verdict(current, status)
        if verdict == "ok":
            break
        if verdict == "fail" or clock() - started >= gate_timeout:
            logs = rel.run(cmd.logs(new["id"], log_lines, docker=docker), check=False)[1]
            remove_container(docker, new["id"])
            if verdict != "fail":
                reason = "%s after %d s" % (reason, gate_timeout)
            raise CutoverError("%s: the new container failed its gate and was removed; the old one keeps serving: %s"
                               % (service, reason), output=logs)
        sleep(0.5)
    report["gate_s"] = round(clock() - started, 1)
    address = "%s:%d" % (current["ip"], port)  # type: ignore[index]  # verdict ok: current is not None
    standby = [c for c in before if c["ip"] and c["status"] == "running"] if keep_old else []
    try:
        apply_snippet(path, render_snippet(service, [address], ["%s:%d" % (c["ip"], port) for c in standby]),
                      caddy, caddyfile)
    except rel.ReleaseError as exc:
        remove_container(docker, new["id"])
        raise CutoverError("%s: Caddy refused the new upstream, the new container was removed: %s" % (service, exc),
                           output=exc.output)
    if keep_old:
        report.update(new_id=new["id"], address=address, port=port,
                      standby=[dict(id=c["id"], name=c["name"], ip=c["ip"]) for c in before])
        return report
    for old in before:
        if old["ip"]:
            report["drained_s"] += drain(old["ip"], port, drain_timeout, clock=clock, sleep=sleep)
        remove_container(docker, old["id"])
    report["drained_s"] = round(report["drained_s"], 2)
    return report


def retire(docker: str, report: Mapping[str, Any], root: str, caddy: str, caddyfile: str, drain_timeout: float = 30.0,
           clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], Any] = time.sleep) -> float:
    """The soak passed: the snippet names the new container alone, then the standby containers
    are drained, stopped and removed. Returns the seconds spent draining."""
    service, port = report["service"], report["port"]
    apply_snippet(snippet_path(root, service), render_snippet(service, [report["address"]]), caddy, caddyfile)
    drained = 0.0
    for old in report.get("standby") or []:
        if old["ip"]:
            drained += drain(old["ip"], port, drain_timeout, clock=clock, sleep=sleep)
        remove_container(docker, old["id"])
    return round(drained, 2)


def restore(docker: str, project: str, report: Mapping[str, Any], root: str, caddy: str, caddyfile: str) -> list[str]:
    """The gate or the soak failed: Caddy goes back to the standby containers at once, then the new
    container is removed. Returns the addresses routed to again; raises CutoverError when no
    standby container still runs (the caller then cuts over to the old release the long way)."""
    service, port = report["service"], report["port"]
    kept = set(c["id"] for c in report.get("standby") or [])
    running = [c for c in inspect_service(docker, project, service)
               if c["id"] in kept and c["status"] == "running" and c["ip"]]
    if not running:
        raise CutoverError("%s: no old container is left running to switch back to" % service, removed_new=False)
    addresses = ["%s:%d" % (c["ip"], port) for c in running]
    apply_snippet(snippet_path(root, service), render_snippet(service, addresses), caddy, caddyfile)
    remove_container(docker, report["new_id"])
    return addresses
