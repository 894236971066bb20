#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: logs
short_description: Read a service's logs from the current release, or Caddy's journal
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - Reads the logs of O(service) with C(docker compose logs) of the compose project as the release that serves
    (C(<root>/current)) runs it - its compose files, the release override, the env file and the release's
    C(BERTH_*) values - so an operator never rebuilds that command line by hand.
  - O(service=caddy) reads Caddy's systemd journal (O(caddy_unit)) with C(journalctl) instead.
  - Read-only; runs the same in check mode. Bad input is refused before anything runs, naming the option.
options:
  root:
    description: The app root (C(current) points at the serving release).
    type: path
    required: true
  project:
    description: Compose project name.
    type: str
    required: true
  compose_files:
    description: Compose files, relative to the release directory.
    type: list
    elements: str
    default: [compose.yaml]
  env_file:
    description: The app's env file.
    type: path
    required: true
  service:
    description: A service of the current release, or V(caddy) for Caddy's journal.
    type: str
    required: true
  lines:
    description: The last lines shown; V(0) shows all.
    type: int
    default: 100
  since:
    description:
      - Only what was logged since then - a duration such as V(10m), V(1h30m) or V(90s), a Unix timestamp, or an
        RFC 3339 time such as V(2026-12-07T03:00:00Z) (the syntax of C(docker logs --since)).
    type: str
  caddy_unit:
    description: The systemd unit of Caddy.
    type: str
    default: caddy
  docker:
    description: The docker CLI.
    type: str
    default: docker
  journalctl:
    description: The journalctl command.
    type: str
    default: journalctl
extends_documentation_fragment:
  - berth.compose.attributes
attributes:
  check_mode:
    support: full
    description: Reads the logs as without check mode; nothing changes either way.
  diff_mode:
    support: none
    description: Nothing changes.
"""

EXAMPLES = r"""
- name: The last 100 lines of web from the last ten minutes
  berth.compose.logs:
    root: /opt/shop
    project: shop
    env_file: /opt/shop/shared/.env
    service: web
    lines: 100
    since: 10m
  register: web_logs

- name: Caddy's journal
  berth.compose.logs:
    root: /opt/shop
    project: shop
    env_file: /opt/shop/shared/.env
    service: caddy
"""

RETURN = r"""
source:
  description: V(compose) (a service's logs) or V(journal) (Caddy's).
  returned: success
  type: str
argv:
  description: The command that read them.
  returned: success
  type: list
  elements: str
lines:
  description: The log lines, oldest first.
  returned: success
  type: list
  elements: str
commit:
  description: The commit of the release that serves (null for Caddy's journal).
  returned: success
  type: str
ref:
  description: The ref it was deployed as (null for Caddy's journal).
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils import logs as lg

ARGUMENT_SPEC = dict(
    root=dict(type="path", required=True),
    project=dict(type="str", required=True),
    compose_files=dict(type="list", elements="str", default=["compose.yaml"]),
    env_file=dict(type="path", required=True),
    service=dict(type="str", required=True),
    lines=dict(type="int", default=100),
    since=dict(type="str"),
    caddy_unit=dict(type="str", default="caddy"),
    docker=dict(type="str", default="docker"),
    journalctl=dict(type="str", default="journalctl"),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        found = lg.read_logs(module.params)
    except lg.LogsError as exc:
        module.fail_json(msg=str(exc), changed=False)
    output = found.pop("output")
    module.exit_json(changed=False, lines=output.splitlines(), **found)


if __name__ == "__main__":
    main()
