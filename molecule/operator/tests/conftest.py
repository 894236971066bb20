"""Drive the operator's playbooks against the group of two VMs, once per case (not per host).

The tests run in file order against the same two VMs, each starting from the state the previous
one left: converge rolled web-only through both over the v1 release that prepare provisioned.
"""
import json
import os
import subprocess
import sys

import pytest
import testinfra

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
import recap  # noqa: E402  (molecule/shared: ansible-playbook with its recap as data)

ROOT = "/opt/sample"
PROJECT = "sample"
HOSTS = ("berth-operator-1", "berth-operator-2")
HOOKS = "/root/hooks.jsonl"
TOKEN = "token-5ec7e7"
OPTIONAL_COLOR = '{"berth_env_optional": ["APP_COLOR"]}'
PLAYBOOKS = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "playbooks")


class Run:
    def __init__(self, proc, data):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.recap = data
        self.changed = {name: counts["changed"] for name, counts in (data or {"stats": {}})["stats"].items()}


def run_playbook(name, *extra_args, env=None):
    """``env``: more environment of the controller (a CI's variables)."""
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], os.path.join(PLAYBOOKS, name + ".yml")]
    proc, data = recap.run_playbook(argv + list(extra_args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", **(env or {})),
                                    timeout=900)
    run = Run(proc, data)
    # The webhook URL's token never shows, whatever the playbook printed.
    assert TOKEN not in run.out
    return run


@pytest.fixture(scope="session")
def vms():
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return {name: testinfra.get_host("ansible://" + name, ansible_inventory=inventory) for name in HOSTS}


def commit_of(host, ref):
    return host.check_output("git -C /srv/fixtures/sample.git rev-parse %s^{commit}" % ref)


def current_commit(host):
    return os.path.basename(host.check_output("readlink %s/current" % ROOT))


def container_ids(host):
    """service -> container ID of the app's long-running containers."""
    out = host.check_output(
        "docker ps --filter label=com.docker.compose.project=%s --filter label=com.docker.compose.oneoff=False "
        "--format '{{.Label \"com.docker.compose.service\"}} {{.ID}}'" % PROJECT)
    return dict(line.split() for line in out.splitlines() if line.strip())


def records(host):
    text = host.file(ROOT + "/releases.jsonl").content_string
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def hooks(host):
    """The payloads the VM's webhook receiver got, oldest first."""
    if not host.file(HOOKS).exists:
        return []
    return [json.loads(line) for line in host.file(HOOKS).content_string.splitlines() if line.strip()]
