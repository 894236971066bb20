# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument handling and result shape of the changed_services module."""

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import ModuleExit
from ansible_collections.berth.compose.tests.unit.plugins.module_utils.compose_fixtures import FakeCompose
from ansible_collections.berth.compose.plugins.modules import changed_services

# JSON is YAML: FakeCompose renders this file the way `docker compose config` would.
COMPOSE = {
    "web": {"build": "web"},
    "api": {"build": "api", "environment": {"TOKEN": "s3cret-value"}},
    "proxy": {"image": "caddy", "volumes": [{"type": "bind", "source": "Caddyfile", "target": "/etc/caddy/Caddyfile"}]},
}

RETURN_KEYS = {"build", "recreate", "full", "hooks", "unclaimed", "reasons", "full_reasons", "summary",
               "from_commit", "to_commit", "services", "buildable", "removed", "config_changes", "pending",
               "env_reason", "rebuilt_only"}

pytestmark = pytest.mark.usefixtures("module_exit_raises")


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "compose.yaml").write_text(json.dumps(COMPOSE))
    monkeypatch.setattr(changed_services, "render_config", FakeCompose())
    return str(tmp_path)


def run(args, check_mode=False):
    args = dict({"compose_project": "app"}, **args)
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(ModuleExit) as err:
            changed_services.main()
    return err.value


def test_paths_give_plan_with_every_return_key(project):
    res = run({"project_dir": project, "paths": ["web/a.js", "Caddyfile", "notes.txt"],
               "rules": [{"paths": "web/**", "build": "web", "hooks": "warm_cache"}]})
    assert not res.failed and res.result["changed"] is False
    r = res.result
    assert (r["build"], r["recreate"], r["full"], r["hooks"], r["unclaimed"]) == (
        ["web"], ["proxy"], False, ["warm_cache"], ["notes.txt"])
    assert r["reasons"]["web/a.js"] == "rule 1 (web/**): build web; hooks warm_cache"
    assert r["summary"] == "build [web], recreate [proxy]: 3 changed paths, hooks [warm_cache], 1 unclaimed"
    assert set(r) == RETURN_KEYS | {"changed"}
    assert (r["services"], r["buildable"]) == (["api", "proxy", "web"], ["api", "web"])


def test_result_never_carries_rendered_values(project):
    res = run({"project_dir": project, "paths": ["compose.yaml", "api/x"]})
    assert "s3cret-value" not in json.dumps(res.result)


def test_check_mode_returns_the_same_plan(project):
    args = {"project_dir": project, "paths": ["api/x.py"]}
    assert run(args, check_mode=True).result == run(args).result


def test_rule_without_action_fails_clearly(project):
    res = run({"project_dir": project, "paths": [], "rules": [{"paths": "web/**"}]})
    assert res.failed and "no action" in res.result["msg"]


def test_an_unknown_rule_action_is_refused(project):
    res = run({"project_dir": project, "paths": [], "rules": [{"paths": "web/**", "restart": "web"}]})
    assert res.failed and "restart" in res.result["msg"]


def test_malformed_glob_fails_clearly(project):
    res = run({"project_dir": project, "paths": [], "rules": [{"paths": "web/[x", "build": "web"}]})
    assert res.failed and res.result["msg"] == "rule 1: unclosed '[' in glob 'web/[x'"


def test_unknown_service_override_lists_valid_ones(project):
    res = run({"project_dir": project, "paths": [], "services": "web,db"})
    assert res.failed
    assert res.result["msg"] == "services: unknown service(s) db; the compose project defines: api, proxy, web"


def test_services_all_and_list_forms(project):
    assert run({"project_dir": project, "paths": [], "services": "all"}).result["full"] is True
    res = run({"project_dir": project, "paths": [], "services": ["api", "proxy"]}).result
    assert (res["build"], res["recreate"]) == (["api"], ["proxy"])


def test_unclaimed_fail_returns_plan_with_the_failure(project):
    res = run({"project_dir": project, "paths": ["tools/x"], "unclaimed": "fail"})
    assert res.failed and "tools/x" in res.result["msg"] and res.result["unclaimed"] == ["tools/x"]


@pytest.mark.parametrize("other", [{"from_ref": "HEAD~1"}, {"from_dir": "/tmp"}, {"to_dir": "/tmp"}])
def test_paths_exclude_git_and_directories(project, other):
    res = run(dict({"project_dir": project, "paths": []}, **other))
    assert res.failed and "mutually exclusive" in res.result["msg"]


def test_unknown_rule_key_is_rejected(project):
    res = run({"project_dir": project, "paths": [], "rules": [{"paths": "a", "buidl": "web"}]})
    assert res.failed and "buidl" in res.result["msg"]


def test_not_a_git_repository_fails_clearly(project):
    res = run({"project_dir": project, "from_ref": "abc"})
    assert res.failed and "not inside a git work tree" in res.result["msg"]


def test_compose_project_is_required(project):
    with patch_module_args({"project_dir": project, "paths": []}):
        with pytest.raises(ModuleExit) as err:
            changed_services.main()
    assert err.value.failed and "compose_project" in err.value.result["msg"]
