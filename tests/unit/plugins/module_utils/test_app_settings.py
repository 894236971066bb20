# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import os

import pytest

from ansible_collections.berth.compose.plugins.module_utils.app_settings import (
    MARKER, Settings, check_app_root, check_settings, is_system_dir)


def settings(**overrides):
    values = dict(app_name="shop", app_root="/opt/shop", compose_project="shop", deploy_user="deploy",
                  deploy_group="deploy", env_file="/opt/shop/shared/.env", compose_files=["compose.yaml"])
    values.update(overrides)
    return Settings(**values)


def only_problem(**overrides):
    problems = check_settings(settings(**overrides))
    assert len(problems) == 1, problems
    return problems[0]


def test_the_defaults_shape_passes():
    assert check_settings(settings()) == []


@pytest.mark.parametrize("name", ["app", "shop-2", "My_App", "a", "x" * 64])
def test_simple_app_names_pass(name):
    assert check_settings(settings(app_name=name, app_root="/opt/app", env_file="/opt/app/.env")) == []


@pytest.mark.parametrize("name", ["../etc", "my app", "", "-app", "_app", "app.name", "a/b", "x" * 65, "ünï", None])
def test_app_name_must_be_a_simple_name(name):
    problem = only_problem(app_name=name)
    assert problem.startswith("berth_app_name=%r is not allowed" % (name,))
    assert "letters, digits, '-' or '_'" in problem


@pytest.mark.parametrize("project", ["Shop", "my shop", "shop.x", "-shop", ""])
def test_compose_project_follows_composes_rule(project):
    problem = only_problem(compose_project=project)
    assert problem.startswith("berth_compose_project=") and "lowercase letters" in problem


@pytest.mark.parametrize("variable", ["deploy_user", "deploy_group"])
@pytest.mark.parametrize("name", ["Deploy", "1deploy", "de ploy", "root:x", "d" * 33])
def test_deploy_user_and_group_are_posix_names(variable, name):
    problem = only_problem(**{variable: name})
    assert problem.startswith("berth_%s=" % variable) and "32 lowercase letters" in problem


@pytest.mark.parametrize("root, why", [
    ("/", "system directory"),
    ("/etc", "system directory"),
    ("/etc/shop", "system directory"),
    ("/usr/local", "system directory"),
    ("/var/lib", "system directory"),
    ("/var/lib/docker/volumes", "system directory"),
    ("/lib64/x", "system directory"),
    ("/opt", "system directory"),
    ("/home", "system directory"),
    ("/tmp", "system directory"),
    ("opt/shop", "absolute"),
    ("/opt/shop/", "normalized"),
    ("/opt//shop", "normalized"),
    ("/opt/../etc", "'..'"),
    ("/opt/./shop", "'..'"),
    ("/opt/my shop", "letters, digits"),
    ("", "non-empty"),
])
def test_app_root_must_be_a_plain_directory_of_its_own(root, why):
    problem = only_problem(app_root=root)
    assert problem.startswith("berth_app_root=%r is not allowed" % root) and why in problem


@pytest.mark.parametrize("root", ["/opt/shop", "/srv/shop", "/var/opt/shop", "/home/deploy/shop", "/data/apps/shop"])
def test_app_roots_of_their_own_pass(root):
    assert check_settings(settings(app_root=root, env_file=root + "/shared/.env")) == []


@pytest.mark.parametrize("path", ["/opt", "/var/lib/docker", "/lib", "/libx32", "/proc/1"])
def test_system_dirs(path):
    assert is_system_dir(path)


@pytest.mark.parametrize("path", ["/library", "/opt/app", "/var/lib/app", "/srv/a"])
def test_not_system_dirs(path):
    assert not is_system_dir(path)


@pytest.mark.parametrize("env_file", ["/etc/shop.env", "/opt/shop", "/opt/shopping/.env", "shared/.env"])
def test_env_file_must_be_inside_the_app_root(env_file):
    problem = only_problem(env_file=env_file)
    assert problem.startswith("berth_env_file=%r is not allowed" % env_file)


def test_env_file_with_dotdot_is_refused_even_when_it_starts_in_the_root():
    assert "'..'" in only_problem(env_file="/opt/shop/../etc/passwd")


@pytest.mark.parametrize("compose_file", ["compose.yaml", "deploy/compose.prod.yml", "/opt/shop/shared/compose.override.yml"])
def test_compose_files_relative_or_inside_the_root_pass(compose_file):
    assert check_settings(settings(compose_files=[compose_file])) == []


@pytest.mark.parametrize("compose_file, why", [
    ("../compose.yaml", "'..'"),
    ("deploy/../../x.yml", "'..'"),
    ("/etc/compose.yaml", "inside berth_app_root"),
    ("./compose.yaml", "'..'"),
    ("", "non-empty"),
])
def test_compose_files_leaving_the_release_are_refused(compose_file, why):
    problem = only_problem(compose_files=["compose.yaml", compose_file])
    assert problem.startswith("berth_compose_files") and repr(compose_file) in problem and why in problem


def test_no_compose_file_is_refused():
    assert only_problem(compose_files=[]).startswith("berth_compose_files is empty")


def test_every_problem_is_reported_at_once():
    problems = check_settings(settings(app_name="my app", compose_project="My", deploy_user="X"))
    assert [p.split("=")[0] for p in problems] == ["berth_app_name", "berth_compose_project", "berth_deploy_user"]


def test_a_refused_root_skips_the_checks_of_paths_inside_it():
    assert len(check_settings(settings(app_root="/", env_file="/etc/x"))) == 1


def test_root_absent_or_empty_passes(tmp_path):
    assert check_app_root(str(tmp_path / "new"), "shop").state == "absent"
    assert check_app_root(str(tmp_path / "new" / "deeper"), "shop").state == "absent"
    assert check_app_root(str(tmp_path), "shop").state == "empty"


def mark(root, name):
    os.makedirs(os.path.join(root, ".berth"))
    with open(os.path.join(root, MARKER), "w", encoding="utf-8") as handle:
        handle.write(name + "\n")


def test_root_marked_for_this_app_passes(tmp_path):
    mark(str(tmp_path), "shop")
    (tmp_path / "anything").mkdir()
    assert check_app_root(str(tmp_path), "shop").state == "marked"


def test_root_marked_for_another_app_is_refused(tmp_path):
    mark(str(tmp_path), "blog")
    result = check_app_root(str(tmp_path), "shop")
    assert result.state == "refused"
    assert "belongs to the app 'blog'" in result.problem and result.problem.startswith("berth_app_root=")


def test_root_with_a_legacy_berth_layout_passes(tmp_path):
    for name in ("repo", "shared", "backups"):
        (tmp_path / name).mkdir()
    os.symlink(str(tmp_path / "repo"), str(tmp_path / "current"))
    assert check_app_root(str(tmp_path), "shop").state == "legacy"


def test_root_holding_other_things_is_refused_naming_them(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "passwd").write_text("root:x:0:0\n")
    result = check_app_root(str(tmp_path), "shop")
    assert result.state == "refused"
    assert "holds passwd" in result.problem and MARKER in result.problem


def test_root_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    assert "not a directory" in check_app_root(str(tmp_path / "f"), "shop").problem


def test_root_that_links_to_a_system_directory_is_refused(tmp_path):
    os.symlink("/etc", str(tmp_path / "shop"))
    result = check_app_root(str(tmp_path / "shop"), "shop")
    assert result.state == "refused" and "resolves to /etc" in result.problem


def test_root_below_a_link_to_a_system_directory_is_refused(tmp_path):
    os.symlink("/usr", str(tmp_path / "apps"))
    result = check_app_root(str(tmp_path / "apps" / "shop"), "shop")
    assert result.state == "refused" and "resolves to /usr/shop" in result.problem
