"""Drive deploy.yml and rollback.yml against the scenario's one VM, the way an operator would.

The test modules run in file order against the same VM, each starting from the state the
previous one left (converge deployed web-only over the v1 release that prepare provisioned).
"""
import json
import os
import shlex
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
import recap  # noqa: E402  (molecule/shared: ansible-playbook with its recap as data)

ROOT = "/opt/sample"
PROJECT = "sample"
CADDY_CA = "/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt"
PLAYBOOKS = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "playbooks")


class Run:
    def __init__(self, proc, data, seconds):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.seconds = seconds
        self.recap = data
        self.changed = recap.changed(data)


def playbook_argv(name, *extra_args):
    return ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
            os.path.join(PLAYBOOKS, name + ".yml")] + list(extra_args)


def playbook_env():
    return dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")


def run_playbook(name, *extra_args):
    started = time.monotonic()
    proc, data = recap.run_playbook(playbook_argv(name, *extra_args), stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, env=playbook_env(), timeout=900)
    return Run(proc, data, time.monotonic() - started)


def deploy(ref, *extra_args):
    return run_playbook("deploy", "-e", "ref=" + ref, *extra_args)


def rollback(ref, *extra_args):
    return run_playbook("rollback", "-e", "ref=" + ref, *extra_args)


def commit_of(host, ref):
    return host.check_output("git -C /srv/fixtures/sample.git rev-parse %s^{commit}" % ref)


def container_ids(host):
    """service -> container ID of the app's long-running containers."""
    out = host.check_output(
        "docker ps --filter label=com.docker.compose.project=%s --format "
        "'{{.Label \"com.docker.compose.service\"}} {{.ID}}'" % PROJECT)
    return dict(line.split() for line in out.splitlines() if line.strip())


def current_commit(host):
    return os.path.basename(host.check_output("readlink %s/current" % ROOT))


def serving_ref(host):
    """BERTH_REF of the release that serves (its .berth/release.env, what the boot unit reads)."""
    ref = host.check_output("sed -n 's/^BERTH_REF=//p' %s/current/.berth/release.env" % ROOT)
    assert ref, "the serving release names its ref"
    return ref


def records(host):
    text = host.file(ROOT + "/releases.jsonl").content_string
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def images(host):
    return set(host.check_output("docker images --format '{{.Repository}}:{{.Tag}}'").split())


def https_get(host, path="/"):
    return host.run("curl -sS --max-time 10 --cacert %s --resolve sample.test:443:127.0.0.1 https://sample.test%s"
                    % (CADDY_CA, path))


@pytest.fixture()
def app(host):
    return host


def kill_engine_when(host, condition, seconds=300):
    """On the VM, as soon as the shell ``condition`` holds, SIGKILL the release engine holding the deploy lock.

    Killing the controller alone no longer stops a deploy: the engine runs the story to its end on the
    VM, lock held. This is the crash of that process itself (OOM killer, a power cut of the process),
    timed on the VM itself (every 50 ms), so the step it dies in does not depend on docker exec's latency."""
    script = ("for i in $(seq 1 %d); do if %s; then "
              "pid=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p' %s/.berth/deploy.lock); "
              "if [ -n \"$pid\" ]; then kill -9 \"$pid\" && echo \"$pid\" && exit 0; fi; fi; sleep 0.05; done; exit 1"
              % (seconds * 20, condition, ROOT))
    killed = host.run("sh -c %s" % shlex.quote(script))
    assert killed.rc == 0, "the engine was never seen at that point: " + killed.stdout + killed.stderr
    pid = killed.stdout.strip()
    for _attempt in range(40):
        if host.run("kill -0 %s" % pid).rc != 0:
            return pid
        time.sleep(0.25)
    raise AssertionError("the engine (pid %s) did not die" % pid)
