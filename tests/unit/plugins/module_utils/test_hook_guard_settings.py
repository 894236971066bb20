# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""berth_hooks and berth_restart_guards are judged with the other app-wide settings (issue 18.14).

Before, neither had an option spec: a ``when`` typo ran a before-hook after cutover, and a guard
command given as a string was split into characters, so the service stayed "busy" for ever.
"""
import pytest

from ansible_collections.berth.compose.plugins.module_utils.app_settings import guard_problems, hook_problems

GOOD_HOOKS = {
    "schema_report": {"service": "api", "command": ["sh", "-c", "true"], "mode": "exec", "when": "after"},
    "warm": [{"service": "web", "command": ["./warm"]},
             {"service": "worker", "command": ["x"], "mode": "run", "when": "before"}],
}
GOOD_GUARDS = {"worker": {"command": ["sh", "-c", "test ! -e /tmp/busy"], "wait": 4, "on_busy": "defer"},
               "web": {"command": ["true"]}, "api": {"command": ["true"], "wait": 2.5, "on_busy": "fail"}}


def test_good_hooks_and_guards_pass():
    assert hook_problems(GOOD_HOOKS) == []
    assert guard_problems(GOOD_GUARDS) == []
    assert hook_problems({}) == [] and guard_problems({}) == []
    assert hook_problems(None) == [] and guard_problems(None) == []


@pytest.mark.parametrize("hooks, words", [
    ({"h": {"service": "api", "command": ["x"], "when": "bfore"}},
     ["berth_hooks", "'h'", "when", "'bfore'", "before", "after"]),
    ({"h": {"service": "api", "command": ["x"], "mode": "shell"}}, ["berth_hooks", "mode", "'shell'", "exec", "run"]),
    ({"h": {"service": "api", "command": "./manage.py refresh"}}, ["berth_hooks", "command", "list of strings"]),
    ({"h": {"service": "api", "command": []}}, ["berth_hooks", "command", "non-empty"]),
    ({"h": {"service": "api", "command": ["x", 1]}}, ["berth_hooks", "command", "list of strings"]),
    ({"h": {"command": ["x"]}}, ["berth_hooks", "service", "required"]),
    ({"h": {"service": "-api", "command": ["x"]}}, ["berth_hooks", "service", "'-api'"]),
    ({"h": {"service": "api", "command": ["x"], "wehn": "after"}}, ["berth_hooks", "'wehn'", "allowed keys"]),
    ({"h": "sh -c true"}, ["berth_hooks", "'h'", "a step", "list of steps"]),
    ({"h": [{"service": "api", "command": ["x"]}, "oops"]}, ["berth_hooks", "'h'", "step 2"]),
    ({"h": []}, ["berth_hooks", "'h'", "at least one step"]),
    ("schema_report", ["berth_hooks", "a mapping"]),
])
def test_bad_hooks_are_refused_naming_the_variable_and_what_is_allowed(hooks, words):
    problems = hook_problems(hooks)
    assert problems, hooks
    text = "\n".join(problems)
    for word in words:
        assert word in text, text


@pytest.mark.parametrize("guards, words", [
    ({"worker": {"command": "test ! -e /tmp/busy"}},
     ["berth_restart_guards", "'worker'", "command", "list of strings"]),
    ({"worker": {"command": []}}, ["berth_restart_guards", "command", "non-empty"]),
    ({"worker": {}}, ["berth_restart_guards", "command", "required"]),
    ({"worker": {"command": ["x"], "wait": -1}}, ["berth_restart_guards", "wait", "0 or more"]),
    ({"worker": {"command": ["x"], "wait": "soon"}}, ["berth_restart_guards", "wait", "seconds"]),
    ({"worker": {"command": ["x"], "wait": True}}, ["berth_restart_guards", "wait", "seconds"]),
    ({"worker": {"command": ["x"], "on_busy": "skip"}}, ["berth_restart_guards", "on_busy", "defer", "fail"]),
    ({"worker": {"command": ["x"], "timeout": 5}}, ["berth_restart_guards", "'timeout'", "allowed keys"]),
    ({"worker": ["x"]}, ["berth_restart_guards", "'worker'", "a mapping"]),
    ({"-worker": {"command": ["x"]}}, ["berth_restart_guards", "'-worker'", "service name"]),
    (["worker"], ["berth_restart_guards", "a mapping"]),
])
def test_bad_guards_are_refused_naming_the_variable_and_what_is_allowed(guards, words):
    problems = guard_problems(guards)
    assert problems, guards
    text = "\n".join(problems)
    for word in words:
        assert word in text, text
