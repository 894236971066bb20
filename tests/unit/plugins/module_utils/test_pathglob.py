# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The glob matcher: a table of cases, errors, and randomized checks against a reference."""

import fnmatch
import random

import pytest

from ansible_collections.berth.compose.plugins.module_utils.pathglob import (
    GlobError,
    MatcherIndex,
    compile_glob,
    normalize_path,
)


def glob_match(pattern, path):
    return any(g.match(normalize_path(path)) for g in compile_glob(pattern))


@pytest.mark.parametrize("pattern,path,expected", [
    ("dashboard/**", "dashboard/app.js", True),
    ("dashboard/**", "dashboard/content/docs/x.md", True),
    ("dashboard/**", "dashboard", False),
    ("dashboard/**", "dashboards/x", False),
    ("*.md", "README.md", True),
    ("*.md", "docs/README.md", False),
    ("**/*.md", "README.md", True),
    ("**/*.md", "a/b/c/README.md", True),
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("a/**/b", "a/x/y/bb", False),
    ("a/*/b", "a/x/b", True),
    ("a/*/b", "a/x/y/b", False),
    ("a/?.py", "a/x.py", True),
    ("a/?.py", "a/xy.py", False),
    ("a/[a-c].py", "a/b.py", True),
    ("a/[a-c].py", "a/d.py", False),
    ("a/[!a-c].py", "a/d.py", True),
    ("a/[^a-c].py", "a/b.py", False),
    ("a/[]x].py", "a/].py", True),
    ("src/*.{py,txt}", "src/x.txt", True),
    ("src/*.{py,txt}", "src/x.md", False),
    ("{api,web}/**", "web/x", True),
    ("{api,{web,worker}}/**", "worker/x", True),
    ("docs/", "docs/a/b.md", True),
    ("./compose.yaml", "compose.yaml", True),
    ("/compose.yaml", "compose.yaml", True),
    ("*", ".env", True),
    ("**", "anything/at/all", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "axb", False),
    ("**/x/**", "x/y", True),
    ("**/x/**", "a/x/y", True),
    ("a/*", "a/.hidden", True),
    ("db/audit_schema.sql", "db/audit_schema.sql", True),
    ("db/audit_schema.sql", "db/audit_schema_sql", False),
    ("a.b", "axb", False),
])
def test_glob_table(pattern, path, expected):
    assert glob_match(pattern, path) is expected


@pytest.mark.parametrize("pattern,message", [
    ("dashboard/[abc", "unclosed '['"),
    ("src/{a,b", "unclosed '{'"),
    ("dashboard/**.md", "whole path segment"),
    ("!docs/**", "exclude"),
    ("", "empty"),
    ("a\\", "backslash"),
])
def test_malformed_globs_raise_clear_errors(pattern, message):
    with pytest.raises(GlobError, match=message.replace("[", r"\[").replace("{", r"\{")):
        compile_glob(pattern)


def test_normalize_path_cleans_leading_dot_and_double_slashes():
    assert normalize_path("./a//b/") == "a/b"
    assert normalize_path("/x") == "x"


# -------------------------------------------------------------- property-style


def _ref_match(pattern, path):
    """Straightforward recursive reference: segments, '**' spans zero or more segments."""
    pseg = [s for s in pattern.split("/") if s]
    sseg = path.split("/")

    def rec(i, j):
        if i == len(pseg):
            return j == len(sseg)
        if pseg[i] == "**":
            if i == len(pseg) - 1:
                return j < len(sseg)  # trailing ** needs at least one segment
            return any(rec(i + 1, k) for k in range(j, len(sseg) + 1))
        return j < len(sseg) and fnmatch.fnmatchcase(sseg[j], pseg[i]) and rec(i + 1, j + 1)

    return rec(0, 0)


SEGS = ["a", "b", "ab", "x.md", "y.py", ".env", "a.b"]
PSEGS = ["a", "b", "*", "**", "?", "a*", "*.md", "*.py", "[ab]", "[!a]*", "x.*", ".*", "?b"]


def _random_path(rng):
    return "/".join(rng.choice(SEGS) for _unused in range(rng.randint(1, 5)))


def _random_pattern(rng):
    segs = [rng.choice(PSEGS) for _unused in range(rng.randint(1, 4))]
    return "/".join(segs)


def test_glob_agrees_with_reference_implementation():
    rng = random.Random(4242)
    for _unused in range(3000):
        pattern = _random_pattern(rng)
        globs = compile_glob(pattern)
        for _unused in range(10):
            path = _random_path(rng)
            assert any(g.match(path) for g in globs) == _ref_match(pattern, path), (pattern, path)


def test_matcher_index_agrees_with_trying_every_glob():
    rng = random.Random(7)
    patterns = [_random_pattern(rng) for _unused in range(150)] + [
        "a/**", "a/b/**", "ab", "**/x.md", "a/*/y.py", "b/**/x.md", "**"]
    compiled = [(i, g) for i, p in enumerate(patterns) for g in compile_glob(p)]
    index = MatcherIndex()
    for i, g in compiled:
        index.add(g, i)
    for _unused in range(3000):
        path = _random_path(rng)
        brute = {i for i, g in compiled if g.match(path)}
        assert index.match(path) == brute, path
