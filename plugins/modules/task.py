#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: task
short_description: Run a one-off command in a service of the release that serves now
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - Runs O(command) in a new container of O(service) of the release C(<root>/current) points at, with that
    release's compose project (its C(.berth/images.yml), the env file, C(BERTH_REF), C(BERTH_COMMIT),
    C(BERTH_SHORT_SHA)) - C(docker compose run --no-deps --name <unique> --label berth.compose.task=<service>).
  - Takes the deploy lock C(<root>/.berth/deploy.lock), held by this process - for the whole run when attached, only
    while it starts when detached.
  - Attached (the default) it adds C(--rm -T) and returns the exit code and the output; a non-zero exit is returned
    in RV(exit_code), not a failure. With O(detach=true) it adds C(-d) and no C(--rm), and returns the container's
    name and how to follow it.
  - Appends one C(kind=task) record to C(<root>/releases.jsonl) (not in check mode) and returns it in RV(record).
  - Nothing starts when the service or the command is refused, the lock is held, or no release serves yet.
  - Design and reasons are in C(docs/decisions.md) of the collection.
options:
  root:
    description: The app root (C(berth_app_root)).
    type: path
    required: true
  project:
    description: Compose project name (C(berth_compose_project)).
    type: str
    required: true
  compose_files:
    description: Compose files, relative to the release directory.
    type: list
    elements: str
    default: [compose.yaml]
  env_file:
    description: The shared env file (C(berth_env_file)).
    type: path
    required: true
  service:
    description: The service whose image, env file, volumes and networks the command runs with.
    type: str
    required: true
  command:
    description:
      - A string runs under C(sh -c) in the container (the image needs a C(sh)); a list is the argv, no shell.
    type: raw
    required: true
  detach:
    description: Start it in the background and return at once (for hours-long jobs).
    type: bool
    default: false
  log_lines:
    description: Lines of an attached command's output to return, the last ones; V(0) returns all.
    type: int
    default: 0
  timeout:
    description: Seconds an attached command may run before it is stopped and reported as failed (V(0) - no limit).
    type: int
    default: 0
  lock_wait:
    description: Seconds to wait for a held deploy lock.
    type: int
    default: 60
  docker:
    description: The docker CLI.
    type: str
    default: docker
extends_documentation_fragment:
  - berth.compose.attributes
  - berth.compose.run.lock
attributes:
  check_mode:
    support: full
    description: Resolves the release and checks the service and the command; runs and records nothing.
  diff_mode:
    support: none
    description: A task changes no file; the result says what ran.
requirements:
  - the docker CLI with the Compose v2 plugin on the host
notes:
  - Run it as the deploy user (member of the C(docker) group).
seealso:
  - module: berth.compose.engine
  - module: berth.compose.release_log
"""

EXAMPLES = r"""
- name: Seed the database with the api's code and settings
  berth.compose.task:
    root: /opt/shop
    project: shop
    env_file: /opt/shop/shared/.env
    service: api
    command: ./manage.py seed
  register: task

- name: Start the long backfill in the background
  berth.compose.task:
    root: /opt/shop
    project: shop
    env_file: /opt/shop/shared/.env
    service: worker
    command: [./backfill, --all]
    detach: true
"""

RETURN = r"""
commit:
  description: The commit of the release the command ran with.
  returned: success
  type: str
  sample: 2f6e8a1d3c5b7a9e0f1d2c3b4a5e6f7a8b9c0d1e
ref:
  description: The ref that release was deployed as (its C(BERTH_REF)).
  returned: success
  type: str
  sample: v1.4.2
release_dir:
  description: The release directory the command ran in.
  returned: success
  type: str
  sample: /opt/shop/releases/2f6e8a1d3c5b7a9e0f1d2c3b4a5e6f7a8b9c0d1e
argv:
  description: The command as it runs in the container.
  returned: success
  type: list
  elements: str
  sample: [sh, -c, ./manage.py seed]
container:
  description: The task container's name (unique; with O(detach=true) it stays until removed).
  returned: success
  type: str
  sample: shop-task-api-20261123T180000Z-3fa2
exit_code:
  description:
    - The command's exit code (attached; null when detached or in check mode). Not named C(rc), which Ansible would
      turn into a task failure before the playbook can record the run.
  returned: success
  type: int
  sample: 0
output:
  description: The command's output, stdout and stderr merged (attached; the last O(log_lines) lines).
  returned: success
  type: str
  sample: "seeded 42 rows"
seconds:
  description: How long the command (attached) or the start (detached) took.
  returned: success
  type: float
  sample: 3.4
follow:
  description: With O(detach=true), how to follow the task's output, read its exit code and remove it.
  returned: success
  type: str
  sample: "follow its output: docker logs -f shop-task-api-20261123T180000Z-3fa2; ..."
record:
  description: The C(kind=task) release-log record written.
  returned: success, not in check mode
  type: dict
  sample: {kind: task, outcome: ok}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils import task as tk

ARGUMENT_SPEC = dict(
    root=dict(type="path", required=True),
    project=dict(type="str", required=True),
    compose_files=dict(type="list", elements="str", default=["compose.yaml"]),
    env_file=dict(type="path", required=True),
    service=dict(type="str", required=True),
    command=dict(type="raw", required=True),
    detach=dict(type="bool", default=False),
    log_lines=dict(type="int", default=0),
    timeout=dict(type="int", default=0),
    lock_wait=dict(type="int", default=60),
    lock_ttl=dict(type="int", default=1800),
    force_unlock=dict(type="bool", default=False),
    operator=dict(type="str"),
    controller=dict(type="str"),
    docker=dict(type="str", default="docker"),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    result = dict(changed=False, exit_code=None, output="", container=None, follow=None, seconds=0.0)
    problems = rel.option_problems(p)
    if not rel.SERVICE_NAME.match(p["service"]):
        problems.append("service %r is not a Compose service name (letters, digits, '_', '.', '-')" % p["service"])
    for name in ("lock_wait", "lock_ttl"):
        if p[name] < 0:
            problems.append("%s must be 0 or more, got %d" % (name, p[name]))
    if problems:
        module.fail_json(msg="Refusing the task, nothing ran: %s" % "; ".join(problems), **result)
    outcome = tk.Task(p, check_mode=module.check_mode).run(result)
    for warning in outcome.pop("warnings", None) or []:
        module.warn(warning)
    if outcome.pop("failed", False):
        module.fail_json(**outcome)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
