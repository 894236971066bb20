#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: changed_services
short_description: Decide which compose services to build, recreate or fully redeploy from changed paths
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - Maps the paths changed between the deployed commit (O(from_ref)) and the target (O(to_ref)), or an
    explicit list of O(paths), to a deploy plan for a Docker Compose project - services to build,
    services to recreate without a build, whether a full deploy is needed, hooks to run - and gives a
    reason for every path.
  - Read-only. It runs C(git rev-parse), C(git merge-base), C(git diff) and C(git show) in O(project_dir)
    and never changes the repository, the work tree or any container. It always returns C(changed=false).
  - "B(Matching is every-match.) Each changed path is checked against B(every) rule; the actions of all
    rules that claim it are unioned. Two overlapping rules (C(api/**) -> build api and
    C(api/shared/**) -> build worker) both apply to C(api/shared/x.py). First-match would silently
    drop one of them, which is the bug an operator does not see until production runs stale code."
  - "B(Rules override defaults.) Paths that no rule claims fall back to defaults derived from the compose
    project itself (see O(use_compose_defaults)): a service with a C(build) section claims everything
    under its build context plus its dockerfile and additional contexts (-> build); its C(env_file)s,
    bind-mounted host paths and the files of its C(configs)/C(secrets) (-> recreate); the project's
    C(.env) next to the first compose file (-> recreate all, it feeds interpolation); the compose files
    (-> recreate only the services whose configuration differs between O(from_ref) and O(to_ref),
    rebuild those whose C(build) section changed). A path claimed by a rule, even by an C(ignore) rule,
    never consults the defaults."
  - "B(Globs) are anchored at O(project_dir) and C(/)-separated. C(*) and C(?) never cross C(/);
    C(**) as a whole segment matches zero or more directories (C(dashboard/**) is everything below
    C(dashboard), C(**/*.md) is any Markdown file, C(*.md) only top-level ones); C([a-z]), C([!a-z]),
    C({a,b}) and C(\\) escapes work; a trailing C(/) means the whole directory; dotfiles match like any
    other file. A malformed glob (unclosed C([) or C({), C(**) glued to other characters, a leading C(!))
    fails the task."
  - "B(exclude really excludes.) A rule claims a path when one of its C(paths) matches and none of its
    C(exclude) globs does; order inside the lists does not matter. This avoids the well-known trap of
    C(!pattern) lines in path filters, where negations are evaluated line by line (a later positive line
    re-includes the path) or, in some tools, ORed with the other lines so that C(!docs/**) matches every
    path outside docs. Exclusion is per rule, not global: an excluded path can still be claimed by
    another rule, and when no rule claims it the compose defaults apply (a Markdown file inside the web
    build context still rebuilds web, because it is part of the image). To make such a path need nothing,
    write an C(ignore) rule for it. The reason then says which rule excluded it."
  - "B(Actions) of a rule: C(build) (services to rebuild and recreate), C(restart) (recreate without a
    build), C(full: true) (every service with a build is rebuilt and every service recreated), C(hooks)
    (names the deploy runs afterwards; returned in rule order, de-duplicated, since hooks often depend on
    each other), C(ignore: true) (the path needs nothing and is not unclaimed; an ignore rule never cancels
    another rule's action - to skip C(frontend/README.md) while C(frontend/**) builds frontend, exclude
    C(**/*.md) from the frontend rule and let the ignore rule claim it). C(build)/C(restart)
    accept a list, a comma-separated string or C(all). A service named in C(build) that has no C(build)
    section is recreated instead. A service both built and recreated is listed only under RV(build).
    A rule needs C(paths) and at least one action; C(ignore) cannot be combined with other actions."
  - "B(Git.) Renames count both the old and the new path; deletions count like any change; a merge
    commit is handled by diffing the two commits (C(git diff from to)), not by walking history. When
    O(from_ref) is omitted, unknown to the repository (shallow clone, rewritten history) or not an
    ancestor of O(to_ref) (force-push, moving backwards), nobody can tell what changed, so the plan is a
    full deploy with that reason in RV(full_reasons), and every hook named in any rule is returned."
  - "B(full) replaces the service lists: RV(build) becomes every service with a build section and
    RV(restart) every other service, so a caller can always use the two lists directly."
options:
  project_dir:
    description:
      - The git work tree (or a directory inside one) holding the compose files. Changed paths,
        globs and compose paths are all relative to it.
    type: path
    required: true
  compose_files:
    description:
      - Compose files relative to O(project_dir), merged in order like repeated C(docker compose -f).
      - Default is what C(docker compose) picks without C(-f) - the first of C(compose.yaml), C(compose.yml),
        C(docker-compose.yaml), C(docker-compose.yml), plus its C(*.override.*) file when present.
      - With refs, the files are read at O(to_ref) (and at O(from_ref) for the comparison), not from the
        work tree, so the module can plan before the checkout moves.
    type: list
    elements: str
    default: []
  from_ref:
    description:
      - The deployed commit (any git revision). Omitted, unknown or not an ancestor of O(to_ref) means a
        full deploy, with the reason returned.
      - Mutually exclusive with O(paths).
    type: str
  to_ref:
    description:
      - The revision to deploy.
    type: str
    default: HEAD
  paths:
    description:
      - The changed paths, given instead of asking git. Compose files are then read from the work tree,
        and a changed compose file means a full deploy because its previous version is unknown.
      - Mutually exclusive with O(from_ref).
    type: list
    elements: str
  services:
    description:
      - Operator override, a list, a comma-separated string or C(all). Explicit names win over the
        computed lists - named services with a build section are built, the others recreated; C(all) is
        a full deploy. An unknown name fails the task, listing the valid ones.
      - RV(reasons), RV(unclaimed) and RV(hooks) are still computed from the paths, but O(unclaimed=fail)
        does not fail, because the operator chose the services.
    type: raw
  rules:
    description:
      - Ordered rules. Every rule that matches a path applies (every-match, see above).
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
        description: Services to build and recreate; a list, a comma string or C(all) (every service with a build).
        type: raw
      restart:
        description: Services to recreate without a build; a list, a comma string or C(all).
        type: raw
      full:
        description: The path needs a full deploy.
        type: bool
        default: false
      hooks:
        description: Hook names the deploy runs after the services are up (a string or a list).
        type: raw
      ignore:
        description: The path needs nothing; it is reported as ignored, not unclaimed.
        type: bool
        default: false
  unclaimed:
    description:
      - What a path claimed by no rule and no compose default means.
      - V(ignore) reports it in RV(unclaimed) and RV(reasons) and does nothing; V(full) makes the plan a full
        deploy; V(fail) fails the task listing the paths (the plan is still returned).
    type: str
    choices: [ignore, full, fail]
    default: ignore
  use_compose_defaults:
    description:
      - Derive default claims from the compose project (build contexts, dockerfiles, env_files, bind
        mounts, configs/secrets files, the project C(.env), the compose files). With V(false) only
        O(rules) claim paths.
    type: bool
    default: true
  variables:
    description:
      - Values for C(${VAR}) interpolation in compose paths. Unset variables use the C(${VAR:-default})
        or C(${VAR-default}) default, or become empty as in C(docker compose).
      - Only path-related variables are needed; do not pass secrets, the values are not hidden.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode returns the same plan.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Runs where the git work tree is, usually the VM; needs the git command there.
requirements:
  - git
  - PyYAML (python3-yaml)
notes:
  - The module never runs C(docker compose config); it compares the parsed YAML, with top-level networks,
    volumes, configs and secrets a service refers to counted as part of that service.
  - Outputs are deterministic. All lists are sorted, except RV(hooks), which keeps rule order.
"""

EXAMPLES = r"""
- name: Plan the deploy from the recorded commit to the fetched target
  berth.compose.changed_services:
    project_dir: /opt/app/repo
    compose_files: [compose.yaml]
    from_ref: "{{ deployed_commit | default(omit) }}"
    to_ref: origin/main
    unclaimed: ignore
  register: plan

# The practice of a hand-written "what to rebuild" table, as rules.
# dashboard/README.md: excluded from rule 1; no other rule claims it, so the compose default applies
# (it is inside web's build context) - add it to the ignore rule if it really needs nothing.
- name: Plan with explicit rules
  berth.compose.changed_services:
    project_dir: /opt/app/repo
    compose_files: [docker-compose.prod.yml]
    from_ref: "{{ deployed_commit }}"
    to_ref: HEAD
    rules:
      - paths: ["dashboard/**"]
        exclude: ["dashboard/**/*.md"]
        build: [web]
      - paths: ["api/**"]
        build: api
      - paths: ["docker-compose.prod.yml", ".env"]
        restart: all          # up -d without --build
      - name: metrics definitions
        paths: ["db/metrics/**"]
        full: true
        hooks: [compute_metrics, refresh_benchmarks]
      - paths: ["docs/**", "*.md"]
        ignore: true
    unclaimed: full           # a path nobody thought about redeploys everything
  register: plan

# Overlapping rules both apply (every-match): api/shared/x.py builds api AND worker.
- name: Plan for shared code used by two services
  berth.compose.changed_services:
    project_dir: /opt/app/repo
    paths: [api/shared/x.py]
    rules:
      - paths: "api/**"
        build: api
      - paths: "api/shared/**"
        build: worker

# Surfaces: frontend-only, backend-only, full, docs-only skip.
- name: Plan by release surface
  berth.compose.changed_services:
    project_dir: /opt/app/repo
    from_ref: "{{ deployed_commit }}"
    rules:
      - {paths: "frontend/**", build: frontend}
      - {paths: "backend/**", build: backend}
      - {paths: [".env.production.example", "docker-compose.prod.yml"], full: true}
      - {paths: ["docs/**", "**/*.md"], ignore: true}
    unclaimed: fail           # make the author add a rule for new top-level paths

- name: Operator override, whatever changed
  berth.compose.changed_services:
    project_dir: /opt/app/repo
    paths: []
    services: web,api         # or [web, api], or all
  register: plan

- name: Show the plan
  ansible.builtin.debug:
    msg: "{{ plan.summary }}"

- name: Build and recreate only what changed
  ansible.builtin.command:
    cmd: "docker compose up -d --build --no-deps {{ plan.build | join(' ') }}"
    chdir: /opt/app/repo
  when: plan.build | length > 0 and not plan.full
  changed_when: true
"""

RETURN = r"""
build:
  description: Services to build and recreate, sorted. With RV(full), every service that has a build section.
  returned: success
  type: list
  elements: str
  sample: [web]
restart:
  description:
    - Services to recreate without a build, sorted, never repeating a service from RV(build).
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
  description: For every changed path, what claimed it and what it asks for (rules joined with C(; )).
  returned: success
  type: dict
  sample:
    dashboard/app.js: "rule 1 (dashboard/**): build web"
    compose.yaml: "default: compose file, service config changed: recreate api"
    docs/intro.md: "rule 5 (docs/**, *.md): ignore"
    tools/x.sh: "unclaimed (policy: ignore)"
summary:
  description: One line a person reads.
  returned: success
  type: str
  sample: "build [web], recreate [api]: 4 changed paths, 1 ignored, 1 unclaimed"
from_commit:
  description: The commit O(from_ref) resolved to, or null (paths given, or from_ref missing/unknown).
  returned: success
  type: str
  sample: 3f2a9c1d0b7e4a5f6c8d9e0f1a2b3c4d5e6f7a8b
to_commit:
  description: The commit O(to_ref) resolved to, or null when O(paths) was given.
  returned: success
  type: str
  sample: 9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils.changed_services import (
    ChangedServicesError,
    UnclaimedPathsError,
    compute_plan,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type="path", required=True),
            compose_files=dict(type="list", elements="str", default=[]),
            from_ref=dict(type="str"),
            to_ref=dict(type="str", default="HEAD"),
            paths=dict(type="list", elements="str"),
            services=dict(type="raw"),
            rules=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str"),
                paths=dict(type="raw", required=True),
                exclude=dict(type="raw"),
                build=dict(type="raw"),
                restart=dict(type="raw"),
                full=dict(type="bool", default=False),
                hooks=dict(type="raw"),
                ignore=dict(type="bool", default=False),
            )),
            unclaimed=dict(type="str", choices=["ignore", "full", "fail"], default="ignore"),
            use_compose_defaults=dict(type="bool", default=True),
            variables=dict(type="dict", default={}),
        ),
        mutually_exclusive=[("from_ref", "paths")],
        supports_check_mode=True,
    )
    p = module.params
    try:
        plan = compute_plan(
            p["project_dir"], compose_files=p["compose_files"], from_ref=p["from_ref"], to_ref=p["to_ref"],
            paths=p["paths"], services=p["services"], rules=p["rules"], unclaimed=p["unclaimed"],
            use_defaults=p["use_compose_defaults"], variables=p["variables"])
    except UnclaimedPathsError as exc:
        module.fail_json(msg=str(exc), changed=False, **exc.plan.as_dict())
    except ChangedServicesError as exc:
        module.fail_json(msg=str(exc), changed=False)
    module.exit_json(changed=False, **plan.as_dict())


if __name__ == "__main__":
    main()
