# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_plan on real git repositories, with Compose replaced by a recorded or JSON rendering:
a small repository built here, and the sample app's generated history."""

import json
import os

import pytest

from ansible_collections.berth.compose.plugins.module_utils.change_plan import UnclaimedPathsError
from ansible_collections.berth.compose.plugins.module_utils.changed_services import ChangeRequest, compute_plan
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import ComposeCliError
from ansible_collections.berth.compose.plugins.module_utils.compose_model import ComposeError
from ansible_collections.berth.compose.plugins.module_utils.git_changes import GitError
from ansible_collections.berth.compose.tests.unit.plugins.module_utils.compose_fixtures import (
    FakeCompose,
    recorded,
    rendered,
)
from ansible_collections.berth.compose.tests.unit.plugins.module_utils.git_fixtures import (
    commit,
    git,
    sample_history,
    write,
)

# The small repository's compose file is JSON (which is YAML) in Compose's rendered shape, so
# FakeCompose, the stand-in for `docker compose config`, only has to make its paths absolute.
COMPOSE = {
    "web": {"build": "web"},
    "api": {"build": "api", "environment": {"LEVEL": "1"}},
    "worker": {"image": "busybox", "volumes": [{"type": "bind", "source": "worker.conf", "target": "/etc/w"}]},
}


def compose_text(level="1", extra=None):
    services = json.loads(json.dumps(COMPOSE))
    services["api"]["environment"]["LEVEL"] = level
    services.update(extra or {})
    return json.dumps(services, indent=1)


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    write(r, "compose.yaml", compose_text())
    write(r, "web/index.html", "v1")
    write(r, "api/app.py", "v1")
    write(r, "api/old_name.py", "x")
    write(r, "worker.conf", "a=1")
    write(r, "docs/readme.md", "doc")
    commit(r, "base", "base")
    write(r, "web/index.html", "v2")
    commit(r, "web only", "web-only")
    write(r, "compose.yaml", compose_text("2"))
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


def plan(repo, from_ref, to_ref, render=None, **kw):
    request = ChangeRequest(project_dir=str(repo), compose_project="app", from_ref=from_ref, to_ref=to_ref, **kw)
    return compute_plan(request, render or FakeCompose())


def test_web_only_commit_builds_web(repo):
    p = plan(repo, "base", "web-only")
    assert (p.build, p.recreate, p.full) == (["web"], [], False)
    assert p.reasons == {"web/index.html": "default: build context of web: build web"}
    assert p.from_commit == git(repo, "rev-parse", "base") and p.to_commit == git(repo, "rev-parse", "web-only")


def test_compose_only_change_recreates_only_the_changed_service(repo):
    p = plan(repo, "web-only", "compose-only")
    assert (p.build, p.recreate, p.full) == ([], ["api"], False)
    assert p.config_changes == {"api": "recreate"}
    assert p.reasons["compose.yaml"] == ("default: compose.yaml (input of the rendered config), "
                                         "rendered config changed: recreate api")


def test_each_side_is_rendered_from_its_own_commit_with_its_release_variables(repo):
    compose = FakeCompose()
    plan(repo, "web-only", "compose-only", render=compose, environment={"EXTRA": "1"})
    to_commit, from_commit = git(repo, "rev-parse", "compose-only"), git(repo, "rev-parse", "web-only")
    envs = [env for _dir, env, interpolate in compose.calls]
    assert [interpolate for _dir, _env, interpolate in compose.calls] == [True, False, True]
    assert envs[0] == {"EXTRA": "1", "BERTH_COMMIT": to_commit, "BERTH_SHORT_SHA": to_commit[:12],
                       "BERTH_REF": "compose-only"}
    assert envs[2]["BERTH_COMMIT"] == from_commit and envs[2]["BERTH_REF"] == "web-only"


def test_temporary_exports_are_removed_and_the_repository_is_untouched(repo):
    compose = FakeCompose()
    before = (git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"), git(repo, "worktree", "list"),
              git(repo, "show-ref"))
    plan(repo, "base", "merged", render=compose)
    plan(repo, None, "HEAD", render=compose)
    after = (git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"), git(repo, "worktree", "list"),
             git(repo, "show-ref"))
    assert before == after
    dirs = {d for d, _env, _i in compose.calls}
    assert dirs and not any(os.path.exists(d) for d in dirs)


def test_temporary_export_links_env_to_the_env_file(repo, tmp_path):
    env_file = tmp_path / "shared.env"
    env_file.write_text("A=1\n")
    seen = []

    def read(project):
        seen.append(os.readlink(os.path.join(project.project_dir, ".env")))
        return FakeCompose.read_json(project)

    plan(repo, "base", "web-only", render=FakeCompose(read), env_file=str(env_file))
    assert seen and set(seen) == {str(env_file)}


def test_given_release_directories_are_rendered_in_place(repo, tmp_path):
    from_dir, to_dir = tmp_path / "from", tmp_path / "to"
    from_dir.mkdir()
    to_dir.mkdir()
    (from_dir / "compose.yaml").write_text(compose_text("1"))
    (to_dir / "compose.yaml").write_text(compose_text("3"))
    compose = FakeCompose()
    p = plan(repo, "base", "web-only", render=compose, from_dir=str(from_dir), to_dir=str(to_dir))
    assert {d for d, _env, _i in compose.calls} == {str(from_dir), str(to_dir)}
    assert p.build == ["web"] and p.recreate == ["api"]


def test_missing_release_directory_fails_clearly(repo, tmp_path):
    with pytest.raises(ComposeError, match="does not exist"):
        plan(repo, "base", "web-only", to_dir=str(tmp_path / "nope"))


def test_compose_errors_are_reported_as_compose_errors(repo):
    def broken(project, interpolate=True):
        raise ComposeCliError("docker compose config failed (exit 15): required variable API_SECRET is missing")

    with pytest.raises(ComposeError, match="API_SECRET is missing"):
        plan(repo, "base", "web-only", render=broken)


def test_rename_counts_both_paths(repo):
    p = plan(repo, "compose-only", "rename")
    assert set(p.reasons) == {"api/old_name.py", "lib_new_name.py"}
    assert p.build == ["api"] and p.unclaimed == ["lib_new_name.py"]


def test_deletion_counts(repo):
    p = plan(repo, "rename", "delete")
    assert p.recreate == ["worker"] and list(p.reasons) == ["worker.conf"]


def test_merge_commit_uses_the_diff_between_the_two_commits(repo):
    p = plan(repo, "delete", "merged", rules=[{"paths": "docs/**", "ignore": True}])
    assert list(p.reasons) == ["docs/readme.md"]
    assert p.summary == "nothing to deploy: 1 changed path, 1 ignored"
    whole = plan(repo, "base", "merged")
    assert whole.build == ["api", "web"] and whole.recreate == ["worker"]


def test_same_commit_is_nothing_to_deploy(repo):
    p = plan(repo, "merged", "HEAD")
    assert not p.full and p.build == [] and p.summary.startswith("nothing to deploy: ")


def test_missing_from_ref_is_a_full_deploy_with_reason(repo):
    p = plan(repo, None, "HEAD", rules=[{"paths": "x/**", "hooks": ["h1"]}])
    assert p.full and p.full_reasons == ["no from_ref given (nothing recorded as deployed)"]
    assert p.build == ["api", "web"] and p.recreate == ["worker"]
    assert p.hooks == ["h1"]  # unknown history: every hook runs


def test_unknown_from_ref_is_a_full_deploy_with_reason(repo):
    p = plan(repo, "0123456789abcdef0123456789abcdef01234567", "HEAD")
    assert p.full and "is not in the repository" in p.full_reasons[0]


def test_diverged_history_is_a_full_deploy_with_reason(repo):
    p = plan(repo, "side", "delete")
    assert p.full and "not on one line of history" in p.full_reasons[0]


def test_rollback_plans_the_diff_backwards(repo):
    p = plan(repo, "compose-only", "web-only")
    assert (p.build, p.recreate, p.full) == ([], ["api"], False)
    assert p.config_changes == {"api": "recreate"}
    assert set(p.reasons) == {"compose.yaml"}


def test_services_override_wins_over_unknown_history(repo):
    p = plan(repo, None, "HEAD", services="worker")
    assert not p.full and p.build == [] and p.recreate == ["worker"]


def test_unknown_to_ref_fails_clearly(repo):
    with pytest.raises(GitError, match="to_ref 'nope' does not name a commit"):
        plan(repo, "base", "nope")


def test_not_a_repository_fails_clearly(tmp_path):
    with pytest.raises(GitError, match="not inside a git work tree"):
        plan(tmp_path, "a", "b")


def test_compose_is_read_at_to_ref_not_from_the_work_tree(repo):
    os.remove(str(repo / "compose.yaml"))  # the work tree does not matter with refs
    assert plan(repo, "base", "web-only").build == ["web"]


def test_missing_compose_file_fails_clearly(repo):
    with pytest.raises(ComposeError, match="other.yaml not found"):
        plan(repo, "base", "web-only", compose_files=["other.yaml"])


def test_no_compose_file_at_all_fails_clearly(tmp_path):
    request = ChangeRequest(project_dir=str(tmp_path), compose_project="app", paths=[])
    with pytest.raises(ComposeError, match="no compose file found"):
        compute_plan(request, FakeCompose())


def test_paths_mode_renders_the_work_tree_once(repo):
    compose = FakeCompose()
    request = ChangeRequest(project_dir=str(repo), compose_project="app", paths=["web/x", "compose.yaml"])
    p = compute_plan(request, compose)
    assert p.full and p.from_commit is None
    assert "previous version is unknown" in p.reasons["compose.yaml"]
    assert [d for d, _env, _i in compose.calls] == [str(repo), str(repo)]


def test_paths_mode_needs_an_existing_directory(tmp_path):
    request = ChangeRequest(project_dir=str(tmp_path / "gone"), compose_project="app", paths=[])
    with pytest.raises(ComposeError, match="does not exist"):
        compute_plan(request, FakeCompose())


def test_unclaimed_fail_carries_the_plan(repo):
    with pytest.raises(UnclaimedPathsError) as err:
        plan(repo, "compose-only", "rename", unclaimed="fail")
    assert err.value.plan.unclaimed == ["lib_new_name.py"]


# ---------------------------------------------------------------- the sample app's history

SAMPLE_RULES = [{"paths": ["docs/**", "*.md"], "ignore": True}]


def sample_render(project):
    """The recorded rendering of the sample app that matches the tree's compose file."""
    with open(os.path.join(project.project_dir, "compose.yaml")) as handle:
        name = "sample-compose-only" if 'WORKER_INTERVAL: "3"' in handle.read() else "sample-v1"
    return recorded(name, project.project_dir), recorded(name, project.project_dir, raw=True)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return sample_history(tmp_path_factory.mktemp("sample"))


def sample_plan(sample, from_ref, to_ref, **kw):
    request = ChangeRequest(project_dir=str(sample), compose_project="sample", from_ref=from_ref, to_ref=to_ref, **kw)
    return compute_plan(request, FakeCompose(sample_render))


@pytest.mark.parametrize("prev,tag,build,recreate,unclaimed", [
    ("v1", "web-only", ["web"], [], []),
    ("web-only", "api-only", ["api"], [], []),
    ("api-only", "migration-new", ["migrate"], [], []),
    ("migration-new", "compose-only", [], ["worker"], []),
    ("compose-only", "docs-only", [], [], []),
    # .env.example is a template, not the api's env_file (.env): nothing claims it by default
    ("docs-only", "env-template", [], [], [".env.example"]),
    ("v1", "env-template", ["api", "migrate", "web"], ["worker"], [".env.example"]),
])
def test_sample_app_history(sample, prev, tag, build, recreate, unclaimed):
    p = sample_plan(sample, prev, tag, rules=SAMPLE_RULES)
    assert (p.build, p.recreate, p.full, p.unclaimed) == (build, recreate, False, unclaimed), p.summary


def test_sample_app_docs_only_without_rules_reports_unclaimed(sample):
    p = sample_plan(sample, "compose-only", "docs-only")
    assert p.build == [] and p.recreate == [] and p.unclaimed == ["README.md", "docs/operations.md"]


def test_sample_app_rollback_from_a_bad_commit_rebuilds_what_it_changed(sample):
    p = sample_plan(sample, "api-unhealthy", "env-template")
    assert (p.build, p.recreate, p.full) == (["api"], [], False)


def test_sample_app_sibling_branches_are_a_full_deploy(sample):
    p = sample_plan(sample, "origin/bad/api-unhealthy", "origin/bad/migration-bad")
    assert p.full and "not on one line of history" in p.full_reasons[0]
    assert p.services == ["api", "migrate", "web", "worker"]


# ---------------------------------------------------------------- what a side's temporary copy holds

CHAIN = {
    "compose.yaml": "include:\n  - deploy/inc.yaml\nservices:\n  web:\n    build: ./web\n"
                    "    env_file: [env/web.env, \"./env/${STAGE}.env\"]\n",
    "deploy/inc.yaml": "services:\n  api:\n    extends:\n      file: ../base/api.yaml\n      service: api\n",
    "base/api.yaml": "services:\n  api:\n    image: busybox\n    env_file: ./api.env\n",
    "base/api.env": "A=1\n",
    "env/web.env": "W=1\n",
    "env/prod.env": "P=1\n",
    "env/test.env": "T=1\n",
    "web/Dockerfile": "FROM busybox\n",
    "web/app.py": "x",
    "docs/readme.md": "doc",
    "unrelated.yaml": "services: {}\n",
    ".env": "TAG=1\n",
}
# What `docker compose config` reads of CHAIN, relative to the project dir.
CHAIN_INPUTS = ["base/api.env", "base/api.yaml", "deploy/inc.yaml", "env/prod.env", "env/web.env"]


def chain_render(seen):
    """Stands in for `docker compose config` on CHAIN: reads each input, fails on a missing one as Compose does."""
    def read(project):
        for name in ["compose.yaml"] + CHAIN_INPUTS:
            path = os.path.join(project.project_dir, name)
            if not os.path.isfile(path):
                raise ComposeCliError("docker compose config failed (exit 1): env file %s not found" % path)
        seen.append(sorted(os.path.relpath(os.path.join(root, f), project.project_dir)
                           for root, _dirs, files in os.walk(project.project_dir) for f in files))
        seen.append(os.path.isdir(os.path.join(project.project_dir, "web")))
        return rendered({"web": {"build": "web", "env_file": ["env/web.env", "env/prod.env"]},
                         "api": {"image": "busybox", "env_file": ["base/api.env"]}}, project.project_dir)
    return FakeCompose(read)


@pytest.fixture
def chain(tmp_path):
    r = tmp_path / "chain"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    for name, text in CHAIN.items():
        write(r, name, text)
    commit(r, "base", "base")
    write(r, "web/app.py", "y")
    commit(r, "web", "web")
    return r


def test_a_side_copy_holds_the_compose_files_and_what_they_name_only(chain):
    seen = []
    p = plan(chain, "base", "web", render=chain_render(seen), environment={"STAGE": "prod"})
    assert p.build == ["web"] and p.config_changes == {}
    # include -> extends -> env_file followed; the build context is there (Compose looks it up), empty
    assert seen[0] == sorted([".env", "compose.yaml"] + CHAIN_INPUTS) and seen[1] is True
    assert seen[0] == seen[2]  # the from side alike


def test_a_side_copy_expands_an_unknown_variable_within_its_segment(chain):
    seen = []
    plan(chain, "base", "web", render=chain_render(seen))  # STAGE unknown here: every env/*.env
    assert seen[0] == sorted([".env", "compose.yaml", "env/test.env"] + CHAIN_INPUTS)


def test_a_missing_referenced_file_fails_as_compose_reports_it(chain):
    git(chain, "rm", "-q", "base/api.env")
    commit(chain, "gone", "gone")
    with pytest.raises(ComposeError, match=r"env file /\S+/base/api\.env not found"):
        plan(chain, "web", "gone", render=chain_render([]), environment={"STAGE": "prod"})


# ---------------------------------------------------------------- issue 20 part 7: an env-only change


@pytest.fixture
def env_repo(tmp_path):
    r = tmp_path / "envrepo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    write(r, "compose.yaml", json.dumps({
        "web": {"build": "web"},
        "api": {"build": "api", "env_file": [".env"]},
        "db": {"image": "postgres:16", "env_file": ["db.env"]},
    }))
    write(r, "web/index.html", "v1")
    write(r, "api/app.py", "v1")
    write(r, "db.env", "X=1")
    commit(r, "base", "base")
    return r


def test_env_change_on_the_same_commit_recreates_the_services_that_read_the_env_file(env_repo, tmp_path):
    env_file = tmp_path / "shared.env"
    env_file.write_text("SECRET=rotated\n")
    p = plan(env_repo, "base", "base", env_file=str(env_file),
             env_changed="env file changed since 0123456789ab was deployed")
    assert (p.build, p.recreate, p.full) == ([], ["api"], False)
    assert p.env_reason == "env file changed since 0123456789ab was deployed"
    assert "env file changed since 0123456789ab was deployed" in p.summary
    assert "rotated" not in p.summary


def test_same_commit_and_an_unchanged_env_file_is_still_nothing(env_repo, tmp_path):
    env_file = tmp_path / "shared.env"
    env_file.write_text("SECRET=same\n")
    p = plan(env_repo, "base", "base", env_file=str(env_file))
    assert (p.build, p.recreate) == ([], []) and p.summary.startswith("nothing to deploy: ")


def test_services_all_on_the_same_commit_rebuilds_and_leaves_the_database(env_repo):
    p = plan(env_repo, "base", "base", services="all")
    assert p.build == ["api", "web"] and p.recreate == [] and not p.full
