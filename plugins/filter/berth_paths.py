# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Path filters for templates; documentation lives in path_matches.yml next to this file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.berth.compose.plugins.module_utils.pathglob import (
    GlobError,
    MatcherIndex,
    compile_glob,
    normalize_path,
)


def _globs(value, what):
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError("path_matches: %s must be a glob or a list of globs, got %r" % (what, value))
    try:
        return [g for pattern in value for g in compile_glob(pattern)]
    except GlobError as exc:
        raise AnsibleFilterError("path_matches: %s" % exc)


def path_matches(paths, patterns, exclude=None):
    """Return the paths (in input order) matching any of ``patterns`` and none of ``exclude``."""
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, (list, tuple)):
        raise AnsibleFilterError("path_matches: input must be a path or a list of paths, got %r" % (paths,))
    include, skip = MatcherIndex(), MatcherIndex()
    for g in _globs(patterns, "patterns"):
        include.add(g, 0)
    for g in _globs(exclude, "exclude"):
        skip.add(g, 0)
    out = []
    for path in paths:
        norm = normalize_path(path)
        if include.match(norm) and not skip.match(norm):
            out.append(path)
    return out


class FilterModule(object):
    def filters(self):
        return {"path_matches": path_matches}
