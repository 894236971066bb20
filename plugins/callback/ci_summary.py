# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: ci_summary
type: aggregate
short_description: Write a deploy's or rollback's outcome as a Markdown summary for a CI job
description:
  - At the end of the playbook, writes one Markdown summary to O(summary_file), with a heading that gives the
    overall outcome and one table row per host (outcome, from and to commit, the commit now serving,
    services built and recreated, duration, the failure message), then the operator, the CI job URL
    and the note of the release record.
  - It reads the records that C(berth.compose.deploy) and C(berth.compose.rollback) publish as
    C(berth_records) stats, the recap's counts, and each host's last failure (an unreachable host's
    SSH error, such as a host key mismatch).
  - C(scripts/berth-ci-deploy) enables it and copies the file into GitHub's C($GITHUB_STEP_SUMMARY)
    (or prints it).
  - Writes nothing when O(summary_file) is not set.
version_added: 0.1.0
requirements:
  - enabled with C(ANSIBLE_CALLBACKS_ENABLED=berth.compose.ci_summary)
options:
  summary_file:
    description: Where to write the summary (replaced at each run).
    type: path
    env:
      - name: BERTH_CI_SUMMARY_FILE
"""

import os

from ansible.plugins.callback import CallbackBase

from ansible_collections.berth.compose.plugins.module_utils.ci_summary import markdown


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "berth.compose.ci_summary"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self.playbook = "playbook"
        self.ref = None
        self.problems = {}
        self.plans = {}

    def v2_playbook_on_start(self, playbook):
        name = os.path.splitext(os.path.basename(playbook._file_name))[0]
        self.playbook = name

    def v2_playbook_on_play_start(self, play):
        manager = play.get_variable_manager()
        extra = getattr(manager, "extra_vars", None) or {}
        if self.ref is None and isinstance(extra.get("ref"), str):
            self.ref = extra["ref"]

    def _problem(self, result):
        msg = result._result.get("msg") or result._result.get("stderr") or "failed"
        self.problems[result._host.get_name()] = str(msg)

    def v2_runner_on_ok(self, result):
        # The engine's plan, for a host where it had nothing to do (no record then).
        plan = result._result.get("plan")
        if result._task.action in ("berth.compose.engine", "engine") and isinstance(plan, list):
            self.plans[result._host.get_name()] = [str(line) for line in plan]

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            self._problem(result)

    def v2_runner_on_unreachable(self, result):
        self._problem(result)

    def v2_playbook_on_stats(self, stats):
        path = self.get_option("summary_file")
        if not path:
            return
        hosts = {host: stats.summarize(host) for host in stats.processed}
        records = (stats.custom.get("_run") or {}).get("berth_records") or {}
        text = markdown(self.playbook, self.ref, hosts, records, self.problems, self.plans)
        with open(path, "w") as out:
            out.write(text + "\n")
