# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only git access: changed paths and temporary partial copies of a commit."""

import os
import re

import pytest

from ansible_collections.berth.compose.plugins.module_utils.git_changes import (
    GitError,
    changed_paths,
    materialized_tree,
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


def files_in(tree):
    """Every file, symlink and directory below ``tree``, relative, directories with a trailing '/'."""
    out = set()
    for root, dirs, files in os.walk(tree):
        rel = os.path.relpath(root, tree)
        for name in files:
            out.add(os.path.normpath(os.path.join(rel, name)))
        for name in dirs:
            out.add(os.path.normpath(os.path.join(rel, name)) + "/")
    return out


def test_copy_holds_the_commit_and_is_removed_afterwards(repo):
    write(repo, "app/web/index.html", "uncommitted")
    with materialized_tree(str(repo / "app"), git(repo, "rev-parse", "one"),
                           ["web/index.html", "link", "../lib/shared.txt"]) as tree:
        with open(os.path.join(tree, "web", "index.html")) as handle:
            assert handle.read() == "v1"
        assert os.readlink(os.path.join(tree, "link")) == "/etc/hostname"  # leads out: stays a symlink
        with open(os.path.join(tree, "..", "lib", "shared.txt")) as handle:  # elsewhere in the repository
            assert handle.read() == "outside the project dir"
    assert not os.path.exists(tree)
    assert git(repo, "status", "--porcelain") == "M app/web/index.html"


def test_copy_writes_only_the_named_paths_and_what_they_name(repo):
    write(repo, "app/compose.yaml", "include: [inc/more.yaml]\n")
    write(repo, "app/inc/more.yaml", "env_file: ../env/a.env\nbuild: ../web\n")
    write(repo, "app/env/a.env", "A=1\n")
    write(repo, "app/env/b.env", "B=1\n")
    commit(repo, "three", "three")
    named = []

    def references(path, text):
        named.append(path)
        return [os.path.normpath(os.path.join(os.path.dirname(path), w)) for w in re.findall(r"[\w./]+/[\w./]+", text)]

    with materialized_tree(str(repo / "app"), "three", ["compose.yaml", "nope.yaml", "../../outside"],
                           references) as tree:
        assert files_in(tree) == {"compose.yaml", "inc/", "inc/more.yaml", "env/", "env/a.env", "web/"}
        assert os.listdir(os.path.join(tree, "web")) == []  # a named directory is created, empty
    assert named == ["compose.yaml", "inc/more.yaml", "env/a.env"]


def test_copy_expands_patterns_within_one_segment(repo):
    write(repo, "app/env/a.env", "A=1\n")
    write(repo, "app/env/b.env", "B=1\n")
    write(repo, "app/env/deeper/c.env", "C=1\n")
    commit(repo, "three", "three")
    with materialized_tree(str(repo / "app"), "three", ["env/*.env", "*/index.html"]) as tree:
        assert files_in(tree) == {"env/", "env/a.env", "env/b.env", "web/", "web/index.html"}


def test_copy_never_writes_through_a_symlink_leading_out(repo, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(str(outside), str(repo / "app" / "shared"))
    commit(repo, "three", "three")
    with materialized_tree(str(repo / "app"), "three", ["shared", "shared/new.env", "shared/sub/x.env"]) as tree:
        assert os.readlink(os.path.join(tree, "shared")) == str(outside)
    assert os.listdir(str(outside)) == []


def test_copy_follows_symlinks_inside_the_repository(repo):
    os.symlink("web", str(repo / "app" / "site"))
    commit(repo, "three", "three")
    with materialized_tree(str(repo / "app"), "three", ["site/index.html"]) as tree:
        with open(os.path.join(tree, "site", "index.html")) as handle:
            assert handle.read() == "v2"


def test_copy_is_removed_when_the_caller_fails(repo):
    with pytest.raises(RuntimeError):
        with materialized_tree(str(repo), "two", ["app/compose.yaml"]) as tree:
            raise RuntimeError("render failed")
    assert not os.path.exists(tree)


def test_copy_of_an_unknown_commit_fails_clearly(repo):
    with pytest.raises(GitError, match="commit 0000000000000000000000000000000000000000 is not in the repository"):
        with materialized_tree(str(repo), "0" * 40, ["app/compose.yaml"]):
            pass


def test_resolve_commit_of_unknown_ref_is_none(repo):
    assert resolve_commit(str(repo), "nope") is None
    assert resolve_commit(str(repo), "one") == git(repo, "rev-parse", "one")


def test_missing_project_dir_fails_clearly(tmp_path):
    with pytest.raises(GitError, match="does not exist"):
        changed_paths(str(tmp_path / "gone"), "a", "b")


def test_copies_yield_both_paths():
    assert parse_name_status(b"C100\x00a.txt\x00b.txt\x00A\x00c.txt\x00") == ["a.txt", "b.txt", "c.txt"]
