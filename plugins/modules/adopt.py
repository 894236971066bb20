#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: adopt
short_description: Read a hand-run Compose checkout for adoption, and bring its .env into berth's env file
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - The steps of C(playbooks/adopt.yml) that are particular to adopting an app someone ran by hand with
    C(docker compose up -d) from a git checkout; the release itself is made with M(berth.compose.release).
  - O(step=plan) reads the checkout O(checkout), the Docker engine and berth's app root O(root) and changes nothing
    (also in check mode). It fails, naming what refuses the adoption, when O(checkout) is not an absolute path of
    the top directory of a git checkout, when the checkout has uncommitted changes (changed, staged or untracked
    files, each named), when a compose file of O(compose_files) is not committed there, when the checked-out commit
    is on no remote branch and no tag, when the hand-run compose project (C(COMPOSE_PROJECT_NAME) of the checkout's
    C(.env), else the compose file's top-level C(name), else the directory's basename as Compose normalizes it) is
    not O(project), when the containers started from the checkout are in another project, and when O(root) already
    has a release (C(current), a release directory or a release log record).
  - O(step=env) writes O(env_file) (mode C(0600), O(owner), O(group), atomically) with the values it already holds
    and the values of the checkout's C(.env); a key both hold gets the hand-run value, which is what serves. It
    returns key names only, never a value.
attributes:
  check_mode:
    support: full
    description: O(step=plan) reads only; O(step=env) reports the keys it would add or replace and writes nothing.
  diff_mode:
    support: none
    description: No diff; O(step=env) returns key names only, never a value.
options:
  step:
    description: V(plan) reads and refuses; V(env) writes the env file.
    type: str
    choices: [plan, env]
    required: true
  checkout:
    description: Absolute path of the hand-run git checkout (the playbook's C(-e from=)).
    type: str
    required: true
  root:
    description: berth's app root (C(berth_app_root)).
    type: path
  project:
    description: berth's compose project name (C(berth_compose_project)); must be the hand-run one.
    type: str
  compose_files:
    description: The compose files, relative to the checkout (C(berth_compose_files)).
    type: list
    elements: str
    default: [compose.yaml]
  env_file:
    description: berth's env file (C(berth_env_file)), for O(step=env).
    type: path
  owner:
    description: Owner of O(env_file).
    type: str
  group:
    description: Group of O(env_file).
    type: str
  docker:
    description: The docker CLI.
    type: str
    default: docker
extends_documentation_fragment:
  - berth.compose.attributes
seealso:
  - module: berth.compose.release
  - module: berth.compose.env_file
"""

EXAMPLES = r"""
- name: Read the hand-run checkout (refuses a dirty one)
  berth.compose.adopt:
    step: plan
    checkout: /home/ops/heartbeat-dashboard
    root: /opt/heartbeat
    project: heartbeat-dashboard
    compose_files: [docker-compose.prod.yml]
  register: adopt_plan

- name: Bring the hand-run .env values into berth's env file
  berth.compose.adopt:
    step: env
    checkout: /home/ops/heartbeat-dashboard
    env_file: /opt/heartbeat/shared/.env
    owner: deploy
    group: deploy
  no_log: true
"""

RETURN = r"""
plan:
  description: What adopting would do, one line each (O(step=plan)).
  returned: step=plan
  type: list
  elements: str
project:
  description: The hand-run compose project name.
  returned: step=plan
  type: str
project_source:
  description: Where that name comes from.
  returned: step=plan
  type: str
commit:
  description: The commit checked out in O(checkout), the first release.
  returned: step=plan
  type: str
branch:
  description: The branch checked out in O(checkout) (empty when detached).
  returned: step=plan
  type: str
origin:
  description: The URL of the checkout's C(origin) remote (empty when it has none).
  returned: step=plan
  type: str
env_keys:
  description: The keys of the checkout's C(.env) (names only).
  returned: always
  type: list
  elements: str
containers:
  description: Service to container id of the hand-run project's containers started from O(checkout).
  returned: step=plan
  type: dict
volumes:
  description: The named volumes of the hand-run project; adopting keeps them.
  returned: step=plan
  type: list
  elements: str
problems:
  description: What refuses the adoption (empty when it may go on).
  returned: step=plan
  type: list
  elements: str
added:
  description: Keys added to O(env_file).
  returned: step=env
  type: list
  elements: str
replaced:
  description: Keys of O(env_file) whose value the hand-run one replaced.
  returned: step=env
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils import adopt
from ansible_collections.berth.compose.plugins.module_utils import env_file as ef
from ansible_collections.berth.compose.plugins.module_utils import host

ARGUMENT_SPEC = dict(
    step=dict(type="str", choices=["plan", "env"], required=True),
    checkout=dict(type="str", required=True),
    root=dict(type="path"),
    project=dict(type="str"),
    compose_files=dict(type="list", elements="str", default=["compose.yaml"]),
    env_file=dict(type="path"),
    owner=dict(type="str"),
    group=dict(type="str"),
    docker=dict(type="str", default="docker"),
)


def step_plan(module):
    p = module.params
    for name in ("root", "project"):
        if not p[name]:
            module.fail_json(msg="%s is required with step=plan" % name, changed=False)
    try:
        plan = adopt.inspect(p["checkout"], p["root"], p["project"], p["compose_files"], docker=p["docker"])
    except host.CommandError as exc:
        module.fail_json(msg="cannot read %s: %s" % (p["checkout"], exc), changed=False)
    result = plan.as_dict()
    result["plan"] = plan.lines("")
    if plan.problems:
        module.fail_json(msg="Adopt refused, nothing changed: " + "; ".join(plan.problems), changed=False, **result)
    module.exit_json(changed=False, **result)


def step_env(module):
    p = module.params
    problem = adopt.path_problem(p["checkout"])
    if problem or not p["env_file"]:
        module.fail_json(msg=problem or "env_file is required with step=env", changed=False)
    try:
        with open(os.path.join(p["checkout"], ".env")) as handle:
            handrun = ef.parse(handle.read())
    except FileNotFoundError:
        handrun = {}
    except OSError as exc:
        module.fail_json(msg="cannot read %s/.env: %s" % (p["checkout"], exc.strerror), changed=False)
    try:
        uid, gid = ef.resolve_uid(p["owner"]), ef.resolve_gid(p["group"])
        state = ef.read_state(p["env_file"])
    except (ef.EnvFileError, OSError) as exc:
        module.fail_json(msg="env_file %s: %s" % (p["env_file"], exc), changed=False)
    berth = ef.parse(state.content) if state.exists and state.content else {}
    merged, added, replaced = adopt.merge_env(berth, handrun)
    plan = ef.make_plan(p["env_file"], merged, state, 0o600, uid, gid)
    if plan.changed and not module.check_mode:
        directory = os.path.dirname(p["env_file"])
        if not os.path.isdir(directory):
            module.fail_json(msg="the env file's directory %s is missing" % directory, changed=False)
        ef.apply_plan(plan, 0o600, uid, gid)
    module.exit_json(changed=plan.changed, env_keys=sorted(handrun), added=added, replaced=replaced)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if module.params["step"] == "plan":
        step_plan(module)
    step_env(module)


if __name__ == "__main__":
    main()
