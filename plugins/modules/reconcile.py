#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: reconcile
short_description: Find and repair drift of a host from its recorded release
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - The release to bring back is the rollback pin C(<root>/.berth/pin) when it exists, else the release log's current
    release. It never rolls forward.
  - O(step=check) reads the baseline fingerprint (O(baseline)), C(current), the containers, the images, the
    zero-downtime snippets and the rate limit. With nothing drifted, or the rate limit tripped, it writes the metrics.
  - O(step=repair) takes the deploy lock (unless O(lock_token) says the playbook holds it), brings the release back
    (release directory, C(current), missing images, the services that drifted, snippets), starts O(app_unit), gates
    what it started, records the fingerprint when O(provisioned), appends one C(kind=reconcile) record and writes
    the metrics.
  - O(step=baseline) records the fingerprint of O(baseline) (mode 0600); O(step=finish) records an outcome alone;
    O(step=status) reads the rate limit and the last run.
  - Design and reasons are in C(docs/decisions.md) of the collection.
options:
  step:
    description: What to do.
    type: str
    required: true
    choices: [check, repair, baseline, finish, status]
  root:
    description: The app root.
    type: path
    required: true
  app_name:
    description: The app's name, for the metrics.
    type: str
    required: true
  project:
    description: Compose project name.
    type: str
  compose_files:
    description: Compose files, relative to the release directory.
    type: list
    elements: str
    default: [compose.yaml]
  env_file:
    description: The app's env file.
    type: path
  one_shot:
    description: One-shot services; not judged.
    type: list
    elements: str
    default: []
  release_log:
    description: The release log; default C(<root>/releases.jsonl).
    type: path
  baseline:
    description: What the provisioning roles manage, for the fingerprint.
    type: dict
    default: {}
    suboptions:
      files:
        description: Files whose sha256, mode and owner count.
        type: list
        elements: path
        default: []
      enabled:
        description: Units whose C(is-enabled) state counts.
        type: list
        elements: str
        default: []
      active:
        description: Units whose C(is-active) state counts.
        type: list
        elements: str
        default: []
  docker_unit:
    description: The Docker unit; while it is inactive, containers are not judged.
    type: str
    default: docker.service
  app_unit:
    description: With O(step=repair), the app's unit, started when it is not active; empty leaves it alone.
    type: str
    default: ""
  guards:
    description: Restart guards, service to C({command, wait}); a service still busy is deferred to the next round.
    type: dict
    default: {}
  caddyfile:
    description: The Caddyfile reloaded when a snippet is refreshed.
    type: path
    default: /etc/caddy/Caddyfile
  log_lines:
    description: Log lines returned with a failure.
    type: int
    default: 20
  lock_token:
    description: With O(step=repair), the token of the deploy lock the playbook holds; empty takes the lock here.
    type: str
    default: ""
  lock_wait:
    description: Seconds to wait for a held deploy lock before skipping the round.
    type: int
    default: 5
  provisioned:
    description: With O(step=repair), the roles ran before it; the fingerprint is recorded after a good repair.
    type: bool
    default: false
  max_failures:
    description: Failed reconciles within O(window) that trip the rate limit; 0 never.
    type: int
    default: 3
  window:
    description: Seconds over which failed reconciles count.
    type: int
    default: 3600
  force:
    description: Ignore the rate limit.
    type: bool
    default: false
  enable_file:
    description: The enable-file; C(berth_reconcile_enabled) says whether it exists.
    type: path
  metrics_dir:
    description: node_exporter textfile directory; empty writes no metrics.
    type: str
    default: ""
  outcome:
    description: With O(step=finish), how the run ended.
    type: str
    choices: [ok, failed, skipped_locked, rate_limited, checked]
    default: ok
  drift:
    description: With O(step=repair) or O(step=finish), the RV(drift) of the check.
    type: list
    elements: dict
    default: []
  actions:
    description: With O(step=finish), what was done (see RV(actions)).
    type: dict
    default: {}
  from_commit:
    description: The commit C(current) pointed at before the run.
    type: str
  gate:
    description: With O(step=finish), the gate's result (C(passed), C(failed_services)).
    type: dict
  started:
    description: When the run started (epoch seconds).
    type: float
  failure:
    description: With O(step=finish), why it failed.
    type: str
  docker:
    description: The docker CLI.
    type: str
    default: docker
  systemctl:
    description: The systemctl command.
    type: str
    default: systemctl
extends_documentation_fragment:
  - berth.compose.attributes
  - berth.compose.run.lock
  - berth.compose.run.gate
  - berth.compose.run.probes
attributes:
  check_mode:
    support: full
    description: O(step=repair) returns what it would do; nothing is written.
  diff_mode:
    support: full
    description: O(step=check) and O(step=repair) return the drift as a prepared diff.
requirements:
  - the docker CLI with the Compose v2 plugin and systemd on the host
notes:
  - Run it as root; the repair works as the owner of the app's files.
seealso:
  - module: berth.compose.engine
  - module: berth.compose.deploy_lock
"""

EXAMPLES = r"""
- name: Check the whole baseline
  berth.compose.reconcile:
    step: check
    root: /opt/shop
    app_name: shop
    project: shop
    env_file: /opt/shop/shared/.env
  register: check

- name: Repair what drifted
  berth.compose.reconcile:
    step: repair
    root: /opt/shop
    app_name: shop
    project: shop
    env_file: /opt/shop/shared/.env
    drift: "{{ check.drift }}"
  when: check.repair_needed
"""

RETURN = r"""
commit:
  description: The release reconcile brings back; null when none is recorded.
  returned: always
  type: str
source:
  description: Where RV(commit) came from, V(pin), V(release log) or V(nothing recorded).
  returned: always
  type: str
current_commit:
  description: The commit C(current) pointed at when the step started.
  returned: always
  type: str
drift:
  description: What differs, each with C(kind), C(subject), C(detail) and C(action).
  returned: step=check or step=repair
  type: list
  elements: dict
  sample: [{kind: stopped, subject: web, detail: container is exited, action: start}]
lines:
  description: The drift in words, one line each.
  returned: step=check
  type: list
  elements: str
baseline_changed:
  description: Whether the provisioning roles must run again.
  returned: step=check
  type: bool
baseline_recorded:
  description: Whether a provisioning baseline is recorded; without one (provision never finished on the host)
    the step also warns.
  returned: step=check or step=status
  type: bool
repair_needed:
  description: Whether something besides the baseline drifted, or docker was down.
  returned: step=check
  type: bool
rate_limited:
  description: Whether the rate limit is tripped.
  returned: step=check or step=status
  type: bool
blocked:
  description: Whether this run stops for the rate limit.
  returned: step=check
  type: bool
rate_limit_msg:
  description: Why it tripped.
  returned: step=check or step=status
  type: str
lock_held:
  description: With O(step=repair), the deploy lock was held, so this round did nothing; C(msg) says by whom.
  returned: when the lock was held
  type: bool
actions:
  description: With O(step=repair), what it did - C(build), C(pull), C(up), C(force), C(deferred), C(switched),
    C(release_dir), C(upstreams), C(provisioned).
  returned: step=repair
  type: dict
recreated:
  description: With O(step=repair), the services started or recreated (what was gated).
  returned: step=repair
  type: list
  elements: str
gate:
  description: With O(step=repair), the gate's result.
  returned: when the gate ran
  type: dict
record:
  description: The release log record written.
  returned: when one was written
  type: dict
summary:
  description: With O(step=repair), the record's message.
  returned: after a good repair
  type: str
release_repair:
  description: False when release repair is off - no pin and no record of the release log says what serves, yet a
    release is deployed (the log was deleted); a warning then says so. Reconcile refuses a pin or a log record whose
    commit is not a full commit id.
  returned: step=check, step=status or step=repair
  type: bool
last:
  description: With O(step=status), the state file (last run, last result, repaired total).
  returned: step=status
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils.health_gate import PROBE_OPTIONS, ProbeSpec
from ansible_collections.berth.compose.plugins.module_utils.redact import hide_probe_secrets
from ansible_collections.berth.compose.plugins.module_utils.repair import Reconciler

ARGUMENT_SPEC = dict(
    step=dict(type="str", required=True, choices=list(Reconciler.STEPS)),
    root=dict(type="path", required=True),
    app_name=dict(type="str", required=True),
    project=dict(type="str"),
    compose_files=dict(type="list", elements="str", default=["compose.yaml"]),
    env_file=dict(type="path"),
    one_shot=dict(type="list", elements="str", default=[]),
    release_log=dict(type="path"),
    baseline=dict(type="dict", default={}, options=dict(
        files=dict(type="list", elements="path", default=[]),
        enabled=dict(type="list", elements="str", default=[]),
        active=dict(type="list", elements="str", default=[]))),
    docker_unit=dict(type="str", default="docker.service"),
    app_unit=dict(type="str", default=""),
    guards=dict(type="dict", default={}),
    caddyfile=dict(type="path", default="/etc/caddy/Caddyfile"),
    probes=dict(type="list", elements="dict", default=[], options=PROBE_OPTIONS),
    health_timeout=dict(type="float", default=120),
    log_lines=dict(type="int", default=20),
    lock_token=dict(type="str", default="", no_log=False),
    lock_wait=dict(type="int", default=5),
    lock_ttl=dict(type="int", default=1800),
    force_unlock=dict(type="bool", default=False),
    provisioned=dict(type="bool", default=False),
    max_failures=dict(type="int", default=3),
    window=dict(type="int", default=3600),
    force=dict(type="bool", default=False),
    enable_file=dict(type="path"),
    metrics_dir=dict(type="str", default=""),
    outcome=dict(type="str", default="ok", choices=["ok", "failed", "skipped_locked", "rate_limited", "checked"]),
    drift=dict(type="list", elements="dict", default=[]),
    actions=dict(type="dict", default={}),
    from_commit=dict(type="str"),
    gate=dict(type="dict"),
    started=dict(type="float"),
    operator=dict(type="str"),
    controller=dict(type="str"),
    failure=dict(type="str"),
    docker=dict(type="str", default="docker"),
    systemctl=dict(type="str", default="systemctl"),
)


def option_problems(p):
    problems = rel.option_problems(p)
    for probe in p["probes"]:
        try:
            ProbeSpec.from_dict(probe)
        except ValueError as exc:
            problems.append("probes: %s" % exc)
    for name in ("lock_wait", "lock_ttl"):
        if p[name] < 0:
            problems.append("%s must be 0 or more, got %d" % (name, p[name]))
    if p["health_timeout"] <= 0:
        problems.append("health_timeout must be positive, got %s" % p["health_timeout"])
    return problems


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_if=[("step", "check", ("project", "env_file")), ("step", "repair", ("project", "env_file"))],
        supports_check_mode=True,
    )
    hide_probe_secrets(module)
    problems = option_problems(module.params)
    if problems:
        module.fail_json(msg="Refused options, nothing changed: " + "; ".join(problems), changed=False)
    result = Reconciler(module.params, check_mode=module.check_mode, diff=module._diff).run(module.params["step"])
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
