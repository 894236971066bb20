"""Drive deploy.yml and rollback.yml against the scenario's VM under a constant load through Caddy.

The tests run in file order against the same VM (converge deployed zd-2 over zd-1)."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
import recap  # noqa: E402  (molecule/shared: ansible-playbook with its recap as data)

ROOT = "/opt/sample"
PROJECT = "sample"
SNIPPET = ROOT + "/.berth/upstreams/web.caddy"
PLAYBOOKS = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "playbooks")
SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "tests", "output", "cutover-load.txt")
# Bounds of every load run: requests and seconds.
LOAD = "--threads 2 --max-requests 60000 --max-seconds 300 --pause 0.01"


class Run:
    def __init__(self, proc, data, seconds):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.seconds = seconds
        self.recap = data
        self.changed = recap.changed(data)


def run_playbook(path, *extra_args):
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], path] + list(extra_args)
    started = time.monotonic()
    proc, data = recap.run_playbook(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
                                    env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1"))
    return Run(proc, data, time.monotonic() - started)


def playbook(name, *extra_args):
    return run_playbook(os.path.join(PLAYBOOKS, name + ".yml"), *extra_args)


def poll(check, seconds, what):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.2)


def under_load(host, label, action):
    """Run action() while load.py sends requests through Caddy; return (action's result, load stats)."""
    slug = re.sub(r"[^a-z0-9-]+", "-", label)
    out = "/root/load-%s.json" % slug
    host.run("rm -f %s %s.started /root/load.stop" % (out, out))
    host.check_output("systemd-run --collect --unit berth-load-%s python3 /root/load.py --out %s %s"
                      % (slug, out, LOAD))
    poll(lambda: host.file(out + ".started").exists, 30, "the load's first answer")
    result = action()
    host.run("touch /root/load.stop")
    poll(lambda: host.file(out).exists, 30, "the load's result")
    stats = json.loads(host.file(out).content_string)
    write_figures(label, stats, result.seconds)
    return result, stats


def write_figures(label, stats, seconds=None):
    """One line of tests/output/cutover-load.txt."""
    os.makedirs(os.path.dirname(FIGURES), exist_ok=True)
    with open(FIGURES, "a") as handle:
        handle.write("%-22s requests %6d  failed %d  non-2xx %d  retried %d  worst latency %.3f s  "
                     "longest gap %.3f s  (playbook %s)\n" % (
                         label, stats["requests"], stats["failed"], stats["non_2xx"], stats.get("retried", 0),
                         stats["worst_latency_s"], stats["longest_gap_s"],
                         "%.1f s" % seconds if seconds is not None else "in converge"))


def assert_no_failed_request(stats):
    assert stats["requests"] > 0 and stats["ok"] > 0, stats
    assert stats["failed"] == 0, stats
    assert stats["non_2xx"] == 0, stats


def commit_of(host, ref):
    return host.check_output("git -C /srv/fixtures/sample.git rev-parse %s^{commit}" % ref)


def current_commit(host):
    return os.path.basename(host.check_output("readlink %s/current" % ROOT))


def web_containers(host):
    """name -> (id, ip) of the web service's containers."""
    out = host.check_output(
        "docker ps -a --filter label=com.docker.compose.project=%s --filter label=com.docker.compose.service=web "
        "--format '{{.Names}} {{.ID}}'" % PROJECT)
    found = {}
    for line in out.splitlines():
        name, cid = line.split()
        ip = host.check_output("docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "
                               + cid).split()[0]
        found[name] = (cid, ip)
    return found


def page(host):
    return host.check_output(
        "curl -sS --max-time 10 --cacert /var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt "
        "--resolve sample.test:443:127.0.0.1 https://sample.test/")


BENCH = os.environ.get("BERTH_BENCH_CUTOVER") == "1"
BENCH_FIGURES = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "tests", "output",
                             "bench-cutover.txt")


def pytest_collection_modifyitems(config, items):
    """`make bench-cutover` (BERTH_BENCH_CUTOVER=1) runs only the benchmark; `molecule test` skips it."""
    import pytest
    if BENCH:
        keep = [item for item in items if "bench" in item.nodeid]
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep
    else:
        for item in items:
            if "bench" in item.nodeid:
                item.add_marker(pytest.mark.skip(reason="benchmark: make bench-cutover"))
