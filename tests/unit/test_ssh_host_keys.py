# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH host keys stay pinned: nothing in the repository turns host key checking off.

Searched: every file git tracks or would add (ignored files and this test excepted). Refused:
StrictHostKeyChecking set to no/off, known hosts sent to /dev/null, Ansible's host_key_checking
turned off. A test fixture that really needs one of them must say so in its own text with the
marker below, and live under tests/ or molecule/.
"""
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MARKER = "berth-test-fixture: unpinned host keys"
# Built from pieces so that this file does not match itself.
UNPINNED = re.compile("|".join([
    r"Strict" + r"HostKeyChecking\s*[= ]\s*[\"']?(no|off)\b",
    r"UserKnown" + r"HostsFile\s*[= ]\s*[\"']?/dev/null",
    r"host_key" + r"_checking\s*[=:]\s*[\"']?(false|no|0|off)\b",
    r"ANSIBLE_HOST" + r"_KEY_CHECKING\s*[=:]\s*[\"']?(false|no|0|off)\b",
]), re.IGNORECASE)


def repository_files():
    try:
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return sorted({name for name in out.decode().split("\0") if name})


def offenders():
    found = []
    for name in repository_files():
        path = os.path.join(ROOT, name)
        if os.path.abspath(path) == os.path.abspath(__file__) or not os.path.isfile(path):
            continue
        with open(path, "rb") as handle:
            data = handle.read(2000000)
        if b"\0" in data:
            continue  # binary
        text = data.decode("utf-8", "replace")
        fixture = MARKER in text and name.split("/")[0] in ("tests", "molecule")
        for number, line in enumerate(text.splitlines(), 1):
            if UNPINNED.search(line) and not fixture:
                found.append("%s:%d: %s" % (name, number, line.strip()))
    return found


def test_no_file_turns_ssh_host_key_checking_off():
    assert offenders() == []


@pytest.mark.parametrize("line", [
    "ssh -o Strict" + "HostKeyChecking=no host",
    "ansible_ssh_common_args: '-o Strict" + "HostKeyChecking=off'",
    "-o UserKnown" + "HostsFile=/dev/null",
    "host_key" + "_checking = False",
    "ANSIBLE_HOST" + "_KEY_CHECKING: 'false'",
])
def test_the_pattern_catches_each_way_of_turning_it_off(line):
    assert UNPINNED.search(line)


@pytest.mark.parametrize("line", [
    "-o Strict" + "HostKeyChecking=yes -o UserKnownHostsFile={{ inventory_dir }}/known_hosts",
    "host_key" + "_checking = True",
])
def test_pinned_settings_pass(line):
    assert not UNPINNED.search(line)
