# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based tests (hypothesis) for rule parsing: module_utils/change_rules.py."""
from hypothesis import given, settings, strategies as st

from ansible_collections.berth.compose.plugins.module_utils.change_rules import (
    ChangedServicesError,
    RuleError,
    UnknownServiceError,
    parse_rule,
    parse_rules,
    parse_service_list,
)

FAST = settings(max_examples=60, deadline=None, database=None, derandomize=True)

SERVICES = ["api", "db", "web", "worker"]
BUILDABLE = ["api", "web", "worker"]
NAMES = st.sampled_from(SERVICES)
GLOBS = st.sampled_from(["web/**", "*.md", "api/{a,b}/*.py", "docs/", "db/[a-z]*.sql", "**/x"])
SERVICE_VALUE = st.one_of(NAMES, st.lists(NAMES, min_size=1, max_size=3), st.lists(NAMES, min_size=1, max_size=3).map(",".join))
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                       max_leaves=8)
RAW_RULE = st.dictionaries(st.sampled_from(["name", "paths", "exclude", "build", "recreate", "full", "hooks", "ignore",
                                            "restart", "other"]), JSONISH, max_size=5)


@FAST
@given(st.one_of(GLOBS, st.lists(GLOBS, min_size=1, max_size=3)), st.one_of(st.none(), SERVICE_VALUE),
       st.one_of(st.none(), SERVICE_VALUE), st.booleans(), st.lists(st.sampled_from(["warm", "migrate"]), max_size=2))
def test_a_rule_with_paths_and_an_action_parses_and_says_what_it_does(paths, build, recreate, full, hooks):
    raw = {"paths": paths, "build": build, "recreate": recreate, "full": full, "hooks": hooks}
    if not (build or recreate or full or hooks):
        try:
            parse_rule(1, raw, SERVICES, BUILDABLE)
        except RuleError as exc:
            assert "no action" in str(exc) and "rule 1" in str(exc)
            return
        raise AssertionError("a rule with no action parsed: %r" % raw)
    rule = parse_rule(1, raw, SERVICES, BUILDABLE)
    assert set(rule.build) <= set(SERVICES) and set(rule.recreate) <= set(SERVICES)
    assert rule.full is full and list(rule.hooks) == hooks
    for service in rule.build:
        assert service in rule.description
    if full:
        assert "full deploy" in rule.description


@FAST
@given(st.lists(RAW_RULE | JSONISH, max_size=4))
def test_any_input_parses_or_fails_with_a_rule_error_naming_the_rule(rules):
    try:
        parsed = parse_rules(rules, SERVICES, BUILDABLE)
    except ChangedServicesError as exc:
        assert str(exc).startswith("rule ") or str(exc).startswith("rules "), str(exc)
        return
    assert len(parsed) == len(rules)
    for rule in parsed:
        assert rule.globs and (rule.ignore or rule.build or rule.recreate or rule.full or rule.hooks)


@FAST
@given(st.lists(st.text(alphabet="abdeiloprwkx;$() ", min_size=1, max_size=8), min_size=1, max_size=5))
def test_unknown_service_names_are_all_named_with_the_valid_ones(names):
    try:
        wants_all, picked = parse_service_list(names, SERVICES)
    except UnknownServiceError as exc:
        unknown = {part.strip() for name in names for part in name.split(",")} - set(SERVICES) - {"", "all"}
        for name in unknown:
            assert name in str(exc)
        assert "api, db, web, worker" in str(exc) or "'all'" in str(exc)
        return
    assert wants_all or set(picked) <= set(SERVICES)
    assert wants_all or picked == sorted(set(picked))
