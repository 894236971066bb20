#!/usr/bin/python
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: env_file
short_description: Render a Docker Compose env file from a dict, atomically and without leaking values
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - Writes C(KEY=VALUE) lines, one per entry of O(values), in sorted key order under a one-line header comment.
  - The file is written to a temporary file in the same directory, given its owner, group and mode, then renamed
    over the old one, so a reader never sees a partial file and the secret is never world-readable, not even briefly.
  - O(required_keys) are checked before anything is read or written; the task fails naming the missing or empty
    keys (never a value).
  - With C(--diff) the diff lists key names with every value replaced by V(<redacted>); a key whose value changes is
    marked V((changed)). Values never appear in the output, the diff or the logs (O(values) is C(no_log)).
  - Returns RV(changed_keys) so a deploy can recreate only the services that read those keys.
  - "Values are written so that Docker Compose v2 reads them back verbatim and never interpolates them: bare when
    they hold only letters, digits and C(_ . , : / @ % + = -), otherwise double-quoted with C(\\), C(\"), C($),
    newline and carriage return escaped."
options:
  path:
    description:
      - The env file to manage. Its directory must exist (in check mode a missing directory only warns).
    type: path
    required: true
    aliases: [dest]
  values:
    description:
      - The variables to write, C(KEY) to value. Keys must match C([A-Za-z_][A-Za-z0-9_]*).
      - Strings are written as they are; booleans as C(true)/C(false); numbers in decimal; V(null) as an empty value.
        Lists and mappings are rejected.
      - Keys present in the file but absent here are removed.
    type: dict
    required: true
  required_keys:
    description:
      - Keys that must be present in O(values) with a non-empty (not only whitespace) value.
      - Checked before the file is read or written; the failure lists the missing keys by name.
    type: list
    elements: str
    default: []
  owner:
    description:
      - User name or numeric uid that owns the file. Omitted means a new file belongs to the connection user and an
        existing file keeps its owner.
    type: str
  group:
    description:
      - Group name or numeric gid of the file. Omitted means the default group of a new file, and no change to an
        existing one.
    type: str
  mode:
    description:
      - Octal permissions of the file, as a quoted string such as V('0600') (or an octal YAML integer). Symbolic modes
        are not supported.
      - The file holds secrets, so a mode with any permission for others (such as V('0644')) is refused.
    type: raw
    default: '0600'
extends_documentation_fragment:
  - berth.compose.attributes
attributes:
  check_mode:
    support: full
    description: Computes the same plan, reports changed and the key-level diff, and writes nothing.
  diff_mode:
    support: full
    description: Shows added, removed and changed keys, and mode/owner/group changes; every value is redacted.
notes:
  - Other control characters than tab, newline and carriage return (NUL, ESC, ...) are rejected; Compose cannot read
    them back.
  - Ansible masks every occurrence of a C(no_log) value in the output, so a key name that contains a value (a value
    C(A), a key C(APP_URL)) shows masked in RV(changed_keys); the module warns when this happens.
  - The rename is atomic within one filesystem; the temporary file C(.<name>.*.tmp) lives next to O(path).
  - Lines of an existing file that are not assignments (comments, blank lines) are dropped when the file is rewritten.
seealso:
  - name: Docker Compose env file syntax
    description: How Compose reads env files.
    link: https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/#env-file-syntax
"""

EXAMPLES = r"""
- name: Write the application's env file from vaulted variables
  berth.compose.env_file:
    path: /opt/app/shared/.env
    values: "{{ app_env }}"
    required_keys: [DATABASE_URL, SECRET_KEY]
    owner: deploy
    group: deploy
    mode: "0600"
  register: app_env_file

- name: Recreate the services that read a changed key
  ansible.builtin.debug:
    msg: "Changed keys: {{ app_env_file.changed_keys | join(', ') }}"
  when: app_env_file.changed_keys | length > 0
"""

RETURN = r"""
path:
  description: The managed file.
  returned: always
  type: str
  sample: /opt/app/shared/.env
keys:
  description: Every key the file holds after the task, sorted.
  returned: success
  type: list
  elements: str
  sample: [API_TOKEN, APP_MESSAGE]
changed_keys:
  description: Keys added, removed or whose value changed, sorted. Empty when only mode/owner changed.
  returned: success
  type: list
  elements: str
  sample: [APP_MESSAGE]
added_keys:
  description: Keys that were not in the file before, sorted.
  returned: success
  type: list
  elements: str
  sample: []
updated_keys:
  description: Keys whose value changed, sorted.
  returned: success
  type: list
  elements: str
  sample: [APP_MESSAGE]
removed_keys:
  description: Keys that were in the file and are not in O(values), sorted.
  returned: success
  type: list
  elements: str
  sample: []
mode:
  description: The file's mode after the task, as an octal string.
  returned: success
  type: str
  sample: '0600'
missing_keys:
  description: Required keys absent or empty in O(values), sorted (on that failure only).
  returned: failure
  type: list
  elements: str
  sample: [SECRET_KEY]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.berth.compose.plugins.module_utils.env_file import (
    EnvFileError,
    FileState,
    apply_plan,
    check_secret_mode,
    format_mode,
    keys_overlapping_values,
    make_plan,
    missing_required,
    normalize_values,
    parse_mode,
    read_state,
    resolve_gid,
    resolve_uid,
)


def _resolve(module, resolver, name, unresolved):
    """uid/gid for ``name``; in check mode a missing user/group (made later in the play) only warns."""
    try:
        return resolver(name)
    except EnvFileError as exc:
        if not module.check_mode:
            module.fail_json(msg=str(exc), path=module.params["path"])
        module.warn("%s (check mode: assuming an earlier task creates it)" % exc)
        unresolved.append(name)
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True, aliases=["dest"]),
            values=dict(type="dict", required=True, no_log=True),
            required_keys=dict(type="list", elements="str", default=[], no_log=False),
            owner=dict(type="str"),
            group=dict(type="str"),
            mode=dict(type="raw", default="0600"),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    raw_values = module.params["values"]

    missing = missing_required(raw_values, module.params["required_keys"])
    if missing:
        module.fail_json(msg="Required env keys are missing or empty: %s" % ", ".join(missing),
                         missing_keys=missing, path=path)
    try:
        values = normalize_values(raw_values)
        mode = check_secret_mode(parse_mode(module.params["mode"]))
    except EnvFileError as exc:
        module.fail_json(msg=str(exc), path=path)

    unresolved = []
    uid = _resolve(module, resolve_uid, module.params["owner"], unresolved)
    gid = _resolve(module, resolve_gid, module.params["group"], unresolved)

    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        if not module.check_mode:
            module.fail_json(msg="Directory %s does not exist; create it before writing %s" % (directory, path),
                             path=path)
        module.warn("Directory %s does not exist (check mode: assuming an earlier task creates it)" % directory)
        state = FileState(exists=False)
    else:
        try:
            state = read_state(path)
        except EnvFileError as exc:
            module.fail_json(msg=str(exc), path=path)

    plan = make_plan(path, values, state, mode, uid, gid)
    changed = plan.changed or bool(unresolved)

    if plan.changed and not module.check_mode:
        try:
            apply_plan(plan, mode, uid, gid)
        except OSError as exc:
            module.fail_json(msg="Could not write %s: %s" % (path, exc.strerror or exc), path=path)

    if keys_overlapping_values(plan.keys, values.values()):
        module.warn("A value in 'values' also occurs inside a key name, so Ansible masks that key name "
                    "in this task's output; use longer values or move non-secret settings out of 'values'.")

    result = dict(
        changed=changed,
        path=path,
        keys=plan.keys,
        changed_keys=plan.changes.changed_keys,
        added_keys=plan.changes.added,
        updated_keys=plan.changes.updated,
        removed_keys=plan.changes.removed,
        mode=format_mode(mode),
    )
    if module._diff:
        result["diff"] = dict(before=plan.before_diff, after=plan.after_diff, before_header=path, after_header=path)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
