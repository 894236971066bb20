# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""logs.yml's checks and command lines (issue 20.5); the real reads run in the operator Molecule scenario."""
import pytest

from ansible_collections.berth.compose.plugins.module_utils import logs as lg

NOW = 1796612400.0  # 2026-12-07T03:00:00Z


@pytest.mark.parametrize("since", ["10m", "1h30m", "90s", "1.5h", "250ms", "1796612400", "1796612400.5", "2026-12-07",
                                   "2026-12-07T03:00:00Z", "2026-12-07T03:00", "2026-12-07T04:00:00.123+01:00", None, ""])
def test_docker_since_syntax_is_taken(since):
    assert lg.since_problem(since) is None


@pytest.mark.parametrize("since", ["10 minutes", "-10m", "m", "10M", "2026-13-45", "2026-12-07 03:00",
                                   "yesterday", "10m; rm -rf /", "--until=1h", "1d"])
def test_anything_else_is_refused_naming_since(since):
    problem = lg.since_problem(since)
    assert problem and problem.startswith("since %r" % since) and "10m" in problem


@pytest.mark.parametrize("lines, ok", [(0, True), (100, True), (100000, True), (-1, False), (100001, False),
                                       ("100", False), (True, False)])
def test_lines_is_a_bounded_whole_number(lines, ok):
    assert (lg.lines_problem(lines) is None) is ok


@pytest.mark.parametrize("service, ok", [("web", True), ("caddy", True), ("api_v2.x", True), ("-f", False),
                                         ("web;id", False), ("", False), ("../x", False)])
def test_service_follows_the_names_rules(service, ok):
    assert (lg.service_problem(service) is None) is ok


def test_durations_and_times_become_the_journals_epoch():
    assert lg.duration_seconds("1h30m") == 5400.0 and lg.duration_seconds("250ms") == 0.25
    assert lg.since_epoch("10m", NOW) == NOW - 600
    assert lg.since_epoch("1796612400", NOW) == 1796612400.0
    assert lg.since_epoch("2026-12-07T03:00:00Z", NOW) == NOW
    assert lg.since_epoch("2026-12-07T03:00:00", NOW) == NOW  # no zone: UTC, as docker reads it
    assert lg.since_epoch(None, NOW) is None


def test_the_journal_command_line():
    assert lg.journal_argv("caddy", 50, "10m", NOW) == [
        "journalctl", "--unit", "caddy", "--no-pager", "--quiet", "--output", "short-iso", "--lines", "50",
        "--since", "@%d" % (NOW - 600)]
    assert lg.journal_argv("caddy", 0, None, NOW) == ["journalctl", "--unit", "caddy", "--no-pager", "--quiet",
                                                      "--output", "short-iso"]


def test_the_compose_logs_arguments():
    assert lg.compose_logs_args("web", 100, "10m") == ["logs", "--no-color", "--timestamps", "--tail", "100",
                                                       "--since", "10m", "web"]
    assert lg.compose_logs_args("web", 0, None) == ["logs", "--no-color", "--timestamps", "--tail", "all", "web"]


def test_bad_input_is_refused_before_anything_runs(tmp_path, monkeypatch):
    def tripwire(*args, **kwargs):
        raise AssertionError("nothing may run")
    monkeypatch.setattr(lg.host, "run", tripwire)
    params = dict(root=str(tmp_path), project="shop", compose_files=["compose.yaml"], env_file=str(tmp_path / ".env"),
                  service="web;id", lines=-3, since="ten minutes", caddy_unit="caddy", docker="docker",
                  journalctl="journalctl")
    with pytest.raises(lg.LogsError) as raised:
        lg.read_logs(params)
    message = str(raised.value)
    assert message.startswith("Refusing, nothing was read: ")
    assert "service 'web;id'" in message and "lines -3" in message and "since 'ten minutes'" in message


def test_no_release_yet_says_deploy_first(tmp_path):
    params = dict(root=str(tmp_path), project="shop", compose_files=["compose.yaml"], env_file=str(tmp_path / ".env"),
                  service="web", lines=10, since=None, caddy_unit="caddy", docker="docker", journalctl="journalctl")
    with pytest.raises(lg.LogsError, match="No release serves yet .* deploy first"):
        lg.read_logs(params)
