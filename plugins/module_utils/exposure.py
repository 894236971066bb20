# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which ports the app publishes on every address of the host, and whether Caddy fronts them.

Pure functions over the project as ``docker compose config --format json`` renders it and the
Caddy sites (``caddy_sites``). Why it matters: a port Docker publishes is DNAT-ed and forwarded
to the container before the host's input chain sees it, so the firewall role does not close it;
publishing on ``127.0.0.1`` and letting Caddy front it is what keeps it private.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from dataclasses import dataclass

ALL_ADDRESSES = ("", "0.0.0.0", "::", "[::]")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0", "")


@dataclass(frozen=True)
class Exposure:
    """One published port of one service."""

    service: str
    published: str
    target: str
    protocol: str
    host_ip: str
    fronted: bool

    @property
    def on_all_addresses(self) -> bool:
        return self.host_ip in ALL_ADDRESSES


def _port_numbers(published: object) -> list[int]:
    """The host ports of ``"8080"``, ``8080`` or a range ``"8000-8002"``; empty for a random port."""
    text = str(published if published is not None else "").strip()
    match = re.match(r"^(\d+)(?:-(\d+))?$", text)
    if not match:
        return []
    first = int(match.group(1))
    last = int(match.group(2) or first)
    return list(range(first, last + 1)) if last >= first else []


def fronted_ports(caddy_sites: Iterable[Any] | None) -> set[int]:
    """Host ports Caddy proxies to on this host (an ``upstream`` on loopback, or without a host)."""
    ports: set[int] = set()
    for site in caddy_sites or ():
        upstream = (site or {}).get("upstream") if isinstance(site, dict) else None
        for item in str(upstream or "").split():
            item = re.sub(r"^[a-z+]+://", "", item).rstrip("/")
            match = re.match(r"^(\[[^\]]*\]|[^:/]*):(\d+)$", item)
            if match and match.group(1).lower() in LOOPBACK_HOSTS:
                ports.add(int(match.group(2)))
    return ports


def published_ports(rendered: Mapping[str, Any] | None, caddy_sites: Iterable[Any] | None = None) -> list[Exposure]:
    """Every published port of the rendered project as :class:`Exposure`, sorted by service and port."""
    fronted = fronted_ports(caddy_sites)
    found: list[Exposure] = []
    for service, spec in sorted(((rendered or {}).get("services") or {}).items()):
        for port in (spec or {}).get("ports") or ():
            if not isinstance(port, dict):
                continue
            published = str(port.get("published") if port.get("published") is not None else "")
            numbers = _port_numbers(published)
            found.append(Exposure(
                service=service, published=published, target=str(port.get("target", "")),
                protocol=str(port.get("protocol") or "tcp"), host_ip=str(port.get("host_ip") or ""),
                fronted=bool(numbers) and all(number in fronted for number in numbers)))
    return found


def exposure_warnings(rendered: Mapping[str, Any] | None, caddy_sites: Iterable[Any] | None = None) -> list[str]:
    """Sentences for the operator, one per port open on every address (and per host-network service)."""
    warnings: list[str] = []
    for item in published_ports(rendered, caddy_sites):
        if not item.on_all_addresses:
            continue
        where = "%s/%s" % (item.published or "a random port", item.protocol)
        if item.fronted:
            warnings.append("service %s publishes %s on all addresses: Caddy fronts it, but it is also reachable "
                            "directly, around Caddy; publish it on 127.0.0.1 (\"127.0.0.1:%s:%s\")"
                            % (item.service, where, item.published, item.target))
        else:
            warnings.append("service %s publishes %s on all addresses and Caddy does not front it: it is open to "
                            "every network the host is on (the firewall role does not filter Docker's forwarded "
                            "ports); publish it on 127.0.0.1 and add a Caddy site, or remove the port"
                            % (item.service, where))
    for service, spec in sorted(((rendered or {}).get("services") or {}).items()):
        if (spec or {}).get("network_mode") == "host":
            warnings.append("service %s uses network_mode: host: every port it listens on is on the host's own "
                            "addresses, where the firewall role decides" % service)
    return warnings
