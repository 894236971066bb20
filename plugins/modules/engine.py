#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: engine
short_description: Deploy or roll back the app in one call - lock, plan, build, migrate, cut over, gate, record
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - Runs one deploy or rollback of the compose app under O(root) as a single process on the host, in this order -
    lock, preflight, plan, prepare (build, pull), migrations, hooks before, cutover, hooks after, health gate and
    soak, record, prune. A failed cutover or gate switches back to the release that served and gates it again.
  - The old container of each O(zero_downtime) service keeps running, as Caddy's standby, until the gate and the
    soak passed; a failure in either puts Caddy back on it at once (nothing rebuilt or recreated).
  - The deploy lock C(<root>/.berth/deploy.lock) is held by this process for its whole run and released however it
    ends.
  - Started as root, the module reads the C(ca_path) files of O(probes), then works as O(run_as).
  - Returns the plan, the summary and the release-log record as data; the playbooks print them.
  - The record's C(operator) is O(operator); the action plugin fills it in, when not given, from the controller's
    C(BERTH_OPERATOR), C(GITHUB_ACTOR) or C(GITLAB_USER_LOGIN) (environment), AWX's C(awx_user_name) (a variable),
    in that order, else the login user.
  - Design and reasons are in C(docs/decisions.md) of the collection.
options:
  kind:
    description: V(deploy) moves to O(ref); V(rollback) goes back to O(ref), or the last good release before the
      serving one with V(previous), and pins it.
    type: str
    choices: [deploy, rollback]
    default: deploy
  root:
    description: The app root (C(repo/), C(releases/), C(current), C(releases.jsonl)).
    type: path
    required: true
  app_name:
    description: The app's name (C(berth_app_name)); with it, the app-wide settings and O(root) are checked first, as
      M(berth.compose.app_settings) does.
    type: str
  deploy_group:
    description: Group of O(run_as), for the settings check.
    type: str
  ref:
    description: Branch, tag or commit; V(previous) with O(kind=rollback).
    type: str
    required: true
  service:
    description:
      - Services to deploy (a name, a comma-separated list or V(all)); default what the changed paths need, plus
        the services that read the env file when it changed since the serving release was deployed (each release
        keeps the env file's SHA-256 in C(.berth/env.sha256)).
      - V(all) rebuilds every service that builds and recreates a rebuilt one only when its image changed, an
        image-only one only when its config changed; on a host with no release yet it deploys everything.
    type: raw
  auto_rollback:
    description: Switch back to the release that served when the cutover or the gate fails.
    type: bool
    default: true
  lock_wait:
    description: Seconds to wait for a held deploy lock.
    type: int
    default: 60
  run_as:
    description: User that owns the releases; started as root, the module works as this user.
    type: str
  project:
    description: Compose project name.
    type: str
    required: true
  compose_files:
    description: Compose files, relative to the release directory.
    type: list
    elements: str
    default: [compose.yaml]
  env_file:
    description: The app's env file.
    type: path
    required: true
  env_template:
    description: File in the repository listing the env keys the release needs; empty to skip the audit.
    type: str
    default: .env.example
  env_optional:
    description: Keys of O(env_template) the env file may lack.
    type: list
    elements: str
    default: []
  min_free_mb:
    description: Free megabytes under O(root) the preflight requires.
    type: int
    default: 512
  repo_ssh_key:
    description: Private deploy key for C(git fetch).
    type: str
  repo_known_hosts:
    description: Pinned known_hosts lines of the git server.
    type: str
  change_rules:
    description: Rules mapping changed paths to services (the C(rules) of M(berth.compose.changed_services)).
    type: list
    elements: dict
    default: []
  unclaimed:
    description:
      - What a changed path no rule or service claims does. V(build) rebuilds and recreates the services that
        build from a context, never an image-only one (a database from a registry image); V(ignore) only reports
        it; V(full) deploys everything; V(fail) refuses the deploy.
    type: str
    choices: [ignore, build, full, fail]
    default: build
  one_shot:
    description: One-shot services (migrations) run before cutover when they change.
    type: list
    elements: str
    default: []
  hooks:
    description:
      - Hook name to one step or a list of steps C({service, command, mode, when}); C(command) a non-empty list of
        strings, C(mode) V(exec) or V(run), C(when) V(before) or V(after). Anything else is refused before the lock.
    type: dict
    default: {}
  backups:
    description:
      - The database backups (C(berth_backups)), as module M(berth.compose.backup) takes them.
    type: list
    elements: dict
    default: []
  backup_before_migrate:
    description:
      - When the plan migrates and a release serves, dump every backup of O(backups) with the serving release first
        (C(berth_backup_before_migrate)); a failed dump stops the deploy before the migration. The plan shows it and
        the record's C(backups) names the files.
    type: bool
    default: true
  restart_guards:
    description:
      - Service to C({command, wait, on_busy}) run before it is recreated; C(command) a non-empty list of strings,
        C(wait) seconds (0 or more), C(on_busy) V(defer) or V(fail). Anything else is refused before the lock.
    type: dict
    default: {}
  zero_downtime:
    description: Services cut over without a gap behind Caddy.
    type: list
    elements: str
    default: []
  caddyfile:
    description: Caddyfile reloaded on a zero-downtime cutover.
    type: path
    default: /etc/caddy/Caddyfile
  caddy_sites:
    description: The Caddy sites (C(caddy_sites)); a port published on all addresses that no site fronts is warned
      about.
    type: list
    elements: dict
    default: []
  gate_soak:
    description: Seconds the gated containers must then stay up.
    type: float
    default: 5
  log_lines:
    description: Log lines returned with a failure.
    type: int
    default: 20
  keep_releases:
    description: Release directories kept by the prune.
    type: int
    default: 5
  registry_login:
    description: C({registry, username, password}) to log in before pulling.
    type: dict
    default: {}
  note:
    description:
      - Why this deploy or rollback runs (C(-e note=...)), kept in the record's C(note) and sent to the webhooks.
      - One line of at most 200 characters; anything else is refused before the lock.
    type: str
  job_url:
    description:
      - The CI job that runs this, kept in the record's C(job_url) and linked in the notifications.
      - The action plugin fills it in from the controller's environment when it is not given - GitHub Actions'
        C($GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID), else GitLab's C($CI_JOB_URL).
      - One http:// or https:// URL of at most 500 characters.
    type: str
extends_documentation_fragment:
  - berth.compose.attributes
  - berth.compose.run.lock
  - berth.compose.run.gate
  - berth.compose.run.probes
  - berth.compose.run.smoke
attributes:
  check_mode:
    support: full
    description: Fetches, plans and returns the plan; changes nothing else.
  diff_mode:
    support: none
    description: The plan is returned in RV(plan).
"""

EXAMPLES = r"""
- name: Deploy v1.4.2
  berth.compose.engine:
    root: /opt/shop
    ref: v1.4.2
    project: shop
    env_file: /opt/shop/shared/.env
    run_as: deploy

- name: Roll back to the last good release
  berth.compose.engine:
    kind: rollback
    root: /opt/shop
    ref: previous
    project: shop
    env_file: /opt/shop/shared/.env
    note: "v1.5.0 500s on checkout, INC-42"
"""

RETURN = r"""
plan:
  description: The plan, one line each.
  returned: always
  type: list
  elements: str
summary:
  description: The summary of the run, one line each.
  returned: when a record was written
  type: list
  elements: str
record:
  description: The release-log record written.
  returned: when a record was written
  type: dict
outcome:
  description: V(ok), V(rolled_back), V(failed) or V(hook_failed).
  returned: when a record was written
  type: str
from_commit:
  description: Commit that served before.
  returned: after the preflight
  type: str
to_commit:
  description: Commit of O(ref).
  returned: after the preflight
  type: str
"""

import os
import pwd
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils.app_settings import (
    Settings,
    check_app_root,
    check_settings,
    guard_problems,
    hook_problems,
)
from ansible_collections.berth.compose.plugins.module_utils.deployer import Deployer
from ansible_collections.berth.compose.plugins.module_utils.engine_record import note_problems
from ansible_collections.berth.compose.plugins.module_utils.health_gate import PROBE_OPTIONS, ProbeSpec
from ansible_collections.berth.compose.plugins.module_utils.redact import hide_probe_secrets
from ansible_collections.berth.compose.plugins.module_utils.run_as import in_child_as
from ansible_collections.berth.compose.plugins.module_utils.redact import Redactor
from ansible_collections.berth.compose.plugins.module_utils import smoke

ARGUMENT_SPEC = dict(
    kind=dict(type="str", choices=["deploy", "rollback"], default="deploy"),
    root=dict(type="path", required=True),
    app_name=dict(type="str"),
    deploy_group=dict(type="str"),
    ref=dict(type="str", required=True),
    service=dict(type="raw"),
    auto_rollback=dict(type="bool", default=True),
    force_unlock=dict(type="bool", default=False),
    lock_wait=dict(type="int", default=60),
    lock_ttl=dict(type="int", default=1800),
    operator=dict(type="str"),
    controller=dict(type="str"),
    run_as=dict(type="str"),
    project=dict(type="str", required=True),
    compose_files=dict(type="list", elements="str", default=["compose.yaml"]),
    env_file=dict(type="path", required=True),
    env_template=dict(type="str", default=".env.example"),
    env_optional=dict(type="list", elements="str", default=[]),
    min_free_mb=dict(type="int", default=512),
    repo_ssh_key=dict(type="str", no_log=True),
    repo_known_hosts=dict(type="str"),
    change_rules=dict(type="list", elements="dict", default=[]),
    unclaimed=dict(type="str", choices=["ignore", "build", "full", "fail"], default="build"),
    one_shot=dict(type="list", elements="str", default=[]),
    hooks=dict(type="dict", default={}),
    backups=dict(type="list", elements="dict", default=[]),
    backup_before_migrate=dict(type="bool", default=True),
    restart_guards=dict(type="dict", default={}),
    zero_downtime=dict(type="list", elements="str", default=[]),
    caddyfile=dict(type="path", default="/etc/caddy/Caddyfile"),
    caddy_sites=dict(type="list", elements="dict", default=[]),
    probes=dict(type="list", elements="dict", default=[], options=PROBE_OPTIONS),
    health_timeout=dict(type="float", default=120),
    gate_soak=dict(type="float", default=5),
    log_lines=dict(type="int", default=20),
    keep_releases=dict(type="int", default=5),
    registry_login=dict(type="dict", default={}, no_log=True),
    note=dict(type="str"),
    job_url=dict(type="str"),
    smoke=dict(type="list", elements="dict", default=[], options=smoke.STEP_OPTIONS),
    smoke_enabled=dict(type="bool", default=True),
    preflight_checks=dict(type="list", elements="dict", default=[], options=smoke.STEP_OPTIONS),
    log_expect=dict(type="list", elements="dict", default=[], options=smoke.LOG_EXPECT_OPTIONS),
)


def service_names(service):
    """The names in ``service`` (a name, 'a,b', a list, or 'all'), for the name check."""
    if service is None:
        return []
    names = service.split(",") if isinstance(service, str) else list(service)
    return [n.strip() if isinstance(n, str) else n for n in names if n != "all"]


def settings_problem(module, p):
    """The app-wide settings check of the app role, run here so a deploy makes one remote call."""
    settings = Settings(app_name=p["app_name"], app_root=p["root"], compose_project=p["project"],
                        compose_files=p["compose_files"], env_file=p["env_file"], deploy_user=p["run_as"] or "",
                        deploy_group=p["deploy_group"] or p["run_as"] or "")
    problems = check_settings(settings)
    if not problems:
        try:
            root = check_app_root(settings.app_root, settings.app_name)
        except OSError as exc:
            module.fail_json(msg="Cannot inspect berth_app_root=%r: %s" % (settings.app_root, exc), changed=False)
        if root.problem:
            problems.append(root.problem)
    if problems:
        module.fail_json(msg="Refusing the app-wide settings, nothing was changed:\n" + "\n".join(problems),
                         problems=problems, changed=False)


def option_problems(p):
    """What the release module would refuse, plus this module's own options."""
    problems = [m for m in rel.option_problems(dict(
        root=p["root"], ref=p["ref"], project=p["project"], compose_files=p["compose_files"],
        env_template=p["env_template"], zero_downtime=p["zero_downtime"], one_shot=p["one_shot"],
        guards=p["restart_guards"], services=service_names(p["service"]), gate_timeout=p["health_timeout"])) if m]
    # berth_hooks and berth_restart_guards, judged as the app role's settings check judges them.
    problems += hook_problems(p["hooks"]) + guard_problems(p["restart_guards"])
    for probe in p["probes"]:
        try:
            ProbeSpec.from_dict(probe)
        except ValueError as exc:
            problems.append("probes: %s" % exc)
    for name in ("lock_wait", "keep_releases", "log_lines", "min_free_mb"):
        if p[name] < 0:
            problems.append("%s must not be negative, got %d" % (name, p[name]))
    if p["health_timeout"] <= 0:
        problems.append("health_timeout must be positive, got %s" % p["health_timeout"])
    if p["gate_soak"] < 0:
        problems.append("gate_soak must not be negative, got %s" % p["gate_soak"])
    problems += note_problems(p["note"], p["job_url"])
    problems += smoke.problems(p["smoke"], p["preflight_checks"], p["log_expect"])
    login = p["registry_login"]
    if login and not (login.get("username") and login.get("password")):
        problems.append("registry_login needs username and password")
    return sorted(set(problems), key=problems.index)


def ca_copies(user, probes):
    """Copy the probes' CA files (root may be the only reader) where ``user`` reads them; the directory."""
    entry = pwd.getpwnam(user)
    copies = tempfile.mkdtemp(prefix="berth-ca-")
    for index, probe in enumerate(probes):
        if probe.get("ca_path"):
            copy = os.path.join(copies, "ca-%d.pem" % index)
            shutil.copyfile(probe["ca_path"], copy)
            os.chmod(copy, 0o644)
            probe["ca_path"] = copy
    os.chown(copies, entry.pw_uid, entry.pw_gid)
    return copies


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    hide_probe_secrets(module)
    module.no_log_values.update(Redactor(smoke.step_secrets(
        list(module.params["smoke"]) + list(module.params["preflight_checks"]))).secrets())
    p = dict(module.params)
    if p["app_name"]:
        settings_problem(module, p)
    problems = option_problems(p)
    if problems:
        module.fail_json(msg="Refused options, nothing changed: " + "; ".join(problems), changed=False)
    user = p["run_as"] if p["run_as"] and os.geteuid() == 0 else None
    if user:
        try:
            pwd.getpwnam(user)
        except KeyError:
            module.fail_json(msg="run_as %r: no such user on the host" % user, changed=False)
    copies = None
    try:
        if user:
            copies = ca_copies(user, p["probes"])
            result = in_child_as(user, lambda: Deployer(p, check_mode=module.check_mode).run())
        else:
            result = Deployer(p, check_mode=module.check_mode).run()
    except OSError as exc:
        module.fail_json(msg="cannot read the probes' CA files or become %s: %s" % (user, exc), changed=False)
    finally:
        if copies:
            shutil.rmtree(copies, ignore_errors=True)
    result.pop("planned", None)
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
