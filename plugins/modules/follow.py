#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: follow
short_description: Pull mode - decide whether the followed branch or tag pattern needs a deploy
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - Used by the reconcile timer when C(berth_follow) is set; the deploy itself is one call of M(berth.compose.engine)
    (the same engine as C(deploy.yml)).
  - O(step=check) refuses a bad O(follow) first (the message names C(berth_follow)), asks the app's git remote
    (C(git ls-remote), as O(run_as)) what the followed branch names, or which tag matching the pattern has the
    highest version, and decides - RV(action) V(deploy) when that commit does not serve; V(pinned) while a rollback
    pin is set (never deploys past it); V(failed_before) when the release log says that commit failed its gate (not
    retried until the ref moves); V(rate_limited) after O(max_failures) failed follow deploys within O(window)
    seconds; V(current) or V(missing) otherwise. It writes the follow gauges into the reconcile metrics file.
  - O(step=finish) (after the engine ran) judges O(ref) and O(commit) again against what serves now and rewrites
    the gauges; it does not ask the remote.
  - The gauges are C(berth_follow_last_deployed_timestamp_seconds), C(berth_follow_behind) and
    C(berth_follow_pinned), in C(<metrics_dir>/berth_reconcile_<app_name>.prom).
options:
  step:
    description: What to do.
    type: str
    choices: [check, finish]
    default: check
  follow:
    description: C(berth_follow) - a branch name, or a tag pattern (it holds V(*), V(?) or V([)) such as V(v*); empty is
      off.
    type: str
    default: ""
  root:
    description: The app root.
    type: path
    required: true
  app_name:
    description: The app's name, for the metrics.
    type: str
    required: true
  run_as:
    description: The user who owns the app's clone; started as root, the module asks the remote as this user.
    type: str
  repo_ssh_key:
    description: Private deploy key for C(git ls-remote).
    type: str
  repo_known_hosts:
    description: Pinned known_hosts lines of the git server.
    type: str
  release_log:
    description: The release log; default C(<root>/releases.jsonl).
    type: path
  max_failures:
    description: Failed follow deploys within O(window) after which follow stops trying (0 never stops).
    type: int
    default: 3
  window:
    description: Seconds of the rate limit's window.
    type: int
    default: 3600
  force:
    description: Deploy even when the rate limit is tripped.
    type: bool
    default: false
  metrics_dir:
    description: Directory of the node_exporter textfile metrics; empty writes none.
    type: str
    default: ""
  ref:
    description: With O(step=finish), the RV(ref) of the check.
    type: str
  commit:
    description: With O(step=finish), the RV(commit) of the check.
    type: str
extends_documentation_fragment:
  - berth.compose.attributes
attributes:
  check_mode:
    support: full
    description: Decides and returns the same; writes no key file and no metrics.
  diff_mode:
    support: none
    description: Nothing but the metrics is written.
"""

EXAMPLES = r"""
- name: Decide whether the followed ref moved
  berth.compose.follow:
    follow: main
    root: /opt/shop
    app_name: shop
    run_as: deploy
    metrics_dir: /var/lib/node_exporter/textfile_collector
  register: follow

- name: Deploy it through the release engine
  berth.compose.engine:
    root: /opt/shop
    ref: "{{ follow.engine_ref }}"
    operator: "{{ follow.operator }}"
    project: shop
    env_file: /opt/shop/shared/.env
  when: follow.deploy
"""

RETURN = r"""
action:
  description: V(deploy), V(current), V(pinned), V(failed_before), V(rate_limited) or V(missing).
  returned: when O(follow) is set
  type: str
deploy:
  description: Whether this round deploys (RV(action) is V(deploy)).
  returned: always
  type: bool
ref:
  description: The branch, or the tag with the highest version that matches the pattern.
  returned: when O(follow) is set
  type: str
commit:
  description: The commit RV(ref) names on the remote.
  returned: when O(follow) is set
  type: str
msg:
  description: What this round does, and why, in one line.
  returned: always
  type: str
behind:
  description: The followed ref names another commit than the one that serves.
  returned: when O(follow) is set
  type: bool
pinned:
  description: A rollback pin holds follow back.
  returned: when O(follow) is set
  type: bool
engine_ref:
  description: The ref to hand the engine - the commit of a followed branch, the tag's name.
  returned: when O(follow) is set
  type: str
operator:
  description: The operator the deploy records, C(follow@<host name>).
  returned: always
  type: str
"""

import os
import socket
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils import follow as fl
from ansible_collections.berth.compose.plugins.module_utils import reconcile as rc
from ansible_collections.berth.compose.plugins.module_utils import release_log
from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils.atomic_file import atomic_write
from ansible_collections.berth.compose.plugins.module_utils.run_as import in_child_as

ARGUMENT_SPEC = dict(
    step=dict(type="str", choices=["check", "finish"], default="check"),
    follow=dict(type="str", default=""),
    root=dict(type="path", required=True),
    app_name=dict(type="str", required=True),
    run_as=dict(type="str"),
    repo_ssh_key=dict(type="str", no_log=True),
    repo_known_hosts=dict(type="str"),
    release_log=dict(type="path"),
    max_failures=dict(type="int", default=3),
    window=dict(type="int", default=3600),
    force=dict(type="bool", default=False),
    metrics_dir=dict(type="str", default=""),
    ref=dict(type="str"),
    commit=dict(type="str"),
)


def ls_remote(p, spec, check_mode):
    """dict(out=...) of `git ls-remote` for the followed ref, or dict(failed=True, msg=...)."""
    layout = rel.Layout(p["root"])
    if not os.path.isdir(layout.repo):
        return dict(failed=True, msg="follow: %s is missing, nothing was deployed yet; deploy once by hand "
                    "(deploy.yml), then the timer follows %s" % (layout.repo, spec.describe()))
    # Options before the remote: after it, git reads every word as a pattern.
    argv = ["git", "-C", layout.repo, "ls-remote"]
    argv += ["origin", "refs/heads/%s" % spec.value] if spec.kind == "branch" else ["--tags", "origin"]
    try:
        if check_mode:
            with rel.check_mode_ssh_environment(p["repo_ssh_key"], p["repo_known_hosts"]) as env:
                rc_, out = rel.run(argv, env=env, check=False, timeout=120)
        else:
            env = rel.ssh_environment(layout, p["repo_ssh_key"], p["repo_known_hosts"])[0]
            rc_, out = rel.run(argv, env=env, check=False, timeout=120)
    except rel.ReleaseError as exc:
        return dict(failed=True, msg="follow: git ls-remote failed in %s: %s" % (layout.repo, exc))
    if rc_ != 0:
        return dict(failed=True, msg="follow: git ls-remote failed in %s: %s" % (layout.repo, rel.tail(out, 10)))
    return dict(out=out)


def write_metrics(p, decision, records):
    if not p["metrics_dir"]:
        return
    path = rc.metrics_path(p["metrics_dir"], p["app_name"])
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError:
        text = ""
    os.makedirs(p["metrics_dir"], exist_ok=True)
    lines = fl.render_metrics(p["app_name"], fl.last_deployed(records), decision.behind, decision.pinned)
    atomic_write(path, fl.merge_metrics(text, lines), 0o644)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_if=[("step", "finish", ("ref", "commit"))])
    p = module.params
    operator = fl.OPERATOR_PREFIX + socket.gethostname()
    try:
        spec = fl.parse_follow(p["follow"])
    except ValueError as exc:
        module.fail_json(msg="Refusing berth_follow, nothing was changed: %s" % exc, changed=False, deploy=False)
    if spec is None:
        module.exit_json(changed=False, deploy=False, msg="follow is off (berth_follow is empty)", operator=operator)
    layout = rel.Layout(p["root"])
    log_path = p["release_log"] or os.path.join(p["root"], "releases.jsonl")
    try:
        records = release_log.read_log(log_path)[0]
    except (release_log.ReleaseLogError, OSError) as exc:
        module.fail_json(msg="follow: cannot read the release log %s: %s" % (log_path, exc), changed=False,
                         deploy=False)
    if p["step"] == "finish":
        target = (p["ref"], p["commit"])
    else:
        user = p["run_as"] if p["run_as"] and os.geteuid() == 0 else None
        if user:
            answer = in_child_as(user, lambda: ls_remote(p, spec, module.check_mode), name="git ls-remote")
        else:
            answer = ls_remote(p, spec, module.check_mode)
        if answer.get("failed"):
            module.fail_json(msg=answer["msg"], changed=False, deploy=False)
        target = fl.remote_target(spec, fl.parse_ls_remote(answer["out"]))
    decision = fl.decide(spec, target, layout.current_commit(), rel.read_pin(layout), records, time.time(),
                         p["max_failures"], p["window"], force=p["force"])
    if not module.check_mode:
        write_metrics(p, decision, records)
    result = decision.as_dict()
    # What the engine deploys: a tag by its name (the record keeps it), a branch by the commit the remote named.
    result["engine_ref"] = decision.commit if spec.kind == "branch" else decision.ref
    module.exit_json(changed=False, operator=operator, **result)


if __name__ == "__main__":
    main()
