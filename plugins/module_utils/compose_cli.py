# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that builds and runs a ``docker compose`` command line.

Every caller names the project the way the app's boot unit does
(``docker compose -p <project> --project-directory <dir> -f <file>... [--env-file <env>]``),
so a plan, a deploy and the unit agree on what the project is. Commands run as an argv
list, never through a shell.

The rendered configuration (:func:`render_config`) holds the values of the env file,
that is secrets: it is returned to the caller only, and no error message carries it.
"""

from __future__ import annotations

import json
import os
import subprocess
import typing as t
from dataclasses import dataclass, field

from ansible_collections.berth.compose.plugins.module_utils import commands
from ansible_collections.berth.compose.plugins.module_utils import host

DEFAULT_TIMEOUT = 120
# Errors quote at most this much of compose's stderr: enough for its message, bounded.
STDERR_LIMIT = 2000


class ComposeCliError(host.CommandError):
    """``docker compose`` could not be run or failed; the message carries its stderr.

    A :class:`host.CommandError`; its ``output`` is stderr only (stdout can be a rendered config)."""


@dataclass(frozen=True)
class ComposeProject:
    """How to address one compose project on the command line.

    ``files`` are relative to ``project_dir`` or absolute; ``env_file`` is one path or several;
    ``environment`` is added to the process environment (Compose interpolates ``${VAR}`` from
    it before the env file).
    """

    name: str
    project_dir: str
    files: t.Tuple[str, ...] = ()
    env_file: t.Union[None, str, t.Tuple[str, ...]] = None
    environment: t.Mapping[str, str] = field(default_factory=dict)
    docker: str = "docker"

    def argv(self, *args: object) -> list[str]:
        """The full argv for ``docker compose <global options> <args>``."""
        base = commands.compose(self.name, self.project_dir, self.files, self.env_file, docker=self.docker)
        return base + [str(a) for a in args]

    def process_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({str(k): str(v) for k, v in self.environment.items()})
        return env


def release_environment(commit: str, ref: str | None = None) -> dict[str, str]:
    """The interpolation variables a release is rendered and run with.

    Compose files can name images by commit (``image: app-web:${BERTH_SHORT_SHA}``) or by the
    ref deployed (``${BERTH_REF}``: the ref the release was deployed as, the sha when none);
    the planner, the release's ``.berth/release.env`` and every compose call of the engine use
    this one function, so the values mean the same everywhere.
    """
    return {
        "BERTH_COMMIT": commit,
        "BERTH_SHORT_SHA": commit[:12],
        "BERTH_REF": ref or commit,
    }


def run(project: ComposeProject, args: t.Sequence[object], timeout: float = DEFAULT_TIMEOUT) -> subprocess.CompletedProcess[bytes]:
    """Run ``docker compose ... <args>`` with :func:`host.run`; return a CompletedProcess (bytes output).

    stdout and stderr stay apart: only stderr is ever quoted. Raises :class:`ComposeCliError`
    when it cannot start, times out or exits non-zero.
    """
    argv = project.argv(*args)
    shown = " ".join(argv[:2] + [str(a) for a in args])
    try:
        result = host.run(argv, env=project.process_env(), timeout=timeout, check=False, merge=False,
                          error=ComposeCliError)
    except ComposeCliError as exc:
        if exc.timeout is not None:
            raise ComposeCliError("%s did not finish within %s s" % (shown, timeout), output=exc.output, argv=argv,
                                  timeout=timeout)
        raise ComposeCliError("%s (is the Docker CLI with the Compose plugin installed?)" % exc.msg, argv=argv)
    if result.rc != 0:
        stderr = result.err.strip()[-STDERR_LIMIT:]
        raise ComposeCliError("%s failed (exit %d) in %s: %s"
                              % (shown, result.rc, project.project_dir, stderr or "no error output"),
                              output=result.err, argv=argv, rc=result.rc)
    return subprocess.CompletedProcess(argv, result.rc, result.out.encode("utf-8"), result.err.encode("utf-8"))


def render_config(project: ComposeProject, interpolate: bool = True, timeout: float = DEFAULT_TIMEOUT) -> dict[str, t.Any]:
    """The project as Compose itself renders it (``config --format json``), as a dict.

    Include, extends, profiles, merges, ``.env``/``--env-file`` interpolation and path
    resolution are all done by Compose. The result holds secret values: never log it.
    With ``interpolate=False`` (``--no-interpolate``) Compose keeps each service's
    ``env_file`` list, which it otherwise folds into ``environment``; it then also lists
    services of inactive profiles.
    """
    proc = run(project, commands.config_json((), interpolate), timeout=timeout)
    try:
        model = json.loads(proc.stdout.decode("utf-8"))
    except ValueError as exc:
        # the output is the rendered config: say where parsing failed, never what it said
        raise ComposeCliError("docker compose config printed no valid JSON (%s at char %s)"
                              % (type(exc).__name__, getattr(exc, "pos", "?")))
    if not isinstance(model, dict):
        raise ComposeCliError("docker compose config printed JSON that is not an object")
    return model
