# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rendered project: claims and comparisons on recorded `docker compose config` output."""

import json

import pytest

from ansible_collections.berth.compose.plugins.module_utils.change_plan import PlanInput, plan_changes
from ansible_collections.berth.compose.plugins.module_utils.change_rules import parse_rules
from ansible_collections.berth.compose.plugins.module_utils.compose_model import (
    ComposeError,
    RenderedProject,
    compare,
    named_paths,
    referenced_compose_files,
)
from ansible_collections.berth.compose.tests.unit.plugins.module_utils.compose_fixtures import (
    RECORDED,
    recorded,
    recorded_project,
    rendered_project,
)

# The recorded project: compose.yaml includes extra/compose.extra.yaml (service api) and its web
# extends `base` from common.yaml, which brings env_file common.env; debug is in a profile.
INPUTS = ["compose.yaml", "extra/compose.extra.yaml", "common.yaml", ".env"]


def plan_for(project, paths, rules=(), services=None, config_changes=None):
    claims, index = project.claims(INPUTS)
    return plan_changes(PlanInput(
        paths=paths, services=project.services, buildable=project.buildable,
        rules=parse_rules(list(rules), project.services, project.buildable),
        claims=claims, claim_index=index, config_changes=config_changes, override=services))


@pytest.fixture
def included():
    return recorded_project("include-extends")


def test_included_and_profiled_services_are_what_compose_renders(included):
    assert included.services == ["api", "web"]  # debug's profile is not active
    assert included.buildable == ["api", "web"]


def test_services_override_names_an_included_service(included):
    plan = plan_for(included, [], services="api")
    assert plan.build == ["api"] and "operator override" in plan.summary


@pytest.mark.parametrize("path,build,recreate,reason", [
    ("api/main.py", ["api"], [], "default: build context of api: build api"),
    ("web/Dockerfile.prod", ["web"], [], "default: build context of web: build web; default: dockerfile of web: "
                                         "build web"),
    ("shared/lib.txt", ["web"], [], "default: additional build context of web: build web"),
    ("common.env", [], ["web"], "default: env_file of web: recreate web"),
    ("extra/api.env", [], ["api"], "default: env_file of api: recreate api"),
    ("web/static/index.html", ["web"], [], None),
    ("conf/app.ini", [], ["web"], "default: config appconf of web: recreate web"),
    ("conf/token.txt", [], ["web"], "default: secret token of web: recreate web"),
    ("debug/main.go", [], [], "unclaimed (policy: ignore)"),
])
def test_claims_come_from_the_rendered_project(included, path, build, recreate, reason):
    plan = plan_for(included, [path])
    assert (plan.build, plan.recreate) == (build, recreate)
    if reason:
        assert plan.reasons[path] == reason


def test_bind_mount_inside_a_build_context_builds_and_recreates(included):
    plan = plan_for(included, ["web/static/index.html"])
    assert plan.reasons["web/static/index.html"] == ("default: build context of web: build web; "
                                                     "default: bind mount of web: recreate web")


def test_inputs_of_the_rendering_point_at_the_comparison(included):
    plan = plan_for(included, ["extra/compose.extra.yaml", "common.yaml"], config_changes={"api": "recreate"})
    assert plan.recreate == ["api"] and plan.unclaimed == []
    assert plan.reasons["common.yaml"] == ("default: common.yaml (input of the rendered config), "
                                           "rendered config changed: recreate api")


def test_inputs_of_the_rendering_without_a_previous_side_mean_full(included):
    plan = plan_for(included, ["compose.yaml"])
    assert plan.full and plan.build == ["api", "web"]
    assert plan.full_reasons == ["compose.yaml: default: compose.yaml (input of the rendered config) changed and "
                                 "its previous version is unknown: full deploy"]


def test_env_file_value_change_recreates_the_service_that_inherits_it():
    assert compare(recorded_project("include-extends"), recorded_project("include-extends-env-changed")) == {
        "web": "recreate"}


def test_interpolated_image_tag_and_build_arg_change_rebuild():
    assert compare(recorded_project("include-extends"), recorded_project("include-extends-new-tag")) == {
        "web": "build"}


def test_sample_app_compose_change_recreates_only_worker():
    assert compare(recorded_project("sample-v1"), recorded_project("sample-compose-only")) == {"worker": "recreate"}


def test_rendering_directory_does_not_count_as_a_change():
    old = recorded_project("sample-v1", "/opt/app/releases/aaaa")
    new = recorded_project("sample-v1", "/tmp/berth-tree-x/tree")
    assert compare(old, new) == {}


def test_added_and_removed_services():
    old = rendered_project({"web": {"build": "web"}, "gone": {"image": "busybox"}})
    new = rendered_project({"web": {"build": "web"}, "new": {"build": "new"}, "cache": {"image": "redis"}})
    assert compare(old, new) == {"cache": "recreate", "gone": "removed", "new": "build"}


def test_changed_network_definition_recreates_its_users():
    services = {"web": {"image": "x", "networks": {"back": None}}, "api": {"image": "y", "networks": {"default": None}}}
    old = rendered_project(services, networks={"back": {"name": "app_back"}, "default": {"name": "app_default"}})
    new = rendered_project(services, networks={"back": {"name": "app_back", "internal": True},
                                               "default": {"name": "app_default"}})
    assert compare(old, new) == {"web": "recreate"}


def test_fingerprints_are_hashes_not_values():
    project = recorded_project("include-extends")
    text = json.dumps(project.fingerprints())
    assert "not-a-real-secret" not in text and "app-web" not in text


def test_paths_outside_the_project_are_not_claimed():
    project = rendered_project({"web": {"image": "x", "volumes": [{"type": "bind", "source": "/var/log",
                                                                   "target": "/logs"}]}})
    claims, _index = project.claims()
    assert claims == []


def test_a_rendering_without_services_is_an_error():
    with pytest.raises(ComposeError, match="no services mapping"):
        RenderedProject({"services": ["web"]}, "/srv/app")


def test_included_and_extended_files_are_found_by_reference(tmp_path):
    (tmp_path / "extra").mkdir()
    (tmp_path / "compose.yaml").write_text("include:\n  - extra/inc.yaml\n")
    (tmp_path / "extra" / "inc.yaml").write_text("services:\n  a:\n    extends: {file: ../base.yml, service: b}\n")
    (tmp_path / "base.yml").write_text("services: {b: {image: x}}\n")
    candidates = ["extra/inc.yaml", "base.yml", "other.yaml", "notes.txt"]
    assert referenced_compose_files(str(tmp_path), ["compose.yaml"], candidates) == ["base.yml", "extra/inc.yaml"]


def test_referenced_files_among_many_candidates_match_by_text_as_before(tmp_path):
    (tmp_path / "compose.yaml").write_text("include:\n  - another.yml\n  - 'sub/x.yaml'\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.yaml").write_text("extends: {file: ../deep/er/base.yml}\n")
    candidates = ["gen/f%05d.yml" % n for n in range(20000)] + [
        "another.yml", "sub/x.yaml", "deep/er/base.yml", "base.yml", "sub/another.yml",
        "other.yml", "x.yaml"]  # inside "another.yml" and "sub/x.yaml": false matches, as the text test always gave
    assert referenced_compose_files(str(tmp_path), ["compose.yaml"], candidates) == [
        "another.yml", "deep/er/base.yml", "other.yml", "sub/x.yaml", "x.yaml"]


def test_named_paths_are_the_words_of_a_file_relative_to_it_and_to_the_project():
    text = ('include: [../other.yml]\nservices:\n  a:\n    env_file: ["./env/${STAGE:-dev}.env", "${X}/y.env"]\n'
            '    volumes: ["./data:/data", "/abs:/abs"]\n')
    named = named_paths("inc/c.yaml", text, {"STAGE": "prod"})
    assert {"other.yml", "inc/env/prod.env", "env/prod.env", "inc/data", "data", "inc/.env", "inc/*/y.env"} <= set(named)
    assert not [p for p in named if p.startswith("/") or "abs" in p or "dev.env" in p]


def test_recordings_come_from_the_compose_version_on_the_hosts():
    with open(RECORDED + "/compose-version.txt") as handle:
        assert handle.read().startswith("Docker Compose version 2.26")
    assert "env_file" not in recorded("sample-v1")["services"]["api"]  # folded into environment
    assert recorded("sample-v1", raw=True)["services"]["api"]["env_file"][0]["path"] == "/srv/app/.env"
