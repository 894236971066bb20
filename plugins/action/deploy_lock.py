# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of berth.compose.deploy_lock.

The module runs on the target, where it cannot know which controller process
takes the lock, nor whether the process that holds it still runs. Here, on the
controller, both are known: the worker's parent is the ``ansible-playbook``
process, and ``kill(pid, 0)`` tells whether a holder from this same controller
is gone (a deploy killed midway), in which case its lock is taken over as stale
at once instead of after its TTL.
"""

import getpass
import os
import socket

from ansible.plugins.action import ActionBase

MODULE = "berth.compose.deploy_lock"


def process_alive(pid):
    """True unless ``pid`` is certainly not running on this machine."""
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return True
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


# Who deploys when a CI or AWX runs the playbook: the first one set wins; the login user otherwise.
OPERATOR_ENV = ("BERTH_OPERATOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN")
OPERATOR_VAR = "awx_user_name"


def ci_operator(environ=None, task_vars=None):
    """The operator a CI or AWX names (BERTH_OPERATOR, GITHUB_ACTOR, GITLAB_USER_LOGIN, awx_user_name), or None."""
    environ = os.environ if environ is None else environ
    for name in OPERATOR_ENV:
        value = (environ.get(name) or "").strip()
        if value:
            return value
    value = (task_vars or {}).get(OPERATOR_VAR)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def ci_job_url(environ=None):
    """The URL of the CI job running this (GitHub Actions' run, GitLab's CI_JOB_URL), or None."""
    environ = os.environ if environ is None else environ
    server, repo, run = (environ.get(n) for n in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repo and run:
        return "%s/%s/actions/runs/%s" % (server.rstrip("/"), repo, run)
    return environ.get("CI_JOB_URL") or None


def controller_defaults(args, task_vars=None, environ=None):
    """Fill in controller, pid and operator from this controller where the task leaves them out.

    The operator is the CI's or AWX's identity when there is one (:func:`ci_operator`), else the login user."""
    filled = dict(args)
    if not filled.get("controller"):
        filled["controller"] = socket.gethostname()
    if not filled.get("pid"):
        filled["pid"] = os.getppid()  # workers are forked from ansible-playbook
    if not filled.get("operator"):
        filled["operator"] = ci_operator(environ, task_vars)
    if not filled.get("operator"):
        try:
            filled["operator"] = getpass.getuser()
        except (KeyError, OSError):
            filled["operator"] = str(os.getuid())
    return filled


def dead_holder_token(result, controller, alive=process_alive):
    """The token of the lock in ``result`` when its holder ran on ``controller`` and is gone, else None."""
    holder = result.get("lock")
    if not result.get("failed") or not isinstance(holder, dict) or not holder.get("token"):
        return None
    # A holder that holds its lock by process (the release engine) is judged on the host, by its flock.
    if holder.get("held") == "flock" or holder.get("controller") != controller or alive(holder.get("pid")):
        return None
    return holder["token"]


def _as_int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class ActionModule(ActionBase):
    """Fill in the controller facts, spot a dead holder from this controller, then run the module."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if args.get("state", "acquired") != "acquired":
            result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
            return result

        args = controller_defaults(args, task_vars)
        if not args.get("force") and not args.get("stale_token"):
            # A free lock is the common case: one round trip, no wait.
            first = self._execute_module(module_name=MODULE, module_args=dict(args, wait=0), task_vars=task_vars)
            if not first.get("failed"):
                result.update(first)
                return result
            token = dead_holder_token(first, args["controller"])
            if token:
                args["stale_token"] = token
            elif _as_int(args.get("wait"), 60) == 0 or not isinstance(first.get("lock"), dict):
                result.update(first)
                return result
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        return result
