# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ports published on every address that Caddy does not front: module_utils/exposure.py."""
import pytest

from ansible_collections.berth.compose.plugins.module_utils.exposure import (
    exposure_warnings,
    fronted_ports,
    published_ports,
)


def project(**services):
    return {"name": "app", "services": services}


def port(published, target=None, host_ip=None, protocol="tcp"):
    spec = {"mode": "ingress", "target": target or published, "published": str(published), "protocol": protocol}
    if host_ip is not None:
        spec["host_ip"] = host_ip
    return spec


SITES = [{"domain": "app.example.org", "upstream": "127.0.0.1:8080"}, {"domain": "x", "respond": "hi"}]


def test_the_sample_app_shape_gives_no_warning():
    rendered = project(web={"ports": [port(8080, host_ip="127.0.0.1")]}, api={"ports": [port(8081, host_ip="127.0.0.1")]},
                       db={"image": "postgres"})
    assert exposure_warnings(rendered, SITES) == []


@pytest.mark.parametrize("host_ip", [None, "", "0.0.0.0", "::"])
def test_a_port_on_all_addresses_that_caddy_does_not_front_warns(host_ip):
    warnings = exposure_warnings(project(admin={"ports": [port(9000, host_ip=host_ip)]}), SITES)
    assert len(warnings) == 1
    assert "service admin publishes 9000/tcp on all addresses and Caddy does not front it" in warnings[0]


def test_a_fronted_port_on_all_addresses_warns_that_caddy_can_be_bypassed():
    warnings = exposure_warnings(project(web={"ports": [port(8080)]}), SITES)
    assert len(warnings) == 1 and "around Caddy" in warnings[0] and '"127.0.0.1:8080:8080"' in warnings[0]


def test_a_port_on_one_other_address_is_not_all_addresses():
    assert exposure_warnings(project(web={"ports": [port(9000, host_ip="10.0.0.5")]}), SITES) == []


def test_udp_ranges_and_random_ports():
    rendered = project(voip={"ports": [port("5000-5002", target="5000-5002", protocol="udp"), {"target": 7000}]})
    warnings = exposure_warnings(rendered, SITES)
    assert any("5000-5002/udp" in w for w in warnings) and any("a random port/tcp" in w for w in warnings)


def test_host_network_services_are_named():
    warnings = exposure_warnings(project(agent={"network_mode": "host"}), [])
    assert warnings == ["service agent uses network_mode: host: every port it listens on is on the host's own "
                        "addresses, where the firewall role decides"]


@pytest.mark.parametrize("upstream,ports", [
    ("127.0.0.1:8080", {8080}),
    ("localhost:3000", {3000}),
    ("[::1]:8443", {8443}),
    ("http://127.0.0.1:8080", {8080}),
    (":9000", {9000}),
    ("127.0.0.1:8080 127.0.0.1:8081", {8080, 8081}),
    ("web:8080", set()),  # a container name: not a port published on the host
    ("10.0.0.5:8080", set()),
])
def test_which_upstreams_front_a_host_port(upstream, ports):
    assert fronted_ports([{"domain": "d", "upstream": upstream}]) == ports


def test_odd_input_never_crashes():
    assert published_ports({"services": {"a": None, "b": {"ports": ["8080:80", None]}}}) == []
    assert exposure_warnings(None, None) == [] and fronted_ports([None, "x", {"upstream": None}]) == set()


def test_published_ports_lists_every_port():
    rendered = project(web={"ports": [port(8080, host_ip="127.0.0.1")]}, admin={"ports": [port(9000)]})
    listed = [(e.service, e.published, e.on_all_addresses, e.fronted) for e in published_ports(rendered, SITES)]
    assert listed == [("admin", "9000", True, False), ("web", "8080", False, True)]
