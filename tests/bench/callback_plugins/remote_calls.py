# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Count the module executions a playbook run sends to its remote hosts (make bench only).

Enabled by tests/bench/bench_ops.py for its own runs only:

    ANSIBLE_CALLBACK_PLUGINS=tests/bench/callback_plugins ANSIBLE_CALLBACKS_ENABLED=remote_calls
    BERTH_BENCH_CALLS_FILE=/path/to/counts.json

A runner result counts as one remote call when it is ok, changed or failed (not skipped, not
unreachable) and the task ran on the remote host: its action is not one of Ansible's
controller-side actions (CONTROLLER_ACTIONS: set_fact, debug, assert, fail, meta,
include/import_*, add_host, group_by, ...), it is not delegated to localhost or to a host with a
local connection, and its own connection is not local. A loop counts one call per item that ran
(the loop's summary result is not counted again). It assumes no task names: the rules look only
at the action, the delegation and the connection.

What it cannot see: an action plugin that runs more than one module per task (template, copy,
or a collection's own action plugin) counts as one. Checked by hand against the `EXEC` lines of
`ansible-playbook -vvv` (one per module execution with pipelining).

At the end of the run it writes BERTH_BENCH_CALLS_FILE (JSON): remote (the count), local (the
controller-side results), unreachable, and calls (task, action, host, count) in order.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: remote_calls
    type: aggregate
    short_description: count the module executions sent to remote hosts (berth.compose bench)
    description:
      - Writes the count to the file named by the BERTH_BENCH_CALLS_FILE environment variable.
    requirements:
      - enabled in callbacks_enabled
"""

# Actions that run in the controller process (the action plugin never executes a module on the
# target), as bare names; ansible.builtin. and ansible.legacy. prefixes are stripped before the check.
CONTROLLER_ACTIONS = frozenset((
    "set_fact", "debug", "assert", "fail", "meta", "pause", "set_stats", "include_vars",
    "include", "include_tasks", "import_tasks", "include_role", "import_role", "import_playbook",
    "add_host", "group_by", "validate_argument_spec", "end_play", "end_host", "end_batch",
))
LOCAL_CONNECTIONS = frozenset(("local", "ansible.builtin.local", "ansible.legacy.local"))
LOCAL_HOSTS = frozenset(("localhost", "127.0.0.1", "::1"))


def bare_action(name):
    for prefix in ("ansible.builtin.", "ansible.legacy."):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "remote_calls"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.remote = 0
        self.local = 0
        self.unreachable = 0
        self.calls = []

    @staticmethod
    def action_of(task):
        return getattr(task, "resolved_action", None) or task.action or ""

    def is_remote(self, result):
        task = result._task
        if bare_action(self.action_of(task)) in CONTROLLER_ACTIONS:
            return False
        delegated = result._result.get("_ansible_delegated_vars") or {}
        if task.delegate_to is not None or delegated:
            target = delegated.get("ansible_delegated_host") or str(task.delegate_to)
            if target in ("localhost",) or delegated.get("ansible_connection") in LOCAL_CONNECTIONS:
                return False
            if target in LOCAL_HOSTS and delegated.get("ansible_connection") in (None, "", "local"):
                return False
            return True
        if getattr(task, "connection", None) in LOCAL_CONNECTIONS:
            return False
        host = result._host
        host_vars = host.get_vars() if host is not None else {}
        if host_vars.get("ansible_connection") in LOCAL_CONNECTIONS:
            return False
        return not (host is not None and host.name == "localhost" and not host_vars.get("ansible_connection"))

    def count(self, result):
        if self.is_remote(result):
            self.remote += 1
            name = result._task.get_name()
            if self.calls and self.calls[-1][0] == name and self.calls[-1][2] == result._host.name:
                self.calls[-1][3] += 1
            else:
                self.calls.append([name, self.action_of(result._task), result._host.name, 1])
        else:
            self.local += 1

    @staticmethod
    def is_loop_summary(result):
        task = result._task
        return bool(task.loop is not None or task.loop_with) and isinstance(result._result.get("results"), list)

    def v2_runner_on_ok(self, result):
        if not self.is_loop_summary(result):
            self.count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not self.is_loop_summary(result):
            self.count(result)

    def v2_runner_item_on_ok(self, result):
        self.count(result)

    def v2_runner_item_on_failed(self, result):
        self.count(result)

    def v2_runner_on_unreachable(self, result):
        self.unreachable += 1

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("BERTH_BENCH_CALLS_FILE")
        if not path:
            return
        with open(path, "w") as handle:
            json.dump({"remote": self.remote, "local": self.local, "unreachable": self.unreachable,
                       "calls": self.calls}, handle, indent=1)
