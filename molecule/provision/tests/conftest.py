"""Re-run provision.yml against the scenario's VM, the way an operator would."""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
import recap  # noqa: E402  (molecule/shared: ansible-playbook with its recap as data)

APP = "sample"
ROOT = "/opt/sample"
CADDY_CA = "/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt"


class Run:
    def __init__(self, proc, data):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.recap = data
        self.changed = recap.changed(data)


def run_playbook(playbook, *extra_args):
    """ansible-playbook with Molecule's inventory, config and env (vault password included)."""
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], playbook] + list(extra_args)
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    proc, data = recap.run_playbook(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, env=env, check=False, timeout=900)
    return Run(proc, data)


def https_get(host, path="/"):
    """GET https://sample.test<path> inside the VM, verified against Caddy's internal CA."""
    return host.run(
        "curl -sS --max-time 10 --cacert %s --resolve sample.test:443:127.0.0.1 https://sample.test%s"
        % (CADDY_CA, path))


def run_provision(*extra_args):
    """Re-run the scenario's converge (provision.yml)."""
    return run_playbook(os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml"), *extra_args)


@pytest.fixture()
def provision():
    return run_provision
