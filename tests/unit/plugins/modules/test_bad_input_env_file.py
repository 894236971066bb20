# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input for env_file: every option refused with a message naming it, and nothing written."""
import pytest

from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import run_module
from ansible_collections.berth.compose.plugins.modules import env_file

pytestmark = pytest.mark.usefixtures("module_exit_raises")

CASES = [
    ("values wrong type", {"values": ["A", "B"]}, ["values", "dict"]),
    ("values key with space", {"values": {"MY KEY": "x"}}, ["env variable names", "[A-Za-z_][A-Za-z0-9_]*", "MY KEY"]),
    ("values key with shell metacharacters", {"values": {"A;rm -rf /": "x"}}, ["env variable names", "A;rm -rf /"]),
    ("values key starting with a digit", {"values": {"1A": "x"}}, ["env variable names", "1A"]),
    ("values nested mapping", {"values": {"A": {"b": 1}}}, ["strings, numbers, booleans or null", "A"]),
    ("values control character", {"values": {"A": "x\x00y"}}, ["control characters", "A"]),
    ("required_keys missing", {"values": {"A": "1"}, "required_keys": ["B"]}, ["required env keys", "B"]),
    ("required_keys empty value", {"values": {"A": " "}, "required_keys": ["A"]}, ["required env keys", "A"]),
    ("required_keys wrong type", {"required_keys": {"A": 1}}, ["required_keys", "list"]),
    ("mode symbolic", {"mode": "u=rw"}, ["mode", "octal"]),
    ("mode out of range", {"mode": "017777"}, ["mode", "range"]),
    ("mode bool", {"mode": True}, ["mode", "octal"]),
    ("mode world-readable", {"mode": "0644"}, ["mode 0644", "other users", "0600"]),
    ("owner unknown", {"owner": "no-such-user-xyz"}, ["owner", "no-such-user-xyz", "does not exist"]),
    ("group unknown", {"group": "no-such-group-xyz"}, ["group", "no-such-group-xyz", "does not exist"]),
    ("path in a missing directory", {"path": "/nonexistent-dir/.env"}, ["directory /nonexistent-dir does not exist"]),
]


@pytest.mark.parametrize("override,needles", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_and_nothing_is_written(tmp_path, override, needles):
    target = tmp_path / ".env"
    params = dict({"path": str(target), "values": {"A": "1"}}, **override)
    result, _warned = run_module(env_file, **params)
    assert result["failed"], result
    for needle in needles:
        assert needle.lower() in result["msg"].lower(), (needle, result["msg"])
    assert not target.exists()


def test_path_that_is_a_directory_is_refused(tmp_path):
    result, _warned = run_module(env_file, path=str(tmp_path), values={"A": "1"})
    assert result["failed"] and "not a regular file" in result["msg"]


def test_a_refused_value_does_not_show_in_the_message(tmp_path):
    result, _warned = run_module(env_file, path=str(tmp_path / ".env"), values={"A": "canary-\x01-secret"})
    assert result["failed"] and "canary" not in result["msg"]
