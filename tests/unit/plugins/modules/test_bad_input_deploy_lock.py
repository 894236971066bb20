# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input for deploy_lock: every option refused with a message naming it, and no lock file made."""
import pytest

from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import run_module
from ansible_collections.berth.compose.plugins.modules import deploy_lock

pytestmark = pytest.mark.usefixtures("module_exit_raises")

CASES = [
    ("path relative", {"path": "deploy.lock"}, ["path", "absolute"]),
    ("path with ..", {"path": "/opt/app/../../etc/deploy.lock"}, ["path", ".."]),
    ("state unknown", {"state": "locked"}, ["state", "acquired, released"]),
    ("owner with a line break", {"owner": "deploy\nforged: 1"}, ["owner", "line break"]),
    ("operator with a line break", {"operator": "me\r\n"}, ["operator", "line break"]),
    ("controller with a line break", {"controller": "ctl\n"}, ["controller", "line break"]),
    ("pid negative", {"pid": -1}, ["pid", "0 or more"]),
    ("pid wrong type", {"pid": "self"}, ["pid", "int"]),
    ("ttl negative", {"ttl": -1}, ["ttl", "0 or more"]),
    ("ttl zero when acquiring", {"ttl": 0}, ["ttl", "more than 0"]),
    ("ttl wrong type", {"ttl": "1h"}, ["ttl", "int"]),
    ("wait negative", {"wait": -5}, ["wait", "0 or more"]),
    ("wait wrong type", {"wait": "forever"}, ["wait", "int"]),
    ("force not bool", {"force": "maybe"}, ["force", "bool"]),
    ("token with shell metacharacters", {"token": "$(id)"}, ["token", "letters, digits"]),
    ("stale_token with spaces", {"stale_token": "a b"}, ["stale_token", "letters, digits"]),
]


@pytest.mark.parametrize("override,needles", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_and_no_lock_is_made(tmp_path, override, needles):
    lock = tmp_path / "deploy.lock"
    result, _warned = run_module(deploy_lock, **dict({"path": str(lock)}, **override))
    assert result["failed"], result
    for needle in needles:
        assert needle.lower() in result["msg"].lower(), (needle, result["msg"])
    assert list(tmp_path.iterdir()) == []


def test_an_empty_token_is_no_token(tmp_path):
    # playbooks/tasks/unlock.yml passes token: "{{ berth_lock.token | default('') }}"
    result, _warned = run_module(deploy_lock, path=str(tmp_path / "deploy.lock"), state="released", token="")
    assert not result["failed"], result
