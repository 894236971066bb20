# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine module refuses bad settings and options before it takes the lock or runs anything.

Deploys, rollbacks and their faults run for real in the deploy Molecule scenario."""
import os

import pytest

from ansible_collections.berth.compose.plugins.modules import engine as module

from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import run_module


def args(tmp_path, **overrides):
    root = str(tmp_path / "shop")
    base = dict(root=root, ref="main", project="shop", env_file=root + "/shared/.env", app_name="shop",
                run_as="deploy", deploy_group="deploy")
    base.update(overrides)
    return base


@pytest.fixture(autouse=True)
def no_commands(monkeypatch, module_exit_raises):
    def tripwire(*a, **k):
        raise AssertionError("a refused run must not start a command")
    monkeypatch.setattr(module.Deployer, "run", tripwire)


@pytest.mark.parametrize("overrides, words", [
    ({"app_name": "../etc"}, ["Refusing the app-wide settings", "berth_app_name"]),
    ({"root": "/", "env_file": "/shared/.env"}, ["Refusing the app-wide settings", "berth_app_root"]),
    ({"ref": "--upload-pack=touch /tmp/x"}, ["Refused options", "ref"]),
    ({"project": "Shop App"}, ["project", "lowercase"]),
    ({"service": "web;rm"}, ["service", "service names"]),
    ({"zero_downtime": ["-web"]}, ["zero_downtime"]),
    ({"probes": [{"url": "ftp://x"}]}, ["probes", "http"]),
    ({"gate_soak": -1.0}, ["gate_soak", "negative"]),
    ({"registry_login": {"registry": "r", "username": "u"}}, ["registry_login", "password"]),
    # Issue 18.14: a `when` typo ran a before-hook after cutover; a string guard command was split into characters.
    ({"hooks": {"report": {"service": "api", "command": ["x"], "when": "bfore"}}}, ["berth_hooks", "'bfore'"]),
    ({"restart_guards": {"worker": {"command": "test ! -e /tmp/busy"}}}, ["berth_restart_guards", "list of strings"]),
    # Issue 20.2: -e note is one bounded line, named in the refusal.
    ({"note": "first line\nsecond line"}, ["Refused options", "note must be one line"]),
    ({"note": "n" * 201}, ["note", "at most 200"]),
    ({"job_url": "javascript:alert(1)"}, ["job_url", "http"]),
])
def test_bad_input_is_refused_before_anything_runs(tmp_path, overrides, words):
    result, _warnings = run_module(module, **args(tmp_path, **overrides))
    assert result["failed"] and result["changed"] is False
    for word in words:
        assert word in result["msg"], result["msg"]
    assert not os.path.exists(str(tmp_path / "shop" / ".berth"))


def test_the_registry_password_never_shows_in_a_refusal(tmp_path):
    result, _warnings = run_module(module, **args(tmp_path, project="Bad", registry_login={
        "registry": "r", "username": "u", "password": "hunter2-secret"}))
    assert result["failed"] and "hunter2-secret" not in repr(result)
