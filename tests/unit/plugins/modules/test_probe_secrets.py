# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 18.15: a probe's auth header and the token in its URL show nowhere in what a module returns,
its invocation included (what ansible-playbook -vvv prints). The modules run for real, as Ansible runs
them (a process reading its arguments on stdin), so Ansible's own no_log masking is what is tested."""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
NS = os.path.join(ROOT, ".build", "pytest-collections")
TOKEN = "tok-9f8e7d6c5b"
AUTH = "Bearer hdr-0a1b2c3d4e"
PROBE = {"url": "http://127.0.0.1:9/health?token=%s" % TOKEN, "name": "",
         "headers": {"Authorization": AUTH, "Host": "shop.test"}}


def run_module(name, args):
    args = dict(args, _ansible_verbosity=3, _ansible_no_log=False, _ansible_check_mode=False)
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "plugins", "modules", name + ".py")],
                          input=json.dumps({"ANSIBLE_MODULE_ARGS": args}), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120,
                          # What this test imports, the child imports (pytest's tree or ansible-test's).
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join([NS] + [p for p in sys.path if p])),
                          check=False)
    assert proc.stdout.strip(), proc.stderr
    return proc.stdout, json.loads(proc.stdout)


@pytest.mark.parametrize("name,args", [
    ("health_gate", {"project": "app", "probes": [PROBE], "docker_host": "unix:///nonexistent/docker.sock"}),
    # Refused before anything runs (the root is relative): the invocation is returned all the same.
    ("engine", {"root": "relative/root", "ref": "main", "project": "shop", "env_file": "/nonexistent/.env",
                "probes": [PROBE]}),
    ("reconcile", {"step": "status", "root": "relative/root", "app_name": "shop", "probes": [PROBE]}),
])
def test_probe_secrets_show_in_no_module_result_nor_its_invocation(name, args):
    out, result = run_module(name, args)
    assert "invocation" in result, out
    assert TOKEN not in out and "hdr-0a1b2c3d4e" not in out, out
