"""Release bookkeeping: image map, atomic `current` switch, worktrees, retention, soak, env audit."""
import os

import pytest

from ansible_collections.berth.compose.tests.unit.plugins.module_utils.git_fixtures import git, new_repo
from ansible_collections.berth.compose.plugins.module_utils import releases as rel

A = "a" * 40
B = "b" * 40


def exists_in(*refs):
    return lambda ref: ref in refs


class TestPlanImages:
    def test_rebuilt_service_gets_this_release_tag_others_keep_their_image(self):
        previous = {"web": "app-web:old", "api": "app-api:older"}
        images, build, missing = rel.plan_images("app", ["api", "web"], ["web"], "new", previous,
                                                 exists_in("app-web:old", "app-api:older"))
        assert images == {"web": "app-web:new", "api": "app-api:older"}
        assert build == ["web"]
        assert missing == []

    def test_service_whose_previous_image_is_gone_is_built_and_reported(self):
        images, build, missing = rel.plan_images("app", ["api", "web"], [], "new", {"api": "app-api:gone"},
                                                 exists_in())
        assert build == ["api", "web"]
        assert missing == ["api", "web"]
        assert images["api"] == "app-api:new"

    def test_rollback_reuses_the_image_built_for_that_commit_when_its_map_is_lost(self):
        images, build = rel.plan_images("app", ["web"], [], "c0ffee", {}, exists_in("app-web:c0ffee"))[:2]
        assert images == {"web": "app-web:c0ffee"}
        assert build == []

    def test_build_request_for_image_only_service_is_ignored(self):
        images, build = rel.plan_images("app", ["web"], ["redis", "web"], "t", {}, exists_in())[:2]
        assert build == ["web"] and "redis" not in images


def test_override_round_trips_and_is_sorted():
    images = {"web": "app-web:1", "api": "app-api:2"}
    text = rel.render_override(images)
    assert text.index('"api"') < text.index('"web"')
    assert rel.parse_override(text) == images


def test_override_without_build_services_is_valid_yaml_mapping():
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load(rel.render_override({})) == {"services": {}}
    assert yaml.safe_load(rel.render_override({"web": "x:1"})) == {"services": {"web": {"image": "x:1"}}}


def test_switch_current_replaces_the_link_atomically_and_returns_the_old_target(tmp_path):
    layout = rel.Layout(str(tmp_path))
    for commit in (A, B):
        os.makedirs(layout.release_dir(commit))
    assert rel.switch_current(layout, A) is None
    assert os.readlink(layout.current) == os.path.join("releases", A)
    assert rel.switch_current(layout, B) == layout.release_dir(A)
    assert layout.current_commit() == B
    assert not os.path.lexists(layout.current + ".berth-new")


def test_switch_current_moves_a_legacy_link_to_the_clone(tmp_path):
    layout = rel.Layout(str(tmp_path))
    os.makedirs(layout.repo)
    os.makedirs(layout.release_dir(A))
    os.symlink(layout.repo, layout.current)
    assert rel.switch_current(layout, A) == layout.repo
    assert layout.current_dir() == layout.release_dir(A)


@pytest.fixture()
def clone(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    origin = new_repo(tmp_path / "origin", {".env.example": "# template\nAPP_MESSAGE=x\nexport APP_COLOR=blue\n"}, "v1")
    root = tmp_path / "app"
    root.mkdir()
    git(tmp_path, "clone", "-q", str(origin), str(root / "repo"))
    return rel.Layout(str(root)), origin


def test_resolve_finds_branch_tag_and_sha_after_fetch_and_names_an_unknown_ref(clone):
    layout, origin = clone
    (origin / "new").write_text("x")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "two")
    head = git(origin, "rev-parse", "HEAD")
    assert rel.resolve(layout, "main") == (head, "branch")
    assert rel.resolve(layout, "v1", fetch=False)[1] == "tag"
    assert rel.resolve(layout, head[:10], fetch=False) == (head, "commit")
    with pytest.raises(rel.ReleaseError, match="'nope'"):
        rel.resolve(layout, "nope", fetch=False)


def test_resolve_follows_a_tag_re_pointed_on_the_remote_and_says_it_moved(clone):
    layout, origin = clone
    first = rel.resolve(layout, "v1")[0]
    (origin / "new").write_text("x")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "two")
    git(origin, "tag", "-f", "v1")
    head = git(origin, "rev-parse", "HEAD")
    before = rel.tag_commit(layout, "v1")
    assert before == first != head
    assert rel.resolve(layout, "v1") == (head, "tag")
    assert rel.tag_moved("v1", before, rel.tag_commit(layout, "v1")) == "v1 moved: %s -> %s" % (first[:12], head[:12])
    assert rel.tag_moved("v1", head, head) is None and rel.tag_moved("v1", None, head) is None


def test_resolve_refuses_a_rewritten_branch(clone):
    layout, origin = clone
    rel.resolve(layout, "main")
    git(origin, "commit", "-q", "--amend", "-m", "rewritten")
    with pytest.raises(rel.ReleaseError, match="not a fast-forward"):
        rel.resolve(layout, "main")


def test_worktree_is_made_once_and_remade_when_left_broken(clone):
    layout, origin = clone
    commit = git(origin, "rev-parse", "HEAD")
    assert rel.ensure_worktree(layout, commit) is True
    assert os.path.isfile(os.path.join(layout.release_dir(commit), ".env.example"))
    assert rel.ensure_worktree(layout, commit) is False
    os.remove(os.path.join(layout.release_dir(commit), ".git"))
    assert rel.ensure_worktree(layout, commit) is True
    rel.remove_worktree(layout, commit)
    assert not os.path.exists(layout.release_dir(commit))


def test_env_audit_names_missing_keys_minus_optional_never_values(clone):
    layout, origin = clone
    commit = git(origin, "rev-parse", "HEAD")
    template = rel.git_show(layout, commit, ".env.example")
    assert rel.missing_env_keys(template, "APP_MESSAGE=secret\n", []) == ["APP_COLOR"]
    assert rel.missing_env_keys(template, "APP_MESSAGE=secret\n", ["APP_COLOR"]) == []
    assert rel.git_show(layout, commit, "missing.example") is None


def test_env_link_points_at_the_shared_file(tmp_path):
    assert rel.ensure_env_link(str(tmp_path), "/opt/app/shared/.env") is True
    assert rel.ensure_env_link(str(tmp_path), "/opt/app/shared/.env") is False
    assert os.readlink(str(tmp_path / ".env")) == "/opt/app/shared/.env"


def test_write_if_changed_reports_only_real_changes(tmp_path):
    path = str(tmp_path / ".berth" / "images.yml")
    assert rel.write_if_changed(path, "a") is True
    assert rel.write_if_changed(path, "a") is False
    assert rel.write_if_changed(path, "b") is True


def test_prune_keeps_the_newest_and_the_protected_releases():
    releases = [("r%d" % i, i) for i in range(8)]
    assert rel.prune_plan(releases, 3, ["r0"]) == ["r4", "r3", "r2", "r1"]
    assert rel.prune_plan(releases, 0, []) == ["r6", "r5", "r4", "r3", "r2", "r1", "r0"]


def test_prunable_images_spare_kept_releases_and_images_in_use():
    removed = [{"web": "app-web:1", "api": "app-api:1"}, {"worker": "app-worker:0"}]
    kept = [{"web": "app-web:2", "api": "app-api:1"}]
    assert rel.prunable_images(removed, kept, {"app-worker:0"}) == ["app-web:1"]


def state(cid="c1", restarts=0, status="running", health="healthy"):
    return {"id": cid, "restart_count": restarts, "status": status, "health": health}


@pytest.mark.parametrize("after, expected", [
    ({"api-1": state()}, []),
    ({"api-1": state(restarts=1)}, ["restarted 1 time"]),
    ({"api-1": state(status="exited")}, ["exited during the soak"]),
    ({"api-1": state(health="unhealthy")}, ["unhealthy"]),
    ({"api-1": state(cid="c2")}, ["replaced"]),
    ({}, ["replaced or removed"]),
])
def test_soak_problems_catch_every_way_a_container_goes_bad(after, expected):
    problems = rel.soak_problems({"api-1": state()}, after)
    assert len(problems) == len(expected)
    for problem, text in zip(problems, expected):
        assert text in problem and problem.startswith("api-1")


def test_image_ref_and_short_sha():
    assert rel.image_ref("shop", "web", rel.short_sha(A)) == "shop-web:" + "a" * 12


def test_pin_is_written_then_lifted(tmp_path):
    layout = rel.Layout(str(tmp_path))
    assert rel.set_pin(layout, A) is True
    assert open(layout.pin).read() == A + "\n"
    assert rel.set_pin(layout, A) is False
    assert rel.set_pin(layout, "") is True
    assert rel.set_pin(layout, "") is False


def test_deploy_key_is_owner_only_and_ssh_checks_the_pinned_host_key(tmp_path):
    layout = rel.Layout(str(tmp_path))
    env, changed = rel.ssh_environment(layout, "KEY", "git.example ssh-ed25519 AAAA")
    assert changed is True
    key = os.path.join(layout.state, "repo_key")
    assert oct(os.stat(key).st_mode & 0o777) == "0o600" and open(key).read() == "KEY\n"
    assert "StrictHostKeyChecking=yes" in env["GIT_SSH_COMMAND"] and key in env["GIT_SSH_COMMAND"]
    assert rel.ssh_environment(layout, "KEY", "git.example ssh-ed25519 AAAA")[1] is False
    assert rel.ssh_environment(layout, "", "") == (None, False)


def refs_of(layout):
    return git(layout.repo, "for-each-ref", "--format=%(objectname) %(refname)")


def test_check_mode_preflight_reads_the_remote_and_changes_nothing(clone):
    from ansible_collections.berth.compose.plugins.module_utils.release_dir import ReleaseDir
    layout, origin = clone
    (origin / "new").write_text("x")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "two")
    head = git(origin, "rev-parse", "HEAD")
    before = refs_of(layout)
    state = os.listdir(layout.root)
    params = dict(root=layout.root, ref="main", project="shop", env_template=None, env_file=None,
                  repo_ssh_key="-----BEGIN KEY-----\nnot a real key\n", repo_known_hosts="host ssh-ed25519 AAAA\n")
    result = {}
    ReleaseDir(params, check_mode=True).preflight(result)
    assert result["commit"] == head and result["unfetched"] is True and result["changed"] is True
    assert any("has not fetched" in note for note in result["notes"])
    # Nothing fetched, no key written under the app root.
    assert refs_of(layout) == before and os.listdir(layout.root) == state
    # Once fetched, check mode resolves to the same commit and plans it.
    rel.resolve(layout, "main")
    result = {}
    ReleaseDir(params, check_mode=True).preflight(result)
    assert result["commit"] == head and not result.get("unfetched") and result["changed"] is False
