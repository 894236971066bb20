# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release module's preflight, pin and check mode, in-process against a real git clone."""
import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.berth.compose.tests.unit.plugins.module_utils.git_fixtures import git, new_repo
from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.modules import release as module


def run(capsys, check_mode=False, **params):
    args = dict(params, _ansible_check_mode=check_mode)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    return json.loads(out), out


@pytest.fixture()
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    origin = new_repo(tmp_path / "origin", {".env.example": "APP_MESSAGE=x\nAPP_COLOR=blue\n"}, "v1")
    app = tmp_path / "app"
    (app / "shared").mkdir(parents=True)
    (app / "shared" / ".env").write_text("APP_MESSAGE=the-secret-value\n")
    git(tmp_path, "clone", "-q", str(origin), str(app / "repo"))
    return app


def test_preflight_resolves_the_tag_and_reports_a_fresh_host(capsys, root):
    result = run(capsys, step="preflight", root=str(root), ref="v1", env_template="", min_free_mb=1)[0]
    assert not result.get("failed"), result
    assert result["kind"] == "tag" and len(result["commit"]) == 40
    assert result["current_commit"] is None and result["release_exists"] is False
    assert result["deferred"] == [] and result["releases"] == 0


def test_preflight_names_missing_env_keys_and_never_prints_a_value(capsys, root):
    result, out = run(capsys, step="preflight", root=str(root), ref="v1",
                      env_file=str(root / "shared" / ".env"), min_free_mb=1)
    assert result["failed"] and result["missing_keys"] == ["APP_COLOR"]
    assert "APP_COLOR" in result["msg"] and "nothing changed" in result["msg"]
    assert "the-secret-value" not in out


def test_preflight_fails_naming_an_unknown_ref(capsys, root):
    result = run(capsys, step="preflight", root=str(root), ref="no-such-tag", env_template="")[0]
    assert result["failed"] and "'no-such-tag'" in result["msg"]


def test_preflight_fails_when_the_disk_is_too_full(capsys, root):
    result = run(capsys, step="preflight", root=str(root), ref="v1", env_template="", min_free_mb=10 ** 9)[0]
    assert result["failed"] and "berth_min_free_mb" in result["msg"]


def test_cutover_in_check_mode_switches_nothing(capsys, root):
    commit = git(root / "repo", "rev-parse", "HEAD")
    result = run(capsys, check_mode=True, step="cutover", root=str(root), commit=commit, project="app",
                 env_file=str(root / "shared" / ".env"), services=["web"], pin="")[0]
    assert result["changed"] is True and result["recreated"] == ["web"]
    assert not os.path.lexists(str(root / "current"))


def test_cutover_switches_current_and_sets_the_pin(capsys, root):
    layout = rel.Layout(str(root))
    commit = git(root / "repo", "rev-parse", "HEAD")
    rel.ensure_worktree(layout, commit)
    result = run(capsys, step="cutover", root=str(root), commit=commit, project="app",
                 env_file=str(root / "shared" / ".env"), services=[], pin=commit)[0]
    assert not result.get("failed"), result
    assert layout.current_commit() == commit
    assert open(layout.pin).read().strip() == commit
