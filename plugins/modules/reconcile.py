#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: reconcile
short_description: Find and repair drift of a host from its recorded release (the engine of reconcile.yml)
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - "The release to bring back is the rollback pin C(<root>/.berth/pin) when it exists, else the release log's
    current release. Reconcile never rolls forward to a newer commit."
  - "O(step=check) looks at the whole baseline in one call, read-only: the fingerprint of the files and units the
    provisioning roles manage (O(baseline)) against the one recorded by O(step=baseline); C(current) against the
    release; per long-running service, its container (present, running, healthy) and its
    C(com.docker.compose.config-hash) label against C(docker compose config --hash) of the release, run with the same
    command line as the app's systemd unit; and whether every image the release runs exists. It also judges the rate
    limit (O(max_failures) failed reconciles within O(window) seconds). With nothing drifted and not in check mode it
    writes the metrics (result V(ok)), so a no-op run is this one call."
  - "O(step=repair) recreates the release directory when it is gone, switches C(current) back, builds a missing
    image at the release's commit (or pulls an image-only service's), then C(up -d --no-deps --no-build) exactly the
    services that drifted. A service whose restart guard (O(guards)) says busy keeps its container when only its
    config differs (reported in RV(actions), key C(deferred)); the next round picks it up."
  - "O(step=baseline) records the fingerprint of O(baseline) in C(<root>/.berth/reconcile-baseline.json) (mode
    0600: it holds the sha256 of the env file, never a value)."
  - "O(step=finish) appends one C(kind: reconcile) record to O(release_log) when O(outcome) is V(ok) or V(failed)
    and O(drift) is not empty, and writes the state file C(<root>/.berth/reconcile-state.json) and the metrics."
  - "O(step=status) reads the rate limit and the last run, read-only (for C(verify.yml))."
  - "Metrics, when O(metrics_dir) is set, go to C(<metrics_dir>/berth_reconcile_<app>.prom), written atomically
    (temporary file, then rename): C(berth_reconcile_enabled), C(berth_reconcile_last_run_timestamp_seconds),
    C(berth_reconcile_last_result{result=...}) and C(berth_drift_repaired_total)."
options:
  step:
    description: The step to run (see above).
    type: str
    required: true
    choices: [check, repair, baseline, finish, status]
  root:
    description: The app root (C(berth_app_root)).
    type: path
    required: true
  app_name:
    description: The app's name (C(berth_app_name)), for the metrics.
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
    description: The shared env file (C(--env-file)).
    type: path
  one_shot:
    description: Services that run to completion; they are not judged.
    type: list
    elements: str
    default: []
  release_log:
    description: The release log (C(<root>/releases.jsonl) by default).
    type: path
  baseline:
    description:
      - What the provisioning roles manage, for the fingerprint.
    type: dict
    default: {}
    suboptions:
      files:
        description: Files whose sha256, mode and owner count.
        type: list
        elements: path
        default: []
      enabled:
        description: Units whose C(systemctl is-enabled) state counts.
        type: list
        elements: str
        default: []
      active:
        description: Units whose C(systemctl is-active) state counts.
        type: list
        elements: str
        default: []
  docker_unit:
    description: The Docker unit; while it is not active, containers are not judged (the roles start it first).
    type: str
    default: docker.service
  app_unit:
    description:
      - With O(step=repair), the app's systemd unit (C(<app>.service)); started after the repair when it is not
        active (stopping Docker stops it), so it stops the app cleanly again at shutdown. Empty leaves it alone.
    type: str
    default: ""
  guards:
    description: With O(step=repair), the restart guards (C(berth_restart_guards)) - per service a C(command) run once with C(exec).
    type: dict
    default: {}
  max_failures:
    description: Failed reconciles within O(window) after which O(step=check) reports RV(rate_limited); 0 never.
    type: int
    default: 3
  window:
    description: Seconds over which failed reconciles count.
    type: int
    default: 3600
  force:
    description: With O(step=check), ignore the rate limit (it is still reported).
    type: bool
    default: false
  enable_file:
    description: The reconcile enable-file; the metric C(berth_reconcile_enabled) says whether it exists.
    type: path
  metrics_dir:
    description: node_exporter textfile collector directory; empty writes no metrics.
    type: str
    default: ""
  outcome:
    description: With O(step=finish), how the run ended.
    type: str
    choices: [ok, failed, skipped_locked, rate_limited, checked]
    default: ok
  drift:
    description: With O(step=finish), the RV(drift) of the check and the repair.
    type: list
    elements: dict
    default: []
  actions:
    description: With O(step=finish), the RV(actions) of the repair, plus C(switched) and C(provisioned).
    type: dict
    default: {}
  from_commit:
    description: With O(step=finish), the commit C(current) pointed at before the run.
    type: str
  gate:
    description: With O(step=finish), the health gate's result (C(passed), C(failed_services)).
    type: dict
  started:
    description: With O(step=finish), when the run started (epoch seconds).
    type: float
  operator:
    description: With O(step=finish), who ran it.
    type: str
  failure:
    description: With O(step=finish), a reason appended to the record's message (why it failed).
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
attributes:
  check_mode:
    support: full
    description:
      - O(step=check) and O(step=status) only read. O(step=repair) returns what it would do; O(step=baseline) and
        O(step=finish) write nothing.
  diff_mode:
    support: full
    description: O(step=check) and O(step=repair) return the drift as a prepared diff.
requirements:
  - the docker CLI with the Compose v2 plugin and systemd on the host
notes:
  - Run it as root, since it reads the env file and the units; the repair works as the owner of the app files.
seealso:
  - module: berth.compose.release
  - module: berth.compose.health_gate
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
    one_shot: [migrate]
    baseline:
      files: [/etc/caddy/Caddyfile, /opt/shop/shared/.env]
      enabled: [docker.service, shop.service]
      active: [docker.service]
  register: check

- name: Repair what drifted
  berth.compose.reconcile:
    step: repair
    root: /opt/shop
    app_name: shop
    project: shop
    env_file: /opt/shop/shared/.env
    one_shot: [migrate]
  register: repair
  when: check.repair_needed
"""

RETURN = r"""
commit:
  description: The release reconcile brings back (null when the release log names none).
  returned: always
  type: str
  sample: 2f6e8a1d3c5b7a9e0f1d2c3b4a5e6f7a8b9c0d1e
source:
  description: Where RV(commit) came from - V(pin), V(release log) or V(nothing recorded).
  returned: always
  type: str
  sample: pin
current_commit:
  description: The commit C(current) pointed at when the step started.
  returned: always
  type: str
  sample: 2f6e8a1d3c5b7a9e0f1d2c3b4a5e6f7a8b9c0d1e
drift:
  description: What differs, each with C(kind) (V(baseline), V(current), V(release), V(image), V(missing), V(stopped),
    V(config), V(unhealthy)), C(subject), C(detail) and the C(action) that repairs it.
  returned: step=check or step=repair
  type: list
  elements: dict
  sample: [{kind: stopped, subject: web, detail: container is exited, action: start}]
lines:
  description: With O(step=check), the drift in words, one line each.
  returned: step=check
  type: list
  elements: str
  sample: ["web: container is exited -> start"]
baseline_changed:
  description: With O(step=check), whether the provisioning roles must run again.
  returned: step=check
  type: bool
  sample: false
repair_needed:
  description: With O(step=check), whether something besides the baseline drifted (or docker was down).
  returned: step=check
  type: bool
  sample: true
rate_limited:
  description: Whether the rate limit is tripped (see O(max_failures)).
  returned: step=check or step=status
  type: bool
  sample: false
blocked:
  description: With O(step=check), whether this run stops for the rate limit (tripped, something drifted, no O(force)).
  returned: step=check
  type: bool
  sample: false
rate_limit_msg:
  description: Why it tripped, when it did.
  returned: step=check or step=status
  type: str
  sample: "reconcile stopped: 3 failed repairs within 3600 s ..."
actions:
  description: With O(step=repair), what it did (or would do) - C(build), C(pull), C(up), C(force), C(deferred),
    C(switched) (commit or empty), C(release_dir) (true when it was made again).
  returned: step=repair
  type: dict
  sample: {build: [], pull: [], up: [web], force: [], deferred: [], switched: "", release_dir: false}
recreated:
  description: With O(step=repair), the services started or recreated (what the gate must check).
  returned: step=repair
  type: list
  elements: str
  sample: [web]
record:
  description: With O(step=finish), the release log record written (none when nothing was recorded).
  returned: step=finish
  type: dict
  sample: {kind: reconcile, outcome: ok}
last:
  description: With O(step=status), the state file (last run, last result, repaired total).
  returned: step=status
  type: dict
  sample: {last_run: 1795446000, last_result: ok, repaired_total: 4}
"""

import json
import os
import pwd
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils import reconcile as rc
from ansible_collections.berth.compose.plugins.module_utils import release_log
from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils.atomic_file import atomic_write
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import ComposeProject, render_config


class Host(object):
    """The I/O of one run: the layout, the release log, systemd and docker."""

    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.layout = rel.Layout(self.p["root"])
        self.log_path = self.p["release_log"] or os.path.join(self.p["root"], "releases.jsonl")
        self.state_path = os.path.join(self.layout.state, rc.STATE_FILE)
        self.baseline_path = os.path.join(self.layout.state, rc.BASELINE_FILE)

    # -------------------------------------------------------------- reading

    def records(self):
        try:
            return release_log.read_log(self.log_path)[0]
        except (release_log.ReleaseLogError, OSError) as exc:
            self.module.fail_json(msg="cannot read the release log %s: %s" % (self.log_path, exc))

    def pin(self):
        try:
            with open(self.layout.pin) as handle:
                return handle.read().strip()
        except (IOError, OSError):
            return ""

    def target(self, records):
        return rc.target_release(self.pin(), records, release_log.commit_matches)

    def unit_state(self, verb, unit):
        proc = subprocess.run([self.p["systemctl"], verb, unit], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              check=False)
        return proc.stdout.decode("utf-8", "replace").strip().splitlines()[-1:] or ["unknown"]

    def baseline_now(self):
        spec = self.p["baseline"] or {}
        enabled = dict((unit, self.unit_state("is-enabled", unit)[0]) for unit in spec.get("enabled") or [])
        active = dict((unit, self.unit_state("is-active", unit)[0]) for unit in spec.get("active") or [])
        return rc.baseline_items(spec.get("files") or [], enabled, active)

    def docker_active(self):
        return self.unit_state("is-active", self.p["docker_unit"])[0] == "active"

    def release_ref(self, commit, record):
        """BERTH_REF of the release: its .berth/release.env (what the boot unit reads), else the record's ref."""
        path = os.path.join(self.layout.release_dir(commit), rel.RELEASE_ENV)
        try:
            with open(path) as handle:
                for line in handle:
                    if line.startswith("BERTH_REF="):
                        return line.split("=", 1)[1].strip()
        except (IOError, OSError):
            pass
        return (record or {}).get("ref") or commit

    def compose(self, directory, commit, ref):
        return ComposeProject(name=self.p["project"], project_dir=directory,
                              files=tuple(self.p["compose_files"]) + (rel.OVERRIDE,), env_file=self.p["env_file"],
                              environment=rel.release_environment(ref, commit), docker=self.p["docker"])

    def containers(self):
        """service -> [dict(status, health, config_hash, created)] of the project (one-off runs left out)."""
        docker = self.p["docker"]
        ids = rel.run([docker, "ps", "-aq", "--no-trunc", "--filter",
                       "label=%s=%s" % (rel.LABEL_PROJECT, self.p["project"])])[1].split()
        out = {}
        if not ids:
            return out
        for item in json.loads(rel.run([docker, "inspect"] + ids)[1]):
            labels = (item.get("Config") or {}).get("Labels") or {}
            if labels.get(rel.LABEL_ONEOFF) == "True":
                continue
            state = item.get("State") or {}
            out.setdefault(labels.get(rel.LABEL_SERVICE), []).append({
                "status": state.get("Status"), "health": (state.get("Health") or {}).get("Status"),
                "config_hash": labels.get(rc.CONFIG_HASH_LABEL), "created": item.get("Created"),
                "id": item.get("Id")})
        return out

    def present_images(self):
        out = rel.run([self.p["docker"], "images", "--format", "{{.Repository}}:{{.Tag}}"])[1]
        return set(out.split())

    def analyse(self, commit, record):
        """(drift, facts) of the release's services; facts has buildable, services and the project."""
        ref = self.release_ref(commit, record)
        project = self.compose(self.layout.current, commit, ref)
        proc = rel.run(project.argv("config", "--hash", "*"), env=project.process_env())
        hashes = rc.parse_config_hashes(proc[1])
        images = rel.read_images(self.layout.current)
        buildable = sorted(images)
        services = sorted(set(hashes) - set(self.p["one_shot"]))
        image_only = [s for s in services if s not in images]
        if image_only:
            model = render_config(project)
            for service in image_only:
                image = ((model.get("services") or {}).get(service) or {}).get("image")
                if image:
                    images[service] = image if ":" in image.rsplit("/", 1)[-1] else image + ":latest"
        images = dict((s, images[s]) for s in services if s in images)
        drift = rc.service_drift(services, hashes, self.containers(), images, self.present_images())
        # A service with depends_on hashes differently under `up --no-deps` (deploy, repair) and a plain `up`
        # (the boot unit), and `config --hash` matches neither: for a label that differs, ask Compose itself
        # whether either of those two `up`s would recreate the container; drift only when both would.
        judged = []
        for item in drift:
            if item.kind == "config" and not all(
                    rc.dry_run_recreates(rel.run(project.argv("--dry-run", "up", "-d", "--no-build", *mode + [item.subject]),
                                                 env=project.process_env())[1], self.p["project"], item.subject)
                    for mode in (["--no-deps"], [])):
                continue
            judged.append(item)
        return judged, dict(buildable=buildable, services=services, ref=ref)

    # -------------------------------------------------------------- writing

    def owner_ids(self):
        """uid, gid of the app's files (the release log, else releases/, else the root)."""
        for path in (self.log_path, self.layout.releases, self.layout.root):
            try:
                st = os.stat(path)
                return st.st_uid, st.st_gid
            except OSError:
                continue
        return None, None

    def as_owner(self, argv):
        """argv run as the owner of the app's files when this runs as root (git refuses a repo of another user)."""
        uid, dummy = self.owner_ids()
        if os.geteuid() == 0 and uid not in (None, 0):
            return ["runuser", "-u", pwd.getpwuid(uid).pw_name, "--"] + argv
        return argv

    def write_metrics(self, result, state, now):
        directory = self.p["metrics_dir"]
        if not directory:
            return
        enabled = bool(self.p["enable_file"]) and os.path.exists(self.p["enable_file"])
        os.makedirs(directory, exist_ok=True)
        text = rc.render_metrics(self.p["app_name"], enabled, now, result, state.get("repaired_total", 0))
        atomic_write(rc.metrics_path(directory, self.p["app_name"]), text, 0o644)

    def record_run(self, result, repaired, now):
        state = rc.update_state(rc.read_json(self.state_path), now, result, repaired)
        if os.path.isdir(self.layout.state):
            rc.write_json(self.state_path, state, 0o644)
        self.write_metrics(result, state, now)
        return state


def drift_diff(drift):
    lines = ["%s %s: %s -> %s" % (d.kind, d.subject, d.detail, d.action) for d in drift]
    return {"prepared": "reconcile would repair:\n" + "".join("  %s\n" % line for line in lines) if lines
            else "nothing drifted\n"}


def step_check(host, result):
    module, p = host.module, host.p
    now = time.time()
    records = host.records()
    commit, record, source = host.target(records)
    result.update(commit=commit, source=source)
    drift = []
    recorded = rc.read_json(host.baseline_path)
    drift += rc.baseline_drift(recorded.get("items") if recorded else None, host.baseline_now())
    result["baseline_changed"] = bool(drift)
    repair = False
    if commit:
        release_dir = os.path.normpath(host.layout.release_dir(commit))
        if not os.path.isdir(release_dir):
            drift.append(rc.Drift("release", commit[:12], "release directory %s is missing" % release_dir, "prepare"))
            repair = True
        elif host.layout.current_dir() != release_dir:
            drift.append(rc.Drift("current", "current", "points at %s, the recorded release is %s (%s)"
                                  % (host.layout.current_dir(), commit[:12], source), "switch"))
            repair = True
        elif not host.docker_active():
            # The roles start docker; the repair judges the containers afterwards.
            repair = True
        else:
            service_drift, dummy = host.analyse(commit, record)
            drift += service_drift
            repair = bool(service_drift)
    tripped, message = rc.rate_limit(records, now, p["max_failures"], p["window"])
    result.update(drift=[d.as_dict() for d in drift], lines=["%s: %s -> %s" % (d.subject, d.detail, d.action) for d in drift],
                  repair_needed=repair, rate_limited=tripped,
                  rate_limit_msg=message, blocked=tripped and not p["force"] and bool(drift))
    if module._diff:
        result["diff"] = drift_diff(drift)
    if not drift and not module.check_mode:
        host.record_run("ok", 0, now)


def ensure_release_dir(host, commit, record, result):
    """Make releases/<commit> again as a deploy would (worktree, .env link, image map, release.env)."""
    layout = host.layout
    directory = layout.release_dir(commit)
    run = rel.run
    run(host.as_owner(["git", "-C", layout.repo, "worktree", "prune"]), check=False)
    run(host.as_owner(["git", "-C", layout.repo, "worktree", "add", "--detach", directory, commit]))
    images = (record or {}).get("images") or {}
    uid, gid = host.owner_ids()
    rel.ensure_env_link(directory, host.p["env_file"])
    written = [os.path.join(directory, rel.OVERRIDE), os.path.join(directory, rel.RELEASE_ENV)]
    rel.write_if_changed(written[0], rel.render_override(images))
    rel.write_if_changed(written[1], rel.render_release_env(rel.release_environment(
        (record or {}).get("ref") or commit, commit)))
    if os.geteuid() == 0 and uid is not None:
        for path in [os.path.join(directory, ".berth"), os.path.join(directory, ".env")] + written:
            os.lchown(path, uid, gid)


def guard_busy(host, commit, ref, service):
    guard = host.p["guards"].get(service) or {}
    if not guard.get("command"):
        return False
    project = host.compose(host.layout.current, commit, ref)
    code = rel.run(project.argv("exec", "-T", service, *guard["command"]), env=project.process_env(), check=False)[0]
    return code != 0


def step_repair(host, result):
    module, p, layout = host.module, host.p, host.layout
    records = host.records()
    commit, record, source = host.target(records)
    actions = dict(build=[], pull=[], up=[], force=[], deferred=[], switched="", release_dir=False)
    result.update(commit=commit, source=source, actions=actions, recreated=[], drift=[])
    if not commit:
        return
    drift = []
    if p["app_unit"] and not module.check_mode and host.unit_state("is-active", p["app_unit"])[0] != "active":
        drift.append(rc.Drift("unit", p["app_unit"], "is not active", "start"))
    release_dir = os.path.normpath(layout.release_dir(commit))
    if not os.path.isdir(release_dir):
        drift.append(rc.Drift("release", commit[:12], "release directory %s is missing" % release_dir, "prepare"))
        actions["release_dir"] = True
        if module.check_mode:
            result["drift"] = [d.as_dict() for d in drift]
            result["changed"] = True
            return
        ensure_release_dir(host, commit, record, result)
    if layout.current_dir() != release_dir:
        drift.append(rc.Drift("current", "current", "points at %s, the recorded release is %s (%s)"
                              % (layout.current_dir(), commit[:12], source), "switch"))
        actions["switched"] = commit
        if module.check_mode:
            result["drift"] = [d.as_dict() for d in drift]
            result["changed"] = True
            return
        rel.switch_current(layout, commit)
    if module.check_mode and not host.docker_active():
        # A docker command would start Docker through its socket: judge the containers after the roles ran.
        drift.append(rc.Drift("docker", p["docker_unit"], "is not active; containers are judged once it runs",
                              "start"))
        result.update(drift=[d.as_dict() for d in drift], changed=True)
        return
    service_drift, facts = host.analyse(commit, record)
    drift += service_drift
    busy = [d.subject for d in service_drift if d.kind in ("config", "unhealthy")
            and not module.check_mode and guard_busy(host, commit, facts["ref"], d.subject)]
    plan = rc.plan_actions(service_drift, facts["buildable"], busy)
    actions.update(plan)
    result.update(drift=[d.as_dict() for d in drift], recreated=plan["up"],
                  changed=bool(actions["switched"] or actions["release_dir"] or plan["up"] or plan["build"]
                               or plan["pull"]))
    if module._diff:
        result["diff"] = drift_diff(drift)
    if module.check_mode:
        return
    builder = host.compose(release_dir, commit, facts["ref"])
    if plan["build"]:
        rel.run(builder.argv("build", *plan["build"]), env=builder.process_env())
    if plan["pull"]:
        rel.run(builder.argv("pull", "--quiet", "--policy", "missing", *plan["pull"]), env=builder.process_env())
    project = host.compose(layout.current, commit, facts["ref"])
    plain = [s for s in plan["up"] if s not in plan["force"]]
    if plain:
        rel.run(project.argv("up", "-d", "--no-deps", "--no-build", *plain), env=project.process_env())
    if plan["force"]:
        rel.run(project.argv("up", "-d", "--no-deps", "--no-build", "--force-recreate", *plan["force"]),
                env=project.process_env())
    if p["app_unit"] and host.unit_state("is-active", p["app_unit"])[0] != "active":
        # Everything matches the release now: the unit's `up` changes nothing and marks the app started.
        rel.run([p["systemctl"], "start", p["app_unit"]])
        actions["app_unit"] = p["app_unit"]
        result["changed"] = True


def step_baseline(host, result):
    items = host.baseline_now()
    result["changed"] = False
    if host.module.check_mode:
        return
    if not os.path.isdir(host.layout.state):
        host.module.fail_json(msg="%s is missing: provision the app root first (role berth.compose.layout)"
                              % host.layout.state)
    rc.write_json(host.baseline_path, {"items": items, "recorded": int(time.time())}, 0o600)


def step_finish(host, result):
    module, p = host.module, host.p
    now = time.time()
    drift = [rc.Drift.from_dict(d) for d in p["drift"]]
    outcome = p["outcome"]
    if module.check_mode:
        return
    if outcome in ("ok", "failed") and drift:
        records = host.records()
        commit, record, dummy = host.target(records)
        text = rc.summary(drift, p["actions"])
        if p["failure"]:
            text += " -- " + p["failure"]
        gate = p["gate"]
        entry = {
            "kind": "reconcile", "ref": (record or {}).get("ref"), "from_commit": p["from_commit"] or None,
            "to_commit": commit, "serving_commit": commit if outcome == "ok" else None,
            "services_built": list(p["actions"].get("build") or []) + list(p["actions"].get("pull") or []),
            "services_recreated": list(p["actions"].get("up") or []),
            "services_deferred": list(p["actions"].get("deferred") or []),
            "images": dict((record or {}).get("images") or {}),
            "gate": ({"passed": bool(gate.get("passed")), "services": list(gate.get("failed_services") or [])}
                     if gate and "passed" in gate else "skipped"),
            "outcome": outcome,
            "started": release_log.iso_now(p["started"] or now),
            "duration_s": round(now - (p["started"] or now), 1),
            "operator": p["operator"], "pinned": bool(host.pin()), "message": text,
        }
        try:
            prepared = release_log.prepare_record(entry, now=now)
            uid, gid = host.owner_ids()
            release_log.append_record(host.log_path, release_log.encode(prepared), uid=uid, gid=gid)
        except (release_log.ReleaseLogError, OSError) as exc:
            module.fail_json(msg="cannot append to the release log %s: %s" % (host.log_path, exc))
        result["record"] = prepared
        result["changed"] = True
    name = "repaired" if outcome == "ok" and drift else outcome
    host.record_run(name, len(drift) if outcome == "ok" else 0, now)


def step_status(host, result):
    p = host.p
    records = host.records()
    tripped, message = rc.rate_limit(records, time.time(), p["max_failures"], p["window"])
    result.update(rate_limited=tripped, rate_limit_msg=message, last=rc.read_json(host.state_path) or {})


STEPS = dict(check=step_check, repair=step_repair, baseline=step_baseline, finish=step_finish, status=step_status)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            step=dict(type="str", required=True, choices=sorted(STEPS)),
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
            max_failures=dict(type="int", default=3),
            window=dict(type="int", default=3600),
            force=dict(type="bool", default=False),
            enable_file=dict(type="path"),
            metrics_dir=dict(type="str", default=""),
            outcome=dict(type="str", default="ok",
                         choices=["ok", "failed", "skipped_locked", "rate_limited", "checked"]),
            drift=dict(type="list", elements="dict", default=[]),
            actions=dict(type="dict", default={}),
            from_commit=dict(type="str"),
            gate=dict(type="dict"),
            started=dict(type="float"),
            operator=dict(type="str"),
            failure=dict(type="str"),
            docker=dict(type="str", default="docker"),
            systemctl=dict(type="str", default="systemctl"),
        ),
        required_if=[
            ("step", "check", ("project", "env_file")),
            ("step", "repair", ("project", "env_file")),
        ],
        supports_check_mode=True,
    )
    problems = rel.option_problems(module.params)
    if problems:
        module.fail_json(msg="Refused options, nothing changed: " + "; ".join(problems), changed=False)
    host = Host(module)
    result = dict(changed=False, current_commit=host.layout.current_commit())
    try:
        STEPS[module.params["step"]](host, result)
    except rel.ReleaseError as exc:
        module.fail_json(msg=str(exc), output=rel.tail(exc.output, 20), **result)
    except Exception as exc:  # compose_cli errors carry compose's own message
        if type(exc).__name__ != "ComposeCliError":
            raise
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
