#!/usr/bin/python
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: apt_packages
short_description: Tell which Debian packages are missing, and refresh apt's lists only then
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - Asks C(dpkg-query) which of O(names) are installed and returns the others in RV(missing), in the order given.
  - When a package is missing and O(refresh) is true, runs C(apt-get update) so that the install that follows (for
    example M(ansible.builtin.apt) with RV(missing)) fetches current packages. Nothing is refreshed when every
    package is installed, so the no-op path of a role costs one quick call instead of the apt module.
  - Installs nothing.
extends_documentation_fragment:
  - berth.compose.attributes
attributes:
  check_mode:
    support: full
    description: In check mode the package lists are never refreshed (check mode changes nothing); RV(missing) still
      says what a real run would install, and a warning says that a real run refreshes the lists first.
  diff_mode:
    support: none
    description: Installs nothing, so there is no diff.
options:
  names:
    description: Package names, optionally C(name:arch).
    type: list
    elements: str
    required: true
  refresh:
    description: Run C(apt-get update) when a package is missing (never in check mode).
    type: bool
    default: true
notes:
  - A package that dpkg knows only as removed (C(config-files)) or broken counts as missing.
  - The result is never C(changed); refreshing the package lists changes no installed state.
"""

EXAMPLES = r"""
- name: Find which Docker packages are not installed yet
  berth.compose.apt_packages:
    names: [docker.io, docker-compose, python3-docker]
  register: docker_packages

- name: Install what is missing
  ansible.builtin.apt:
    name: "{{ docker_packages.missing }}"
  when: docker_packages.missing | length > 0
"""

RETURN = r"""
missing:
  description: The names of O(names) that are not installed, in the order given.
  returned: always
  type: list
  elements: str
  sample: [docker-compose]
refreshed:
  description: Whether C(apt-get update) ran (never in check mode).
  returned: always
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils.apt_packages import (
    bad_package_names,
    dpkg_query_argv,
    missing_packages,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type="list", elements="str", required=True),
            refresh=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    names = module.params["names"]
    problem = bad_package_names(names)
    if problem:
        module.fail_json(msg=problem)
    rc, out, err = module.run_command(dpkg_query_argv(names), environ_update={"LC_ALL": "C"})
    # rc 1: some name is unknown to dpkg, which only means it is missing.
    if rc not in (0, 1):
        module.fail_json(msg="dpkg-query failed (rc %s): %s" % (rc, err.strip()))
    missing = missing_packages(names, out)
    refreshed = False
    if missing and module.params["refresh"] and module.check_mode:
        module.warn("check mode: apt's package lists were not refreshed; a real run runs apt-get update, then "
                    "installs %s" % ", ".join(missing))
    elif missing and module.params["refresh"]:
        rc, out, err = module.run_command(["apt-get", "-q", "update"], environ_update={"LC_ALL": "C"})
        if rc != 0:
            module.fail_json(msg="apt-get update failed (rc %s): %s" % (rc, (err or out).strip()[-2000:]),
                             missing=missing, refreshed=False)
        refreshed = True
    module.exit_json(changed=False, missing=missing, refreshed=refreshed)


if __name__ == "__main__":
    main()
