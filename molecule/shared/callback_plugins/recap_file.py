# Copyright: berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: the play recap as data, for the Molecule tests (molecule/shared/recap.py).

Writes what ansible-runner's stats and the ansible.posix.json callback's last section hold - each
host's counts and the set_stats data - to the JSON file named by BERTH_RECAP_FILE, and leaves
the text output of the stdout callback as it is (the tests read messages from it)."""
from __future__ import annotations

DOCUMENTATION = r"""
name: recap_file
type: aggregate
short_description: Write the play recap and the set_stats data to a JSON file (tests only)
description:
  - "At the end of a playbook, writes each host's counts (C(stats)) and the set_stats data (C(custom_stats),
    C(global_custom_stats)) as JSON to the file named by the environment variable E(BERTH_RECAP_FILE)."
requirements:
  - enabled in callbacks_enabled
"""

import json
import os

from ansible.module_utils.common.json import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "recap_file"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("BERTH_RECAP_FILE")
        if not path:
            return
        custom = {str(host): data for host, data in (stats.custom or {}).items()}
        recap = {
            "stats": {str(host): stats.summarize(host) for host in sorted(stats.processed)},
            "global_custom_stats": custom.pop("_run", {}),
            "custom_stats": custom,
        }
        with open(path, "w") as handle:
            json.dump(recap, handle, cls=AnsibleJSONEncoder, sort_keys=True)
