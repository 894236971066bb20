# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""inventories/example is a working inventory: Ansible reads it, and every playbook of the
collection passes --syntax-check against it (the collection resolved from this checkout)."""
import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
# The collection from this checkout: tests/unit/conftest.py links it here.
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
INVENTORY = os.path.join(ROOT, "inventories", "example")
PLAYBOOKS = sorted(glob.glob(os.path.join(ROOT, "playbooks", "*.yml")))


def tool(name):
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.path.exists(beside) else shutil.which(name) or name


def env():
    # The collection from this checkout, no color; the example's vault.yml holds placeholders, unencrypted.
    values = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    values.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
    return values


def run(argv):
    return subprocess.run(argv, cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300, check=False)


def test_the_inventory_lists_the_vm_with_its_settings():
    proc = run([tool("ansible-inventory"), "-i", INVENTORY, "--list"])
    assert proc.returncode == 0, proc.stdout
    data = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert data["berth_vms"]["hosts"] == ["app-vm-1"]
    hostvars = data["_meta"]["hostvars"]["app-vm-1"]
    for name in ("berth_app_name", "berth_change_rules", "berth_health_probes", "berth_hooks", "berth_restart_guards",
                 "berth_registry_login", "berth_notify", "secrets_env", "caddy_sites", "berth_backups"):
        assert name in hostvars, name
    assert "StrictHostKeyChecking=yes" in hostvars["ansible_ssh_common_args"]
    # Every hook a rule names is defined.
    hooks = {hook for rule in hostvars["berth_change_rules"] for hook in rule.get("hooks", [])}
    assert hooks and hooks <= set(hostvars["berth_hooks"])


@pytest.mark.skipif(not PLAYBOOKS, reason="no playbooks")
def test_every_playbook_passes_syntax_check_against_it():
    proc = run([tool("ansible-playbook"), "--syntax-check", "-i", INVENTORY] + PLAYBOOKS)
    assert proc.returncode == 0, proc.stdout
    for path in PLAYBOOKS:
        assert "playbook: " + path in proc.stdout, path
