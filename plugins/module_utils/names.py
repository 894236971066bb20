# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every name, ref and sha rule of the collection, written once.

Each module checks its options against these, so an option is refused in the same words
everywhere. Pure; no Ansible imports.
"""

from __future__ import annotations
import re

# A compose service (Compose allows these characters; a leading '-' would read as an option).
SERVICE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")
# A compose project name, also the prefix of image and container names.
PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\Z")
# An app name: systemd unit names, /etc/berth/<app>, metrics file names.
APP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
# A full commit id (SHA-1 or SHA-256).
FULL_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?\Z")
# What no branch, tag or commit an operator means contains: an option, whitespace, control characters, '..'.
BAD_REF = re.compile(r"\A-|[\s\x00-\x1f\x7f]|\.\.")

SERVICE_RULE = "letters, digits, '_', '.' and '-', starting with a letter or digit"
PROJECT_RULE = "lowercase letters, digits, '_' and '-', starting with a letter or digit"
REF_RULE = ("one branch, tag or commit id that does not start with '-' and holds no whitespace, control characters "
            "or '..'")


def is_service(value: object) -> bool:
    return isinstance(value, str) and bool(SERVICE_NAME.match(value))


def is_project(value: object) -> bool:
    return isinstance(value, str) and bool(PROJECT_NAME.match(value))


def is_full_sha(value: object) -> bool:
    return isinstance(value, str) and bool(FULL_SHA.match(value))


def ref_problem(option: str, ref: object) -> str | None:
    """A message naming ``option`` when ``ref`` is not a usable git ref, else None (None and '' are for the caller)."""
    if not isinstance(ref, str) or BAD_REF.search(ref):
        return "%s %r: allowed is %s" % (option, ref, REF_RULE)
    return None


def service_problem(option: str, value: object) -> str | None:
    if not is_service(value):
        return "%s %r: allowed are service names (%s)" % (option, value, SERVICE_RULE)
    return None
