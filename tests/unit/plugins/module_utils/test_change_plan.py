# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning: rule tables, compose-derived claims, rendered-config changes, policies, overrides."""

import pytest

from ansible_collections.berth.compose.plugins.module_utils.change_plan import (
    ChangedServicesError,
    PlanInput,
    UnclaimedPathsError,
    plan_changes,
)
from ansible_collections.berth.compose.plugins.module_utils.change_rules import (
    UnknownServiceError,
    parse_rules,
)
from ansible_collections.berth.compose.plugins.module_utils.git_changes import parse_name_status
from ansible_collections.berth.compose.tests.unit.plugins.module_utils.compose_fixtures import (
    bind,
    rendered_project,
)


def plan(paths, project, rules=(), inputs=("docker-compose.prod.yml", ".env"), use_defaults=True, **kw):
    claims, index = project.claims(list(inputs)) if use_defaults else ([], None)
    plan_input = PlanInput(paths=list(paths), services=project.services, buildable=project.buildable,
                           rules=parse_rules(list(rules), project.services, project.buildable), claims=claims, **kw)
    if index is not None:
        plan_input.claim_index = index
    return plan_changes(plan_input)


# A generic project shaped like the "what to rebuild" table of a hand-run deploy runbook.
TABLE = {
    "web": {"build": "dashboard"},
    "api": {"build": "api"},
    "db": {"build": "db"},
    "caddy": {"image": "caddy:2", "volumes": [bind("Caddyfile", "/etc/caddy/Caddyfile")]},
}

TABLE_RULES = [
    {"paths": ["dashboard/**"], "build": ["web"]},
    {"paths": ["api/**"], "build": ["api"]},
    {"paths": ["api/registry.py"], "build": ["api"], "hooks": ["backfill_note"]},
    {"paths": ["docker-compose.prod.yml", ".env"], "recreate": "all"},
    {"paths": ["db/metrics/**"], "full": True, "hooks": ["compute_metrics", "refresh_benchmarks"]},
    {"name": "audit", "paths": ["api/audit/cuts/**", "db/audit_schema.sql"], "full": True, "hooks": ["refresh_audit"]},
    {"paths": ["docs/**", "*.md"], "ignore": True},
]

ALL4 = ["api", "caddy", "db", "web"]


@pytest.fixture
def table():
    return rendered_project(TABLE)


@pytest.mark.parametrize("paths,build,recreate,full,hooks", [
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
def test_runbook_table_rows(table, paths, build, recreate, full, hooks):
    result = plan(paths, table, TABLE_RULES)
    assert (result.build, result.recreate, result.full, result.hooks) == (build, recreate, full, hooks)
    assert set(result.reasons) == set(paths)


def test_full_plan_says_which_path_asked_for_it(table):
    result = plan(["db/metrics/m1.sql"], table, TABLE_RULES)
    assert result.full_reasons == ["db/metrics/m1.sql: rule 5 (db/metrics/**): full deploy; "
                                   "hooks compute_metrics, refresh_benchmarks"]
    assert result.summary.startswith("full deploy (db/metrics/m1.sql")


def test_named_rule_label_is_used_in_reasons(table):
    result = plan(["db/audit_schema.sql"], table, TABLE_RULES)
    assert result.reasons["db/audit_schema.sql"] == "audit: full deploy; hooks refresh_audit"


# ---------------------------------------------------------------- surfaces (frontend / backend / full / skip)

SURFACE = {
    "frontend": {"build": "frontend"},
    "backend": {"build": "backend", "env_file": [".env.production"]},
    "proxy": {"image": "caddy"},
}
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
    result = plan(paths, rendered_project(SURFACE), SURFACE_RULES)
    got = {(("frontend",), False): "frontend", (("backend",), False): "backend",
           (("backend", "frontend"), False): "both", ((), False): "skip"}.get((tuple(result.build), result.full), "?")
    if result.full:
        got = "full"
        assert result.build == ["backend", "frontend"] and result.recreate == ["proxy"]
    assert got == expect


# ---------------------------------------------------------------- semantics


def test_every_match_unions_overlapping_rules():
    project = rendered_project({"api": {"build": "api"}, "worker": {"build": "api"}})
    rules = [{"paths": "api/**", "build": "api"}, {"paths": "api/shared/**", "build": "worker"}]
    result = plan(["api/shared/db.py"], project, rules)
    assert result.build == ["api", "worker"]
    assert result.reasons["api/shared/db.py"] == "rule 1 (api/**): build api; rule 2 (api/shared/**): build worker"


def test_exclude_removes_path_from_that_rule_only():
    project = rendered_project({"web": {"image": "nginx"}, "docs": {"image": "nginx"}})
    rules = [
        {"paths": "site/**", "exclude": ["site/**/*.md", "site/drafts/**"], "recreate": "web"},
        {"paths": "**/*.md", "recreate": "docs"},
    ]
    result = plan(["site/a.html", "site/b/c.md", "site/drafts/x.html"], project, rules)
    assert result.recreate == ["docs", "web"]
    assert result.reasons["site/b/c.md"] == "rule 2 (**/*.md): recreate docs"
    assert result.reasons["site/drafts/x.html"].startswith("unclaimed (excluded from rule 1")
    assert result.unclaimed == ["site/drafts/x.html"]


def test_exclude_order_does_not_matter_unlike_negated_path_filters():
    project = rendered_project({"web": {"image": "nginx"}})
    first = plan(["docs/x.md"], project, [{"paths": ["docs/**"], "exclude": ["**/*.md"], "recreate": "web"}])
    second = plan(["docs/x.md"], project, [{"paths": ["**/*.md", "docs/**"], "exclude": "**/*.md",
                                            "recreate": "web"}])
    assert first.recreate == second.recreate == []


def test_excluded_path_inside_build_context_still_uses_compose_default(table):
    rules = [{"paths": "dashboard/**", "exclude": "dashboard/**/*.md", "build": "web"}]
    result = plan(["dashboard/notes.md"], table, rules)
    assert result.build == ["web"]
    assert result.reasons["dashboard/notes.md"] == ("default: build context of web: build web "
                                                    "(excluded from rule 1 (dashboard/**))")


def test_ignore_rule_overrides_defaults_but_not_other_rules(table):
    rules = [{"paths": "dashboard/**/*.md", "ignore": True}, {"paths": "dashboard/content/**", "build": "web"}]
    result = plan(["dashboard/notes.md", "dashboard/content/a.md"], table, rules)
    assert result.build == ["web"]
    assert result.reasons["dashboard/notes.md"] == "rule 1 (dashboard/**/*.md): ignore"
    assert "ignored" in result.summary


def test_ignore_rule_does_not_cancel_another_rule():
    rules = [{"paths": "frontend/**", "build": "frontend"}, {"paths": "**/*.md", "ignore": True}]
    assert plan(["frontend/README.md"], rendered_project(SURFACE), rules).build == ["frontend"]


def test_hooks_keep_rule_order_and_are_deduplicated(table):
    rules = [{"paths": "b/**", "hooks": ["second", "third"]}, {"paths": "a/**", "hooks": ["first", "second"]}]
    assert plan(["a/x", "b/x"], table, rules).hooks == ["second", "third", "first"]


def test_renamed_and_deleted_paths_both_count():
    raw = b"R087\x00api/old.py\x00web/new.py\x00D\x00db/gone.sql\x00M\x00a b/c.txt\x00"
    assert parse_name_status(raw) == ["api/old.py", "web/new.py", "db/gone.sql", "a b/c.txt"]
    project = rendered_project({"api": {"build": "api"}, "web": {"build": "web"}})
    result = plan(parse_name_status(raw), project)
    assert result.build == ["api", "web"]
    assert result.unclaimed == ["a b/c.txt", "db/gone.sql"]


def test_output_is_sorted_and_deterministic(table):
    paths = ["dashboard/z", "api/a", "zzz", "aaa", "docs/x"]
    first = plan(paths, table, TABLE_RULES)
    second = plan(list(reversed(paths)), table, TABLE_RULES)
    assert first.as_dict() == second.as_dict()
    assert first.unclaimed == ["aaa", "zzz"]
    assert first.summary == "build [api, web]: 5 changed paths, 1 ignored, 2 unclaimed"


def test_build_rule_for_service_without_build_recreates_it(table):
    result = plan(["x"], table, [{"paths": "x", "build": "caddy,web"}])
    assert result.build == ["web"] and result.recreate == ["caddy"]


def test_build_all_means_every_buildable_service(table):
    result = plan(["x"], table, [{"paths": "x", "build": "all"}])
    assert result.build == ["api", "db", "web"] and result.recreate == []


def test_no_paths_means_nothing_to_deploy(table):
    result = plan([], table, TABLE_RULES)
    assert result.summary == "nothing to deploy: 0 changed paths"
    assert not result.full and result.build == [] and result.recreate == []


def test_result_lists_the_services_of_the_project(table):
    result = plan([], table)
    assert result.services == ALL4 and result.buildable == ["api", "db", "web"]
    assert set(result.as_dict()) >= {"build", "recreate", "full", "hooks", "unclaimed", "reasons", "full_reasons",
                                     "summary", "from_commit", "to_commit", "services", "buildable", "removed"}


# ---------------------------------------------------------------- compose-derived claims

DEFAULTS = {
    "web": {"build": {"context": "web", "dockerfile": "../docker/web.Dockerfile",
                      "additional_contexts": {"shared": "libs/shared"}},
            "env_file": ["env/web.env", "env/extra.env"]},
    "api": {"build": "api",
            "volumes": [bind("api/config", "/etc/api"), {"type": "volume", "source": "data", "target": "/var/lib/api"},
                        bind("seed", "/seed")],
            "configs": [{"source": "appconf"}], "secrets": [{"source": "token"}]},
    "proxy": {"image": "caddy", "volumes": [bind("edge/Caddyfile", "/etc/caddy/Caddyfile"), bind("/srv/logs")]},
}
DEFAULTS_TOP = {"configs": {"appconf": {"file": "conf/app.ini"}}, "secrets": {"token": {"file": "secrets/token.txt"}},
                "volumes": {"data": {"name": "app_data"}}}


@pytest.mark.parametrize("path,build,recreate", [
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
    ("edge/Caddyfile", [], ["proxy"]),
    ("unrelated/file", [], []),
])
def test_compose_derived_claims(path, build, recreate):
    result = plan([path], rendered_project(DEFAULTS, **DEFAULTS_TOP))
    assert (result.build, result.recreate) == (build, recreate)


def test_project_env_with_a_known_previous_side_follows_the_comparison():
    result = plan([".env"], rendered_project(DEFAULTS, **DEFAULTS_TOP), config_changes={"proxy": "recreate"})
    assert (result.build, result.recreate, result.full) == ([], ["proxy"], False)


def test_defaults_can_be_switched_off(table):
    result = plan(["dashboard/x"], table, use_defaults=False)
    assert result.build == [] and result.unclaimed == ["dashboard/x"]


# ---------------------------------------------------------------- rendered-config changes


def test_config_changes_apply_without_a_changed_path(table):
    result = plan([], table, config_changes={"api": "build", "caddy": "recreate"})
    assert (result.build, result.recreate) == (["api"], ["caddy"])
    assert result.config_changes == {"api": "build", "caddy": "recreate"}


def test_compose_file_change_uses_the_comparison(table):
    result = plan(["docker-compose.prod.yml"], table, config_changes={"caddy": "recreate", "gone": "removed"})
    assert result.build == [] and result.recreate == ["caddy"] and not result.full
    assert result.removed == ["gone"]
    assert result.reasons["docker-compose.prod.yml"] == ("default: docker-compose.prod.yml (input of the rendered "
                                                         "config), rendered config changed: recreate caddy; removed gone")
    assert result.summary.endswith("removed [gone]")


def test_compose_file_change_that_changes_no_service_is_ignored(table):
    result = plan(["docker-compose.prod.yml"], table, config_changes={})
    assert result.summary == "nothing to deploy: 1 changed path, 1 ignored"


def test_compose_file_change_without_previous_version_is_full(table):
    result = plan(["docker-compose.prod.yml"], table)
    assert result.full and result.build == ["api", "db", "web"] and result.recreate == ["caddy"]


def test_removed_service_named_by_a_rule_is_not_deployed(table):
    result = plan(["x"], table, [{"paths": "x", "recreate": "caddy"}], config_changes={"old": "removed"})
    assert result.recreate == ["caddy"] and result.removed == ["old"]


# ---------------------------------------------------------------- unknown history


def test_full_reason_forces_a_full_deploy_and_every_hook(table):
    result = plan([], table, TABLE_RULES, full_reason="no from_ref given")
    assert result.full and result.full_reasons == ["no from_ref given"]
    assert result.hooks == ["backfill_note", "compute_metrics", "refresh_benchmarks", "refresh_audit"]


def test_full_reasons_are_capped(table):
    paths = ["p%02d" % i for i in range(25)]
    result = plan(paths, table, unclaimed="full")
    assert len(result.full_reasons) == 21 and result.full_reasons[-1] == "... and 5 more"


# ---------------------------------------------------------------- unclaimed policies


def test_unclaimed_ignore_reports_paths(table):
    result = plan(["tools/x.sh"], table, TABLE_RULES, unclaimed="ignore")
    assert result.unclaimed == ["tools/x.sh"] and not result.full
    assert result.reasons["tools/x.sh"] == "unclaimed (policy: ignore)"


def test_unclaimed_full_forces_full_deploy(table):
    result = plan(["tools/x.sh"], table, TABLE_RULES, unclaimed="full")
    assert result.full and result.full_reasons == ["tools/x.sh: unclaimed (policy: full)"]


def test_unclaimed_fail_raises_with_the_plan(table):
    with pytest.raises(UnclaimedPathsError, match="tools/x.sh") as err:
        plan(["tools/x.sh", "api/a.py"], table, TABLE_RULES, unclaimed="fail")
    assert err.value.plan.build == ["api"]


def test_unknown_unclaimed_policy_is_rejected(table):
    with pytest.raises(ChangedServicesError, match="unclaimed must be one of"):
        plan([], table, unclaimed="maybe")


# ---------------------------------------------------------------- services override


def test_services_override_wins(table):
    result = plan(["db/metrics/x.sql"], table, TABLE_RULES, override="web, caddy")
    assert result.build == ["web"] and result.recreate == ["caddy"] and not result.full
    assert result.hooks == ["compute_metrics", "refresh_benchmarks"]
    assert "operator override" in result.summary


def test_services_all_is_a_full_deploy(table):
    result = plan([], table, override="all")
    assert result.full and result.build == ["api", "db", "web"] and result.recreate == ["caddy"]
    assert result.summary.startswith("full deploy (operator asked for all services)")


def test_services_override_does_not_fail_on_unclaimed(table):
    result = plan(["nobody"], table, unclaimed="fail", override=["api"])
    assert result.build == ["api"] and result.unclaimed == ["nobody"]


def test_unknown_service_in_override_lists_valid_names(table):
    with pytest.raises(UnknownServiceError, match=r"unknown service\(s\) nope; the compose project defines: "
                                                  r"api, caddy, db, web"):
        plan([], table, override=["web", "nope"])


def test_services_override_names_what_it_left_out_as_pending(table):
    natural = plan(["db/metrics/x.sql", "api/app.py"], table, TABLE_RULES)
    changed = set(natural.build) | set(natural.recreate)
    assert "api" in changed and len(changed) > 1
    result = plan(["db/metrics/x.sql", "api/app.py"], table, TABLE_RULES, override=["api"])
    assert result.build == ["api"]
    assert result.pending == sorted(changed - {"api"})
    assert "left out: " + ", ".join(result.pending) in result.summary
    assert plan(["db/metrics/x.sql", "api/app.py"], table, TABLE_RULES).pending == []


def test_services_override_of_a_full_change_leaves_every_other_service_pending(table):
    result = plan(["docker-compose.prod.yml"], table, override=["web"])
    assert result.build == ["web"] and result.pending == ["api", "caddy", "db"]


# ---------------------------------------------------------------- issue 20 part 7: what a deploy plans

# An app with an image-only database from a registry and two services that build.
APP = {
    "web": {"build": "web"},
    "api": {"build": "api"},
    "db": {"image": "postgres:16"},
}


@pytest.fixture
def app():
    return rendered_project(APP)


def test_services_all_with_a_known_previous_side_rebuilds_but_leaves_an_unchanged_image_only_service(app):
    result = plan([], app, override="all", config_changes={})
    assert result.build == ["api", "web"]
    assert "db" not in result.recreate and not result.full
    assert "operator asked for all services" in result.summary
    # rebuilt at the operator's word only: recreated only if the rebuilt image differs (the engine looks)
    assert result.rebuilt_only == ["api", "web"]


def test_services_all_names_no_rebuilt_only_service_the_change_itself_touches(app):
    result = plan(["web/index.html"], app, override="all", config_changes={})
    assert result.build == ["api", "web"] and result.rebuilt_only == ["api"]


def test_services_all_recreates_an_image_only_service_whose_config_changed(app):
    result = plan([], app, override="all", config_changes={"db": "recreate"})
    assert result.build == ["api", "web"] and result.recreate == ["db"]


def test_services_all_without_a_previous_side_stays_a_full_deploy(app):
    result = plan([], app, override="all")
    assert result.full and result.recreate == ["db"]


def test_unclaimed_build_rebuilds_the_services_that_build_never_an_image_only_one(app):
    result = plan(["Makefile"], app, unclaimed="build", config_changes={})
    assert result.build == ["api", "web"] and result.recreate == [] and not result.full
    assert result.unclaimed == ["Makefile"]
    assert result.reasons["Makefile"] == "unclaimed (policy: build)"


def test_env_change_recreates_the_services_that_read_the_env_file(app):
    result = plan([], app, config_changes={}, env_readers=["api", "db"],
                  env_reason="env file changed since 0123456789ab was deployed")
    assert result.build == [] and result.recreate == ["api", "db"]
    assert "env file changed since 0123456789ab was deployed" in result.summary
    assert result.as_dict()["env_reason"] == "env file changed since 0123456789ab was deployed"


def test_no_env_change_plans_nothing(app):
    result = plan([], app, config_changes={}, env_readers=[])
    assert result.build == [] and result.recreate == []
    assert result.summary.startswith("nothing to deploy")
