# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each role's meta/argument_specs.yml is the reference of its variables: defaults/main.yml must agree.

Names (both ways), types against the default values, and the defaults themselves: a default that
refers to another variable is written in the spec as the same Jinja string as in defaults/main.yml.
"""
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES_DIR = os.path.join(ROOT, "roles")
ROLES = sorted(name for name in os.listdir(ROLES_DIR) if os.path.isdir(os.path.join(ROLES_DIR, name)))
KEY_ORDER = ["description", "type", "elements", "required", "default", "choices", "no_log", "options",
             "mutually_exclusive", "required_one_of", "required_together", "required_if"]
PYTHON_TYPES = {"str": str, "path": str, "int": int, "bool": bool, "list": list, "dict": dict, "float": (int, float), "raw": object}
APP_WIDE = re.compile(r"berth_[a-z0-9_]+\Z")


def load(*parts):
    with open(os.path.join(ROLES_DIR, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def options_of(role):
    return load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


def defaults_of(role):
    return load(role, "defaults", "main.yml")


def walk(options, prefix=""):
    """Every option entry, suboptions included, as (dotted name, entry)."""
    for name, entry in options.items():
        yield prefix + name, entry
        if "options" in entry:
            yield from walk(entry["options"], prefix + name + ".")


def test_every_role_is_checked():
    assert {"app", "caddy", "docker", "layout", "secrets", "systemd"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_spec_name_the_same_variables(role):
    assert sorted(defaults_of(role)) == sorted(options_of(role))


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_equal_the_role_defaults(role):
    defaults = defaults_of(role)
    for name, entry in options_of(role).items():
        assert "default" in entry, "%s: %s has no default in the spec" % (role, name)
        assert entry["default"] == defaults[name], "%s: %s" % (role, name)


@pytest.mark.parametrize("role", ROLES)
def test_default_values_have_the_spec_type(role):
    defaults = defaults_of(role)
    for name, entry in options_of(role).items():
        value = defaults[name]
        assert isinstance(value, PYTHON_TYPES[entry["type"]]), "%s: %s=%r is not a %s" % (role, name, value, entry["type"])
        # bool is an int subclass: an int option must not default to true/false.
        assert not (entry["type"] == "int" and isinstance(value, bool)), "%s: %s" % (role, name)
        if entry["type"] == "list" and "elements" in entry:
            element_type = PYTHON_TYPES[entry["elements"]]
            assert all(isinstance(item, element_type) for item in value), "%s: %s" % (role, name)
        if "choices" in entry:
            assert value in entry["choices"], "%s: %s" % (role, name)


@pytest.mark.parametrize("role", ROLES)
def test_spec_entries_describe_and_type_everything_in_one_key_order(role):
    for name, entry in walk(options_of(role)):
        assert entry.get("description"), "%s: %s has no description" % (role, name)
        assert entry.get("type") in PYTHON_TYPES, "%s: %s has no known type" % (role, name)
        keys = list(entry)
        assert keys == sorted(keys, key=KEY_ORDER.index), "%s: %s keys %s are not in the order %s" % (
            role, name, keys, KEY_ORDER)


@pytest.mark.parametrize("role", ROLES)
def test_app_wide_settings_live_only_in_the_app_role(role):
    app_wide = [name for name in list(defaults_of(role)) + list(options_of(role)) if APP_WIDE.match(name)]
    if role == "app":
        assert app_wide and all(name.startswith("berth_") for name in defaults_of(role))
    else:
        assert app_wide == []


def settings_read_by(role):
    """The berth_* names a role's files (not its README) mention."""
    used = set()
    for directory, _subdirs, files in os.walk(os.path.join(ROLES_DIR, role)):
        for name in files:
            if name.endswith(".md"):
                continue  # READMEs may mention playbook-level names such as berth_hosts
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                used.update(re.findall(r"\bberth_[a-z0-9_]+", handle.read()))
    return used


@pytest.mark.parametrize("role", [role for role in ROLES if role != "app"])
def test_a_role_depends_on_the_app_role_exactly_when_it_reads_app_wide_settings(role):
    # A role that reads no app-wide setting (caddy) stays usable alone on a host with nothing else of ours.
    dependencies = load(role, "meta", "main.yml").get("dependencies") or []
    assert ({"role": "berth.compose.app"} in dependencies) == bool(settings_read_by(role))


def test_roles_read_only_app_wide_settings_the_app_role_defines():
    known = set(defaults_of("app"))
    used = set().union(*(settings_read_by(role) for role in ROLES))
    assert used and used <= known, sorted(used - known)


def test_a_stray_unclaimed_file_never_recreates_an_image_only_service_by_default():
    """Issue 20 part 7: `full` recreated the database for a stray top-level file (docs/decisions.md)."""
    assert defaults_of("app")["berth_unclaimed"] == "build"
    assert "build" in options_of("app")["berth_unclaimed"]["choices"]
