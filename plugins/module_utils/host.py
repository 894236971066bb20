# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way this collection runs a command on the host, and the one error it raises.

Every command is an argv list, never a shell string. :func:`run` returns a :class:`Result`;
whatever goes wrong (the program is missing, it runs too long, it exits non-zero when the
caller asked for a check) is a :class:`CommandError` naming the command and the last lines
of its output. The older error types (``releases.ReleaseError``, ``compose_cli.ComposeCliError``,
``zero_downtime.CutoverError``) are subclasses, so ``except CommandError`` catches them all.

What a command prints can be data, a rendered compose config with secret values for one:
with ``merge=False`` stdout stays out of every error message and only stderr is quoted.

Plain functions; no Ansible imports (module_utils run on the target's Python).
"""

from __future__ import annotations

import collections
import os
import subprocess
from collections.abc import Iterable, Mapping
from typing import Any

# Lines of output an error message quotes.
ERROR_LINES = 15
# Global options of docker compose and git whose value is a path or a setting, not the subcommand:
# left out when an error names the command ("docker compose up -d", not "docker compose -p shop").
_COMPOSE_OPTIONS = frozenset(["-p", "--project-name", "--project-directory", "-f", "--file", "--env-file"])
_GIT_OPTIONS = frozenset(["-C", "-c"])
_SHOWN_WORDS = 5


class Result(collections.namedtuple("Result", ["rc", "out", "argv", "err"])):
    """What a command did: exit code, output text, the argv it ran.

    ``out`` is stdout and stderr merged in the order they were written, or stdout alone with
    ``run(..., merge=False)``; ``err`` is then stderr ("" when merged)."""

    __slots__ = ()


class CommandError(Exception):
    """A command could not run, ran too long or failed; ``str()`` is the message for the operator.

    Attributes: ``msg``; ``output`` (the command's output text, "" when it never ran; stderr only
    when stdout was kept apart); ``argv``; ``rc`` (exit code, None when it did not exit by itself);
    ``timeout`` (the seconds it was allowed, when it was stopped for running longer, else None)."""

    def __init__(self, msg: object, output: str | None = "", argv: Iterable[object] | None = None, rc: int | None = None,
                 timeout: float | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.output = output or ""
        self.argv = list(argv or ())
        self.rc = rc
        self.timeout = timeout

    def __str__(self) -> str:
        return str(self.msg)


def describe(argv: Iterable[Any]) -> str:
    """The command for a message: the program and its first words, global path options left out."""
    argv = [str(arg) for arg in argv]
    if not argv:
        return ""
    if argv[1:2] == ["compose"]:
        words, start, options = argv[:2], 2, _COMPOSE_OPTIONS
    elif os.path.basename(argv[0]) == "git":
        words, start, options = argv[:1], 1, _GIT_OPTIONS
    else:
        return " ".join(argv[:_SHOWN_WORDS])
    skip = False
    for arg in argv[start:]:
        if skip:
            skip = False
        elif arg in options:
            skip = True
        else:
            words.append(arg)
        if len(words) >= _SHOWN_WORDS:
            break
    return " ".join(words)


def tail(text: str | None, lines: int | None) -> str:
    """The last ``lines`` lines of ``text``, trailing newlines dropped.

    ``lines`` 0 (or less) gives nothing: "". ``lines`` None gives all of it."""
    text = (text or "").rstrip("\n")
    if lines is None:
        return text
    if lines <= 0:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data


def run(argv: Iterable[Any], cwd: str | None = None, env: Mapping[str, str] | None = None, timeout: float | None = None,
        input: str | bytes | None = None, check: bool = True, merge: bool = True,
        error: type[CommandError] = CommandError, text: bool = True) -> Result:
    """Run ``argv`` (never through a shell) and return a :class:`Result`.

    cwd, env: of the process (env None: this process's environment). timeout: seconds, None for no
    limit; a command that runs longer is killed. input: text or bytes for its stdin (None: stdin is
    inherited). check: raise when it exits non-zero. merge: stderr into ``out`` (True) or apart in
    ``err`` (False: stdout is never quoted in an error). error: the :class:`CommandError` subclass
    to raise, so a caller's own ``except`` clause keeps working. text: False keeps ``out`` and ``err``
    as bytes (file contents, ``-z`` lists, ``cat-file`` read by byte counts); messages still quote text.

    Raises ``error`` when the program cannot be started, on a timeout, and with ``check`` on a
    non-zero exit; the message names the command and quotes the last lines of its output."""
    argv = [str(arg) for arg in argv]
    if not argv:
        raise error("cannot run an empty command")
    shown = describe(argv)
    data = input.encode("utf-8") if isinstance(input, str) else input
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, input=data, timeout=timeout, check=False,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merge else subprocess.PIPE)
    except subprocess.TimeoutExpired as exc:
        output = _text(exc.output) if merge else _text(exc.stderr)
        last = tail(output, ERROR_LINES)
        raise error("%s did not finish within %s s%s" % (shown, timeout, ": " + last if last else ""),
                    output=output, argv=argv, timeout=timeout)
    except OSError as exc:
        raise error("cannot run %s: %s" % (argv[0], exc), argv=argv)
    if check and proc.returncode != 0:
        output = _text(proc.stdout if merge else proc.stderr)
        raise error("%s failed (exit %d): %s" % (shown, proc.returncode, tail(output, ERROR_LINES) or "no output"),
                    output=output, argv=argv, rc=proc.returncode)
    if not text:
        return Result(proc.returncode, proc.stdout, argv, b"" if merge else proc.stderr)
    return Result(proc.returncode, _text(proc.stdout), argv, "" if merge else _text(proc.stderr))


__all__ = ["CommandError", "ERROR_LINES", "Result", "describe", "run", "tail"]
