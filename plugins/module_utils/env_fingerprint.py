# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The env file's fingerprint, kept in each release directory (``.berth/env.sha256``).

A deploy compares the env file with the fingerprint of the release that serves: when provision
rendered a rotated vault value since, the services that read the env file are recreated even
though no path of the repository changed. Only a SHA-256 of the file is kept, never its content,
and the file is readable by its owner only.
"""
from __future__ import annotations

import hashlib
import os

from ansible_collections.berth.compose.plugins.module_utils.atomic_file import atomic_write

FINGERPRINT = os.path.join(".berth", "env.sha256")


def fingerprint(env_file: str | None) -> str | None:
    """SHA-256 (hex) of the env file's bytes; None when there is none or it cannot be read."""
    if not env_file:
        return None
    digest = hashlib.sha256()
    try:
        with open(env_file, "rb") as handle:
            for block in iter(lambda: handle.read(65536), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def recorded(release_dir: str | None) -> str | None:
    """The fingerprint the release at ``release_dir`` was deployed with; None when it has none."""
    if not release_dir:
        return None
    try:
        with open(os.path.join(release_dir, FINGERPRINT)) as handle:
            value = handle.read().strip()
    except OSError:
        return None
    return value if len(value) == 64 and all(c in "0123456789abcdef" for c in value) else None


def record(release_dir: str, value: str) -> bool:
    """Keep ``value`` as the fingerprint of the release at ``release_dir``; True when it was written."""
    if recorded(release_dir) == value:
        return False
    os.makedirs(os.path.join(release_dir, ".berth"), exist_ok=True)
    atomic_write(os.path.join(release_dir, FINGERPRINT), value + "\n", 0o600)
    return True


def change_reason(serving_dir: str | None, serving_commit: str | None, now: str | None) -> str | None:
    """Why the env file counts as changed since the serving release was deployed; None when it does not
    (or nobody knows: no fingerprint was kept, or the env file cannot be read)."""
    before = recorded(serving_dir)
    if not before or not now or before == now:
        return None
    return "env file changed since %s was deployed" % (serving_commit or "the serving release")[:12]
