# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""changed_services planning: rule tables, defaults from compose, policies, bad input."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.berth.compose.plugins.module_utils.changed_services import (
    RuleError,
    UnclaimedPathsError,
    UnknownServiceError,
    compose_changes,
    interpolate,
    load_compose,
    parse_name_status,
    parse_rules,
    plan_changes,
)

# A generic project shaped like the "what to rebuild" table of a hand-run deploy runbook.
TABLE_COMPOSE = """
services:
  web:
    build: ./dashboard
  api:
    build: {context: ./api}
  db:
    build: ./db
  caddy:
    image: caddy:2
    volumes: ["./Caddyfile:/etc/caddy/Caddyfile:ro"]
"""

TABLE_RULES = [
    {"paths": ["dashboard/**"], "build": ["web"]},
    {"paths": ["api/**"], "build": ["api"]},
    {"paths": ["api/registry.py"], "build": ["api"], "hooks": ["backfill_note"]},
    {"paths": ["docker-compose.prod.yml", ".env"], "restart": "all"},
    {"paths": ["db/metrics/**"], "full": True, "hooks": ["compute_metrics", "refresh_benchmarks"]},
    {"name": "audit", "paths": ["api/audit/cuts/**", "db/audit_schema.sql"], "full": True, "hooks": ["refresh_audit"]},
    {"paths": ["docs/**", "*.md"], "ignore": True},
]

ALL4 = ["api", "caddy", "db", "web"]


@pytest.fixture
def table_project():
    return load_compose([("docker-compose.prod.yml", TABLE_COMPOSE)])


@pytest.mark.parametrize("paths,build,restart,full,hooks", [
    (["dashboard/src/app.tsx"], ["web"], [], False, []),
    (["dashboard/content/docs/deploy.mdx"], ["web"], [], False, []),
    (["api/routes/x.py"], ["api"], [], False, []),
    (["api/registry.py"], ["api"], [], False, ["backfill_note"]),
    (["docker-compose.prod.yml"], [], ALL4, False, []),
    ([".env"], [], ALL4, False, []),
    (["db/metrics/m1.sql"], ["api", "db", "web"], ["caddy"], True, ["compute_metrics", "refresh_benchmarks"]),
    (["api/audit/cuts/c1.py"], ["api", "db", "web"], ["caddy"], True, ["refresh_audit"]),
    (["db/audit_schema.sql"], ["api", "db", "web"], ["caddy"], True, ["refresh_audit"]),
    # anything spanning the above: the union, here with a full deploy
    (["dashboard/a.ts", "api/b.py", "db/metrics/m.sql"], ["api", "db", "web"], ["caddy"], True,
     ["compute_metrics", "refresh_benchmarks"]),
    (["dashboard/a.ts", "api/b.py"], ["api", "web"], [], False, []),
    (["docs/x.md", "README.md"], [], [], False, []),
])
def test_runbook_table_rows(table_project, paths, build, restart, full, hooks):
    plan = plan_changes(paths, table_project, TABLE_RULES)
    assert (plan.build, plan.restart, plan.full, plan.hooks) == (build, restart, full, hooks)
    assert set(plan.reasons) == set(paths)


def test_full_plan_says_which_path_asked_for_it(table_project):
    plan = plan_changes(["db/metrics/m1.sql"], table_project, TABLE_RULES)
    assert plan.full_reasons == ["db/metrics/m1.sql: rule 5 (db/metrics/**): full deploy; "
                                 "hooks compute_metrics, refresh_benchmarks"]
    assert plan.summary.startswith("full deploy (db/metrics/m1.sql")


def test_named_rule_label_is_used_in_reasons(table_project):
    plan = plan_changes(["db/audit_schema.sql"], table_project, TABLE_RULES)
    assert plan.reasons["db/audit_schema.sql"] == "audit: full deploy; hooks refresh_audit"


# ---------------------------------------------------------------- surfaces (frontend / backend / full / skip)

SURFACE_COMPOSE = """
services:
  frontend: {build: ./frontend}
  backend: {build: ./backend, env_file: .env.production}
  proxy: {image: caddy}
"""
# Every-match: an ignore rule never cancels another rule, so the Markdown files are
# excluded from the frontend rule and then claimed by the ignore rule (which also keeps
# the compose default - frontend's build context - from claiming them).
SURFACE_RULES = [
    {"paths": "frontend/**", "exclude": "**/*.md", "build": "frontend"},
    {"paths": "backend/**", "build": "backend"},
    {"paths": ["docker-compose.prod.yml", ".env.production.example"], "full": True},
    {"paths": ["docs/**", "**/*.md"], "ignore": True},
]


@pytest.mark.parametrize("paths,expect", [
    (["frontend/app/page.js"], "frontend"),
    (["backend/app/main.py"], "backend"),
    (["frontend/app/page.js", "backend/app/main.py"], "both"),
    ([".env.production.example"], "full"),
    (["docs/runbook.md", "frontend/README.md"], "skip"),
])
def test_release_surfaces(paths, expect):
    project = load_compose([("docker-compose.prod.yml", SURFACE_COMPOSE)])
    plan = plan_changes(paths, project, SURFACE_RULES)
    got = {(("frontend",), False): "frontend", (("backend",), False): "backend",
           (("backend", "frontend"), False): "both", ((), False): "skip"}.get((tuple(plan.build), plan.full), "?")
    if plan.full:
        got = "full"
        assert plan.build == ["backend", "frontend"] and plan.restart == ["proxy"]
    assert got == expect


# ---------------------------------------------------------------- semantics


def test_every_match_unions_overlapping_rules():
    project = load_compose([("compose.yaml", "services: {api: {build: ./api}, worker: {build: ./api}}")])
    rules = [{"paths": "api/**", "build": "api"}, {"paths": "api/shared/**", "build": "worker"}]
    plan = plan_changes(["api/shared/db.py"], project, rules)
    assert plan.build == ["api", "worker"]
    assert plan.reasons["api/shared/db.py"] == ("rule 1 (api/**): build api; "
                                                "rule 2 (api/shared/**): build worker")


def test_exclude_removes_path_from_that_rule_only():
    project = load_compose([("compose.yaml", "services: {web: {image: nginx}, docs: {image: nginx}}")])
    rules = [
        {"paths": "site/**", "exclude": ["site/**/*.md", "site/drafts/**"], "restart": "web"},
        {"paths": "**/*.md", "restart": "docs"},
    ]
    plan = plan_changes(["site/a.html", "site/b/c.md", "site/drafts/x.html"], project, rules)
    assert plan.restart == ["docs", "web"]
    assert plan.reasons["site/b/c.md"] == "rule 2 (**/*.md): recreate docs"
    assert plan.reasons["site/drafts/x.html"].startswith("unclaimed (excluded from rule 1")
    assert plan.unclaimed == ["site/drafts/x.html"]


def test_exclude_order_does_not_matter_unlike_negated_path_filters():
    project = load_compose([("compose.yaml", "services: {web: {image: nginx}}")])
    a = plan_changes(["docs/x.md"], project, [{"paths": ["docs/**"], "exclude": ["**/*.md"], "restart": "web"}])
    b = plan_changes(["docs/x.md"], project, [{"paths": ["**/*.md", "docs/**"], "exclude": "**/*.md",
                                               "restart": "web"}])
    assert a.restart == b.restart == []


def test_excluded_path_inside_build_context_still_uses_compose_default(table_project):
    rules = [{"paths": "dashboard/**", "exclude": "dashboard/**/*.md", "build": "web"}]
    plan = plan_changes(["dashboard/notes.md"], table_project, rules)
    assert plan.build == ["web"]
    assert plan.reasons["dashboard/notes.md"] == ("default: build context of web: build web "
                                                  "(excluded from rule 1 (dashboard/**))")


def test_ignore_rule_overrides_defaults_but_not_other_rules(table_project):
    rules = [{"paths": "dashboard/**/*.md", "ignore": True}, {"paths": "dashboard/content/**", "build": "web"}]
    plan = plan_changes(["dashboard/notes.md", "dashboard/content/a.md"], table_project, rules)
    assert plan.build == ["web"]
    assert plan.reasons["dashboard/notes.md"] == "rule 1 (dashboard/**/*.md): ignore"
    assert "ignored" in plan.summary


def test_hooks_keep_rule_order_and_are_deduplicated(table_project):
    rules = [{"paths": "b/**", "hooks": ["second", "third"]}, {"paths": "a/**", "hooks": ["first", "second"]}]
    plan = plan_changes(["a/x", "b/x"], table_project, rules)
    assert plan.hooks == ["second", "third", "first"]


def test_renamed_and_deleted_paths_both_count():
    raw = b"R087\x00api/old.py\x00web/new.py\x00D\x00db/gone.sql\x00M\x00a b/c.txt\x00"
    assert parse_name_status(raw) == ["api/old.py", "web/new.py", "db/gone.sql", "a b/c.txt"]
    project = load_compose([("compose.yaml", "services: {api: {build: ./api}, web: {build: ./web}}")])
    plan = plan_changes(parse_name_status(raw), project)
    assert plan.build == ["api", "web"]
    assert plan.unclaimed == ["a b/c.txt", "db/gone.sql"]


def test_output_is_sorted_and_deterministic(table_project):
    paths = ["dashboard/z", "api/a", "zzz", "aaa", "docs/x"]
    p1 = plan_changes(paths, table_project, TABLE_RULES)
    p2 = plan_changes(list(reversed(paths)), table_project, TABLE_RULES)
    assert p1.as_dict() == p2.as_dict()
    assert p1.unclaimed == ["aaa", "zzz"]
    assert p1.summary == "build [api, web]: 5 changed paths, 1 ignored, 2 unclaimed"


def test_build_rule_for_service_without_build_recreates_it(table_project):
    plan = plan_changes(["x"], table_project, [{"paths": "x", "build": "caddy,web"}])
    assert plan.build == ["web"] and plan.restart == ["caddy"]


def test_build_all_means_every_buildable_service(table_project):
    plan = plan_changes(["x"], table_project, [{"paths": "x", "build": "all"}])
    assert plan.build == ["api", "db", "web"] and plan.restart == []


def test_no_paths_means_nothing_to_deploy(table_project):
    plan = plan_changes([], table_project, TABLE_RULES)
    assert plan.summary == "nothing to deploy: 0 changed paths"
    assert not plan.full and plan.build == [] and plan.restart == []


# ---------------------------------------------------------------- compose-derived defaults

DEFAULTS_COMPOSE = """
services:
  web:
    build: {context: ./web, dockerfile: ../docker/web.Dockerfile, additional_contexts: {shared: ./libs/shared}}
    env_file: [env/web.env, {path: env/extra.env, required: false}]
  api:
    build: ${API_DIR:-./api}
    volumes:
      - ./api/config:/etc/api:ro
      - data:/var/lib/api
      - type: bind
        source: ./seed
        target: /seed
    configs: [appconf]
    secrets: [{source: token}]
  proxy:
    image: caddy
    volumes: ["${CADDY_FILE:-./Caddyfile}:/etc/caddy/Caddyfile", "/srv/logs:/logs"]
configs:
  appconf: {file: ./conf/app.ini}
secrets:
  token: {file: ./secrets/token.txt}
volumes:
  data: {}
"""


@pytest.mark.parametrize("path,build,restart", [
    ("web/src/a.js", ["web"], []),
    ("docker/web.Dockerfile", ["web"], []),
    ("libs/shared/util.js", ["web"], []),
    ("env/web.env", [], ["web"]),
    ("env/extra.env", [], ["web"]),
    ("api/main.py", ["api"], []),
    ("api/config/x.yml", ["api"], []),  # inside the build context: build wins over recreate
    ("seed/rows.csv", [], ["api"]),
    ("conf/app.ini", [], ["api"]),
    ("secrets/token.txt", [], ["api"]),
    ("Caddyfile", [], ["proxy"]),
    (".env", [], ["api", "proxy", "web"]),
    ("unrelated/file", [], []),
])
def test_compose_derived_defaults(path, build, restart):
    project = load_compose([("compose.yaml", DEFAULTS_COMPOSE)])
    plan = plan_changes([path], project)
    assert (plan.build, plan.restart) == (build, restart)


def test_interpolated_paths_use_given_variables():
    project = load_compose([("compose.yaml", DEFAULTS_COMPOSE)])
    plan = plan_changes(["services/api2/x.py", "edge/Caddyfile"], project,
                        variables={"API_DIR": "./services/api2", "CADDY_FILE": "edge/Caddyfile"})
    assert plan.build == ["api"] and plan.restart == ["proxy"]


@pytest.mark.parametrize("text,variables,expected", [
    ("${A:-./x}", {}, "./x"),
    ("${A:-./x}", {"A": ""}, "./x"),
    ("${A-./x}", {"A": ""}, ""),
    ("${A}/b", {"A": "a"}, "a/b"),
    ("$A/b", {"A": "a"}, "a/b"),
    ("$$A", {}, "$A"),
    ("${A:-${B:-deep}}", {}, "deep"),
    ("${A:+alt}", {"A": "1"}, "alt"),
    ("${A:?must be set}", {"A": "v"}, "v"),
])
def test_interpolation(text, variables, expected):
    assert interpolate(text, variables) == expected


def test_compose_files_are_relative_to_the_first_files_directory():
    project = load_compose([("deploy/compose.yaml", "services: {web: {build: ../web, env_file: web.env}}")])
    plan = plan_changes(["web/x", "deploy/web.env"], project)
    assert plan.build == ["web"] and plan.restart == []
    assert plan.reasons["deploy/web.env"] == "default: env_file of web: recreate web"


def test_override_file_merges_and_adds_claims():
    base = "services: {web: {build: ./web, volumes: ['./a:/a']}}"
    over = "services: {web: {volumes: ['./b:/b']}, extra: {image: x}}"
    project = load_compose([("compose.yaml", base), ("compose.override.yaml", over)])
    assert project.service_names() == ["extra", "web"]
    assert plan_changes(["b/f"], project).restart == ["web"]
    assert plan_changes(["a/f"], project).restart == ["web"]


def test_defaults_can_be_switched_off(table_project):
    plan = plan_changes(["dashboard/x"], table_project, use_defaults=False)
    assert plan.build == [] and plan.unclaimed == ["dashboard/x"]


# ---------------------------------------------------------------- compose file changes

OLD = """
x-common: &common {restart: unless-stopped}
services:
  web: {<<: *common, build: {context: ./web}, ports: ["8080:8080"]}
  api: {<<: *common, build: ./api, environment: {A: "1"}}
  worker: {<<: *common, image: busybox, networks: [back]}
  gone: {image: busybox}
networks: {back: {}}
"""


def _diff(new):
    return compose_changes(load_compose([("compose.yaml", OLD)]), load_compose([("compose.yaml", new)]))


def test_compose_change_recreates_only_changed_services():
    new = OLD.replace('A: "1"', 'A: "2"')
    assert _diff(new) == {"api": "restart"}


def test_compose_build_section_change_rebuilds():
    new = OLD.replace("build: ./api", "build: {context: ./api, args: {V: 2}}")
    assert _diff(new) == {"api": "build"}


def test_compose_referenced_network_change_recreates_its_users():
    new = OLD.replace("networks: {back: {}}", "networks: {back: {internal: true}}")
    assert _diff(new) == {"worker": "restart"}


def test_compose_anchor_change_affects_every_user_and_added_removed_services_are_reported():
    new = OLD.replace("restart: unless-stopped", "restart: always").replace("  gone: {image: busybox}\n", "") \
        + "  " + "\n"
    new = new.replace("networks: {back: {}}", "networks: {back: {}}\n")
    new = new.replace("services:\n", "services:\n  added: {build: ./added}\n")
    assert _diff(new) == {"added": "build", "api": "restart", "gone": "removed", "web": "restart",
                          "worker": "restart"}


def test_compose_formatting_only_change_touches_nothing():
    new = OLD.replace('  web: {<<: *common, build: {context: ./web}, ports: ["8080:8080"]}\n',
                      '  web:\n    ports:\n      - "8080:8080"\n    build:\n      context: ./web\n'
                      '    restart: unless-stopped\n')
    assert new != OLD
    assert _diff(new) == {}


def test_ignore_rule_does_not_cancel_another_rule():
    project = load_compose([("docker-compose.prod.yml", SURFACE_COMPOSE)])
    rules = [{"paths": "frontend/**", "build": "frontend"}, {"paths": "**/*.md", "ignore": True}]
    assert plan_changes(["frontend/README.md"], project, rules).build == ["frontend"]


def test_compose_file_change_in_plan_uses_the_diff():
    project = load_compose([("compose.yaml", OLD)])
    plan = plan_changes(["compose.yaml"], project, compose_diff={"api": "restart", "gone": "removed"})
    assert plan.build == [] and plan.restart == ["api"] and not plan.full
    assert plan.reasons["compose.yaml"] == ("default: compose file, service config changed: "
                                            "recreate api; removed gone")


def test_compose_file_change_without_previous_version_is_full():
    project = load_compose([("compose.yaml", OLD)])
    plan = plan_changes(["compose.yaml"], project, compose_diff=None)
    assert plan.full and plan.build == ["api", "web"] and plan.restart == ["gone", "worker"]


# ---------------------------------------------------------------- unclaimed policies


def test_unclaimed_ignore_reports_paths(table_project):
    plan = plan_changes(["tools/x.sh"], table_project, TABLE_RULES, unclaimed="ignore")
    assert plan.unclaimed == ["tools/x.sh"] and not plan.full
    assert plan.reasons["tools/x.sh"] == "unclaimed (policy: ignore)"


def test_unclaimed_full_forces_full_deploy(table_project):
    plan = plan_changes(["tools/x.sh"], table_project, TABLE_RULES, unclaimed="full")
    assert plan.full and plan.full_reasons == ["tools/x.sh: unclaimed (policy: full)"]


def test_unclaimed_fail_raises_with_the_plan(table_project):
    with pytest.raises(UnclaimedPathsError, match="tools/x.sh") as err:
        plan_changes(["tools/x.sh", "api/a.py"], table_project, TABLE_RULES, unclaimed="fail")
    assert err.value.plan.build == ["api"]


def test_unknown_unclaimed_policy_is_rejected(table_project):
    with pytest.raises(Exception, match="unclaimed must be one of"):
        plan_changes([], table_project, unclaimed="maybe")


# ---------------------------------------------------------------- services override


def test_services_override_wins(table_project):
    plan = plan_changes(["db/metrics/x.sql"], table_project, TABLE_RULES, services="web, caddy")
    assert plan.build == ["web"] and plan.restart == ["caddy"] and not plan.full
    assert plan.hooks == ["compute_metrics", "refresh_benchmarks"]
    assert "operator override" in plan.summary


def test_services_all_is_a_full_deploy(table_project):
    plan = plan_changes([], table_project, services="all")
    assert plan.full and plan.build == ["api", "db", "web"] and plan.restart == ["caddy"]


def test_services_override_does_not_fail_on_unclaimed(table_project):
    plan = plan_changes(["nobody"], table_project, unclaimed="fail", services=["api"])
    assert plan.build == ["api"] and plan.unclaimed == ["nobody"]


def test_unknown_service_in_override_lists_valid_names(table_project):
    with pytest.raises(UnknownServiceError, match=r"unknown service\(s\) nope; the compose project defines: "
                                                  r"api, caddy, db, web"):
        plan_changes([], table_project, services=["web", "nope"])


# ---------------------------------------------------------------- bad rules


@pytest.mark.parametrize("rule,message", [
    ({"paths": "a/**"}, "no action"),
    ({"build": "web"}, "'paths' is required"),
    ({"paths": "a/**", "build": "nope"}, r"unknown service\(s\) nope; the compose project defines"),
    ({"paths": "a/**", "restart": ["web", "ghost"]}, r"unknown service\(s\) ghost"),
    ({"paths": "a/[bc", "build": "web"}, r"rule 1: unclosed '\['"),
    ({"paths": "a/**", "exclude": "x/{y", "build": "web"}, r"unclosed '\{'"),
    ({"paths": "!docs/**", "ignore": True}, "exclude"),
    ({"paths": "a", "ignore": True, "build": "web"}, "cannot be combined"),
    ({"paths": "a", "biuld": "web"}, r"unknown key\(s\) biuld"),
    ({"paths": "a", "full": "perhaps"}, "must be a boolean"),
    ({"paths": ["a", 3], "build": "web"}, "list of strings"),
    ("a/**", "must be a mapping"),
])
def test_bad_rules_raise_clear_errors(table_project, rule, message):
    with pytest.raises(RuleError, match=message):
        parse_rules([rule], table_project)


def test_rule_errors_name_the_rule(table_project):
    with pytest.raises(RuleError, match=r"^rule 2 \(docs\): no action"):
        parse_rules([{"paths": "a", "build": "web"}, {"name": "docs", "paths": "docs/**"}], table_project)
