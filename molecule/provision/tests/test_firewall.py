"""The firewall role after provision.yml: our nftables table beside Docker's, and what it lets in.

"Outside the VM" is this test process on the machine that runs the VM container: it connects to
the VM container's own address (the project's test host, nothing else), one bounded attempt each.
"""
import socket

import pytest

TABLE = "host_firewall"
PROBE_PORT = 9999  # not in firewall_tcp_ports: must be dropped from outside


def vm_address(host):
    """The VM container's own address on its Docker network (eth0), as the machine outside reaches it."""
    address = host.check_output("ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1 | head -n1").strip()
    assert address, "eth0 has no IPv4 address"
    return address


def connect(address, port, timeout=3.0):
    """One TCP connection attempt: 'open', 'refused' or 'timeout' (a drop)."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"


@pytest.fixture()
def listener(host):
    """A throwaway TCP listener on all addresses of the VM, on a port the firewall does not allow."""
    host.run("systemctl stop berth-fw-probe 2>/dev/null; systemctl reset-failed berth-fw-probe 2>/dev/null")
    started = host.run("systemd-run --unit berth-fw-probe python3 -m http.server %d --bind 0.0.0.0" % PROBE_PORT)
    assert started.rc == 0, started.stderr
    # Poll (bounded) until the socket is listening.
    ready = host.run("for i in $(seq 50); do ss -Htln 'sport = :%d' | grep -q . && exit 0; sleep 0.1; done; exit 1" % PROBE_PORT)
    assert ready.rc == 0, "the probe listener did not start"
    yield PROBE_PORT
    host.run("systemctl stop berth-fw-probe")


def test_our_table_is_loaded_beside_dockers_rules(host):
    ruleset = host.check_output("nft list ruleset")
    assert "table inet %s" % TABLE in ruleset
    ours = host.check_output("nft list table inet %s" % TABLE)
    assert "policy drop" in ours and "hook input" in ours
    assert "tcp dport { 80, 443 } accept" in ours and "tcp dport 22 accept" in ours.replace("{ 22 }", "22")
    # Docker's own chains are still there: we never flushed the ruleset.
    assert "DOCKER" in ruleset, ruleset


def test_unit_enabled_and_active(host):
    unit = host.service("berth-firewall")
    assert unit.is_enabled
    assert host.run("systemctl is-active berth-firewall").stdout.strip() == "active"


def test_caddy_listens_on_the_allowed_ports(host):
    sockets = host.check_output("ss -Htln")
    assert ":443 " in sockets and ":80 " in sockets, sockets


def test_from_outside_an_allowed_port_answers_and_another_is_dropped(host, listener):
    address = vm_address(host)
    # Inside the VM the listener answers on every address...
    inside = host.run("curl -sS -o /dev/null -w '%%{http_code}' --max-time 5 http://%s:%d/" % (address, listener))
    assert inside.stdout == "200", inside.stdout + inside.stderr
    # ...from outside only Caddy's port gets through; the other is dropped (no answer at all).
    assert connect(address, 443) == "open"
    assert connect(address, listener) == "timeout"
