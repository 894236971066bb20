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
  - The engine behind C(task.yml). Reads the release C(<root>/current) points at, checks that O(service) is one of
    its services (C(docker compose config --services)) and that O(command) is usable, then runs
    C(docker compose run --no-deps --name <unique> --label berth.compose.task=<service> <service> <argv>) with the
    release's own compose line - the release directory, its C(.berth/images.yml) (the image each service runs), the
    env file, and C(BERTH_REF), C(BERTH_COMMIT), C(BERTH_SHORT_SHA) - exactly what its services run with.
  - Attached (the default) it adds C(--rm -T), waits for the end and returns the exit code and the output; a non-zero
    exit is returned in RV(exit_code), not a failure (the playbook records it first).
  - With O(detach=true) it adds C(-d) and no C(--rm) - the container runs outside the services' lifecycle (a deploy
    or C(compose up) leaves one-off containers alone, and no gate watches them), and its logs and exit code stay
    readable after it ends - and returns the container's name and how to follow it.
  - Nothing starts when the service or the command is refused, or when no release serves yet.
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
  docker:
    description: The docker CLI.
    type: str
    default: docker
extends_documentation_fragment:
  - berth.compose.attributes
attributes:
  check_mode:
    support: full
    description: Resolves the release and checks the service and the command; runs nothing.
  diff_mode:
    support: none
    description: A task changes no file; the result says what ran.
requirements:
  - the docker CLI with the Compose v2 plugin on the host
notes:
  - Run it as the deploy user (member of the C(docker) group).
seealso:
  - module: berth.compose.release
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
"""

import os
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils import task as tk
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import (
    ComposeCliError, ComposeProject, release_environment, run as compose_run)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path", required=True),
            project=dict(type="str", required=True),
            compose_files=dict(type="list", elements="str", default=["compose.yaml"]),
            env_file=dict(type="path", required=True),
            service=dict(type="str", required=True),
            command=dict(type="raw", required=True),
            detach=dict(type="bool", default=False),
            log_lines=dict(type="int", default=0),
            timeout=dict(type="int", default=0),
            docker=dict(type="str", default="docker"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    layout = rel.Layout(p["root"])
    result = dict(changed=False, exit_code=None, output="", container=None, follow=None, seconds=0.0)
    problems = rel.option_problems(p)
    if not rel.SERVICE_NAME.match(p["service"]):
        problems.append("service %r is not a Compose service name (letters, digits, '_', '.', '-')" % p["service"])
    if problems:
        module.fail_json(msg="Refusing the task, nothing ran: %s" % "; ".join(problems), **result)
    try:
        argv = tk.command_argv(p["command"])
    except tk.TaskError as exc:
        module.fail_json(msg="Refusing the task, nothing ran: %s" % exc, **result)
    directory = layout.current_dir()
    commit = layout.current_commit()
    if not directory or not commit:
        module.fail_json(msg="No release serves yet under %s (current is missing): deploy first" % p["root"], **result)
    try:
        with open(os.path.join(directory, rel.RELEASE_ENV)) as handle:
            ref = tk.parse_release_env(handle.read()).get("BERTH_REF") or commit
    except (IOError, OSError):
        ref = commit
    files = list(p["compose_files"])
    if os.path.exists(os.path.join(directory, rel.OVERRIDE)):
        files.append(rel.OVERRIDE)
    project = ComposeProject(name=p["project"], project_dir=directory, files=tuple(files), env_file=p["env_file"],
                             environment=release_environment(commit, ref), docker=p["docker"])
    result.update(commit=commit, ref=ref, release_dir=directory, argv=argv)
    try:
        services = compose_run(project, ["config", "--services"]).stdout.decode("utf-8", "replace").split()
        tk.check_service(p["service"], services)
    except (ComposeCliError, tk.TaskError) as exc:
        module.fail_json(msg="Refusing the task, nothing ran: %s" % exc, **result)
    name = tk.container_name(p["project"], p["service"])
    result["container"] = name
    if module.check_mode:
        module.exit_json(**result)
    command = project.argv(*tk.run_args(p["service"], argv, name, p["detach"]))
    started = time.monotonic()
    try:
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=project.process_env(),
                              timeout=p["timeout"] or None, check=False)
        rc, out = proc.returncode, proc.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as exc:
        subprocess.run([p["docker"], "rm", "-f", name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        rc, out = 124, (exc.output or b"").decode("utf-8", "replace") + "\n[stopped after %d s]" % p["timeout"]
    except OSError as exc:
        module.fail_json(msg="cannot run %s: %s" % (p["docker"], exc), **result)
    result.update(changed=True, seconds=round(time.monotonic() - started, 1))
    if p["detach"]:
        if rc != 0:
            module.fail_json(msg="The task did not start (exit %d): %s" % (rc, tk.tail(out, 20)), **result)
        result.update(follow=tk.follow_hint(name), output=out.strip())
    else:
        result.update(exit_code=rc, output=tk.tail(out, p["log_lines"]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
