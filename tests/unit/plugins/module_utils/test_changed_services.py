# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""changed_services against real git repositories (no mocks): a small repo built here,
and the sample app's generated history (tests/fixtures/make_history.sh)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest

from ansible_collections.berth.compose.plugins.module_utils.changed_services import (
    ComposeError,
    GitError,
    compute_plan,
    git_changes,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MAKE_HISTORY = os.path.join(ROOT, "tests", "fixtures", "make_history.sh")

GIT_ENV = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")

COMPOSE = """services:
  web:
    build: ./web
  api:
    build: ./api
    environment: {LEVEL: "1"}
  worker:
    image: busybox
    volumes: ["./worker.conf:/etc/worker.conf:ro"]
"""


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo)] + list(args), check=True, env=GIT_ENV,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout.decode().strip()


def write(repo, path, text):
    full = repo / path
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(text)


def commit(repo, msg, tag):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", msg)
    git(repo, "tag", tag)


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    write(r, "compose.yaml", COMPOSE)
    write(r, "web/index.html", "v1")
    write(r, "api/app.py", "v1")
    write(r, "api/old_name.py", "x")
    write(r, "worker.conf", "a=1")
    write(r, "docs/readme.md", "doc")
    commit(r, "base", "base")
    write(r, "web/index.html", "v2")
    commit(r, "web only", "web-only")
    write(r, "compose.yaml", COMPOSE.replace('LEVEL: "1"', 'LEVEL: "2"'))
    commit(r, "compose only", "compose-only")
    git(r, "mv", "api/old_name.py", "lib_new_name.py")
    commit(r, "rename", "rename")
    git(r, "rm", "-q", "worker.conf")
    commit(r, "delete", "delete")
    git(r, "checkout", "-q", "-b", "side", "base")
    write(r, "docs/readme.md", "doc 2")
    commit(r, "side docs", "side")
    git(r, "checkout", "-q", "main")
    git(r, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    git(r, "tag", "merged")
    return r


def plan(repo, from_ref, to_ref, **kw):
    return compute_plan(str(repo), from_ref=from_ref, to_ref=to_ref, **kw)


def test_web_only_commit_builds_web(repo):
    p = plan(repo, "base", "web-only")
    assert (p.build, p.restart, p.full) == (["web"], [], False)
    assert p.reasons == {"web/index.html": "default: build context of web: build web"}
    assert p.from_commit == git(repo, "rev-parse", "base") and p.to_commit == git(repo, "rev-parse", "web-only")


def test_compose_only_change_recreates_only_the_changed_service(repo):
    p = plan(repo, "web-only", "compose-only")
    assert (p.build, p.restart, p.full) == ([], ["api"], False)
    assert p.reasons["compose.yaml"] == "default: compose file, service config changed: recreate api"


def test_rename_counts_both_paths(repo):
    p = plan(repo, "compose-only", "rename")
    assert set(p.reasons) == {"api/old_name.py", "lib_new_name.py"}
    assert p.build == ["api"] and p.unclaimed == ["lib_new_name.py"]


def test_deletion_counts(repo):
    p = plan(repo, "rename", "delete")
    assert p.restart == ["worker"] and list(p.reasons) == ["worker.conf"]


def test_merge_commit_uses_the_diff_between_the_two_commits(repo):
    p = plan(repo, "delete", "merged", rules=[{"paths": "docs/**", "ignore": True}])
    assert list(p.reasons) == ["docs/readme.md"]
    assert p.summary == "nothing to deploy: 1 changed path, 1 ignored"
    whole = plan(repo, "base", "merged")
    assert whole.build == ["api", "web"] and whole.restart == ["worker"]


def test_same_commit_is_nothing_to_deploy(repo):
    p = plan(repo, "merged", "HEAD")
    assert not p.full and p.build == [] and p.summary.startswith("nothing to deploy: ")


def test_missing_from_ref_is_a_full_deploy_with_reason(repo):
    p = plan(repo, None, "HEAD", rules=[{"paths": "x/**", "hooks": ["h1"]}])
    assert p.full and p.full_reasons == ["no from_ref given (nothing recorded as deployed)"]
    assert p.build == ["api", "web"] and p.restart == ["worker"]
    assert p.hooks == ["h1"]  # unknown history: every hook runs


def test_unknown_from_ref_is_a_full_deploy_with_reason(repo):
    p = plan(repo, "0123456789abcdef0123456789abcdef01234567", "HEAD")
    assert p.full and "is not in the repository" in p.full_reasons[0]


def test_non_ancestor_from_ref_is_a_full_deploy_with_reason(repo):
    p = plan(repo, "side", "delete")
    assert p.full and "is not an ancestor" in p.full_reasons[0]


def test_services_override_wins_over_unknown_history(repo):
    p = plan(repo, None, "HEAD", services="worker")
    assert not p.full and p.build == [] and p.restart == ["worker"]


def test_unknown_to_ref_fails_clearly(repo):
    with pytest.raises(GitError, match="to_ref 'nope' does not name a commit"):
        plan(repo, "base", "nope")


def test_not_a_repository_fails_clearly(tmp_path):
    with pytest.raises(GitError, match="not inside a git work tree"):
        git_changes(str(tmp_path), "a", "b")


def test_compose_is_read_at_to_ref_not_from_the_work_tree(repo):
    os.remove(str(repo / "compose.yaml"))  # the work tree does not matter with refs
    p = plan(repo, "base", "web-only")
    assert p.build == ["web"]


def test_missing_compose_file_fails_clearly(repo):
    with pytest.raises(ComposeError, match="other.yaml not found"):
        plan(repo, "base", "web-only", compose_files=["other.yaml"])


def test_paths_mode_reads_the_work_tree(repo):
    p = compute_plan(str(repo), paths=["web/x", "compose.yaml"])
    assert p.full and p.from_commit is None
    assert "previous version is unknown" in p.reasons["compose.yaml"]


def test_module_never_changes_the_repository(repo):
    before = (git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"), git(repo, "stash", "list"))
    plan(repo, "base", "merged")
    plan(repo, None, "HEAD")
    after = (git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"), git(repo, "stash", "list"))
    assert before == after


# ---------------------------------------------------------------- the sample app's history

SAMPLE_RULES = [{"paths": ["docs/**", "*.md"], "ignore": True}]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    base = tmp_path_factory.mktemp("sample")
    bare = base / "history.git"
    subprocess.run(["bash", MAKE_HISTORY, str(bare)], check=True, env=GIT_ENV,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    clone = base / "clone"
    subprocess.run(["git", "clone", "-q", str(bare), str(clone)], check=True, env=GIT_ENV)
    return clone


@pytest.mark.parametrize("prev,tag,build,restart,unclaimed", [
    ("v1", "web-only", ["web"], [], []),
    ("web-only", "api-only", ["api"], [], []),
    ("api-only", "migration-new", ["migrate"], [], []),
    ("migration-new", "compose-only", [], ["worker"], []),
    ("compose-only", "docs-only", [], [], []),
    # .env.example is a template, not the api's env_file (.env): nothing claims it by default
    ("docs-only", "env-template", [], [], [".env.example"]),
    ("v1", "env-template", ["api", "migrate", "web"], ["worker"], [".env.example"]),
])
def test_sample_app_history(sample, prev, tag, build, restart, unclaimed):
    p = compute_plan(str(sample), from_ref=prev, to_ref=tag, rules=SAMPLE_RULES)
    assert (p.build, p.restart, p.full, p.unclaimed) == (build, restart, False, unclaimed), p.summary


def test_sample_app_docs_only_without_rules_reports_unclaimed(sample):
    p = compute_plan(str(sample), from_ref="compose-only", to_ref="docs-only")
    assert p.build == [] and p.restart == [] and p.unclaimed == ["README.md", "docs/operations.md"]


def test_sample_app_side_branch_from_main_tip_is_full(sample):
    p = compute_plan(str(sample), from_ref="origin/bad/api-unhealthy", to_ref="env-template")
    assert p.full and "not an ancestor" in p.full_reasons[0]
