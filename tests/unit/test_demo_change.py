# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo-change SERVICE=...` refuses, before it touches the demo VM, a SERVICE that is not one of the
sample app's services that build (tests/fixtures/app/<service>/Dockerfile), and says to run `make demo` when
the demo VM is not running. The change itself was run against the demo VM for the README's output."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDABLE = "api, migrate, web, worker"


def demo_change(*args, name="berth-demo-absent-for-test"):
    env = dict(os.environ, BERTH_DEMO_NAME=name)
    return subprocess.run(["make", "-s", "-C", ROOT, "demo-change"] + list(args), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60, check=False)


def test_the_buildable_services_are_the_fixture_directories_with_a_dockerfile():
    app = os.path.join(ROOT, "tests", "fixtures", "app")
    found = sorted(d for d in os.listdir(app) if os.path.isfile(os.path.join(app, d, "Dockerfile")))
    assert ", ".join(found) == BUILDABLE


@pytest.mark.parametrize("service", ["nosuch", "docs", "caddy", "../web", "web;id", 'we"b', "WEB"])
def test_a_service_that_does_not_build_is_refused_naming_the_choices(service):
    proc = demo_change("SERVICE=" + service)
    assert proc.returncode != 0
    assert "SERVICE=%s is not a service of the sample app that builds (one of: %s)" % (service, BUILDABLE) in proc.stdout
    assert "committed" not in proc.stdout and "uid=" not in proc.stdout


def test_no_service_is_refused_with_the_command_to_type():
    proc = demo_change()
    assert proc.returncode != 0 and "SERVICE is not set: make demo-change SERVICE=web (one of: %s)" % BUILDABLE in proc.stdout


def test_without_the_demo_vm_it_says_to_run_make_demo_first():
    proc = demo_change("SERVICE=web")
    assert proc.returncode != 0
    assert "the demo VM berth-demo-absent-for-test is not running: run make demo first" in proc.stdout
