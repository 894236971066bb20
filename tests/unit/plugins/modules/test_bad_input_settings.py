# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input for app_settings (the app-wide berth_* settings) and apt_packages.

Each refused value fails with a message naming the setting or option and what is allowed; the
host is not looked at (app_settings) and dpkg/apt never run (apt_packages).
"""
import pytest

from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import run_module
from ansible_collections.berth.compose.plugins.modules import app_settings, apt_packages

pytestmark = pytest.mark.usefixtures("module_exit_raises")

GOOD = dict(app_name="shop", app_root="/nonexistent-berth/shop", compose_project="shop",
            compose_files=["compose.yaml"], env_file="/nonexistent-berth/shop/shared/.env",
            deploy_user="deploy", deploy_group="deploy")

SETTINGS = [
    ("app_name with slash", {"app_name": "shop/x"}, "berth_app_name"),
    ("app_name with ..", {"app_name": ".."}, "berth_app_name"),
    ("app_name with spaces", {"app_name": "my shop"}, "berth_app_name"),
    ("app_name with shell metacharacters", {"app_name": "shop;reboot"}, "berth_app_name"),
    ("app_name option-like", {"app_name": "--help"}, "berth_app_name"),
    ("app_root relative", {"app_root": "opt/shop"}, "berth_app_root"),
    ("app_root with ..", {"app_root": "/opt/shop/../../etc"}, "berth_app_root"),
    ("app_root a system directory", {"app_root": "/etc"}, "berth_app_root"),
    ("app_root with spaces", {"app_root": "/opt/my shop"}, "berth_app_root"),
    ("compose_project uppercase", {"compose_project": "Shop"}, "berth_compose_project"),
    ("compose_project with slash", {"compose_project": "a/b"}, "berth_compose_project"),
    ("compose_files empty", {"compose_files": []}, "berth_compose_files"),
    ("compose_files escaping the root", {"compose_files": ["../../etc/passwd"]}, "berth_compose_files"),
    ("compose_files absolute elsewhere", {"compose_files": ["/etc/compose.yaml"]}, "berth_compose_files"),
    ("env_file outside the root", {"env_file": "/etc/shop.env"}, "berth_env_file"),
    ("env_file relative", {"env_file": "shared/.env"}, "berth_env_file"),
    ("deploy_user with spaces", {"deploy_user": "de ploy"}, "berth_deploy_user"),
    ("deploy_user option-like", {"deploy_user": "-r"}, "berth_deploy_user"),
    ("deploy_group with shell metacharacters", {"deploy_group": "g$(id)"}, "berth_deploy_group"),
]


@pytest.mark.parametrize("override,setting", [c[1:] for c in SETTINGS], ids=[c[0] for c in SETTINGS])
def test_bad_app_settings_are_refused_naming_the_setting(override, setting):
    result, _warned = run_module(app_settings, **dict(GOOD, **override))
    assert result["failed"], result
    assert result["app_root_state"] == "unchecked" or setting != "berth_app_root"
    problem = [p for p in result["problems"] if p.startswith(setting + "=") or p.startswith(setting + " ")]
    assert problem, result["problems"]
    assert "allowed" in problem[0] or "use " in problem[0] or "list at least one" in problem[0], problem[0]


@pytest.mark.parametrize("override,needle", [
    ({"compose_files": "compose.yaml,other.yaml"}, None),
    ({"compose_files": {"a": 1}}, "compose_files"),
    ({"app_name": None}, "app_name"),
], ids=["compose_files comma string (accepted as a list)", "compose_files wrong type", "app_name missing"])
def test_wrong_types(override, needle):
    result, _warned = run_module(app_settings, **dict(GOOD, **override))
    if needle is None:
        assert not result["failed"], result
    else:
        assert result["failed"] and needle in result["msg"], result


@pytest.mark.parametrize("names", [
    ["--admindir=/tmp/x"], ["-f"], ["nginx;reboot"], ["Docker.io"], ["my package"], ["a"], ["../x"],
], ids=["option-like", "short option", "shell metacharacters", "uppercase", "space", "one character", "path"])
def test_bad_package_names_are_refused_before_dpkg_runs(names, monkeypatch):
    def no_command(*args, **kwargs):
        raise AssertionError("dpkg or apt ran for %r" % (names,))
    monkeypatch.setattr(apt_packages.AnsibleModule, "run_command", no_command)
    result, _warned = run_module(apt_packages, names=names)
    assert result["failed"]
    assert "names" in result["msg"] and "Debian package names" in result["msg"] and repr(names[0]) in result["msg"]


def test_apt_packages_wrong_types():
    result, _warned = run_module(apt_packages, names={"a": 1})
    assert result["failed"] and "names" in result["msg"]
    result, _warned = run_module(apt_packages, names=["curl"], refresh="maybe")
    assert result["failed"] and "refresh" in result["msg"]


@pytest.mark.parametrize("override, setting, words", [
    ({"hooks": {"report": {"service": "api", "command": ["x"], "when": "bfore"}}}, "berth_hooks",
     ["'bfore'", "before", "after"]),
    ({"restart_guards": {"worker": {"command": "test ! -e /tmp/busy"}}}, "berth_restart_guards",
     ["list of strings"]),
], ids=["hook when typo", "guard command a string"])
def test_bad_hooks_and_guards_are_refused_by_the_settings_check(override, setting, words):
    result, _warned = run_module(app_settings, **dict(GOOD, **override))
    assert result["failed"], result
    assert result["app_root_state"] == "unchecked"
    problem = [p for p in result["problems"] if p.startswith(setting)]
    assert problem, result["problems"]
    for word in words:
        assert word in problem[0], problem[0]


def test_good_hooks_and_guards_pass_the_settings_check():
    result, _warned = run_module(app_settings, **dict(
        GOOD, hooks={"report": [{"service": "api", "command": ["sh", "-c", "true"], "when": "before"}]},
        restart_guards={"worker": {"command": ["true"], "wait": 3, "on_busy": "fail"}}))
    assert not result["failed"], result
