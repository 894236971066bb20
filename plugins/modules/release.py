#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: release
short_description: One step of a release on the host - preflight, prepare, run, check, cutover, upstreams, soak, prune
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - Runs one step of the release of a commit under O(root). M(berth.compose.engine) runs the same steps in one
    process for a deploy or a rollback; provision's first release and the boot refresh of upstream snippets call
    them one at a time.
  - "Layout: C(repo/) the clone; C(releases/<sha>/) a worktree per release with C(.berth/images.yml) and
    C(.berth/release.env); C(current) the release that serves."
  - O(step=preflight) fetches, resolves O(ref), audits the env file and checks free disk.
  - O(step=prepare) makes the release directory and builds O(build) (and any missing image), pulls O(pull).
  - O(step=run) runs O(commands) in order and stops at the first failure.
  - O(step=check) checks that O(zero_downtime) services can run side by side; with O(caddy_sites), warns about
    ports published around Caddy.
  - O(step=cutover) runs the restart guards, switches C(current) and recreates O(services), without a gap for
    O(zero_downtime) services.
  - O(step=upstreams) points the upstream snippets at the running containers and reloads Caddy when one changed.
  - O(step=soak) fails when a container of O(services) restarts, exits or turns unhealthy within O(seconds).
  - O(step=prune) removes release directories beyond O(keep) and the images only they ran.
  - How and why (image names, the compose command line, zero-downtime cutover) is in C(docs/decisions.md).
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
      - With O(step=prune), the release log that judges what stays - the newest O(keep) good releases, the current
        and the last good, and at most two directories of failed attempts (recorded, or named by no record), the
        newest, for diagnosis. Without it, the newest O(keep) directories stay.
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
        recorded for it). Given, even empty, it is all the step knows of the release's images; a service it does
        not name runs the image tagged with this commit, built when missing, never the serving release's.
    type: dict
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
  caddy_sites:
    description:
      - With O(step=check), the Caddy sites (C(caddy_sites)); each port the release publishes on all addresses is
        warned about, and whether Caddy fronts it.
    type: list
    elements: dict
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
exposure:
  description: With O(step=check) and O(caddy_sites), the warnings about published ports (also shown as warnings).
  returned: step=check with caddy_sites
  type: list
  elements: str
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils import releases as rel
from ansible_collections.berth.compose.plugins.module_utils.release_dir import ReleaseDir, StepFailed


def main():
    module = AnsibleModule(
        argument_spec=dict(
            step=dict(type="str", required=True, choices=sorted(ReleaseDir.STEPS)),
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
            previous_images=dict(type="dict"),
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
            caddy_sites=dict(type="list", elements="dict"),
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
    release = ReleaseDir(p, check_mode=module.check_mode)
    layout = release.layout
    result = dict(changed=False, current_commit=layout.current_commit(), current_dir=layout.current_dir())
    try:
        release.step(p["step"], result)
    except StepFailed as exc:
        module.fail_json(msg=exc.msg, **exc.extra)
    for warning in result.get("exposure") or []:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
