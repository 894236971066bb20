#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: release
short_description: One step of a release on the host - preflight, prepare and build, run one-shots, cut over, soak, prune
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - The engine behind C(deploy.yml), C(rollback.yml) and provision's first release. Each O(step) is one named
    step of the deploy story; the playbooks call them in order.
  - "Layout under O(root): C(repo/) the one git clone; C(releases/<full sha>/) a C(git worktree add --detach) per
    release, with C(.env) linked to O(env_file), C(.berth/images.yml) (a compose override naming the image of every
    build service) and C(.berth/release.env) (C(BERTH_REF), C(BERTH_COMMIT), C(BERTH_SHORT_SHA));
    C(current) a symlink to the release that serves, replaced atomically (rename of a new symlink)."
  - "Images are named C(<project>-<service>:<first 12 hex digits of the commit that built them>). A release that
    does not rebuild a service runs the image the previous release ran, so a rollback to a retained release builds
    nothing."
  - "Every compose command is C(docker compose -p <project> --project-directory <dir> -f <dir>/<file>...
    -f <dir>/.berth/images.yml --env-file <env_file>) with the release variables in its environment; C(<dir>) is the
    release directory before cutover and C(<root>/current) after, exactly what the app's systemd unit runs at boot
    (it reads C(.berth/release.env) through C(EnvironmentFile=)), so a boot or a later C(up) recreates nothing."
  - "O(step=preflight): C(git fetch) in C(repo/) (branches fast-forward only: a rewritten remote branch is refused),
    resolves O(ref) to a commit, audits the env file against the env template at that commit (missing keys are
    named, values never shown) and checks free disk. Changes nothing the app reads; C(changed) only when the fetch
    brought new refs."
  - "O(step=prepare): makes C(releases/<commit>) and its C(.berth) files, then builds the services in O(build) plus
    any build service whose image is gone, and pulls O(pull). Nothing running changes."
  - "O(step=run): runs O(commands) in order (C(docker compose run --rm --no-deps) in the new release, or C(exec) in
    the running container); stops at the first failure and fails with its last O(log_lines) lines."
  - "O(step=cutover): runs the O(guards) of the services about to be recreated (busy ones are waited for, then
    deferred or failed), switches C(current) to the release, then C(up -d --no-deps --no-build --force-recreate)
    exactly O(services) minus the deferred ones. Other containers keep their IDs."
  - "O(step=cutover) with O(zero_downtime): each of those services is cut over without a gap instead - a new
    container beside the old (C(up --no-recreate --scale <service>=2)), gated directly (running, healthcheck healthy,
    an HTTP answer below 500 from C(http://<container ip>:<port><probe_path>)), then Caddy's upstreams snippet
    C(<root>/.berth/upstreams/<service>.caddy) names it and Caddy reloads gracefully, the old container is drained
    (no connection left from Caddy, at most O(drain_timeout) seconds) and stopped with its own C(stop_grace_period).
    A new container that fails its gate is removed, the old one keeps serving, C(current) is switched back, and the
    step fails. After a plain recreate, the snippets of services that have one are brought up to date too."
  - "O(step=check): in the release directory of O(commit), checks that the services in O(zero_downtime) can run
    two containers side by side (no fixed host port, no C(container_name), one container port for Caddy) and fails
    naming each service and how to fix its compose file. Changes nothing."
  - "O(step=upstreams): points each snippet of O(zero_downtime) at the running containers of its service and
    reloads Caddy when one changed (the first start, a reboot that gave containers new addresses, reconcile)."
  - "O(step=soak): watches the containers of O(services) for O(seconds); fails when one restarts, exits, turns
    unhealthy or is replaced."
  - "O(step=prune): removes release directories beyond the newest O(keep), never those in O(protect) nor the current
    one, and the images only they ran, never one a container uses."
options:
  step:
    description: The step to run (see above).
    type: str
    required: true
    choices: [preflight, prepare, check, run, cutover, upstreams, soak, prune]
  root:
    description: The app root (C(berth_app_root)).
    type: path
    required: true
  ref:
    description:
      - With O(step=preflight), the branch, tag or commit to resolve. Elsewhere, the ref as the operator gave it,
        for C(BERTH_REF).
    type: str
  commit:
    description: The release commit (full sha), for O(step=prepare), O(step=run) and O(step=cutover).
    type: str
  fetch:
    description: With O(step=preflight), run C(git fetch) first.
    type: bool
    default: true
  repo_ssh_key:
    description:
      - With O(step=preflight), the private deploy key that reads the repository over SSH (from the vault). It is
        written to C(<root>/.berth/repo_key) (mode 0600) and git runs C(ssh) with it alone, no agent.
    type: str
  repo_known_hosts:
    description:
      - With O(step=preflight) and O(repo_ssh_key), the known_hosts lines of the git server, written to
        C(<root>/.berth/repo_known_hosts); SSH checks the host key strictly against them.
    type: str
  project:
    description: Compose project name.
    type: str
  compose_files:
    description: Compose files, relative to the release directory.
    type: list
    elements: str
    default: [compose.yaml]
  env_file:
    description: The shared env file (C(--env-file), and C(.env) of every release).
    type: path
  env_template:
    description: With O(step=preflight), the env template in the repository whose keys the env file must have.
    type: str
    default: .env.example
  env_optional:
    description: With O(step=preflight), template keys the env file may lack.
    type: list
    elements: str
    default: []
  release_log:
    description:
      - With O(step=preflight), the release log to read what the last run deferred (RV(deferred)), so a deploy with
        nothing else to do knows it after this one call.
      - With O(step=prune), the release log whose retained releases (the newest O(keep), the current and the last
        good) are never pruned.
    type: path
  min_free_mb:
    description: With O(step=preflight), free space (MB) needed under O(root).
    type: int
    default: 0
  buildable:
    description: With O(step=prepare), the services that have a C(build) section.
    type: list
    elements: str
    default: []
  build:
    description: With O(step=prepare), the services the plan rebuilds.
    type: list
    elements: str
    default: []
  pull:
    description: With O(step=prepare), image-based services to pull.
    type: list
    elements: str
    default: []
  previous_images:
    description:
      - With O(step=prepare), service to image the services that are not rebuilt inherit, given instead of
        O(images_from) (a rollback to a release whose directory was pruned passes the images the release log
        recorded for it).
    type: dict
    default: {}
  images_from:
    description:
      - With O(step=prepare), the release whose image map services that are not rebuilt inherit. Default is the
        release C(current) points at; a rollback names the target release itself.
    type: str
  commands:
    description:
      - With O(step=run), the commands in order.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Label in results and messages; default the service name.
        type: str
      service:
        description: Compose service to run in.
        type: str
        required: true
      command:
        description: Command (argv list); empty runs the service's own command.
        type: list
        elements: str
        default: []
      mode:
        description: V(run) a new one-off container of the new release; V(exec) in the running container.
        type: str
        choices: [run, exec]
        default: run
  services:
    description: With O(step=cutover), the services to recreate; with O(step=soak), the services to watch.
    type: list
    elements: str
    default: []
  guards:
    description:
      - With O(step=cutover), per service, C(command) (argv list run with C(exec) in its running container; exit 0
        means idle), C(wait) (seconds to wait for idle, default 600) and C(on_busy) (V(defer) keeps the old container
        and reports the service in RV(deferred); V(fail) fails before anything switches).
    type: dict
    default: {}
  pin:
    description:
      - With O(step=cutover), the rollback pin C(<root>/.berth/pin) that reconcile respects - a commit writes it
        (a rollback), an empty string removes it (a deploy moves on). Omitted leaves it alone.
    type: str
  zero_downtime:
    description:
      - Services cut over with zero downtime behind Caddy (C(berth_zero_downtime)), for O(step=check),
        O(step=cutover) and O(step=upstreams).
    type: list
    elements: str
    default: []
  caddy:
    description: The caddy CLI (C(caddy adapt), C(caddy reload) through the admin API).
    type: str
    default: caddy
  caddyfile:
    description: The live Caddyfile, which imports the upstreams snippets.
    type: path
    default: /etc/caddy/Caddyfile
  gate_timeout:
    description: With O(step=cutover) and O(zero_downtime), seconds a new container may take to pass its gate.
    type: float
    default: 120
  drain_timeout:
    description: With O(step=cutover) and O(zero_downtime), seconds to wait for Caddy's connections to the old container to end.
    type: float
    default: 30
  probe_path:
    description: With O(step=cutover) and O(zero_downtime), the path the gate requests from the new container itself.
    type: str
    default: /
  seconds:
    description: With O(step=soak), how long to watch.
    type: float
    default: 5
  keep:
    description: With O(step=prune), release directories to keep (newest first).
    type: int
    default: 5
  protect:
    description: With O(step=prune), commits never pruned (besides the current release and O(release_log)'s).
    type: list
    elements: str
    default: []
  log_lines:
    description: Output lines a failure shows.
    type: int
    default: 20
  docker:
    description: The docker CLI.
    type: str
    default: docker
extends_documentation_fragment:
  - berth.compose.attributes
attributes:
  check_mode:
    support: full
    description:
      - O(step=preflight) fetches (the plan needs the target's objects; the fetch changes nothing the app reads)
        and checks. Every other step reports what it would do and changes nothing.
  diff_mode:
    support: none
    description: The playbooks print the plan instead; the steps return what they did.
requirements:
  - git and the docker CLI with the Compose v2 plugin on the host
notes:
  - Run it as the deploy user (member of the C(docker) group) so release files belong to that user.
seealso:
  - module: berth.compose.changed_services
  - module: berth.compose.health_gate
  - module: berth.compose.release_log
"""

EXAMPLES = r"""
- name: Resolve the ref and check the host
  berth.compose.release:
    step: preflight
    root: /opt/shop
    ref: v1.4.2
    env_file: /opt/shop/shared/.env
    min_free_mb: 512
  register: target

- name: Prepare the release and build what the plan says
  berth.compose.release:
    step: prepare
    root: /opt/shop
    commit: "{{ target.commit }}"
    ref: v1.4.2
    project: shop
    env_file: /opt/shop/shared/.env
    buildable: [web, api]
    build: [web]

- name: Cut over to it, recreating only web
  berth.compose.release:
    step: cutover
    root: /opt/shop
    commit: "{{ target.commit }}"
    ref: v1.4.2
    project: shop
    env_file: /opt/shop/shared/.env
    services: [web]
"""

RETURN = r"""
commit:
  description: The release commit (O(step=preflight) - what O(ref) resolved to).
  returned: success
  type: str
  sample: 2f6e8a1d3c5b7a9e0f1d2c3b4a5e6f7a8b9c0d1e
short:
  description: Its first 12 hex digits (the image tag).
  returned: success
  type: str
  sample: 2f6e8a1d3c5b
kind:
  description: With O(step=preflight), what O(ref) named - V(branch), V(tag) or V(commit).
  returned: step=preflight
  type: str
  sample: tag
current_commit:
  description: The commit C(current) served when the step started (null before the first release).
  returned: always
  type: str
  sample: 9d1c2b7a0e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b
current_dir:
  description: The directory C(current) pointed at when the step started.
  returned: always
  type: str
  sample: /opt/shop/releases/9d1c2b7a0e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b
release_dir:
  description: The release's directory.
  returned: success
  type: str
  sample: /opt/shop/releases/2f6e8a1d3c5b7a9e0f1d2c3b4a5e6f7a8b9c0d1e
release_exists:
  description: With O(step=preflight), whether the release directory is already there.
  returned: step=preflight
  type: bool
  sample: false
releases:
  description: With O(step=preflight), how many release directories there are (retention runs only past its limit).
  returned: step=preflight
  type: int
  sample: 4
missing_keys:
  description: With O(step=preflight), env template keys the env file lacks (names only).
  returned: step=preflight
  type: list
  elements: str
  sample: [APP_COLOR]
images:
  description: With O(step=prepare), the image every build service of the release runs.
  returned: step=prepare
  type: dict
  sample: {web: shop-web:2f6e8a1d3c5b, api: shop-api:9d1c2b7a0e4f}
built:
  description: With O(step=prepare), the services built (or that would be).
  returned: step=prepare
  type: list
  elements: str
  sample: [web]
current_images:
  description: With O(step=prepare), the image map of the release C(current) points at.
  returned: step=prepare
  type: dict
  sample: {web: shop-web:9d1c2b7a0e4f}
rebuilt_missing:
  description: With O(step=prepare), services built only because the image they should reuse is gone.
  returned: step=prepare
  type: list
  elements: str
  sample: []
results:
  description: With O(step=run), one entry per command run (name, service, rc, seconds, output tail).
  returned: step=run
  type: list
  elements: dict
  sample: [{name: migrate, service: migrate, rc: 0, seconds: 1.2, output: "migrations applied: 1"}]
zero_downtime:
  description:
    - With O(step=cutover), per service cut over with zero downtime, the containers replaced, the new one, the
      seconds its gate and the drain took.
    - With O(step=upstreams), service to the addresses Caddy routes to now.
  returned: step=cutover or step=upstreams
  type: raw
  sample: [{service: web, old: [sample-web-1], new: sample-web-2, gate_s: 6.5, drained_s: 0.1}]
recreated:
  description: With O(step=cutover), the services recreated.
  returned: step=cutover
  type: list
  elements: str
  sample: [web]
deferred:
  description:
    - With O(step=cutover), services whose guard stayed busy and that keep their old container.
    - With O(step=preflight), the services the release that serves now deferred (from O(release_log)); the next
      deploy recreates them.
  returned: step=cutover or step=preflight
  type: list
  elements: str
  sample: [worker]
problems:
  description:
    - With O(step=soak), what went wrong during the soak.
    - With O(step=check), why the O(zero_downtime) services cannot run side by side (empty when they can).
  returned: step=soak or step=check
  type: list
  elements: str
  sample: ["sample-api-1: restarted 1 time(s) during the soak"]
removed:
  description: With O(step=prune), the release commits and image names removed.
  returned: step=prune
  type: dict
  sample: {releases: [0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d], images: [shop-web:0c1d2e3f4a5b]}
output:
  description: On a failed command, its last O(log_lines) lines.
  returned: failure
  type: str
  sample: "applying 003_broken\nmigration 003_broken failed"
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils import release_log
from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils import zero_downtime as zd
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import render_config
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import ComposeProject, release_environment


def compose(params, layout, directory, commit):
    return ComposeProject(
        name=params["project"], project_dir=directory,
        files=tuple(params["compose_files"]) + (rel.OVERRIDE,),
        env_file=params["env_file"], environment=release_environment(commit, params["ref"]),
        docker=params["docker"])


def image_exists(docker):
    def check(ref):
        return rel.run([docker, "image", "inspect", "--format", "{{.Id}}", ref], check=False)[0] == 0
    return check


def step_preflight(module, p, layout, result):
    if not p["ref"]:
        module.fail_json(msg="ref is required with step=preflight", **result)
    before = rel.run(["git", "-C", layout.repo, "for-each-ref", "--format=%(objectname) %(refname)"], check=False)[1]
    env, key_changed = (None, False) if module.check_mode else rel.ssh_environment(
        layout, p["repo_ssh_key"], p["repo_known_hosts"])
    commit, kind = rel.resolve(layout, p["ref"], fetch=p["fetch"], env=env)
    after = rel.run(["git", "-C", layout.repo, "for-each-ref", "--format=%(objectname) %(refname)"], check=False)[1]
    result.update(commit=commit, short=rel.short_sha(commit), kind=kind, changed=before != after or key_changed,
                  release_dir=layout.release_dir(commit), release_exists=os.path.isdir(layout.release_dir(commit)),
                  releases=len(os.listdir(layout.releases)) if os.path.isdir(layout.releases) else 0)
    problems = []
    missing = []
    template = rel.git_show(layout, commit, p["env_template"]) if p["env_template"] else None
    if template is not None and p["env_file"]:
        try:
            with open(p["env_file"]) as handle:
                env_text = handle.read()
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot read the env file %s: %s" % (p["env_file"], exc.strerror), **result)
        missing = rel.missing_env_keys(template, env_text, p["env_optional"])
        if missing:
            problems.append("the env file %s lacks %s, which %s at %s (%s) lists; add them to the vault or to "
                            "berth_env_optional" % (p["env_file"], ", ".join(missing), p["env_template"],
                                                    rel.short_sha(commit), p["ref"]))
    result["missing_keys"] = missing
    result["deferred"] = []
    if p["release_log"]:
        try:
            serving = release_log.current(release_log.read_log(p["release_log"])[0]) or {}
        except (release_log.ReleaseLogError, OSError) as exc:
            module.fail_json(msg="cannot read the release log %s: %s" % (p["release_log"], exc), **result)
        result["deferred"] = list(serving.get("services_deferred") or [])
    free = rel.free_mb(layout.root)
    if free < p["min_free_mb"]:
        problems.append("only %d MB free under %s, berth_min_free_mb is %d" % (free, layout.root, p["min_free_mb"]))
    if problems:
        module.fail_json(msg="Preflight failed, nothing changed: " + "; ".join(problems), **result)


def step_prepare(module, p, layout, result):
    commit = p["commit"]
    directory = layout.release_dir(commit)
    source = layout.release_dir(p["images_from"]) if p["images_from"] else layout.current_dir()
    previous = p["previous_images"] or (rel.read_images(source) if source else {})
    current = layout.current_dir()
    result["current_images"] = rel.read_images(current) if current else {}
    images, build, missing = rel.plan_images(p["project"], p["buildable"], p["build"], rel.short_sha(commit),
                                             previous, image_exists(p["docker"]))
    result.update(commit=commit, short=rel.short_sha(commit), release_dir=directory, images=images,
                  built=build, rebuilt_missing=missing)
    if module.check_mode:
        result["changed"] = bool(build or p["pull"]) or not os.path.isdir(directory)
        return
    changed = rel.ensure_worktree(layout, commit)
    changed |= rel.ensure_env_link(directory, p["env_file"])
    changed |= rel.write_if_changed(os.path.join(directory, rel.OVERRIDE), rel.render_override(images))
    changed |= rel.write_if_changed(os.path.join(directory, rel.RELEASE_ENV), rel.render_release_env(
        release_environment(commit, p["ref"])))
    project = compose(p, layout, directory, commit)
    for args, services in ((["build"], build), (["pull", "--quiet", "--policy", "missing"], p["pull"])):
        if services:
            rel.run(project.argv(*(args + list(services))), env=project.process_env())
            changed = True
    result["changed"] = changed


def step_run(module, p, layout, result):
    commit = p["commit"]
    results = []
    result["results"] = results
    for command in p["commands"]:
        command["name"] = command["name"] or command["service"]
        if module.check_mode:
            results.append(dict(name=command["name"], service=command["service"], rc=None, seconds=0, output=""))
            continue
        if command["mode"] == "run":
            project = compose(p, layout, layout.release_dir(commit), commit)
            args = ["run", "--rm", "--no-deps", "-T", command["service"]] + list(command["command"])
        else:
            project = compose(p, layout, layout.current, commit)
            args = ["exec", "-T", command["service"]] + list(command["command"])
        started = time.monotonic()
        rc, out = rel.run(project.argv(*args), env=project.process_env(), check=False)
        entry = dict(name=command["name"], service=command["service"], rc=rc,
                     seconds=round(time.monotonic() - started, 1), output=rel.tail(out, p["log_lines"]))
        results.append(entry)
        result["changed"] = True
        if rc != 0:
            module.fail_json(msg="%s failed (exit %d in service %s); its last lines:\n%s" % (
                command["name"], rc, command["service"], entry["output"]), output=entry["output"], **result)


def guard_idle(p, layout, service, guard):
    project = compose(p, layout, layout.current, p["commit"])
    rc = rel.run(project.argv("exec", "-T", service, *guard["command"]), env=project.process_env(), check=False)[0]
    return rc == 0


def zero_downtime_model(module, p, layout, directory, commit, result, services):
    """The release's compose model when zero-downtime services are asked for; fails on what blocks them."""
    problems = zd.name_problems(services)
    if problems or not services:
        result["problems"] = problems
        if problems:
            module.fail_json(msg="Zero-downtime preflight failed, nothing changed: " + "; ".join(problems), **result)
        return {}
    model = render_config(compose(p, layout, directory, commit))
    problems = zd.service_problems(model, services)
    result["problems"] = problems
    if problems:
        module.fail_json(msg="Zero-downtime preflight failed at %s, nothing changed: %s"
                         % (rel.short_sha(commit), "; ".join(problems)), **result)
    return model


def step_check(module, p, layout, result):
    directory = layout.release_dir(p["commit"])
    result.update(commit=p["commit"], release_dir=directory)
    if not os.path.isdir(directory):
        if module.check_mode:
            result["problems"] = []
            return
        module.fail_json(msg="release directory %s is missing; run step=prepare first" % directory, **result)
    zero_downtime_model(module, p, layout, directory, p["commit"], result, p["zero_downtime"])


def sync_upstreams(p, layout, model, services):
    """Point the snippets of services at their running containers; {service: addresses}, changed."""
    changed = False
    routes = {}
    for service in services:
        port = zd.upstream_port((model.get("services") or {}).get(service) or {})
        if port is None:
            routed = zd.parse_snippet(zd.read_snippet(zd.snippet_path(layout.root, service)))
            port = int(routed[0].rsplit(":", 1)[1]) if routed else None
        if port is None:
            continue
        moved, routes[service] = zd.sync_service(p["docker"], p["project"], service, port, layout.root,
                                                 p["caddy"], p["caddyfile"])
        changed |= moved
    return routes, changed


def with_snippet(layout, services):
    return [s for s in services if zd.SERVICE_NAME.match(s) and os.path.exists(zd.snippet_path(layout.root, s))]


def step_cutover(module, p, layout, result):
    commit = p["commit"]
    services = list(p["services"])
    deferred = []
    for service in services:
        guard = p["guards"].get(service)
        if not guard or module.check_mode or layout.current_dir() is None:
            continue
        deadline = time.monotonic() + float(guard.get("wait", 600))
        while not guard_idle(p, layout, service, guard):
            if time.monotonic() >= deadline:
                if guard.get("on_busy", "defer") == "fail":
                    module.fail_json(msg="%s stayed busy for %s s (restart guard); nothing was switched"
                                     % (service, guard.get("wait", 600)), **result)
                deferred.append(service)
                break
            time.sleep(2)
    recreate = [s for s in services if s not in deferred]
    gapless = [s for s in recreate if s in p["zero_downtime"]]
    plain = [s for s in recreate if s not in gapless]
    switching = layout.current_dir() != os.path.normpath(layout.release_dir(commit))
    result.update(commit=commit, recreated=recreate, deferred=deferred, release_dir=layout.release_dir(commit),
                  changed=switching or bool(recreate), zero_downtime=[])
    if module.check_mode:
        return
    if not os.path.isdir(layout.release_dir(commit)):
        module.fail_json(msg="release directory %s is missing; run step=prepare first"
                         % layout.release_dir(commit), **result)
    model = zero_downtime_model(module, p, layout, layout.release_dir(commit), commit, result, gapless) \
        if gapless else {}
    previous = layout.current_dir()
    rel.switch_current(layout, commit)
    project = compose(p, layout, layout.current, commit)
    done = []
    for service in gapless:
        port = zd.upstream_port(model["services"][service])
        try:
            result["zero_downtime"].append(zd.cutover_service(
                project.argv(), project.process_env(), p["docker"], p["project"], service, port, layout.root,
                p["caddy"], p["caddyfile"], gate_timeout=p["gate_timeout"], drain_timeout=p["drain_timeout"],
                probe_path=p["probe_path"], log_lines=p["log_lines"]))
        except rel.ReleaseError as exc:
            # Nothing switched yet: `current` goes back to what the running containers were made from.
            if not done and previous and os.path.dirname(previous) == os.path.normpath(layout.releases):
                rel.switch_current(layout, os.path.basename(previous))
            result["recreated"] = done
            module.fail_json(msg=str(exc), output=rel.tail(exc.output, p["log_lines"]), **result)
        done.append(service)
    if p["pin"] is not None:
        result["changed"] |= rel.set_pin(layout, p["pin"])
    if plain:
        rel.run(project.argv("up", "-d", "--no-deps", "--no-build", "--force-recreate", *plain),
                env=project.process_env())
        # A recreated container has a new address: a snippet that routes to the service follows it.
        stale = with_snippet(layout, plain)
        if stale:
            sync_upstreams(p, layout, render_config(project), stale)


def step_upstreams(module, p, layout, result):
    extra = [s for s in with_snippet(layout, p["services"]) if s not in p["zero_downtime"]]
    services = list(p["zero_downtime"]) + extra
    problems = zd.name_problems(services)
    if problems:
        module.fail_json(msg="; ".join(problems), **result)
    result["zero_downtime"] = {}
    if not services or layout.current_dir() is None:
        return
    commit = layout.current_commit() or ""
    p["ref"] = p["ref"] or commit
    model = render_config(compose(p, layout, layout.current, commit))
    if module.check_mode:
        for service in services:
            port = zd.upstream_port((model.get("services") or {}).get(service) or {})
            running = [c for c in zd.inspect_service(p["docker"], p["project"], service)
                       if c["status"] == "running" and c["ip"]]
            addresses = ["%s:%d" % (c["ip"], port) for c in running] if port else []
            result["zero_downtime"][service] = addresses
            if zd.read_snippet(zd.snippet_path(layout.root, service)) != zd.render_snippet(service, addresses):
                result["changed"] = True
        return
    result["zero_downtime"], result["changed"] = sync_upstreams(p, layout, model, services)


def step_soak(module, p, layout, result):
    if module.check_mode or p["seconds"] <= 0 or not p["services"]:
        result["problems"] = []
        return
    problems = rel.soak(p["docker"], p["project"], set(p["services"]), p["seconds"])
    result["problems"] = problems
    if problems:
        module.fail_json(msg="Soak failed: " + "; ".join(problems), **result)


def step_prune(module, p, layout, result):
    current = layout.current_commit()
    found = []
    if os.path.isdir(layout.releases):
        for name in os.listdir(layout.releases):
            path = os.path.join(layout.releases, name)
            if os.path.isdir(path) and not os.path.islink(path):
                found.append((name, os.stat(path).st_mtime))
    protect = list(p["protect"]) + [current]
    if p["release_log"]:
        try:
            protect += release_log.retained(release_log.read_log(p["release_log"])[0], p["keep"])
        except (release_log.ReleaseLogError, OSError) as exc:
            module.fail_json(msg="cannot read the release log %s: %s" % (p["release_log"], exc), **result)
    remove = rel.prune_plan(found, p["keep"], protect)
    keep = [commit for commit, mtime in found if commit not in remove]
    in_use = set()
    if remove:
        ids = rel.run([p["docker"], "ps", "-aq", "--no-trunc"])[1].split()
        if ids:
            raw = rel.run([p["docker"], "inspect", "--format", "{{.Image}} {{.Config.Image}}"] + ids)[1]
            in_use.update(raw.split())
    images = rel.prunable_images([rel.read_images(layout.release_dir(c)) for c in remove],
                                 [rel.read_images(layout.release_dir(c)) for c in keep], in_use)
    exists = image_exists(p["docker"])
    images = [ref for ref in images if exists(ref)]
    result.update(removed=dict(releases=remove, images=images), changed=bool(remove or images))
    if module.check_mode:
        return
    for commit in remove:
        rel.remove_worktree(layout, commit)
    for ref in images:
        # Without -f: an image a container still uses stays.
        rel.run([p["docker"], "image", "rm", ref], check=False)


STEPS = dict(preflight=step_preflight, prepare=step_prepare, check=step_check, run=step_run, cutover=step_cutover,
             upstreams=step_upstreams, soak=step_soak, prune=step_prune)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            step=dict(type="str", required=True, choices=sorted(STEPS)),
            root=dict(type="path", required=True),
            ref=dict(type="str"),
            commit=dict(type="str"),
            fetch=dict(type="bool", default=True),
            repo_ssh_key=dict(type="str", no_log=True),
            repo_known_hosts=dict(type="str"),
            project=dict(type="str"),
            compose_files=dict(type="list", elements="str", default=["compose.yaml"]),
            env_file=dict(type="path"),
            env_template=dict(type="str", default=".env.example"),
            env_optional=dict(type="list", elements="str", default=[]),
            min_free_mb=dict(type="int", default=0),
            release_log=dict(type="path"),
            buildable=dict(type="list", elements="str", default=[]),
            build=dict(type="list", elements="str", default=[]),
            pull=dict(type="list", elements="str", default=[]),
            images_from=dict(type="str"),
            previous_images=dict(type="dict", default={}),
            commands=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str"),
                service=dict(type="str", required=True),
                command=dict(type="list", elements="str", default=[]),
                mode=dict(type="str", choices=["run", "exec"], default="run"))),
            services=dict(type="list", elements="str", default=[]),
            guards=dict(type="dict", default={}),
            pin=dict(type="str"),
            zero_downtime=dict(type="list", elements="str", default=[]),
            caddy=dict(type="str", default="caddy"),
            caddyfile=dict(type="path", default="/etc/caddy/Caddyfile"),
            gate_timeout=dict(type="float", default=120),
            drain_timeout=dict(type="float", default=30),
            probe_path=dict(type="str", default="/"),
            seconds=dict(type="float", default=5),
            keep=dict(type="int", default=5),
            protect=dict(type="list", elements="str", default=[]),
            log_lines=dict(type="int", default=20),
            docker=dict(type="str", default="docker"),
        ),
        required_if=[
            ("step", "prepare", ("commit", "project", "env_file")),
            ("step", "run", ("commit", "project", "env_file")),
            ("step", "cutover", ("commit", "project", "env_file")),
            ("step", "check", ("commit", "project", "env_file")),
            ("step", "upstreams", ("project", "env_file")),
            ("step", "soak", ("project",)),
        ],
        supports_check_mode=True,
    )
    p = module.params
    problems = rel.option_problems(p)
    if problems:
        module.fail_json(msg="Refused options, nothing changed: " + "; ".join(problems), changed=False)
    layout = rel.Layout(p["root"])
    result = dict(changed=False, current_commit=layout.current_commit(), current_dir=layout.current_dir())
    if p["ref"] is None and p["commit"]:
        p["ref"] = p["commit"]
    try:
        STEPS[p["step"]](module, p, layout, result)
    except rel.ReleaseError as exc:
        module.fail_json(msg=str(exc), output=rel.tail(exc.output, p["log_lines"]), **result)
    except Exception as exc:  # compose_cli errors carry compose's own message
        if type(exc).__name__ != "ComposeCliError":
            raise
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
