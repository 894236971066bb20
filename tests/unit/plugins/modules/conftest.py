# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest

from ansible.module_utils import basic
from ansible_collections.berth.compose.tests.unit.plugins.modules import utils


@pytest.fixture()
def module_exit_raises(monkeypatch):
    """exit_json / fail_json raise utils.ModuleExit instead of printing and exiting."""
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", utils.exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", utils.fail_json)
