# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only git access: changed paths and temporary exports."""

import os

import pytest

from ansible_collections.berth.compose.plugins.module_utils.git_changes import (
    GitError,
    changed_paths,
    exported_tree,
    parse_name_status,
    resolve_commit,
)
from ansible_collections.berth.compose.tests.unit.plugins.module_utils.git_fixtures import commit, git, write


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    write(r, "app/compose.yaml", "services: {}\n")
    write(r, "app/web/index.html", "v1")
    write(r, "lib/shared.txt", "outside the project dir")
    os.symlink("/etc/hostname", str(r / "app" / "link"))
    commit(r, "one", "one")
    write(r, "app/web/index.html", "v2")
    write(r, "lib/shared.txt", "changed outside")
    commit(r, "two", "two")
    return r


def test_paths_are_relative_to_the_project_dir_inside_the_repository(repo):
    changes = changed_paths(str(repo / "app"), "one", "two")
    assert changes.paths == ["web/index.html"] and changes.full_reason is None


def test_export_holds_the_commit_and_is_removed_afterwards(repo):
    write(repo, "app/web/index.html", "uncommitted")
    with exported_tree(str(repo / "app"), git(repo, "rev-parse", "one")) as tree:
        with open(os.path.join(tree, "web", "index.html")) as handle:
            assert handle.read() == "v1"
        assert os.readlink(os.path.join(tree, "link")) == "/etc/hostname"
        assert os.path.isfile(os.path.join(tree, "..", "lib", "shared.txt"))  # the whole repository
    assert not os.path.exists(tree)
    assert git(repo, "status", "--porcelain") == "M app/web/index.html"


def test_export_is_removed_when_the_caller_fails(repo):
    with pytest.raises(RuntimeError):
        with exported_tree(str(repo), "two") as tree:
            raise RuntimeError("render failed")
    assert not os.path.exists(tree)


def test_export_of_an_unknown_commit_fails_clearly(repo):
    with pytest.raises(GitError, match="git archive"):
        with exported_tree(str(repo), "0" * 40):
            pass


def test_resolve_commit_of_unknown_ref_is_none(repo):
    assert resolve_commit(str(repo), "nope") is None
    assert resolve_commit(str(repo), "one") == git(repo, "rev-parse", "one")


def test_missing_project_dir_fails_clearly(tmp_path):
    with pytest.raises(GitError, match="does not exist"):
        changed_paths(str(tmp_path / "gone"), "a", "b")


def test_copies_yield_both_paths():
    assert parse_name_status(b"C100\x00a.txt\x00b.txt\x00A\x00c.txt\x00") == ["a.txt", "b.txt", "c.txt"]
