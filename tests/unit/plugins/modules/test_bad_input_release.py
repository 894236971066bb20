# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input for the release module: refused before any git, docker or file system call, naming the option."""
import os

import pytest

from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import run_module
from ansible_collections.berth.compose.tests.unit.plugins.module_utils.git_fixtures import git, new_repo
from ansible_collections.berth.compose.plugins.modules import release

pytestmark = pytest.mark.usefixtures("module_exit_raises")

SHA = "0123456789abcdef0123456789abcdef01234567"

CASES = [
    ("step unknown", {"step": "deploy"}, ["step", "preflight"]),
    ("root relative", {"root": "opt/app"}, ["root", "absolute"]),
    ("root with ..", {"root": "/opt/app/../../etc"}, ["root", ".."]),
    ("ref option-like", {"ref": "--upload-pack=touch /tmp/pwned"}, ["ref", "'-'"]),
    ("ref with a space", {"ref": "main; reboot"}, ["ref", "whitespace"]),
    ("ref a range", {"ref": "v1..v2"}, ["ref", "'..'"]),
    ("commit not a sha", {"step": "prepare", "commit": "../../tmp/x", "project": "app", "env_file": "/e"},
     ["commit", "40 lowercase hexadecimal"]),
    ("commit short", {"step": "cutover", "commit": "0123abc", "project": "app", "env_file": "/e"}, ["commit", "full commit id"]),
    ("images_from not a sha", {"step": "prepare", "commit": SHA, "project": "app", "env_file": "/e", "images_from": "../x"},
     ["images_from", "full commit id"]),
    ("pin not a sha", {"step": "cutover", "commit": SHA, "project": "app", "env_file": "/e", "pin": "main"},
     ["pin", "'' to lift the pin"]),
    ("protect not a sha", {"step": "prune", "protect": ["v1"]}, ["protect", "full commit ids"]),
    ("project with slash", {"step": "soak", "project": "app/x"}, ["project", "lowercase"]),
    ("project with spaces", {"step": "soak", "project": "my app"}, ["project", "lowercase"]),
    ("services with shell metacharacters", {"step": "soak", "project": "app", "services": ["web;reboot"]},
     ["services", "web;reboot", "service names"]),
    ("build option-like", {"step": "prepare", "commit": SHA, "project": "app", "env_file": "/e", "build": ["--pull"]},
     ["build", "--pull", "service names"]),
    ("pull with space", {"step": "prepare", "commit": SHA, "project": "app", "env_file": "/e", "pull": ["a b"]},
     ["pull", "service names"]),
    ("buildable with slash", {"step": "prepare", "commit": SHA, "project": "app", "env_file": "/e", "buildable": ["a/b"]},
     ["buildable", "service names"]),
    ("commands service with $()", {"step": "run", "commit": SHA, "project": "app", "env_file": "/e",
                                   "commands": [{"service": "$(id)", "command": ["true"]}]}, ["commands[].service", "$(id)"]),
    ("commands mode unknown", {"step": "run", "commit": SHA, "project": "app", "env_file": "/e",
                               "commands": [{"service": "web", "mode": "shell"}]}, ["mode", "run, exec"]),
    ("commands without service", {"step": "run", "commit": SHA, "project": "app", "env_file": "/e",
                                  "commands": [{"command": ["true"]}]}, ["service", "required"]),
    ("guards key not a service", {"step": "cutover", "commit": SHA, "project": "app", "env_file": "/e",
                                  "guards": {"web;x": {}}}, ["guards", "web;x"]),
    ("previous_images key not a service", {"step": "prepare", "commit": SHA, "project": "app", "env_file": "/e",
                                           "previous_images": {"../x": "img"}}, ["previous_images", "../x"]),
    ("compose_files escaping", {"compose_files": ["../../etc/compose.yaml"]}, ["compose_files", "relative"]),
    ("compose_files option-like", {"compose_files": ["--file=/etc/x"]}, ["compose_files", "'-'"]),
    ("env_template absolute", {"env_template": "/etc/shadow"}, ["env_template", "relative"]),
    ("min_free_mb negative", {"min_free_mb": -1}, ["min_free_mb", "0 or more"]),
    ("min_free_mb wrong type", {"min_free_mb": "lots"}, ["min_free_mb", "int"]),
    ("keep negative", {"step": "prune", "keep": -1}, ["keep", "0 or more"]),
    ("seconds negative", {"step": "soak", "project": "app", "seconds": -3}, ["seconds", "0 or more"]),
    ("seconds wrong type", {"step": "soak", "project": "app", "seconds": "long"}, ["seconds", "float"]),
    ("log_lines negative", {"log_lines": -1}, ["log_lines", "0 or more"]),
    ("fetch not bool", {"fetch": "maybe"}, ["fetch", "bool"]),
    ("prepare without commit", {"step": "prepare", "project": "app", "env_file": "/e"}, ["commit"]),
    ("previous_images wrong type", {"previous_images": ["web"]}, ["previous_images", "dict"]),
]


@pytest.mark.parametrize("override,needles", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_anything_runs(tmp_path, monkeypatch, override, needles):
    def no_subprocess(*args, **kwargs):
        raise AssertionError("a command ran for %r" % (override,))
    monkeypatch.setattr(release.rel.subprocess, "run", no_subprocess)
    params = dict({"step": "preflight", "root": str(tmp_path / "app"), "ref": "v1", "fetch": False}, **override)
    result, _warned = run_module(release, **params)
    assert result["failed"], result
    for needle in needles:
        assert needle.lower() in result["msg"].lower(), (needle, result["msg"])
    assert list(tmp_path.iterdir()) == []


def test_an_option_like_ref_never_reaches_git(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    origin = new_repo(tmp_path / "origin", {"compose.yaml": "services: {}\n"}, "v1")
    app = tmp_path / "app"
    app.mkdir()
    git(tmp_path, "clone", "-q", str(origin), str(app / "repo"))
    marker = tmp_path / "pwned"
    result, _warned = run_module(release, step="preflight", root=str(app), ref="--upload-pack=touch %s" % marker,
                                 env_template="")
    assert result["failed"] and "ref" in result["msg"]
    assert not os.path.exists(str(marker))
