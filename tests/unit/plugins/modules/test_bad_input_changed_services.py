# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input for changed_services: every option refused with a message naming it and what is allowed."""

import json

import pytest

from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import run_module
from ansible_collections.berth.compose.tests.unit.plugins.module_utils.compose_fixtures import FakeCompose
from ansible_collections.berth.compose.tests.unit.plugins.module_utils.git_fixtures import new_repo
from ansible_collections.berth.compose.plugins.modules import changed_services

pytestmark = pytest.mark.usefixtures("module_exit_raises")

COMPOSE = {"web": {"build": "web"}, "db": {"image": "postgres"}}


@pytest.fixture(scope="module")
def repo_dir(tmp_path_factory):
    return str(new_repo(tmp_path_factory.mktemp("bad") / "repo", {"compose.yaml": json.dumps(COMPOSE), "web/app.js": "1"}, "v1"))


@pytest.fixture
def repo(repo_dir, monkeypatch):
    monkeypatch.setattr(changed_services, "render_config", FakeCompose())
    return repo_dir


def refused(params, *needles):
    """Run the module; it must fail and its message must hold every needle (case-insensitive)."""
    result, _warned = run_module(changed_services, **params)
    assert result["failed"], result
    msg = result["msg"].lower()
    for needle in needles:
        assert needle.lower() in msg, (needle, result["msg"])
    return result["msg"]


def base(repo, **extra):
    params = dict({"project_dir": repo, "compose_project": "app", "from_ref": "v1", "to_ref": "v1"}, **extra)
    return {key: value for key, value in params.items() if value is not None}


CASES = [
    # (id, params over base, needles the message must hold)
    ("project_dir missing", {"project_dir": "/nonexistent/x"}, ["project_dir", "does not exist"]),
    ("compose_project with slash", {"compose_project": "app/../x"}, ["compose_project", "lowercase"]),
    ("compose_project with spaces", {"compose_project": "my app"}, ["compose_project", "lowercase"]),
    ("compose_project shell", {"compose_project": "app;rm -rf /"}, ["compose_project", "lowercase"]),
    ("compose_files wrong type", {"compose_files": {"a": 1}}, ["compose_files", "list"]),
    ("compose_files missing file", {"compose_files": ["nope.yaml"]}, ["nope.yaml", "not found"]),
    ("env_file relative", {"env_file": "shared/.env"}, ["env_file", "absolute"]),
    ("environment not a dict", {"environment": ["A=1"]}, ["environment", "dict"]),
    ("from_ref option-like", {"from_ref": "--upload-pack=touch /tmp/pwned"}, ["from_ref", "-"]),
    ("to_ref option-like", {"to_ref": "--output=/tmp/pwned"}, ["to_ref", "-"]),
    ("to_ref unknown", {"to_ref": "no-such-tag"}, ["to_ref", "does not name a commit"]),
    ("to_ref with space", {"to_ref": "v1 v2"}, ["to_ref", "whitespace"]),
    ("from_dir missing", {"from_ref": None, "to_ref": "v1", "from_dir": "/nonexistent/from"}, ["from_dir"]),
    ("to_dir missing", {"to_dir": "/nonexistent/to"}, ["to_dir", "does not exist"]),
    ("paths with from_ref", {"paths": ["web/app.js"]}, ["paths", "from_ref"]),
    ("paths wrong type", {"from_ref": None, "to_ref": None, "paths": {"a": 1}}, ["paths", "list"]),
    ("services unknown", {"services": ["web", "nope"]}, ["services", "nope", "db, web"]),
    ("services shell metacharacters", {"services": "web;rm -rf /"}, ["services", "web;rm -rf /", "db, web"]),
    ("services wrong type", {"services": 5}, ["services", "list"]),
    ("services all plus names", {"services": ["all", "web"]}, ["services", "all"]),
    ("rules not a list", {"rules": 5}, ["rules", "list"]),
    ("rule not a mapping", {"rules": [5]}, ["rules"]),
    ("rule with no action", {"rules": [{"paths": "web/**"}]}, ["rule 1", "no action", "build", "ignore"]),
    ("rule without paths", {"rules": [{"build": "web"}]}, ["paths", "required", "rules"]),
    ("rule malformed glob", {"rules": [{"paths": "web/[abc", "build": "web"}]}, ["rule 1", "unclosed '['"]),
    ("rule glued **", {"rules": [{"paths": "web**", "build": "web"}]}, ["rule 1", "**"]),
    ("rule negated glob", {"rules": [{"paths": "!web/**", "build": "web"}]}, ["rule 1", "exclude"]),
    ("rule unknown service", {"rules": [{"paths": "x/**", "recreate": "nope"}]}, ["rule 1", "nope", "db, web"]),
    ("rule unknown key", {"rules": [{"paths": "x/**", "rebuild": "web"}]}, ["rules.rebuild", "supported parameters include"]),
    ("rule restart key", {"rules": [{"paths": "x/**", "restart": "web"}]}, ["rules.restart", "supported parameters include"]),
    ("rule full not bool", {"rules": [{"paths": "x/**", "full": "maybe"}]}, ["'full'", "'rules'", "valid booleans"]),
    ("rule ignore plus action", {"rules": [{"paths": "x/**", "ignore": True, "build": "web"}]}, ["rule 1", "ignore"]),
    ("rule hooks wrong type", {"rules": [{"paths": "x/**", "hooks": [1]}]}, ["rule 1", "hooks", "string"]),
    ("unclaimed choice", {"unclaimed": "sometimes"}, ["unclaimed", "ignore, build, full, fail"]),
    ("use_compose_defaults not bool", {"use_compose_defaults": "maybe"}, ["use_compose_defaults", "bool"]),
]


@pytest.mark.parametrize("override,needles", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_naming_the_option(repo, override, needles):
    refused(base(repo, **override), *needles)


def test_a_refused_ref_never_reaches_git(repo, tmp_path):
    marker = tmp_path / "pwned"
    refused(base(repo, from_ref="--upload-pack=touch %s" % marker), "from_ref")
    assert not marker.exists()
