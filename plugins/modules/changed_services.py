#!/usr/bin/python
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: changed_services
short_description: Decide which compose services to build, recreate or fully redeploy from a change
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - Plans a deploy of a Docker Compose project from the paths changed between the deployed commit
    (O(from_ref)) and the target (O(to_ref)), or from an explicit list of O(paths) - services to build,
    services to recreate without a build, whether a full deploy is needed, hooks to run - with a reason
    for every path.
  - The project is rendered by Compose itself (C(docker compose config --format json), with the same
    O(compose_project), O(compose_files) and O(env_file) as the app), once for each side of the change.
    Services whose rendered configuration differs between the sides are rebuilt (changed C(build)
    section) or recreated (anything else, such as an env file value or an interpolated image tag).
  - Paths that no rule claims fall back to claims derived from the rendered project - build contexts,
    dockerfiles and additional contexts (build), env files, bind-mount sources and C(configs)/C(secrets)
    files (recreate), the compose files and the project C(.env) (their effect is the comparison above).
  - Rules add to or override those claims. Every rule matching a path applies; C(exclude) removes a
    path from its own rule only. Glob syntax - C(*), C(?), C(**), C([...]), C({a,b}), anchored at
    O(project_dir).
  - Read-only. It never changes the repository, its work tree, refs or any container; it always returns
    C(changed=false).
options:
  project_dir:
    description:
      - The git work tree (or a directory inside one) holding the compose files; changed paths and globs
        are relative to it.
    type: path
    required: true
  compose_project:
    description: The compose project name (C(docker compose -p)), as the app runs with it.
    type: str
    required: true
  compose_files:
    description:
      - Compose files (C(-f)), relative to the rendered directory or absolute.
      - Default is what C(docker compose) picks without C(-f) - the first of C(compose.yaml),
        C(compose.yml), C(docker-compose.yaml), C(docker-compose.yml), plus its C(.override) file.
    type: list
    elements: str
    default: []
  env_file:
    description:
      - The env file passed as C(--env-file) to every rendering, as the app runs with it. An absolute path.
    type: path
  environment:
    description:
      - Variables added to the environment of C(docker compose config), for C(${VAR}) interpolation.
      - Each side also gets C(BERTH_COMMIT) (its commit), C(BERTH_SHORT_SHA) (the first 12 characters)
        and C(BERTH_REF) (O(from_ref) or O(to_ref) as given), overriding values given here.
      - Not secret; secrets belong in O(env_file).
    type: dict
    default: {}
  from_ref:
    description:
      - The deployed commit (any git revision). O(to_ref) may be ahead of it (a deploy) or behind it
        (a rollback). Omitted, unknown, or on another line of history than O(to_ref) means a full deploy,
        with the reason in RV(full_reasons).
    type: str
  to_ref:
    description: The revision to deploy.
    type: str
    default: HEAD
  from_dir:
    description:
      - A directory holding the tree of O(from_ref), such as its release directory, rendered as the from
        side. Default is a temporary export of the commit.
    type: path
  to_dir:
    description:
      - A directory holding the tree of O(to_ref), rendered as the to side. Default is a temporary export
        of the commit.
    type: path
  paths:
    description:
      - The changed paths, given instead of asking git. The work tree (O(project_dir)) is rendered once;
        with no previous side to compare, a changed compose file or project C(.env) means a full deploy.
    type: list
    elements: str
  services:
    description:
      - Operator override - a list, a comma-separated string or C(all). Named services with a build
        section are built, the others recreated; C(all) is a full deploy. An unknown name fails,
        listing the services of the project.
      - RV(reasons), RV(unclaimed) and RV(hooks) are still computed, and O(unclaimed=fail) does not fail.
    type: raw
  rules:
    description: Ordered rules; every rule that matches a path applies.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: A label used in RV(reasons) instead of C(rule N (globs)).
        type: str
      paths:
        description: Globs (a string or a list); the rule claims a path matching any of them.
        type: raw
        required: true
      exclude:
        description: Globs removing paths from this rule only (a string or a list).
        type: raw
      build:
        description: Services to build and recreate - a list, a comma string or C(all) (every service with a build).
        type: raw
      recreate:
        description: Services to recreate without a build - a list, a comma string or C(all).
        type: raw
      full:
        description: The path needs a full deploy.
        type: bool
        default: false
      hooks:
        description: Hook names the deploy runs after the services are up (a string or a list).
        type: raw
      ignore:
        description: The path needs nothing; it is reported as ignored, not unclaimed. Cannot be combined with an action.
        type: bool
        default: false
  unclaimed:
    description:
      - What a path claimed by no rule and no compose default means. V(ignore) reports it in RV(unclaimed);
        V(build) rebuilds (and so recreates) every service that builds from a context, never an image-only one;
        V(full) makes the plan a full deploy; V(fail) fails the task listing the paths (the plan is still returned).
    type: str
    choices: [ignore, build, full, fail]
    default: ignore
  use_compose_defaults:
    description: Derive claims from the rendered project. With V(false) only O(rules) claim paths.
    type: bool
    default: true
extends_documentation_fragment:
  - berth.compose.attributes
  - berth.compose.attributes.read_only
requirements:
  - git
  - Docker CLI with the Compose v2 plugin (C(docker compose config --format json))
notes:
  - The rendered configuration holds the env file's values; it is never returned, logged or written.
    Services are compared by hashes of it, with the rendering directory replaced by a placeholder.
  - A temporary export of a commit gets a C(.env) link to O(env_file) when it has none, as release
    directories do, so both sides render alike.
  - Services in inactive profiles are not rendered, so they are neither claimed nor planned.
  - A service whose image name changes (for example C(app-web:${BERTH_SHORT_SHA})) is listed under
    RV(recreate) unless its C(build) section changed; the deploy provides that image.
  - A full deploy lists every service with a build section in RV(build) and every other one in RV(recreate).
  - Lists are sorted, except RV(hooks), which keeps rule order. The reasoning behind every-match rules and
    C(exclude) is in the collection's C(docs/decisions.md).
seealso:
  - module: berth.compose.health_gate
"""

EXAMPLES = r"""
- name: Plan the deploy from the recorded commit to the fetched target
  berth.compose.changed_services:
    project_dir: /opt/app/repo
    compose_project: app
    compose_files: [compose.yaml]
    env_file: /opt/app/shared/.env
    from_ref: "{{ deployed_commit | default(omit) }}"
    to_ref: origin/main
  register: plan

- name: Plan between two existing release directories, with a hand-written table of rules
  berth.compose.changed_services:
    project_dir: /opt/app/repo
    compose_project: app
    compose_files: [docker-compose.prod.yml]
    env_file: /opt/app/shared/.env
    from_ref: "{{ deployed_commit }}"
    from_dir: "/opt/app/releases/{{ deployed_commit }}"
    to_ref: "{{ target_commit }}"
    to_dir: "/opt/app/releases/{{ target_commit }}"
    rules:
      - paths: ["dashboard/**"]
        exclude: ["dashboard/**/*.md"]
        build: [web]
      - paths: ["docker-compose.prod.yml", ".env"]
        recreate: all
      - name: metrics definitions
        paths: ["db/metrics/**"]
        full: true
        hooks: [compute_metrics, refresh_benchmarks]
      - paths: ["docs/**", "*.md"]
        ignore: true
    unclaimed: full
  register: plan

- name: Plan for explicit paths; overlapping rules both apply, so api/shared/x.py builds api and worker
  berth.compose.changed_services:
    project_dir: /opt/app/repo
    compose_project: app
    paths: [api/shared/x.py]
    rules:
      - {paths: "api/**", build: api}
      - {paths: "api/shared/**", build: worker}

- name: Operator override, whatever changed
  berth.compose.changed_services:
    project_dir: /opt/app/repo
    compose_project: app
    paths: []
    services: web,api
  register: plan

- name: Build and recreate only what changed
  ansible.builtin.command:
    argv: [docker, compose, -p, app, up, -d, --build, --no-deps, "{{ item }}"]
    chdir: /opt/app/repo
  loop: "{{ plan.build }}"
  when: not plan.full
  changed_when: true
"""

RETURN = r"""
build:
  description: Services to build and recreate, sorted. With RV(full), every service that has a build section.
  returned: success
  type: list
  elements: str
  sample: [web]
recreate:
  description:
    - Services to recreate without a build, sorted, never repeating one from RV(build).
      With RV(full), every service without a build section.
  returned: success
  type: list
  elements: str
  sample: [caddy, worker]
full:
  description: Whether a full deploy is needed (every buildable service rebuilt, everything recreated).
  returned: success
  type: bool
  sample: false
full_reasons:
  description: Why the plan is a full deploy (at most 20 entries, then a count). Empty when RV(full) is false.
  returned: success
  type: list
  elements: str
  sample: ["from_ref 'abc123' is not in the repository (history rewritten or shallow clone?)"]
hooks:
  description: Hooks named by the rules that claimed a changed path, in rule order, de-duplicated.
  returned: success
  type: list
  elements: str
  sample: [compute_metrics, refresh_benchmarks]
unclaimed:
  description: Changed paths claimed by no rule and no compose default, sorted.
  returned: success
  type: list
  elements: str
  sample: [tools/new-script.sh]
reasons:
  description: For every changed path, what claimed it and what it asks for.
  returned: success
  type: dict
  sample:
    dashboard/app.js: "rule 1 (dashboard/**): build web"
    compose.yaml: "default: compose.yaml (input of the rendered config), rendered config changed: recreate api"
    tools/x.sh: "unclaimed (policy: ignore)"
summary:
  description: One line a person reads.
  returned: success
  type: str
  sample: "build [web], recreate [api]: 4 changed paths, 1 ignored, 1 unclaimed"
from_commit:
  description: The commit O(from_ref) resolved to, or null (paths given, or from_ref missing or unknown).
  returned: success
  type: str
  sample: 3f2a9c1d0b7e4a5f6c8d9e0f1a2b3c4d5e6f7a8b
to_commit:
  description: The commit O(to_ref) resolved to, or null when O(paths) was given.
  returned: success
  type: str
  sample: 9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b
services:
  description: Every service of the project as rendered at the to side, sorted.
  returned: success
  type: list
  elements: str
  sample: [api, caddy, web, worker]
buildable:
  description: The services of RV(services) that have a build section, sorted.
  returned: success
  type: list
  elements: str
  sample: [api, web, worker]
removed:
  description: Services rendered at the from side but not at the to side, sorted (the deploy removes them).
  returned: success
  type: list
  elements: str
  sample: [legacy]
config_changes:
  description:
    - Services whose rendered configuration differs between the two sides, with C(build), C(recreate) or
      C(removed). Empty when nothing differs or when there is no previous side (O(paths), full deploy).
  returned: success
  type: dict
  sample: {api: recreate, legacy: removed}
pending:
  description:
    - With O(services) naming services, the services the change touches that the override left out, sorted
      (they keep the older code; the deploy engine records them and its next deploy without an override picks
      them up). Empty otherwise.
  returned: success
  type: list
  elements: str
  sample: [api]
env_reason:
  description:
    - Why the services that read the env file are recreated though no path asks for it (the deploy engine found
      the env file changed since the serving release was deployed). Empty otherwise.
  returned: success
  type: str
  sample: "env file changed since 3f2a9c1d0b7e was deployed"
rebuilt_only:
  description:
    - With O(services=all) and a known from side, the services rebuilt only because all were asked for (no
      changed path or config touches them), sorted. The deploy engine recreates them only when the rebuilt
      image differs from the one their container runs. Empty otherwise.
  returned: success
  type: list
  elements: str
  sample: [worker]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils.change_plan import UnclaimedPathsError
from ansible_collections.berth.compose.plugins.module_utils.change_rules import ChangedServicesError
from ansible_collections.berth.compose.plugins.module_utils.changed_services import ChangeRequest, compute_plan
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import render_config

RULE_SPEC = dict(
    name=dict(type="str"),
    paths=dict(type="raw", required=True),
    exclude=dict(type="raw"),
    build=dict(type="raw"),
    recreate=dict(type="raw"),
    full=dict(type="bool", default=False),
    hooks=dict(type="raw"),
    ignore=dict(type="bool", default=False),
)

ARGUMENT_SPEC = dict(
    project_dir=dict(type="path", required=True),
    compose_project=dict(type="str", required=True),
    compose_files=dict(type="list", elements="str", default=[]),
    env_file=dict(type="path"),
    environment=dict(type="dict", default={}),
    from_ref=dict(type="str"),
    to_ref=dict(type="str", default="HEAD"),
    from_dir=dict(type="path"),
    to_dir=dict(type="path"),
    paths=dict(type="list", elements="str"),
    services=dict(type="raw"),
    rules=dict(type="list", elements="dict", default=[], options=RULE_SPEC),
    unclaimed=dict(type="str", choices=["ignore", "build", "full", "fail"], default="ignore"),
    use_compose_defaults=dict(type="bool", default=True),
)


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("paths", "from_ref"), ("paths", "from_dir"), ("paths", "to_dir")],
        supports_check_mode=True,
    )
    params = dict(module.params)
    request = ChangeRequest(use_defaults=params.pop("use_compose_defaults"), **params)
    try:
        plan = compute_plan(request, render=render_config)
    except UnclaimedPathsError as exc:
        module.fail_json(msg=str(exc), changed=False, **exc.plan.as_dict())
    except ChangedServicesError as exc:
        module.fail_json(msg=str(exc), changed=False)
    module.exit_json(changed=False, **plan.as_dict())


if __name__ == "__main__":
    main()
