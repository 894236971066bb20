#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: release_log
short_description: Append to and query the app's release log, one JSON line per deploy, rollback or reconcile
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - The release log (for example C(<berth_app_root>/releases.jsonl)) holds one JSON object per line, one line per
    deploy, rollback, reconcile or task, oldest first. It answers what serves now, which release was the last good
    one, which one came before a given release, and which image every service ran in a release.
  - O(state=append) validates O(record) (known fields only, known C(kind) and C(outcome), field types) and writes it
    as one line in one C(write) with C(O_APPEND), under an exclusive C(flock) on the file, then C(fsync)s, so
    concurrent appends never interleave. When the file does not end with a newline (a write cut by a power loss),
    the new line starts on a line of its own.
  - The queries (V(current), V(last_good), V(history), V(images), V(retained)) read the file under a shared C(flock)
    and change nothing. A line that is not a JSON object (truncated or corrupt) is skipped with a warning naming its
    line number; it never fails the task.
  - "The record fields: C(id) (generated when omitted: UTC time plus random hex, so ids sort by time), C(kind)
    (V(deploy), V(rollback), V(reconcile), V(task), V(job), V(restore), V(adopt); required), C(ref) (the ref as the operator gave it),
    C(from_commit) (serving before), C(to_commit) (the release this run went to), C(serving_commit) (what serves
    after this run: C(to_commit) on success or V(hook_failed), the release it went back to after V(rolled_back),
    C(from_commit) after a failure before cutover),
    C(services_built), C(services_recreated), C(services_deferred), C(services_pending) (lists of service names;
    pending are the changed services a deploy with O(berth.compose.engine#module:service) left out), C(images) (service to
    image id or name, for every service of C(to_commit)), C(migrations), C(hooks) (lists of names or mappings),
    C(gate) (a mapping with C(passed), or a string V(passed), V(failed), V(skipped)), C(outcome) (V(ok),
    V(rolled_back), V(failed), V(hook_failed); required), C(started) (UTC ISO time; default now), C(duration_s),
    C(steps) (step name to seconds), C(operator), C(pinned) (a rollback pin was set), C(message) (one line, for
    example why the run failed). Any other key fails the task naming it: the log never stores a secret by accident."
  - "A release is B(good) when its C(outcome) is V(ok) and its C(gate) did not fail (a mapping with
    C(passed: false) or the string V(failed))."
options:
  path:
    description:
      - The release log file. Its directory must exist. O(state=append) creates the file.
    type: path
    required: true
  state:
    description:
      - V(append) writes O(record).
      - V(current) returns the last record that states a C(serving_commit), that is what serves now.
      - V(last_good) returns the last good record; with O(before), the last good record before the release O(before)
        names, whose commit differs from it (what C(rollback -e ref=previous) goes to).
      - V(history) returns the records, newest first, at most O(limit).
      - V(images) returns the C(images) map (service to image) of the latest record whose C(to_commit) is O(commit)
        and that has images.
      - V(retained) returns the commits retention must keep, newest first; the newest O(keep) good releases plus,
        always, the current and the last good commit, and the newest two failed attempts (kept for diagnosis; they
        never count toward O(keep), so failed tries cannot push the C(ref=previous) target out).
    type: str
    choices: [append, current, last_good, history, images, retained]
    default: current
  record:
    description:
      - The record to append (required with O(state=append)); see the field list above. C(id) and C(started) are
        filled in when omitted.
    type: dict
  before:
    description:
      - With O(state=last_good), a commit (full or at least 7 leading hex digits) or a record C(id). The search starts
        before the most recent successful deploy that went to that commit (when there is none, before the latest
        record of that commit; for an id, before that record), so repeated C(ref=previous) rollbacks walk back
        through history instead of toggling between two releases. When the commit is not in the log, every record
        is searched. Records of that same commit never match.
    type: str
  commit:
    description:
      - With O(state=images), the release commit (full or at least 7 leading hex digits). Required there.
    type: str
  limit:
    description:
      - With O(state=history), the most records to return, newest first; V(0) returns all.
    type: int
    default: 20
  keep:
    description:
      - With O(state=retained), how many of the newest good releases to keep (C(berth_keep_releases)).
    type: int
    default: 5
  owner:
    description:
      - With O(state=append), the user name or uid that owns the file (the deploy user). Omitted leaves it alone.
    type: str
  group:
    description:
      - With O(state=append), the group name or gid of the file. Omitted leaves it alone.
    type: str
  mode:
    description:
      - With O(state=append), the file's octal permissions, as a quoted string such as V('0640').
    type: raw
    default: '0640'
attributes:
  check_mode:
    support: full
    description: O(state=append) validates and returns the record it would write, and writes nothing. The queries
      run as usual (they never write).
  diff_mode:
    support: full
    description: O(state=append) shows the line it appends.
  platform:
    support: full
    platforms: posix
    description: Needs C(flock) on the log's filesystem (any local Linux filesystem).
notes:
  - Appends are atomic with respect to each other on one host; the log is per host.
  - Readers take a shared lock, so they never see a line being written.
seealso:
  - module: berth.compose.deploy_lock
"""

EXAMPLES = r"""
- name: Find what serves now
  berth.compose.release_log:
    path: "{{ berth_app_root }}/releases.jsonl"
    state: current
  register: berth_current

- name: Find the release rollback -e ref=previous goes to
  berth.compose.release_log:
    path: "{{ berth_app_root }}/releases.jsonl"
    state: last_good
    before: "{{ berth_current.commit }}"
  register: berth_previous

- name: Find the images of the release being rolled back to
  berth.compose.release_log:
    path: "{{ berth_app_root }}/releases.jsonl"
    state: images
    commit: "{{ berth_previous.commit }}"
  register: berth_images

- name: Record the deploy
  berth.compose.release_log:
    path: "{{ berth_app_root }}/releases.jsonl"
    state: append
    owner: "{{ berth_deploy_user }}"
    group: "{{ berth_deploy_group }}"
    record:
      kind: deploy
      ref: v1.4.2
      from_commit: 9d1c2b7a0e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b
      to_commit: 2f6e8a1d3c5b7a9e0f1d2c3b4a5e6f7a8b9c0d1e
      serving_commit: 2f6e8a1d3c5b7a9e0f1d2c3b4a5e6f7a8b9c0d1e
      services_built: [web]
      services_recreated: [web]
      services_deferred: []
      services_pending: []
      images: {web: app-web:2f6e8a1, api: app-api:9d1c2b7, worker: app-worker:9d1c2b7}
      migrations: [migrate]
      hooks: []
      gate: {passed: true, services: [web]}
      outcome: ok
      duration_s: 14.2
      steps: {lock: 0.3, preflight: 1.1, build: 6.0, cutover: 2.4, gate: 4.1}
      operator: alice

- name: Show the last ten releases
  berth.compose.release_log:
    path: /opt/app/releases.jsonl
    state: history
    limit: 10
"""

RETURN = r"""
changed:
  description: Whether a record was (or in check mode would be) appended, or the file's mode/owner changed.
  returned: always
  type: bool
  sample: true
record:
  description: With O(state=append), the record as written (or, in check mode, as it would be), with C(id) and
    C(started) filled in.
  returned: when state=append
  type: dict
  sample:
    id: 20261123T150000.123456Z-4f3a2b
    kind: deploy
    ref: main
    from_commit: 9d1c2b7a0e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b
    to_commit: 2f6e8a1d3c5b7a9e0f1d2c3b4a5e6f7a8b9c0d1e
    serving_commit: 2f6e8a1d3c5b7a9e0f1d2c3b4a5e6f7a8b9c0d1e
    outcome: ok
    started: '2026-11-23T15:00:00Z'
result:
  description:
    - The answer of a query. V(current) and V(last_good) return one record or V(null) (empty log, nothing good);
      V(history) a list of records, newest first; V(images) a mapping service to image (empty when the commit has no
      recorded images); V(retained) a list of commits, newest first.
  returned: when state is a query
  type: raw
  sample:
    id: 20261123T150000.123456Z-4f3a2b
    kind: deploy
    to_commit: 2f6e8a1d3c5b7a9e0f1d2c3b4a5e6f7a8b9c0d1e
    serving_commit: 2f6e8a1d3c5b7a9e0f1d2c3b4a5e6f7a8b9c0d1e
    outcome: ok
commit:
  description:
    - With O(state=current), the C(serving_commit) of RV(result); with O(state=last_good), its C(serving_commit)
      (which for a good record is its C(to_commit)). V(null) when RV(result) is V(null).
  returned: when state is current or last_good
  type: str
  sample: 2f6e8a1d3c5b7a9e0f1d2c3b4a5e6f7a8b9c0d1e
skipped_lines:
  description: Line numbers (from 1) of lines skipped as truncated or corrupt; each also gives a warning.
  returned: when state is a query
  type: list
  elements: int
  sample: [7]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.berth.compose.plugins.module_utils.release_log import (
    QUERIES,
    ReleaseLogError,
    append_record,
    encode,
    parse_mode,
    prepare_record,
    read_log,
    resolve_gid,
    resolve_uid,
    run_query,
)


def _append(module, path):
    params = module.params
    if params["record"] is None:
        module.fail_json(msg="record is required when state=append", changed=False)
    try:
        record = prepare_record(params["record"])
        mode = parse_mode(params["mode"])
    except ReleaseLogError as exc:
        module.fail_json(msg=str(exc), changed=False)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory) and not module.check_mode:
        module.fail_json(msg="directory %s of the release log (path) does not exist" % directory,
                         changed=False)
    line = encode(record)
    result = dict(changed=True, record=record)
    if module._diff:
        result["diff"] = dict(before="", after=line, before_header=path, after_header=path)
    if module.check_mode:
        module.exit_json(**result)
    try:
        uid = resolve_uid(params["owner"])
        gid = resolve_gid(params["group"])
        append_record(path, line, mode, uid, gid)
    except ReleaseLogError as exc:
        module.fail_json(msg=str(exc), changed=False)
    except OSError as exc:
        module.fail_json(msg="could not append to the release log %s: %s" % (path, exc.strerror or exc),
                         changed=False)
    module.exit_json(**result)


def _query(module, path):
    params = module.params
    state = params["state"]
    if state == "images" and not params["commit"]:
        module.fail_json(msg="commit is required when state=images", changed=False)
    for name in ("limit", "keep"):
        if params[name] < 0:
            module.fail_json(msg="%s must be 0 or more, got %d" % (name, params[name]), changed=False)
    try:
        records, skipped = read_log(path)
        answer = run_query(records, state, before=params["before"], commit=params["commit"],
                           limit=params["limit"], keep=params["keep"])
    except ReleaseLogError as exc:
        module.fail_json(msg=str(exc), changed=False)
    except OSError as exc:
        module.fail_json(msg="could not read the release log %s: %s" % (path, exc.strerror or exc),
                         changed=False)
    for number, reason in skipped:
        module.warn("release log %s line %d skipped: %s" % (path, number, reason))
    result = dict(changed=False, result=answer, skipped_lines=[number for number, _reason in skipped])
    if state in ("current", "last_good"):
        result["commit"] = answer.get("serving_commit") if answer else None
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["append"] + list(QUERIES), default="current"),
            record=dict(type="dict"),
            before=dict(type="str"),
            commit=dict(type="str"),
            limit=dict(type="int", default=20),
            keep=dict(type="int", default=5),
            owner=dict(type="str"),
            group=dict(type="str"),
            mode=dict(type="raw", default="0640"),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    if not os.path.isabs(path):
        module.fail_json(msg="path %r must be an absolute path (the release log on the host)" % path, changed=False)
    if module.params["state"] == "append":
        _append(module, path)
    else:
        _query(module, path)


if __name__ == "__main__":
    main()
