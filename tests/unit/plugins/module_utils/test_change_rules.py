# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule validation: every malformed rule fails with a message naming the rule."""

import pytest

from ansible_collections.berth.compose.plugins.module_utils.change_rules import (
    RuleError,
    UnknownServiceError,
    parse_rules,
    parse_service_list,
)

SERVICES = ["api", "caddy", "db", "web"]
BUILDABLE = ["api", "db", "web"]


def parse(rules):
    return parse_rules(rules, SERVICES, BUILDABLE)


@pytest.mark.parametrize("rule,message", [
    ({"paths": "a/**"}, "no action"),
    ({"build": "web"}, "'paths' is required"),
    ({"paths": "a/**", "build": "nope"}, r"unknown service\(s\) nope; the compose project defines"),
    ({"paths": "a/**", "recreate": ["web", "ghost"]}, r"unknown service\(s\) ghost"),
    ({"paths": "a/[bc", "build": "web"}, r"rule 1: unclosed '\['"),
    ({"paths": "a/**", "exclude": "x/{y", "build": "web"}, r"unclosed '\{'"),
    ({"paths": "!docs/**", "ignore": True}, "exclude"),
    ({"paths": "a", "ignore": True, "build": "web"}, "cannot be combined"),
    ({"paths": "a", "biuld": "web"}, r"unknown key\(s\) biuld"),
    ({"paths": "a", "full": "perhaps"}, "must be a boolean"),
    ({"paths": ["a", 3], "build": "web"}, "list of strings"),
    ("a/**", "must be a mapping"),
])
def test_bad_rules_raise_clear_errors(rule, message):
    with pytest.raises(RuleError, match=message):
        parse([rule])


def test_rule_errors_name_the_rule():
    with pytest.raises(RuleError, match=r"^rule 2 \(docs\): no action"):
        parse([{"paths": "a", "build": "web"}, {"name": "docs", "paths": "docs/**"}])


def test_an_unknown_action_is_rejected_naming_the_allowed_keys():
    with pytest.raises(RuleError, match=r"rule 1: unknown key\(s\) restart; allowed: .*recreate"):
        parse([{"paths": "a", "restart": "web"}])


def test_unset_keys_from_the_module_argument_spec_are_accepted():
    rule, = parse([{"paths": "a", "recreate": "web", "restart": None, "build": None, "full": False}])
    assert rule.recreate == ("web",) and rule.build == ()


def test_all_means_every_buildable_service_for_build_and_every_service_for_recreate():
    rule, = parse([{"paths": "x", "build": "all", "recreate": "all"}])
    assert rule.build == ("api", "db", "web") and rule.recreate == tuple(SERVICES)
    assert rule.description == "rule 1 (x): build all; recreate all"


def test_description_lists_every_action_in_order():
    rule, = parse([{"name": "metrics", "paths": "db/**", "build": "db", "full": True, "hooks": ["a", "b"]}])
    assert rule.description == "metrics: build db; full deploy; hooks a, b"


def test_rules_must_be_a_list():
    with pytest.raises(RuleError, match="rules must be a list"):
        parse({"paths": "a"})


@pytest.mark.parametrize("value,expected", [
    ("web, api", (False, ["api", "web"])),
    (["web", "api,db"], (False, ["api", "db", "web"])),
    ("all", (True, None)),
    (None, (False, [])),
    ("", (False, [])),
])
def test_service_lists(value, expected):
    assert parse_service_list(value, SERVICES) == expected


@pytest.mark.parametrize("value,message", [
    ("all,web", "'all' cannot be combined"),
    ([1], "must be service names"),
    ({"web": 1}, "must be a list, a comma-separated string or 'all'"),
])
def test_bad_service_lists(value, message):
    with pytest.raises(UnknownServiceError, match=message):
        parse_service_list(value, SERVICES)
