# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one command runner and the one error type, with real processes (true, false, sh, sleep)."""

import os
import time

import pytest

from ansible_collections.berth.compose.plugins.module_utils import compose_cli, host, releases, task, zero_downtime

MISSING = "berth-no-such-program-7f3a"


def test_a_command_that_succeeds_returns_its_exit_code_output_and_argv():
    result = host.run(["sh", "-c", "echo out; echo err >&2"])
    assert result.rc == 0
    assert result.out == "out\nerr\n"  # stderr merged in the order written
    assert result.argv == ["sh", "-c", "echo out; echo err >&2"]
    assert result.err == ""
    assert host.run(["true"]) == host.Result(0, "", ["true"], "")


def test_merge_false_keeps_stderr_apart():
    result = host.run(["sh", "-c", "echo out; echo err >&2"], merge=False)
    assert (result.out, result.err) == ("out\n", "err\n")


def test_a_failing_command_raises_naming_it_with_its_last_lines():
    script = "for i in $(seq 1 40); do echo line $i; done; exit 3"
    with pytest.raises(host.CommandError) as err:
        host.run(["sh", "-c", script])
    exc = err.value
    assert exc.rc == 3 and exc.timeout is None
    assert exc.argv == ["sh", "-c", script]
    assert str(exc).startswith("sh -c %s failed (exit 3): " % script)
    assert str(exc) == exc.msg
    assert "line 40" in str(exc) and "line 26" in str(exc) and "line 25\n" not in str(exc)  # the last 15 lines
    assert exc.output.splitlines() == ["line %d" % i for i in range(1, 41)]  # the whole output is kept


def test_false_fails_and_says_it_printed_nothing():
    with pytest.raises(host.CommandError, match=r"^false failed \(exit 1\): no output$"):
        host.run(["false"])


def test_check_false_returns_the_failure_instead():
    result = host.run(["sh", "-c", "echo nope; exit 7"], check=False)
    assert (result.rc, result.out) == (7, "nope\n")


def test_a_separate_stdout_never_reaches_the_error():
    with pytest.raises(host.CommandError) as err:
        host.run(["sh", "-c", "echo \"$BERTH_SECRET\"; echo 'bad file' >&2; exit 2"], merge=False,
                 env=dict(os.environ, BERTH_SECRET="SECRET-VALUE"))
    assert "bad file" in str(err.value) and err.value.output == "bad file\n"
    assert "SECRET-VALUE" not in str(err.value) and "SECRET-VALUE" not in err.value.output


def test_a_timeout_stops_the_command_and_raises():
    started = time.monotonic()
    with pytest.raises(host.CommandError) as err:
        host.run(["sh", "-c", "echo started; exec sleep 30"], timeout=0.5)
    assert time.monotonic() - started < 10
    assert err.value.timeout == 0.5 and err.value.rc is None
    assert str(err.value).startswith("sh -c echo started; exec sleep 30 did not finish within 0.5 s")
    assert "started" in err.value.output


def test_a_timeout_is_raised_even_without_check():
    with pytest.raises(host.CommandError, match="sleep 5 did not finish within 0.2 s"):
        host.run(["sleep", "5"], timeout=0.2, check=False)


@pytest.mark.parametrize("check", [True, False])
def test_a_missing_program_raises_naming_it(check):
    with pytest.raises(host.CommandError) as err:
        host.run([MISSING, "--version"], check=check)
    assert str(err.value).startswith("cannot run %s: " % MISSING)
    assert err.value.rc is None and err.value.argv == [MISSING, "--version"] and err.value.output == ""


def test_an_empty_command_raises():
    with pytest.raises(host.CommandError, match="empty command"):
        host.run([])


@pytest.mark.parametrize("data", ["alpha\nbeta\n", b"alpha\nbeta\n"])
def test_input_goes_to_stdin_as_text_or_bytes(data):
    assert host.run(["sh", "-c", "tr a-z A-Z"], input=data).out == "ALPHA\nBETA\n"


def test_cwd_and_env_are_the_process_own(tmp_path):
    result = host.run(["sh", "-c", 'pwd; echo "$BERTH_PROBE"'], cwd=str(tmp_path),
                      env=dict(os.environ, BERTH_PROBE="probe-value"))
    assert result.out.splitlines() == [os.path.realpath(str(tmp_path)), "probe-value"]


def test_arguments_are_never_interpreted_by_a_shell():
    assert host.run(["echo", "$HOME", "; false", 3]).out == "$HOME ; false 3\n"


def test_undecodable_output_is_replaced_not_fatal():
    assert host.run(["printf", "\\377ok"]).out == "\ufffdok"


def test_the_error_type_can_be_chosen_and_stays_a_command_error():
    with pytest.raises(releases.ReleaseError) as err:
        host.run(["false"], error=releases.ReleaseError)
    assert isinstance(err.value, host.CommandError) and err.value.rc == 1


def test_every_older_error_type_is_a_command_error():
    for cls in (releases.ReleaseError, compose_cli.ComposeCliError, zero_downtime.CutoverError):
        assert issubclass(cls, host.CommandError)
    exc = zero_downtime.CutoverError("web: gate failed", output="logs", removed_new=False)
    assert (str(exc), exc.output, exc.removed_new, exc.rc) == ("web: gate failed", "logs", False, None)
    assert str(compose_cli.ComposeCliError("no valid JSON")) == "no valid JSON"


def test_releases_run_delegates_and_raises_its_own_error():
    assert releases.run(["sh", "-c", "echo hi; exit 4"], check=False) == (4, "hi\n")
    with pytest.raises(releases.ReleaseError, match=r"failed \(exit 4\): hi"):
        releases.run(["sh", "-c", "echo hi; exit 4"])
    with pytest.raises(releases.ReleaseError, match="cannot run %s" % MISSING):
        releases.run([MISSING])
    with pytest.raises(releases.ReleaseError, match="did not finish within"):
        releases.run(["sleep", "5"], timeout=0.2)


def test_compose_cli_run_raises_compose_cli_error_for_a_missing_docker():
    project = compose_cli.ComposeProject(name="p", project_dir="/tmp", docker=MISSING)
    with pytest.raises(compose_cli.ComposeCliError, match="Compose plugin installed") as err:
        compose_cli.run(project, ["ps"])
    assert isinstance(err.value, host.CommandError)


@pytest.mark.parametrize("argv, shown", [
    (["docker", "compose", "-p", "shop", "--project-directory", "/opt/shop", "-f", "/opt/shop/compose.yaml",
      "--env-file", "/opt/shop/.env", "up", "-d", "--no-deps", "web"], "docker compose up -d --no-deps"),
    (["git", "-C", "/opt/shop/repo", "worktree", "add", "--detach", "/x", "abc"], "git worktree add --detach /x"),
    (["git", "-C", "/r", "-c", "core.quotepath=off", "diff"], "git diff"),
    (["false"], "false"),
    (["sh", "-c", "exit 1"], "sh -c exit 1"),
    (["/usr/bin/git", "-C", "/r", "fetch", "--prune", "--tags", "origin"], "/usr/bin/git fetch --prune --tags origin"),
    (["docker", "logs", "--tail", "20", "c1", "extra"], "docker logs --tail 20 c1"),
])
def test_describe_names_the_subcommand_not_the_paths(argv, shown):
    assert host.describe(argv) == shown


@pytest.mark.parametrize("lines, expected", [
    (2, "c\nd"),
    (1, "d"),
    (10, "a\nb\nc\nd"),
    (0, ""),
    (-1, ""),
    (None, "a\nb\nc\nd"),
])
def test_tail_has_one_rule(lines, expected):
    assert host.tail("a\nb\nc\nd\n\n", lines) == expected


def test_tail_of_nothing_is_nothing():
    assert host.tail("", 5) == "" and host.tail(None, 5) == ""


def test_releases_tail_is_host_tail_and_task_tail_reads_zero_as_all():
    assert releases.tail is host.tail
    assert releases.tail("a\nb\n", 0) == ""
    assert task.tail("a\nb\nc\n", 2) == "b\nc"
    assert task.tail("a\nb\n", 0) == "a\nb"  # the task module's log_lines: 0 documents "all"


def test_bytes_mode_keeps_output_byte_exact_and_errors_still_read_as_text():
    raw = b"\xff\xfe not utf-8 \x00 kept\n"
    result = host.run(["sh", "-c", "cat"], input=raw, text=False, merge=False)
    assert result.out == raw and result.err == b""
    with pytest.raises(host.CommandError) as raised:
        host.run(["sh", "-c", "echo broken >&2; exit 4"], text=False, merge=False)
    assert "broken" in str(raised.value) and raised.value.rc == 4
