# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files that readers see whole or not at all: a complete temp file beside the target, then a rename.

Shared by the env file, the deploy lock and the release bookkeeping; no Ansible imports.
"""

from __future__ import annotations

import os
import tempfile


def unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def fsync_dir(directory: str) -> None:
    """Make a rename in ``directory`` durable; best effort (some filesystems refuse)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_temp(path: str, data: bytes, mode: int, uid: int | None = None, gid: int | None = None) -> str:
    """A complete, fsynced temp file next to ``path`` with its final owner and mode; returns its name.

    It is created 0600 and gets owner and mode before anyone can rename it into place, so
    the target is never briefly world-readable. On error the temp file is removed.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if uid is not None or gid is not None:
            os.chown(tmp, -1 if uid is None else uid, -1 if gid is None else gid)
        os.chmod(tmp, mode)
    except BaseException:
        unlink_quietly(tmp)
        raise
    return tmp


def atomic_write(path: str, data: bytes | str, mode: int, uid: int | None = None, gid: int | None = None) -> None:
    """Replace ``path`` with ``data`` (bytes or text): readers see the old file or the new one."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = write_temp(path, data, mode, uid, gid)
    try:
        os.replace(tmp, path)
    except BaseException:
        unlink_quietly(tmp)
        raise
    fsync_dir(os.path.dirname(os.path.abspath(path)))
