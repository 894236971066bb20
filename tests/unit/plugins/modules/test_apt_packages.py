# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import json

from unittest import mock

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.berth.compose.plugins.modules import apt_packages as module


def run(capsys, answers, check_mode=False, **params):
    """Run the module with run_command answering from ``answers`` (argv[0] -> (rc, out, err))."""
    calls = []

    def run_command(self, argv, **kwargs):
        calls.append(argv[0])
        return answers[argv[0]]

    args = dict(params, _ansible_check_mode=check_mode)
    with patch_module_args(args), mock.patch.object(module.AnsibleModule, "run_command", run_command):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out), calls


def test_all_installed_runs_dpkg_only(capsys):
    result, calls = run(capsys, {"dpkg-query": (0, "caddy installed\n", "")}, names=["caddy"])
    assert result["missing"] == [] and result["refreshed"] is False and result["changed"] is False
    assert calls == ["dpkg-query"]


def test_missing_package_refreshes_the_lists(capsys):
    answers = {"dpkg-query": (1, "", "dpkg-query: no packages found matching caddy"), "apt-get": (0, "", "")}
    result, calls = run(capsys, answers, names=["caddy"])
    assert result["missing"] == ["caddy"] and result["refreshed"] is True
    assert calls == ["dpkg-query", "apt-get"]


def test_check_mode_never_runs_apt_get_update(capsys):
    """Issue 18.13: check mode changes nothing, apt's package lists included."""
    answers = {"dpkg-query": (1, "", "dpkg-query: no packages found matching caddy"), "apt-get": (0, "", "")}
    warned = []
    with mock.patch.object(module.AnsibleModule, "warn", lambda self, text: warned.append(text)):
        result, calls = run(capsys, answers, check_mode=True, names=["caddy"])
    assert calls == ["dpkg-query"]
    assert result["missing"] == ["caddy"] and result["refreshed"] is False and result["changed"] is False
    assert any("apt-get update" in text and "caddy" in text for text in warned), warned


def test_refresh_false_only_reports(capsys):
    result, calls = run(capsys, {"dpkg-query": (1, "", "")}, names=["caddy"], refresh=False)
    assert result["missing"] == ["caddy"] and result["refreshed"] is False and calls == ["dpkg-query"]


def test_a_failed_refresh_fails_naming_it(capsys):
    answers = {"dpkg-query": (1, "", ""), "apt-get": (100, "", "E: could not resolve deb.debian.org")}
    result = run(capsys, answers, names=["caddy"])[0]
    assert result["failed"] and "apt-get update failed" in result["msg"] and "could not resolve" in result["msg"]


def test_dpkg_query_errors_fail(capsys):
    result = run(capsys, {"dpkg-query": (2, "", "dpkg-query: error")}, names=["caddy"])[0]
    assert result["failed"] and "dpkg-query failed" in result["msg"]
