#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup
short_description: Dump, check the age of, or restore the app's database backups (berth_backups)
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - O(action=run) dumps the backups named by O(name) (all of O(backups) when omitted) inside each one's service's
    container of the release that serves (C(docker compose exec -T), that release's compose project) into
    C(<root>/backups/<name>/<UTC time>.<extension>), mode 0600, with C(<file>.sha256) beside it. The dump goes to a
    temporary name first and is renamed only after the command exited 0 with a non-empty output; a failed dump
    stores nothing, prunes nothing, and fails the module. The newest C(keep) dumps stay.
  - Each attempt is kept in C(<root>/backups/<name>/.state.json); with O(metrics_dir) set, the module writes
    C(<metrics_dir>/berth_backup_<app>.prom) (last success time, last size, last result of each backup).
  - O(action=status) reports each backup's newest dump and its age against O(max_age); read-only.
  - O(action=copy) copies the existing dumps O(files) (with their C(.sha256)) off the host as O(copy) says, as
    O(action=run) does after a dump - for the dumps a deploy made before its migrations; it fails when one copy
    failed (the dumps stay).
  - O(action=restore) restores the dump O(backup) (a file name or C(latest)) of backup O(name) - under the deploy lock,
    refused when its sha256 does not match, with the services that write to the database stopped (its C(writers), or
    those whose C(depends_on) names its service), C(restore_command) reading the dump on stdin, then the writers
    started and gated - and appends one C(kind=restore) record to C(<root>/releases.jsonl).
options:
  action:
    description: What to do.
    type: str
    choices: [run, status, restore, copy]
    default: run
  root:
    description: The app root (C(berth_app_root)).
    type: path
    required: true
  app:
    description: The app's name (C(berth_app_name)), the metrics' C(app) label.
    type: str
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
  backups:
    description: The backups (C(berth_backups)), each C({name, service, command, restore_command, extension, keep,
      on_calendar, writers}).
    type: list
    elements: dict
    default: []
  name:
    description: The backup to run or restore (O(action=run) without it runs them all).
    type: str
  files:
    description: With O(action=copy), the dumps to copy, each a path in C(<root>/backups/<name>/).
    type: list
    elements: path
    default: []
  backup:
    description: With O(action=restore), the dump to restore - a file name in its directory, or C(latest).
    type: str
    default: latest
  owner:
    description: When the module runs as root, the user that owns the dumps (C(berth_deploy_user)).
    type: str
  metrics_dir:
    description: node_exporter textfile directory (C(berth_metrics_dir)); empty writes no metrics.
    type: str
    default: ""
  max_age:
    description: With O(action=status), the age a newest dump may have (seconds, or C(90m), C(26h), C(2d)).
    type: str
    default: 26h
  timeout:
    description: Seconds a dump or a restore may take (V(0) - no limit).
    type: int
    default: 3600
  one_shot:
    description: Run-to-completion services (C(berth_one_shot_services)); never stopped as writers.
    type: list
    elements: str
    default: []
  probes:
    description: The HTTP probes the gate after a restore sends (C(berth_health_probes)).
    type: list
    elements: dict
    default: []
  health_timeout:
    description: Seconds the gate after a restore waits.
    type: float
    default: 120
  log_lines:
    description: Lines of output returned.
    type: int
    default: 20
  lock_wait:
    description: Seconds a restore waits for a held deploy lock.
    type: int
    default: 60
  docker:
    description: The docker CLI.
    type: str
    default: docker
  copy:
    description:
      - The off-host copy (C(berth_backup_copy)); empty is off. With O(action=run), each new dump and its C(.sha256)
        go with C(rsync) over SSH to C(<path>/<app>/<name>/) on O(copy.host), and the copies there are pruned to
        the backup's C(keep) (only names of the dump pattern are removed; never C(rsync --delete)). A failed copy
        keeps the local dump (it counts toward C(keep)), is recorded in the state and the metrics, and fails the
        module naming the local file and the target.
      - With O(action=status), the result's RV(copies) says each backup's last copy.
      - The key and the pinned host key are read from O(copy_key_file) and O(copy_known_hosts) (provision.yml
        writes them); O(copy.key) and O(copy.host_key) need not be passed.
    type: dict
    default: {}
    suboptions:
      host:
        description: The target's host name or IP address.
        type: str
      user:
        description: The user on the target.
        type: str
      path:
        description: The absolute base directory on the target.
        type: str
      port:
        description: The target's SSH port.
        type: int
        default: 22
      key:
        description: Ignored here (provision.yml installs it into O(copy_key_file)); never logged.
        type: str
      host_key:
        description: Ignored here (provision.yml pins it in O(copy_known_hosts)).
        type: str
  copy_key_file:
    description: The private key file of the copy; default C(/etc/berth/<app>/backup-copy/id_key).
    type: path
  copy_known_hosts:
    description: The known_hosts file pinning the target's host key; default C(/etc/berth/<app>/backup-copy/known_hosts).
    type: path
extends_documentation_fragment:
  - berth.compose.attributes
  - berth.compose.run.lock
attributes:
  check_mode:
    support: full
    description: O(action=run) says what it would dump; O(action=restore) checks the dump's sha256 and prints the plan
      (writers, command); nothing is stopped, written or recorded.
  diff_mode:
    support: none
    description: The result says what was dumped or restored.
requirements:
  - the docker CLI with the Compose v2 plugin on the host
notes:
  - Run O(action=run) as the deploy user, or as root with O(owner).
seealso:
  - module: berth.compose.task
  - module: berth.compose.engine
"""

EXAMPLES = r"""
- name: Dump the database now
  berth.compose.backup:
    root: /opt/shop
    app: shop
    project: shop
    env_file: /opt/shop/shared/.env
    backups:
      - name: db
        service: db
        command: pg_dump -Fc -d shop
        restore_command: pg_restore --clean --if-exists -d shop
    name: db

- name: Restore the newest dump
  berth.compose.backup:
    action: restore
    root: /opt/shop
    project: shop
    env_file: /opt/shop/shared/.env
    backups: "{{ berth_backups }}"
    name: db
    backup: latest
"""

RETURN = r"""
dumps:
  description: With O(action=run), one entry per dump written.
  returned: success
  type: list
  elements: dict
  sample: [{name: db, file: /opt/shop/backups/db/20261207T031500Z.dump, size: 1257, sha256: 3f2a..., pruned: [],
            off_host: {result: ok, remote: "backup@backup.example.net:/srv/backups/shop/db", pruned: [], kept: []}}]
ages:
  description: With O(action=status), one entry per backup - C(name), C(newest), C(age_s), C(ok), C(msg).
  returned: success
  type: list
  elements: dict
  sample: [{name: db, newest: 20261207T031500Z.dump, age_s: 3600, ok: true, msg: "backup db: newest ... is 60 min old"}]
passed:
  description: With O(action=status), true when every backup's newest dump is within O(max_age).
  returned: success
  type: bool
plan:
  description: With O(action=restore), what it does (or would do in check mode).
  returned: success
  type: list
  elements: str
file:
  description: With O(action=restore), the dump restored.
  returned: success
  type: str
writers:
  description: With O(action=restore), the services stopped and started again.
  returned: success
  type: list
  elements: str
seconds:
  description: With O(action=restore), how long the restore took (stop, restore, start, gate).
  returned: success
  type: float
record:
  description: With O(action=restore), the C(kind=restore) release-log record written.
  returned: success, not in check mode
  type: dict
copies:
  description:
    - With O(action=status) and O(copy) set, the last off-host copy of each backup that tried one - C(name), C(ok),
      C(msg).
    - With O(action=copy), one entry per file - C(file), C(result), C(remote), C(error) when it failed.
  returned: success
  type: list
  elements: dict
copies_passed:
  description: With O(action=status), false when the last off-host copy of a backup failed.
  returned: success
  type: bool
metrics:
  description: The metrics file written, if any.
  returned: success
  type: str
"""

import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils import backup_copy as bc
from ansible_collections.berth.compose.plugins.module_utils import backups as bk
from ansible_collections.berth.compose.plugins.module_utils.restore import Restore

ARGUMENT_SPEC = dict(
    action=dict(type="str", choices=["run", "status", "restore", "copy"], default="run"),
    files=dict(type="list", elements="path", default=[]),
    root=dict(type="path", required=True),
    app=dict(type="str"),
    project=dict(type="str", required=True),
    compose_files=dict(type="list", elements="str", default=["compose.yaml"]),
    env_file=dict(type="path", required=True),
    backups=dict(type="list", elements="dict", default=[]),
    name=dict(type="str"),
    backup=dict(type="str", default="latest"),
    owner=dict(type="str"),
    metrics_dir=dict(type="str", default=""),
    max_age=dict(type="str", default="26h"),
    timeout=dict(type="int", default=3600),
    one_shot=dict(type="list", elements="str", default=[]),
    probes=dict(type="list", elements="dict", default=[]),
    health_timeout=dict(type="float", default=120),
    log_lines=dict(type="int", default=20),
    lock_wait=dict(type="int", default=60),
    lock_ttl=dict(type="int", default=1800),
    force_unlock=dict(type="bool", default=False),
    operator=dict(type="str"),
    controller=dict(type="str"),
    docker=dict(type="str", default="docker"),
    copy=dict(type="dict", default={}, options=dict(
        host=dict(type="str"), user=dict(type="str"), path=dict(type="str"), port=dict(type="int", default=22),
        key=dict(type="str", no_log=True), host_key=dict(type="str", no_log=False))),
    copy_key_file=dict(type="path"),
    copy_known_hosts=dict(type="path"),
)


def owner_ids(owner):
    if not owner:
        return None, None
    try:
        entry = pwd.getpwnam(owner)
    except KeyError:
        return None, None
    return entry.pw_uid, entry.pw_gid


def copier_of(p):
    """The off-host copy of berth_backup_copy, or None when it is off."""
    if not bc.enabled(p["copy"]):
        return None
    app = p["app"] or p["project"]
    return bc.Copier(bc.target(p["copy"]), p["copy_key_file"] or bc.key_file(app),
                     p["copy_known_hosts"] or bc.known_hosts_file(app), timeout=p["timeout"] or None)


def runner_of(p, copier):
    """The backups of the host, owned by the deploy user, with the off-host copy when it is on."""
    uid, gid = owner_ids(p["owner"])
    return bk.Backups(dict(p, uid=uid, gid=gid, app=p["app"] or p["project"]), copier=copier)


def finish(module, runner, backups, result, failures):
    """Write the metrics of every backup, then exit: failed naming each failure, if any."""
    try:
        result["metrics"] = runner.write_metrics(backups)
    except OSError as exc:
        module.warn("the backup metrics were not written: %s" % exc)
    if failures:
        module.fail_json(msg="; ".join(failures), **result)
    module.exit_json(**result)


def run(module, p, backups):
    copier = copier_of(p)
    runner = runner_of(p, copier)
    chosen = [bk.find(backups, p["name"])] if p["name"] else [bk.normalise(b) for b in backups]
    result = dict(changed=False, dumps=[], metrics=None)
    if module.check_mode:
        result["dumps"] = [dict(name=b["name"], file=None, size=0, sha256=None, pruned=[],
                                off_host=dict(result="would copy", remote=copier.destination) if copier else None)
                           for b in chosen]
        module.exit_json(**result)
    failures = []
    for spec in chosen:
        try:
            done = runner.dump(spec)
            result["dumps"].append(done)
            result["changed"] = True
            if (done.get("off_host") or {}).get("result") == "failed":
                failures.append(done["off_host"]["error"])
        except bk.BackupError as exc:
            failures.append(str(exc))
    finish(module, runner, backups, result, failures)


def copy_files(module, p, backups):
    """The off-host copy of existing dumps (a deploy's dumps before its migrations)."""
    copier = copier_of(p)
    result = dict(changed=False, copies=[], metrics=None)
    if copier is None or not p["files"]:
        module.exit_json(**result)
    runner = runner_of(p, copier)
    chosen = []
    for path in p["files"]:
        directory, name = os.path.split(os.path.dirname(path))[1], os.path.basename(path)
        spec = bk.find(backups, directory)
        if os.path.dirname(path) != bk.backup_dir(p["root"], spec["name"]) or not os.path.isfile(path) \
                or name not in bk.list_dumps([name], spec["extension"]):
            module.fail_json(msg="%s is not a dump of backup %s under %s" % (path, spec["name"], p["root"]), **result)
        chosen.append((spec, path))
    if module.check_mode:
        result["copies"] = [dict(file=path, result="would copy", remote=copier.destination) for spec, path in chosen]
        module.exit_json(**result)
    failures = []
    for spec, path in chosen:
        done = runner.copy(os.path.dirname(path), spec, path)
        result["copies"].append(dict(done, file=path))
        result["changed"] = True
        if done["result"] == "failed":
            failures.append(done["error"])
    finish(module, runner, backups, result, failures)


def status(module, p, backups):
    try:
        max_age = bk.parse_duration(p["max_age"])
    except bk.BackupError as exc:
        module.fail_json(msg="berth_backup_max_age: %s" % exc)
    reader = bk.Backups(p)
    ages = reader.ages(backups, max_age)
    copies = reader.copies(backups) if bc.enabled(p["copy"]) else []
    module.exit_json(changed=False, ages=ages, passed=all(a["ok"] for a in ages), max_age_s=max_age,
                     copies=copies, copies_passed=all(c["ok"] for c in copies))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    problems = bk.validate(p["backups"])
    if any(p["copy"].get(k) for k in ("host", "user", "path")):
        problems += bc.validate(p["copy"], secrets=False)
    if p["action"] == "restore" and not p["name"]:
        problems.append("name is required with action=restore: the backup to restore")
    if problems:
        module.fail_json(msg="Refusing berth_backups or berth_backup_copy, nothing changed: " + "; ".join(problems),
                         changed=False)
    backups = p["backups"]
    try:
        if p["action"] == "run":
            run(module, p, backups)
        elif p["action"] == "status":
            status(module, p, backups)
        elif p["action"] == "copy":
            copy_files(module, p, backups)
        outcome = Restore(p, check_mode=module.check_mode).run(dict(changed=False))
    except bk.BackupError as exc:
        module.fail_json(msg=str(exc), changed=False)
    for warning in outcome.pop("warnings", None) or []:
        module.warn(warning)
    if outcome.pop("failed", False):
        module.fail_json(**outcome)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
