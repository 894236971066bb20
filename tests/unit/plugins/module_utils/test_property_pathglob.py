# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based tests (hypothesis) for path matching: module_utils/pathglob.py."""
import re

from hypothesis import given, settings, strategies as st

from ansible_collections.berth.compose.plugins.module_utils.pathglob import (
    GlobError,
    MatcherIndex,
    compile_glob,
    normalize_path,
)

# Deterministic (CI never flakes on a new random draw) and no example database on disk.
FAST = settings(max_examples=50, deadline=None, database=None, derandomize=True)

SAFE_SEGMENT = st.text(alphabet="abcxyz019._-", min_size=1, max_size=6).filter(lambda s: s not in (".", ".."))
ANY_SEGMENT = st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs", "Cc")), min_size=1,
                      max_size=6).filter(lambda s: s not in (".", "..") and s.strip() == s)
SAFE_PATH = st.lists(SAFE_SEGMENT, min_size=1, max_size=5).map("/".join)
ANY_PATH = st.lists(ANY_SEGMENT, min_size=1, max_size=4).map("/".join)
GLOB_SEGMENT = st.sampled_from(["a", "b", "x.md", "*", "**", "?", "*.md", "[ab]", "[!a]*", "{a,b}", "a*", ".*"])
GLOB = st.lists(GLOB_SEGMENT, min_size=1, max_size=4).map("/".join).filter(lambda g: not re.search(r"\*\*[^/]|[^/]\*\*", g))
TREE_PATH = st.lists(st.sampled_from(["a", "b", "ab", "x.md", "y.py", ".env"]), min_size=1, max_size=5).map("/".join)


def matches(pattern, path):
    return any(glob.match(normalize_path(path)) for glob in compile_glob(pattern))


def escape(path):
    return re.sub(r"([\\*?\[\]{},!])", r"\\\1", path)


@FAST
@given(SAFE_PATH)
def test_a_literal_path_matches_itself_and_nothing_longer(path):
    assert matches(path, path)
    assert not matches(path, path + "x")
    assert not matches(path, path + "/x")


@FAST
@given(ANY_PATH)
def test_any_path_escaped_is_a_glob_for_exactly_that_path(path):
    pattern = escape(path)
    assert matches(pattern, path)
    assert not matches(pattern, path + "/x")
    assert not matches(pattern, "x" + path)


@FAST
@given(SAFE_PATH, SAFE_PATH)
def test_dir_double_star_is_everything_strictly_below_dir(directory, rest):
    assert matches(directory + "/**", directory + "/" + rest)
    assert not matches(directory + "/**", directory)
    assert not matches(directory + "/**", directory + "x/" + rest)
    # a trailing slash means the same
    assert matches(directory + "/", directory + "/" + rest) and not matches(directory + "/", directory)


@FAST
@given(st.text(max_size=12))
def test_compile_never_fails_with_anything_but_glob_error(pattern):
    try:
        globs = compile_glob(pattern)
    except GlobError:
        return
    for glob in globs:
        glob.match("a/b")


@FAST
@given(st.text(max_size=20))
def test_normalize_is_idempotent_and_relative(path):
    once = normalize_path(path)
    assert normalize_path(once) == once
    assert not once.startswith("/") and not once.endswith("/") and "//" not in once


@settings(max_examples=30, deadline=None, database=None, derandomize=True)
@given(st.lists(GLOB, min_size=1, max_size=8), st.lists(TREE_PATH, min_size=1, max_size=10))
def test_the_index_finds_exactly_what_trying_every_glob_finds(patterns, paths):
    index = MatcherIndex()
    compiled = []
    for key, pattern in enumerate(patterns):
        for glob in compile_glob(pattern):
            index.add(glob, key)
            compiled.append((glob, key))
    for path in paths:
        expected = {key for glob, key in compiled if glob.match(path)}
        assert index.match(path) == expected, (patterns, path)
