# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in-process and catch its exit_json / fail_json as an exception."""


class ModuleExit(Exception):
    """What a module handed to exit_json (failed=False) or fail_json (failed=True)."""

    def __init__(self, failed, kwargs):
        super(ModuleExit, self).__init__(kwargs.get("msg"))
        self.failed = failed
        self.result = kwargs


def exit_json(self, **kwargs):
    raise ModuleExit(False, kwargs)


def fail_json(self, **kwargs):
    raise ModuleExit(True, kwargs)
