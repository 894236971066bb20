# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in-process and catch its exit_json / fail_json as an exception."""

from unittest import mock

import pytest
from ansible.module_utils.testing import patch_module_args


class ModuleExit(Exception):
    """What a module handed to exit_json (failed=False) or fail_json (failed=True)."""

    def __init__(self, failed, kwargs):
        super().__init__(kwargs.get("msg"))
        self.failed = failed
        self.result = kwargs


def exit_json(self, **kwargs):
    raise ModuleExit(False, kwargs)


def fail_json(self, **kwargs):
    raise ModuleExit(True, kwargs)


def run_module(module, check_mode=False, diff=False, **params):
    """Run ``module.main()`` with ``params`` (exit_json/fail_json must raise, see conftest's
    module_exit_raises); return (result with ``failed``, the warnings it gave)."""
    args = dict(params, _ansible_check_mode=check_mode, _ansible_diff=diff)
    warned = []
    with patch_module_args(args), mock.patch.object(module.AnsibleModule, "warn",
                                                    lambda self, text: warned.append(text)):
        with pytest.raises(ModuleExit) as exc:
            module.main()
    return dict(exc.value.result, failed=exc.value.failed), warned
