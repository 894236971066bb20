# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of berth.compose.engine: who deploys and from where, for the lock and the record."""

from ansible.plugins.action import ActionBase

from ansible_collections.berth.compose.plugins.action.deploy_lock import ci_job_url, controller_defaults

MODULE = "berth.compose.engine"


class ActionModule(ActionBase):
    """Fill in the operator (the CI's identity when there is one), the CI job URL and the controller host,
    then run the engine on the target: one round trip."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = controller_defaults(dict(self._task.args), task_vars)
        args.pop("pid", None)
        if not args.get("job_url"):
            url = ci_job_url()
            if url:
                args["job_url"] = url
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        return result
