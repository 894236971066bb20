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

import json
import os
import subprocess
import typing as t
from dataclasses import dataclass, field

DEFAULT_TIMEOUT = 120
# Errors quote at most this much of compose's stderr: enough for its message, bounded.
STDERR_LIMIT = 2000


class ComposeCliError(Exception):
    """``docker compose`` could not be run or failed; the message carries its stderr."""


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

    def argv(self, *args):
        """The full argv for ``docker compose <global options> <args>``."""
        cmd = [self.docker, "compose", "-p", self.name, "--project-directory", self.project_dir]
        for name in self.files:
            cmd += ["-f", name if os.path.isabs(name) else os.path.join(self.project_dir, name)]
        env_files = [self.env_file] if isinstance(self.env_file, str) else self.env_file or ()
        for name in env_files:
            cmd += ["--env-file", name]
        return cmd + [str(a) for a in args]

    def process_env(self):
        env = dict(os.environ)
        env.update({str(k): str(v) for k, v in self.environment.items()})
        return env


def release_environment(commit, ref=None):
    """The interpolation variables a release is rendered and run with.

    Compose files can name images by commit (``image: app-web:${BERTH_SHORT_SHA}``); the
    planner renders each side of a change with its own values, and a deploy must pass the
    same ones, so both use this function.
    """
    return {
        "BERTH_COMMIT": commit,
        "BERTH_SHORT_SHA": commit[:12],
        "BERTH_REF": ref or commit,
    }


def run(project, args, timeout=DEFAULT_TIMEOUT):
    """Run ``docker compose ... <args>`` and return the CompletedProcess (bytes output).

    Raises :class:`ComposeCliError` when it cannot start, times out or exits non-zero.
    """
    argv = project.argv(*args)
    shown = " ".join(argv[:2] + [str(a) for a in args])
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                              env=project.process_env(), timeout=timeout)
    except OSError as exc:
        raise ComposeCliError("cannot run %s: %s (is the Docker CLI with the Compose plugin installed?)"
                              % (project.docker, exc))
    except subprocess.TimeoutExpired:
        raise ComposeCliError("%s did not finish within %s s" % (shown, timeout))
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip()[-STDERR_LIMIT:]
        raise ComposeCliError("%s failed (exit %d) in %s: %s"
                              % (shown, proc.returncode, project.project_dir, stderr or "no error output"))
    return proc


def render_config(project, interpolate=True, timeout=DEFAULT_TIMEOUT):
    """The project as Compose itself renders it (``config --format json``), as a dict.

    Include, extends, profiles, merges, ``.env``/``--env-file`` interpolation and path
    resolution are all done by Compose. The result holds secret values: never log it.
    With ``interpolate=False`` (``--no-interpolate``) Compose keeps each service's
    ``env_file`` list, which it otherwise folds into ``environment``; it then also lists
    services of inactive profiles.
    """
    args = ["config", "--format", "json"] + ([] if interpolate else ["--no-interpolate"])
    proc = run(project, args, timeout=timeout)
    try:
        model = json.loads(proc.stdout.decode("utf-8"))
    except ValueError as exc:
        # the output is the rendered config: say where parsing failed, never what it said
        raise ComposeCliError("docker compose config printed no valid JSON (%s at char %s)"
                              % (type(exc).__name__, getattr(exc, "pos", "?")))
    if not isinstance(model, dict):
        raise ComposeCliError("docker compose config printed JSON that is not an object")
    return model
