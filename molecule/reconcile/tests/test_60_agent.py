"""Role berth.compose.agent: whatever an interrupted upgrade left of the VM's copy of the collection, the
next run repairs it; an inline-vaulted variable reaches the VM's inventory as plain text; a core older
than the collection supports is refused before anything changes."""
import os

import pytest

from conftest import run_playbook, timer_run

AGENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent.yml")
BERTH = "/usr/local/share/berth/collections/ansible_collections/berth"
COLLECTION = BERTH + "/compose"
INVENTORY = "/etc/berth/sample/inventory.yml"
FAKE = "/usr/local/bin/ansible-playbook"


def timer_runs_reconcile(host):
    """The timer's run gets as far as reconcile's own check (the collection is there and loads)."""
    code, journal = timer_run(host)
    assert "Check the whole baseline" in journal, journal
    return code, journal


def test_an_inline_vaulted_variable_lands_as_plain_text(host):
    content = host.file(INVENTORY).content_string
    assert "$ANSIBLE_VAULT" not in content and "!vault" not in content
    assert "berth_test_inline_secret: inline-vaulted-s3cret" in content
    # The VM has no vault password: the value must read without one.
    shown = host.run("ansible -i %s localhost -m ansible.builtin.debug -a var=berth_test_inline_secret" % INVENTORY)
    assert shown.rc == 0 and "inline-vaulted-s3cret" in shown.stdout, shown.stdout + shown.stderr


@pytest.mark.parametrize("damage", [
    # What the older role's interrupted upgrade left: the copy removed, or removed halfway.
    "rm -rf $(readlink -f %s)" % COLLECTION,
    "rm -rf $(readlink -f %s)/playbooks $(readlink -f %s)/plugins/module_utils" % (COLLECTION, COLLECTION),
    # A run that died while unpacking: a part of the files, not yet the link.
    "rm -rf %s && mkdir -p %s && touch %s/galaxy.yml" % (COLLECTION, COLLECTION, COLLECTION),
], ids=["removed", "half-removed", "half-unpacked"])
def test_an_interrupted_upgrade_is_repaired_by_the_next_run(host, damage):
    host.check_output(damage)
    assert not host.file(COLLECTION + "/playbooks/reconcile.yml").exists
    run = run_playbook(AGENT)
    assert run.rc == 0, run.out
    assert host.file(COLLECTION + "/playbooks/reconcile.yml").exists
    assert host.file(COLLECTION + "/plugins/module_utils").is_directory
    timer_runs_reconcile(host)
    again = run_playbook(AGENT)
    assert again.rc == 0 and again.changed == 0, again.out


def test_one_copy_is_kept(host):
    copies = sorted(host.check_output("ls -A %s" % BERTH).split())
    assert len(copies) == 2 and copies[0].startswith(".compose-") and copies[1] == "compose", copies
    assert host.file(COLLECTION).is_symlink and host.file(COLLECTION).linked_to == BERTH + "/" + copies[0]


def test_a_core_older_than_the_collection_supports_is_refused(host):
    before = host.check_output("ls -lAR %s; cat %s" % (BERTH, INVENTORY))
    host.check_output("printf '#!/bin/sh\\necho \"ansible-playbook [core 2.14.18]\"\\n' > %s && chmod 0755 %s"
                      % (FAKE, FAKE))
    try:
        run = run_playbook(AGENT)
    finally:
        host.check_output("rm -f %s" % FAKE)
    assert run.rc != 0
    assert "ansible-core 2.14.18, older than 2.19.0" in run.out and "requires_ansible" in run.out, run.out
    assert host.check_output("ls -lAR %s; cat %s" % (BERTH, INVENTORY)) == before
