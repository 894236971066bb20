"""The app unit starting again (`systemctl restart`, a boot): compose makes new containers with new
addresses, and the upstreams snippet must follow them before the unit's start is done.

Runs after test_cutover.py (file order) on the same VM."""
import time

from conftest import SNIPPET, web_containers

UNIT = "sample.service"
HELPER = "/usr/local/libexec/berth/sample-upstreams"
COLLECTION = "/usr/local/share/berth/collections/ansible_collections/berth/compose"


def routed(host):
    """Addresses the snippet routes web to."""
    return [word for line in host.file(SNIPPET).content_string.splitlines()
            if line.split()[:1] == ["to"] for word in line.split()[1:]]


def answer(host):
    """(HTTP status, body) of the site through Caddy; status 0 when nothing answered."""
    got = host.run("curl -sS --max-time 5 -w '\\n%{http_code}' --cacert "
                   "/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt "
                   "--resolve sample.test:443:127.0.0.1 https://sample.test/")
    body, _newline, status = got.stdout.rpartition("\n")
    return (int(status) if status.strip().isdigit() else 0), body


def answers_within(host, seconds):
    """The first 200 through Caddy within seconds: (status, body, seconds taken) of the last try."""
    started = time.monotonic()
    while True:
        status, body = answer(host)
        if status == 200 or time.monotonic() - started >= seconds:
            return status, body, round(time.monotonic() - started, 1)
        time.sleep(0.5)


def restart(host):
    before = {cid for cid, _ip in web_containers(host).values()}
    done = host.run("systemctl restart %s" % UNIT)
    assert done.rc == 0, done.stdout + done.stderr
    assert host.service(UNIT).is_running
    webs = web_containers(host)
    assert len(webs) == 1, webs
    cid, ip = list(webs.values())[0]
    assert cid not in before, "the restart made a new web container"
    return ip


def test_restarting_the_app_unit_points_caddy_at_the_new_web_container(host):
    ip = restart(host)
    # systemctl restart returns when the unit's start is done, refresh included.
    assert routed(host) == ["%s:8080" % ip], host.file(SNIPPET).content_string
    status, body, took = answers_within(host, 5)
    assert status == 200 and "sample web" in body, (status, body, took)
    log = host.run("journalctl -u %s -n 50 --no-pager -o cat" % UNIT).stdout
    assert "web -> %s:8080" % ip in log, log


def test_app_unit_starts_without_the_collection_and_says_the_snippets_were_not_refreshed(host):
    aside = COLLECTION + ".aside"
    host.check_output("mv %s %s" % (COLLECTION, aside))
    try:
        since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
        restart(host)
        log = host.run("journalctl -u %s --since '%s' --no-pager -o cat" % (UNIT, since)).stdout
        assert "not refreshed" in log and COLLECTION in log, log
        assert host.service(UNIT).is_running, "the refresh never fails the app's start"
    finally:
        host.check_output("mv %s %s" % (aside, COLLECTION))
    # Collection back: the next start puts Caddy on the right container again.
    ip = restart(host)
    assert routed(host) == ["%s:8080" % ip]
    status, body, took = answers_within(host, 5)
    assert status == 200 and "sample web" in body, (status, body, took)
    assert host.file(HELPER).mode == 0o755 and host.file(HELPER).user == "root"
    assert host.file(SNIPPET).user == "deploy", "the refresh runs as the deploy user"
