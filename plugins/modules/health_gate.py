#!/usr/bin/python
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: health_gate
short_description: Wait until a compose project's services are healthy and HTTP probes pass, fail fast otherwise
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - Finds the containers of a Docker Compose project through the labels Compose sets
    (C(com.docker.compose.project), C(com.docker.compose.service)), using the Docker SDK on the target host.
    One-off containers from C(docker compose run) are ignored.
  - A service passes when every container of it is running and, if it has a healthcheck, C(healthy).
    A service without a healthcheck must be seen running for O(stable_for) consecutive polls.
    A one-shot service (O(one_shot)) passes once its containers have exited with code 0.
  - Fails fast, without waiting for O(timeout), when a container exits, is crash-looping
    (C(restarting)), its restart count grows during the gate, it turns C(unhealthy)
    (see O(fail_on_unhealthy)), a one-shot service exits non-zero, or a service has no containers.
  - HTTP probes are retried every poll until they pass or the gate ends; a probe alone never fails fast.
  - On failure the result names every failing service and probe with the reason and the last
    O(log_lines) log lines of each container of a failing service.
  - Read-only; it never starts, stops or changes anything, so it runs the same in check mode, except that in
    check mode only C(GET) and C(HEAD) probes are sent; a probe with another method (C(POST), C(PUT), ...) may
    change the app, so it is listed in RV(probes_not_sent) and a warning instead.
options:
  project:
    description:
      - Compose project name (the C(-p) / C(name:) of the project, not the checkout directory).
    type: str
    required: true
  services:
    description:
      - Services to gate. Empty means every service of the project, that is every service declared in the
        compose files the containers were created from, plus every service that has containers.
      - Names that are not services of the project fail the module with the list of valid services.
    type: list
    elements: str
    default: []
  one_shot:
    description:
      - Services that run to completion (migrations, seeders). They must have exited with code 0 instead of
        running. They are gated even when O(services) does not list them.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds the whole gate may take before pending services and probes count as failed.
    type: float
    default: 120
  interval:
    description: Seconds between polls.
    type: float
    default: 2
  stable_for:
    description: Consecutive polls a service without a healthcheck must be seen running.
    type: int
    default: 3
  log_lines:
    description: Log lines returned per container of a failing service. V(0) returns none.
    type: int
    default: 50
  fail_on_unhealthy:
    description:
      - Fail as soon as a container reports C(unhealthy). Docker only says so after the healthcheck's
        C(retries) consecutive failures past its C(start_period), so this is rarely premature.
      - When false, an unhealthy container is waited for until O(timeout).
    type: bool
    default: true
  docker_host:
    description:
      - Docker daemon to ask, for example C(unix:///var/run/docker.sock).
      - Defaults to E(DOCKER_HOST) or the local socket.
    type: str
requirements:
  - Docker SDK for Python on the target (Debian/Ubuntu package C(python3-docker)).
  - Access to the Docker socket (member of the C(docker) group, or C(become)).
  - The Docker CLI with the Compose v2 plugin, to list services that have no container.
extends_documentation_fragment:
  - berth.compose.attributes
  - berth.compose.attributes.read_only
  - berth.compose.run.probes
notes:
  - The services of the project are those with containers plus those C(docker compose config --services)
    lists for the compose files, directory and env file recorded on the containers' labels. A declared
    service with no container fails the gate with reason C(no containers); a name that is not a service
    fails the module at once. When Compose cannot render the files (moved, CLI missing), the containers alone
    tell which services exist.
seealso:
  - module: community.docker.docker_compose_v2
"""

EXAMPLES = r"""
- name: Wait until the app is healthy after the deploy
  berth.compose.health_gate:
    project: shop
    services: [web, api]
    one_shot: [migrate]
    probes:
      - url: http://127.0.0.1:3000/health
        status: [200]
        body: '"status":\s*"ok"'
    timeout: 120

- name: Check the public site through Caddy with its local CA
  berth.compose.health_gate:
    project: shop
    services: [web]
    probes:
      - name: site through caddy
        url: https://127.0.0.1/
        headers:
          Host: shop.example.com
        ca_path: /var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt
  register: gate

- name: Verify every service of the project without waiting long
  berth.compose.health_gate:
    project: shop
    timeout: 20
    stable_for: 2
"""

RETURN = r"""
probes_not_sent:
  description: In check mode, the probes whose method is neither C(GET) nor C(HEAD), as C(METHOD name-or-URL) (the URL
    without its query); they were not sent. Empty in a real run.
  returned: when the gate ran
  type: list
  elements: str
  sample: ["POST enqueue"]
msg:
  description: One line; on failure it names every failing service and probe with its reason.
  returned: always
  type: str
  sample: "Health gate failed fast after 3.1s for api -- api: container shop-api-1 is unhealthy (last check: HTTP 500)"
passed:
  description: Whether every service and probe passed.
  returned: when the gate ran
  type: bool
  sample: true
elapsed:
  description: Seconds the gate took.
  returned: when the gate ran
  type: float
  sample: 4.12
polls:
  description: Number of polls.
  returned: when the gate ran
  type: int
  sample: 3
timed_out:
  description: Whether the gate ended because O(timeout) passed.
  returned: when the gate ran
  type: bool
  sample: false
failed_services:
  description: Services that failed.
  returned: when the gate ran
  type: list
  elements: str
  sample: [api]
failed_probes:
  description: Names (or URLs) of the probes that failed.
  returned: when the gate ran
  type: list
  elements: str
  sample: []
services:
  description: Verdict for each gated service, in order.
  returned: when the gate ran
  type: list
  elements: dict
  contains:
    service:
      description: Service name.
      type: str
      returned: always
      sample: api
    state:
      description: C(passed), C(failed) or C(pending) (still coming up when another service failed fast).
      type: str
      returned: always
      sample: failed
    reason:
      description: Why, per container.
      type: str
      returned: always
      sample: "container shop-api-1 is unhealthy (last check: wget: server returned error: HTTP/1.1 500)"
    one_shot:
      description: Whether the service was gated as one-shot.
      type: bool
      returned: always
      sample: false
    ready_after:
      description: Seconds into the gate when the service started passing, null if it did not.
      type: float
      returned: always
      sample: 2.01
    containers:
      description: Last seen state of each container (name, status, health, exit_code, restart_count).
      type: list
      elements: dict
      returned: always
      sample: [{name: shop-api-1, status: running, health: unhealthy, exit_code: 0, restart_count: 0}]
    logs:
      description: Last O(log_lines) log lines per container name, only for failed services.
      type: dict
      returned: always
      sample: {shop-api-1: ["listening on :8081", "GET /health 500"]}
probes:
  description: Outcome of each probe.
  returned: when the gate ran
  type: list
  elements: dict
  contains:
    url:
      description: Probed URL.
      type: str
      returned: always
      sample: http://127.0.0.1:8080/health
    name:
      description: Probe name, empty when not set.
      type: str
      returned: always
      sample: web health
    state:
      description: C(passed), C(failed) or C(pending) (not decided when a service failed fast).
      type: str
      returned: always
      sample: passed
    status:
      description: HTTP status of the last attempt, null when no response arrived.
      type: int
      returned: always
      sample: 200
    reason:
      description: Outcome of the last attempt.
      type: str
      returned: always
      sample: HTTP 200, body matches
    body_excerpt:
      description: Start of the response body when the status or body did not match.
      type: str
      returned: always
      sample: '{"status": "starting"}'
    attempts:
      description: Requests made.
      type: int
      returned: always
      sample: 2
    passed_after:
      description: Seconds into the gate when the probe started passing, null if it did not.
      type: float
      returned: always
      sample: 2.0
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils import names
from ansible_collections.berth.compose.plugins.module_utils.docker_state import (
    DockerState, DockerUnavailableError, ProjectNotFoundError, http_probe)
from ansible_collections.berth.compose.plugins.module_utils.health_gate import (
    PROBE_OPTIONS, ProbeSpec, UnknownServicesError, resolve_services, run_gate, split_for_check_mode)
from ansible_collections.berth.compose.plugins.module_utils.redact import hide_probe_secrets

PROBE_SPEC = PROBE_OPTIONS

ARGUMENT_SPEC = dict(
    project=dict(type="str", required=True),
    services=dict(type="list", elements="str", default=[]),
    one_shot=dict(type="list", elements="str", default=[]),
    probes=dict(type="list", elements="dict", default=[], options=PROBE_SPEC),
    timeout=dict(type="float", default=120),
    interval=dict(type="float", default=2),
    stable_for=dict(type="int", default=3),
    log_lines=dict(type="int", default=50),
    fail_on_unhealthy=dict(type="bool", default=True),
    docker_host=dict(type="str"),
)


def validate(params):
    """Problems with the arguments beyond what argument_spec checks, as messages."""
    problems = []
    if not params["project"].strip():
        problems.append("project must not be empty")
    elif not names.is_project(params["project"]):
        problems.append("project %r: allowed are lowercase letters, digits, '_' and '-', starting with a letter "
                        "or digit (a compose project name)" % params["project"])
    host = params["docker_host"]
    if host is not None and not re.match(r"^(unix|tcp|ssh|npipe)://[^\s]+$", host):
        problems.append("docker_host %r: allowed is one URL starting with unix://, tcp://, ssh:// or npipe://" % host)
    if params["timeout"] <= 0:
        problems.append("timeout must be positive, got %s" % params["timeout"])
    if params["interval"] <= 0:
        problems.append("interval must be positive, got %s" % params["interval"])
    if params["stable_for"] < 1:
        problems.append("stable_for must be at least 1, got %s" % params["stable_for"])
    if params["log_lines"] < 0:
        problems.append("log_lines must not be negative, got %s" % params["log_lines"])
    specs = []
    for probe in params["probes"]:
        try:
            specs.append(ProbeSpec.from_dict(probe))
        except ValueError as exc:
            problems.append(str(exc))
    return problems, specs


def main(connect=DockerState.connect, probe=http_probe, clock=time.monotonic, sleep=time.sleep):
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    hide_probe_secrets(module)
    params = module.params
    problems, specs = validate(params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    not_sent = []
    if module.check_mode:
        specs, not_sent = split_for_check_mode(specs)
        if not_sent:
            module.warn("check mode: probes that may change the app were not sent: %s" % ", ".join(not_sent))
    project = params["project"]
    try:
        state = connect(docker_host=params["docker_host"])
        services = resolve_services(project, params["services"], params["one_shot"], state.services(project))
    except (DockerUnavailableError, ProjectNotFoundError, UnknownServicesError) as exc:
        module.fail_json(msg=str(exc))
    try:
        result = run_gate(
            snapshot=lambda: state.snapshot(project),
            services=services,
            one_shot=params["one_shot"],
            probes=specs,
            probe=probe,
            logs=state.logs,
            timeout=params["timeout"],
            interval=params["interval"],
            stable_for=params["stable_for"],
            log_lines=params["log_lines"],
            fail_on_unhealthy=params["fail_on_unhealthy"],
            clock=clock,
            sleep=sleep,
        ).to_dict()
    except DockerUnavailableError as exc:
        module.fail_json(msg=str(exc))
    msg = result.pop("msg")
    result["probes_not_sent"] = not_sent
    if result["passed"]:
        module.exit_json(changed=False, msg=msg, **result)
    module.fail_json(msg=msg, changed=False, **result)


if __name__ == "__main__":
    main()
