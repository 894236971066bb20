#!/usr/bin/python
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: app_settings
short_description: Check the app-wide berth_* settings and the app root before anything changes
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - Judges the app-wide settings of a berth.compose app in one call and fails with one line per problem,
    each naming the variable and what is allowed. The role C(berth.compose.app) runs it first in every play.
  - O(app_name) must be a simple name (letters, digits, C(-), C(_); at most 64 characters, starting with a letter
    or digit). O(compose_project) follows Compose's rule (the same, lowercase only).
    O(deploy_user) and O(deploy_group) are portable POSIX names (lowercase letters, digits, C(_), C(.), C(-),
    starting with a letter or C(_), at most 32 characters).
  - O(app_root) must be absolute and normalized (no C(.) or C(..) component, no C(//), no trailing C(/)), use only
    letters, digits and C(.), C(_), C(-), C(@), C(+) in its components, and be neither C(/) nor a system
    directory (C(/etc), C(/usr), C(/var), C(/var/lib), C(/opt), C(/home), ...; the trees of C(/etc), C(/usr),
    C(/boot), C(/dev), C(/proc), C(/sys), C(/run), C(/bin), C(/sbin), C(/lib), C(/lib32), C(/lib64), C(/libx32), C(/var/log), C(/var/lib/docker)
    entirely).
  - On the host, an existing O(app_root) must be a directory that is empty, carries the marker C(.berth/app)
    naming O(app_name) (written by the role C(berth.compose.layout)), or holds only what a berth.compose app puts there
    (C(repo), C(releases), C(current), C(shared), C(backups), C(.berth), C(releases.jsonl); so hosts provisioned
    before the marker existed keep working). A root that resolves (through symlinks) to a system directory is refused too.
  - O(env_file) must be inside O(app_root). Each of O(compose_files) is relative to the release directory
    (no C(..), no leading C(/)) or absolute inside O(app_root).
  - O(hooks) (C(berth_hooks)) maps a hook name to one step or a list of steps, each C({service, command, mode,
    when}). C(service) is a compose service name; C(command) a non-empty list of strings (the argv; no shell, so a
    string is refused rather than run as one program name); C(mode) V(exec) or V(run); C(when) V(before) or V(after).
    Any other key is refused as a typo, so a misspelt C(when) never runs a before-hook after cutover.
  - O(restart_guards) (C(berth_restart_guards)) maps a service name to C({command, wait, on_busy}). C(command) is a
    non-empty list of strings (a string used to be split into characters, so the service stayed busy for ever);
    C(wait) seconds, 0 or more; C(on_busy) V(defer) or V(fail). Any other key is refused.
  - Read-only; it runs the same in check mode.
options:
  app_name:
    description: The app's name (C(berth_app_name)).
    type: str
    required: true
  app_root:
    description: The app's root directory on the host (C(berth_app_root)).
    type: str
    required: true
  compose_project:
    description: The Compose project name (C(berth_compose_project)).
    type: str
    required: true
  compose_files:
    description: The compose files (C(berth_compose_files)).
    type: list
    elements: str
    required: true
  env_file:
    description: The app's env file (C(berth_env_file)).
    type: str
    required: true
  deploy_user:
    description: The deploy user (C(berth_deploy_user)).
    type: str
    required: true
  deploy_group:
    description: The deploy group (C(berth_deploy_group)).
    type: str
    required: true
  hooks:
    description:
      - The hooks (C(berth_hooks)), judged as the description says; any type is accepted here so that a wrong one
        is refused in words naming C(berth_hooks).
    type: raw
    default: {}
  backups:
    description:
      - The database backups (C(berth_backups)), each C({name, service, command, restore_command, extension, keep,
        on_calendar, writers}); judged by C(berth.compose.backup)'s rules, so a wrong one is refused in words naming
        C(berth_backups) before anything changes.
    type: raw
    default: []
  backup_copy:
    description:
      - The off-host copy of the backups (C(berth_backup_copy)) without its C(key) - C({host, user, path, port,
        host_key}); judged so that a wrong one is refused in words naming C(berth_backup_copy.<key>).
    type: raw
    default: {}
  backup_copy_key:
    description: The private key of C(berth_backup_copy) (C(berth_backup_copy.key)), judged by its shape only; never
      shown.
    type: str
    default: ""
  restart_guards:
    description:
      - The restart guards (C(berth_restart_guards)), judged as the description says; any type is accepted here so
        that a wrong one is refused in words naming C(berth_restart_guards).
    type: raw
    default: {}
  jobs:
    description:
      - The scheduled jobs (C(berth_jobs)), a list of C({name, service, command, on_calendar, timeout,
        single_instance}); any type is accepted here so that a wrong one is refused in words naming C(berth_jobs).
      - C(name) 1 to 40 lowercase letters, digits, C(_) and C(-) (it names the units); C(service) a Compose service
        name; C(command) a non-empty string or list of strings; C(timeout) 1 to 604800 seconds; C(single_instance)
        a boolean; names unique; any other key is refused.
      - When those pass, the host judges C(on_calendar) (C(systemd-analyze calendar)) and, when a release serves
        (C(current)), that its rendered compose model defines each C(service).
    type: raw
    default: []
extends_documentation_fragment:
  - berth.compose.attributes
  - berth.compose.attributes.read_only
notes:
  - Every problem is reported at once, so one run shows all settings to fix.
"""

EXAMPLES = r"""
- name: Check the app-wide settings before anything changes
  berth.compose.app_settings:
    app_name: "{{ berth_app_name }}"
    app_root: "{{ berth_app_root }}"
    compose_project: "{{ berth_compose_project }}"
    compose_files: "{{ berth_compose_files }}"
    env_file: "{{ berth_env_file }}"
    deploy_user: "{{ berth_deploy_user }}"
    deploy_group: "{{ berth_deploy_group }}"
    hooks: "{{ berth_hooks }}"
    restart_guards: "{{ berth_restart_guards }}"
    jobs: "{{ berth_jobs }}"
    backups: "{{ berth_backups }}"
    backup_copy: "{{ berth_backup_copy | dict2items | rejectattr('key', 'equalto', 'key') | items2dict }}"
    backup_copy_key: "{{ berth_backup_copy.key | default('') }}"
"""

RETURN = r"""
app_root_state:
  description:
    - What the host holds at O(app_root). V(absent) (not there yet), V(empty), V(marked) (the marker names this app),
      V(legacy) (a berth layout without marker), V(refused), or V(unchecked) when a setting failed before the host
      was looked at.
  returned: always
  type: str
  sample: marked
problems:
  description: One sentence per problem, naming the variable and what is allowed; empty when the settings pass.
  returned: always
  type: list
  elements: str
  sample: ["berth_app_root='/etc' is not allowed: it is / or a system directory; use a directory of its own such as /opt/<app> or /srv/<app>"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils import jobs as jb
from ansible_collections.berth.compose.plugins.module_utils.app_settings import (
    Settings,
    check_app_root,
    check_settings,
    guard_problems,
    hook_problems,
)
from ansible_collections.berth.compose.plugins.module_utils.backup_copy import validate as validate_copy
from ansible_collections.berth.compose.plugins.module_utils.backups import validate as validate_backups


def main():
    module = AnsibleModule(
        argument_spec=dict(
            app_name=dict(type="str", required=True),
            app_root=dict(type="str", required=True),
            compose_project=dict(type="str", required=True),
            compose_files=dict(type="list", elements="str", required=True),
            env_file=dict(type="str", required=True),
            deploy_user=dict(type="str", required=True),
            deploy_group=dict(type="str", required=True),
            hooks=dict(type="raw", default={}),
            restart_guards=dict(type="raw", default={}),
            jobs=dict(type="raw", default=[]),
            backups=dict(type="raw", default=[]),
            backup_copy=dict(type="raw", default={}),
            backup_copy_key=dict(type="str", default="", no_log=True),
        ),
        supports_check_mode=True,
    )
    params = dict(module.params)
    hooks, guards, jobs = params.pop("hooks"), params.pop("restart_guards"), params.pop("jobs")
    backups = params.pop("backups")
    copy, copy_key = params.pop("backup_copy"), params.pop("backup_copy_key")
    if isinstance(copy, dict) and (copy or copy_key):
        copy = dict(copy, key=copy_key)
    settings = Settings(**params)
    problems = check_settings(settings) + hook_problems(hooks) + guard_problems(guards)
    problems += jb.job_problems(jobs) + validate_backups(backups) + validate_copy(copy)
    # The host is looked at only for settings that passed: a refused name or path is never used.
    state = "unchecked"
    if not problems:
        try:
            root = check_app_root(settings.app_root, settings.app_name)
        except OSError as exc:
            module.fail_json(msg="Cannot inspect berth_app_root=%r: %s" % (settings.app_root, exc),
                             app_root_state="unknown", problems=[])
        state = root.state
        if root.problem:
            problems.append(root.problem)
    if not problems and jobs:
        problems += jb.host_problems(jobs, dict(root=settings.app_root, project=settings.compose_project,
                                                compose_files=settings.compose_files, env_file=settings.env_file,
                                                docker="docker"))
    if problems:
        module.fail_json(msg="Refusing the app-wide settings, nothing was changed:\n" + "\n".join(problems),
                         app_root_state=state, problems=problems)
    module.exit_json(changed=False, app_root_state=state, problems=[])


if __name__ == "__main__":
    main()
