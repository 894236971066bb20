# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based tests (hypothesis) for env-file quoting: module_utils/env_file.py.

A value written by render() reads back unchanged with parse(), and through Docker Compose itself:
`docker compose config` on a project whose services read the rendered files. That second test
uses the host's `docker compose` when there is one, else the Compose CLI inside the local VM image
(berth/vm-docker, built by tests/images/platform.sh; no network, no engine call: `config` only), and
is skipped only when neither a docker engine nor a Compose CLI is available.
"""
import json
import os
import shutil
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.berth.compose.plugins.module_utils import env_file as ef

FAST = settings(max_examples=60, deadline=None, database=None, derandomize=True)

KEYS = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,11}\Z")
# Every character an env file can carry: anything but the control characters normalize_values refuses.
VALUES = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="".join(
    chr(c) for c in list(range(0, 9)) + [11, 12] + list(range(14, 32)) + [127])), max_size=24)
SPICY = st.sampled_from(["$", "$$", "${HOME}", "$HOME", "\\", "\\n", '"', "'", "#", " #c", "`id`", "\n", "\r", "\t",
                         "=", " ", "\u00fc\u20ac", "a b", "'$x'", '"\\"'])
VALUE = st.one_of(VALUES, st.lists(st.one_of(SPICY, VALUES), max_size=5).map("".join))
ENV = st.dictionaries(KEYS, VALUE, max_size=8)

VM_IMAGE = "berth/vm-docker:trixie"


@FAST
@given(ENV)
def test_a_value_round_trips_through_the_file(values):
    values = ef.normalize_values(values)
    text = ef.render(values)
    assert ef.parse(text) == values
    # One KEY= line per key: no value can start a line of its own.
    assert text.count("\n") == len(values) + 1
    assert ef.render(ef.parse(text)) == text


@FAST
@given(st.text(max_size=60))
def test_parse_never_crashes_on_arbitrary_text(text):
    parsed = ef.parse(text)
    assert all(ef.is_valid_key(key) for key in parsed)


def _compose_command():
    """argv prefix that runs `docker compose` with /w as the work directory, or None."""
    docker = shutil.which("docker")
    if docker is None:
        return None
    if subprocess.run([docker, "compose", "version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                      check=False).returncode == 0:
        return "host"
    if subprocess.run([docker, "image", "inspect", VM_IMAGE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                      check=False).returncode == 0:
        return "image"
    return None


@pytest.fixture(scope="module")
def compose_mode():
    mode = _compose_command()
    if mode is None:
        pytest.skip("no docker compose: neither a host Compose CLI nor a docker engine with %s" % VM_IMAGE)
    return mode


def compose_config(mode, directory):
    if mode == "host":
        argv = ["docker", "compose", "--project-directory", directory, "-f", os.path.join(directory, "compose.yaml")]
    else:
        argv = ["docker", "run", "--rm", "--network", "none", "-v", "%s:/w:ro" % directory, VM_IMAGE,
                "docker", "compose", "--project-directory", "/w", "-f", "/w/compose.yaml"]
    proc = subprocess.run(argv + ["config", "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False, timeout=120, env=dict(os.environ, HOME="/nonexistent-home", X="interpolated"))
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


# One `docker compose config` per example (a container start when the host has no Compose): one
# example, a project of 40 services that read one rendered env file apiece (up to 320 values).
@settings(max_examples=1, deadline=None, database=None, derandomize=True)
@given(st.lists(ENV.filter(bool), min_size=40, max_size=40))
def test_a_value_round_trips_through_docker_compose(compose_mode, tmp_path_factory, files):
    directory = str(tmp_path_factory.mktemp("compose"))
    services = {}
    for number, values in enumerate(files):
        values = ef.normalize_values(values)
        name = "s%d" % number
        with open(os.path.join(directory, name + ".env"), "w", encoding="utf-8") as handle:
            handle.write(ef.render(values))
        services[name] = {"image": "busybox", "env_file": [name + ".env"]}
    with open(os.path.join(directory, "compose.yaml"), "w", encoding="utf-8") as handle:
        json.dump({"services": services}, handle)
    rendered = compose_config(compose_mode, directory)["services"]
    for number, values in enumerate(files):
        environment = rendered["s%d" % number].get("environment") or {}
        # `config` prints a compose file, in which a literal $ is written $$.
        got = {key: (value or "").replace("$$", "$") for key, value in environment.items()}
        assert got == ef.normalize_values(values)
