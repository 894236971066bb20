# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""berth.compose.follow against a real git remote: the branch, the highest tag, the pin, a bad value, the metrics."""
import os
import subprocess

import pytest

from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import run_module
from ansible_collections.berth.compose.plugins.modules import follow

pytestmark = pytest.mark.usefixtures("module_exit_raises")
ENV = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
           GIT_COMMITTER_EMAIL="t@t", GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")


def git(*args, cwd=None):
    return subprocess.run(["git"] + list(args), cwd=cwd, env=ENV, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def app(tmp_path):
    """An app root whose clone's origin has main, v9 (lightweight), v10 (annotated) and v2."""
    src = tmp_path / "src"
    git("init", "-q", "-b", "main", str(src))
    for tag in ("v2", "v9", "v10"):
        git("commit", "-q", "--allow-empty", "-m", tag, cwd=src)
        if tag == "v10":
            git("tag", "-a", tag, "-m", tag, cwd=src)
        else:
            git("tag", tag, cwd=src)
    root = tmp_path / "root"
    (root / ".berth").mkdir(parents=True)
    git("clone", "-q", str(src), str(root / "repo"))
    return dict(root=str(root), src=str(src), metrics=str(tmp_path / "metrics"))


def params(app, value, **extra):
    return dict(dict(follow=value, root=app["root"], app_name="s", metrics_dir=app["metrics"]), **extra)


def test_the_highest_tag_is_chosen(app):
    result = run_module(follow, **params(app, "v*"))[0]
    assert not result["failed"], result
    assert result["ref"] == "v10" and result["engine_ref"] == "v10" and result["deploy"]
    assert result["commit"] == git("rev-parse", "v10^{commit}", cwd=app["src"])
    metrics = open(os.path.join(app["metrics"], "berth_reconcile_s.prom")).read()
    assert 'berth_follow_behind{app="s"} 1' in metrics


def test_a_branch_is_handed_to_the_engine_by_commit(app):
    result = run_module(follow, **params(app, "main"))[0]
    head = git("rev-parse", "main", cwd=app["src"])
    assert result["ref"] == "main" and result["engine_ref"] == head and result["operator"].startswith("follow@")


def test_the_pin_holds(app):
    with open(os.path.join(app["root"], ".berth", "pin"), "w") as handle:
        handle.write(git("rev-parse", "v2", cwd=app["src"]) + "\n")
    result = run_module(follow, **params(app, "main"))[0]
    assert result["action"] == "pinned" and not result["deploy"] and "rollback pin" in result["msg"]


def test_a_bad_value_is_refused_before_anything_is_written(app):
    result = run_module(follow, **params(app, "main..x"))[0]
    assert result["failed"] and "berth_follow" in result["msg"]
    assert not os.path.exists(app["metrics"])


def test_check_mode_writes_no_metrics(app):
    result = run_module(follow, check_mode=True, **params(app, "v*"))[0]
    assert result["deploy"] and not os.path.exists(app["metrics"])
