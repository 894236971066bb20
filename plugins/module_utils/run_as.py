# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work as the user who owns the app's files, from a module started as root.

A module started as root (it reads files only root reads: the probes' CA roots, the units,
the baseline) forks a child that becomes the deploy user and does the work that writes under
the app root (git worktrees, release files, snippets), so everything there keeps its owner.
The child's JSON result comes back through a pipe; the module itself stays root, so Ansible's
own files stay readable for its answer.
"""

from __future__ import annotations

import json
import os
import pwd
import traceback
from collections.abc import Callable, Iterable
from typing import Any


def become(user: str) -> None:
    """Turn this process into ``user`` (its groups, HOME, USER, LOGNAME, working directory)."""
    entry = pwd.getpwnam(user)
    os.initgroups(user, entry.pw_gid)
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ.update(HOME=entry.pw_dir, USER=user, LOGNAME=user)
    os.chdir(entry.pw_dir if os.path.isdir(entry.pw_dir) else "/")


def in_child_as(user: str, work: Callable[[], Any], name: str = "the release engine") -> Any:
    """Run ``work()`` (returning a JSON-able dict) in a child process that is ``user``; its result.

    Whatever ``work`` raises comes back as ``dict(failed=True, msg=..., exception=...)``."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            become(user)
            data = json.dumps(work(), default=str)
        except BaseException as exc:  # pylint: disable=broad-except
            data = json.dumps(dict(failed=True, msg="%s stopped: %s" % (name, exc),
                                   exception=traceback.format_exc()))
        with os.fdopen(write_end, "w") as pipe:
            pipe.write(data)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        data = pipe.read()
    status = os.waitpid(pid, 0)[1]
    try:
        return json.loads(data)
    except ValueError:
        return dict(failed=True, msg="%s (pid %d) ended without a result (wait status %d); the release log and "
                    "`current` say what serves" % (name, pid, status))


def owner_of(paths: Iterable[str]) -> tuple[int, int] | tuple[None, None]:
    """(uid, gid) of the first of ``paths`` that exists, else (None, None)."""
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        return st.st_uid, st.st_gid
    return None, None


def user_to_become(paths: Iterable[str]) -> str | None:
    """The name of the owner of ``paths`` when this process is root and they belong to someone else, else None."""
    uid = owner_of(paths)[0]
    if os.geteuid() != 0 or uid in (None, 0):
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


__all__ = ["become", "in_child_as", "owner_of", "user_to_become"]
