# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""berth.compose.adopt: bad input refused naming it; step=env merges the hand-run .env, 0600, key names only."""
import os
import stat

import pytest

from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import run_module
from ansible_collections.berth.compose.plugins.modules import adopt

pytestmark = pytest.mark.usefixtures("module_exit_raises")


@pytest.mark.parametrize("params, needle", [
    ({"step": "plan", "checkout": "relative/dir", "root": "/opt/a", "project": "a"}, "from='relative/dir' is not an absolute"),
    ({"step": "plan", "checkout": "/nonexistent/x", "root": "/opt/a", "project": "a"}, "from=/nonexistent/x is not a directory"),
    ({"step": "plan", "checkout": "/tmp"}, "root is required"),
    ({"step": "env", "checkout": "/tmp"}, "env_file is required"),
    ({"step": "env", "checkout": ""}, "from is required"),
])
def test_bad_input_is_refused_naming_it(params, needle):
    result, _warned = run_module(adopt, **params)
    assert result["failed"] and needle in result["msg"], result


@pytest.fixture
def files(tmp_path):
    checkout = tmp_path / "hand-run"
    checkout.mkdir()
    (checkout / ".env").write_text("APP_MESSAGE=hand\nDB_PASSWORD=hand-secret\n")
    env = tmp_path / "shared" / ".env"
    env.parent.mkdir()
    env.write_text("APP_MESSAGE=vault\nONLY_BERTH=x\n")
    return checkout, env


def test_env_step_merges_the_hand_run_values_0600_and_returns_key_names_only(files):
    checkout, env = files
    result, _warned = run_module(adopt, step="env", checkout=str(checkout), env_file=str(env))
    assert not result["failed"] and result["changed"], result
    assert (result["added"], result["replaced"]) == (["DB_PASSWORD"], ["APP_MESSAGE"])
    assert "hand-secret" not in repr(result) and "hand" not in repr(result).replace("hand-run", "")
    text = env.read_text()
    assert "APP_MESSAGE=hand" in text and "DB_PASSWORD=hand-secret" in text and "ONLY_BERTH=x" in text
    assert stat.S_IMODE(os.stat(env).st_mode) == 0o600
    again, _warned = run_module(adopt, step="env", checkout=str(checkout), env_file=str(env))
    assert not again["changed"], again


def test_env_step_in_check_mode_writes_nothing(files):
    checkout, env = files
    before = env.read_text()
    result, _warned = run_module(adopt, check_mode=True, step="env", checkout=str(checkout), env_file=str(env))
    assert result["changed"] and result["added"] == ["DB_PASSWORD"]
    assert env.read_text() == before
