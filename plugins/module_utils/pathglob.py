# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Path globs with ``**`` and a matcher index that maps many paths against many globs fast.

Glob syntax (paths are ``/``-separated and relative to the project directory;
every pattern is anchored at that directory, like GitHub Actions ``paths:``):

``*``
    any run of characters inside one path segment (never ``/``); dotfiles match too.
``?``
    exactly one character that is not ``/``.
``[abc]`` ``[a-z]`` ``[!abc]`` ``[^abc]``
    one character of (or not of) a class; never ``/``. An unclosed ``[`` is an error.
``**``
    as a whole segment: zero or more segments. ``a/**`` is everything below ``a``,
    ``**/x.md`` is ``x.md`` at any depth, ``a/**/b`` matches ``a/b`` and ``a/x/y/b``.
    ``**`` glued to other characters (``a**``) is an error rather than a silent ``*``.
``{a,b}``
    alternatives, expanded before compiling (may nest).
``\\``
    escapes the next character.

A trailing ``/`` means the whole directory (``docs/`` is ``docs/**``); a leading
``/`` or ``./`` is dropped. A leading ``!`` is rejected: negation belongs in a
rule's ``exclude`` list (docs/decisions.md says why).
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any


class GlobError(ValueError):
    """A glob pattern is malformed."""


def normalize_path(path: object) -> str:
    """Return ``path`` as a clean relative ``/``-separated path (``./a//b/`` -> ``a/b``)."""
    path = str(path)
    while path.startswith("./"):
        path = path[2:]
    path = path.lstrip("/")
    if "//" in path:
        path = re.sub(r"/{2,}", "/", path)
    if path.endswith("/"):
        path = path.rstrip("/")
    return path


def _class_end(pattern: str, i: int) -> int | None:
    """Index of the ``]`` closing the class opened at ``pattern[i] == '['``, or None."""
    j = i + 1
    if j < len(pattern) and pattern[j] in "!^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    while j < len(pattern):
        if pattern[j] == "\\":
            j += 2
            continue
        if pattern[j] == "]":
            return j
        j += 1
    return None


def _expand_braces(pattern: str) -> list[str]:
    """Expand the first top-level ``{a,b}`` group, recursively; escaped braces stay literal."""
    depth = 0
    start: Any = None  # the index of the open brace once one is seen
    commas: list[int] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            # a class may hold braces or commas literally: skip it whole
            end = _class_end(pattern, i)
            if end is None:
                raise GlobError("unclosed '[' in glob %r" % pattern)
            i = end + 1
            continue
        if ch == "{":
            if depth == 0:
                start = i
                commas = []
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                if not commas:
                    # "{x}" without a comma is literal, as in shells
                    head = pattern[:start] + "\\{" + pattern[start + 1:i] + "\\}"
                    return [head + rest for rest in _expand_braces(pattern[i + 1:])]
                bounds = [start] + commas + [i]
                out: list[str] = []
                for a, b in zip(bounds, bounds[1:]):
                    out.extend(_expand_braces(pattern[:start] + pattern[a + 1:b] + pattern[i + 1:]))
                return out
        elif ch == "," and depth == 1:
            commas.append(i)
        i += 1
    if depth:
        raise GlobError("unclosed '{' in glob %r" % pattern)
    return [pattern]


def _class_body(body: str) -> str:
    """Regex body of a ``[...]`` class: ranges kept, everything else literal."""
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch == "\\" and i + 1 < n:
            out.append(re.escape(body[i + 1]))
            i += 2
            continue
        if ch == "-" and 0 < i < n - 1:
            out.append("-")
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _segment_regex(seg: str, pattern: str) -> str:
    """Translate one path segment (no ``/``, not ``**``) to a regex fragment."""
    out: list[str] = []
    i = 0
    n = len(seg)
    while i < n:
        ch = seg[i]
        if ch == "\\":
            if i + 1 >= n:
                raise GlobError("glob %r ends with a lone backslash" % pattern)
            out.append(re.escape(seg[i + 1]))
            i += 2
        elif ch == "*":
            if i + 1 < n and seg[i + 1] == "*":
                raise GlobError(
                    "'**' must be a whole path segment in glob %r (write 'a/**/b' or '**/*.md')" % pattern)
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            end = _class_end(seg, i)
            if end is None:
                raise GlobError("unclosed '[' in glob %r" % pattern)
            body = seg[i + 1:end]
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            out.append(("[^/%s]" if negate else "(?!/)[%s]") % _class_body(body))
            i = end + 1
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def _split_pattern(pattern: str) -> list[str]:
    """Validate and normalise one brace-free pattern into its list of segments."""
    if pattern.startswith("!"):
        raise GlobError(
            "glob %r starts with '!': negation is not supported in 'paths'; "
            "put the pattern in the rule's 'exclude' list instead" % pattern)
    while pattern.startswith("./"):
        pattern = pattern[2:]
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        pattern = pattern.rstrip("/") + "/**"
    segs = [s for s in pattern.split("/") if s not in ("", ".")]
    if not segs:
        raise GlobError("empty glob")
    return segs


def _is_literal(seg: str) -> bool:
    return not any(c in seg for c in "*?[\\")


def glob_to_regex(pattern: str) -> str:
    """Return the anchored regex source for one brace-free glob."""
    segs = _split_pattern(pattern)
    parts: list[str] = []
    for idx, seg in enumerate(segs):
        last = idx == len(segs) - 1
        if seg == "**":
            # zero or more whole segments; a trailing '**' needs at least one
            parts.append(".+" if last else "(?:[^/]+/)*")
        else:
            parts.append(_segment_regex(seg, pattern) + ("" if last else "/"))
    return "^" + "".join(parts) + "$"


class Glob:
    """One compiled brace-free glob: ``literal``, ``prefix`` (``dir/**``), ``all`` or ``regex``.

    ``dir`` is the literal leading directory of a regex glob (``libs/a`` for
    ``libs/a/*.py``) and ``base`` its literal last segment (``x.md`` for ``**/x.md``);
    :class:`MatcherIndex` uses them to avoid trying regexes that cannot match.
    """

    __slots__ = ("source", "kind", "value", "regex", "dir", "base")

    def __init__(self, source: str) -> None:
        self.source = source
        segs = _split_pattern(source)
        # validate every segment even when a fast path is used below
        regex_src = glob_to_regex(source)
        # set by kind: regex for "regex", value for the others
        self.regex: Any = None
        self.value: Any = None
        self.dir: str | None = None
        self.base: str | None = None
        plain = [_is_literal(s) for s in segs]
        if all(plain):
            self.kind = "literal"
            self.value = "/".join(segs)
        elif segs[-1] == "**" and len(segs) > 1 and all(plain[:-1]):
            self.kind = "prefix"
            self.value = "/".join(segs[:-1])
        elif segs == ["**"]:
            self.kind = "all"
            self.value = ""
        else:
            self.kind = "regex"
            self.regex = re.compile(regex_src, re.DOTALL)
            lead: list[str] = []
            for seg, lit in zip(segs[:-1], plain[:-1]):
                if not lit:
                    break
                lead.append(seg)
            if lead:
                self.dir = "/".join(lead)
            elif plain[-1] and segs[-1] != "**":
                self.base = segs[-1]

    def match(self, path: str) -> bool:
        if self.kind == "literal":
            return path == self.value
        if self.kind == "prefix":
            return path.startswith(self.value + "/")
        if self.kind == "all":
            return path != ""
        return self.regex.match(path) is not None


def compile_glob(pattern: object) -> list[Glob]:
    """Compile one glob (braces expanded) into a list of :class:`Glob`; raise GlobError."""
    if not isinstance(pattern, str):
        raise GlobError("glob must be a string, got %r" % (pattern,))
    if not pattern.strip():
        raise GlobError("empty glob")
    return [Glob(expanded) for expanded in _expand_braces(pattern)]


class MatcherIndex:
    """Maps a path to the set of keys whose globs match it, without trying every glob.

    * literal globs: one dict lookup;
    * ``dir/**`` globs and regex globs with a literal leading directory: a dict keyed by
      directory, combined once per directory of the changed paths (from its parent's) and
      cached, so a path costs a few dict lookups whatever its depth;
    * regex globs with a literal last segment (``**/x.md``): a dict keyed by basename;
    * the rest (``*.md``, ``**/*.py``): one combined alternation regex as a pre-filter,
      then the individual regexes only when it matches.

    A path therefore meets only the few regexes that could possibly match it.
    """

    def __init__(self) -> None:
        self._literal: dict[str, list[Any]] = {}
        self._dirs: dict[str, list[list[Any]]] = {}  # dir -> [subtree keys, [(regex, key), ...]]
        self._base: dict[str, list[tuple[re.Pattern[str], Any]]] = {}
        self._any: list[tuple[re.Pattern[str], Any]] = []
        self._any_rx: re.Pattern[str] | None = None
        self._all: list[Any] = []
        # directory of a path -> (keys of the globs covering everything in it, regexes to try there):
        # paths share directories, so the walk up the ancestors runs once per directory, not per path
        self._by_dir: dict[str, tuple[frozenset[Any], tuple[tuple[re.Pattern[str], Any], ...]]] = {}

    def _dir(self, directory: str) -> list[list[Any]]:
        entry = self._dirs.get(directory)
        if entry is None:
            entry = self._dirs[directory] = [[], []]
        return entry

    def add(self, glob: Glob, key: Hashable) -> None:
        """Register a compiled :class:`Glob` that yields ``key`` when it matches."""
        self._by_dir = {}
        if glob.kind == "literal":
            self._literal.setdefault(glob.value, []).append(key)
        elif glob.kind == "prefix":
            self._dir(glob.value)[0].append(key)
        elif glob.kind == "all":
            self._all.append(key)
        elif glob.dir is not None:
            self._dir(glob.dir)[1].append((glob.regex, key))
        elif glob.base is not None:
            self._base.setdefault(glob.base, []).append((glob.regex, key))
        else:
            self._any.append((glob.regex, key))
            self._any_rx = None

    def add_literal(self, path: str, key: Hashable) -> None:
        """Register an exact path (no glob syntax interpreted)."""
        self._literal.setdefault(normalize_path(path), []).append(key)

    def add_prefix(self, directory: str, key: Hashable) -> None:
        """Register everything below ``directory`` (``""`` or ``.`` means every path)."""
        self._by_dir = {}
        directory = normalize_path(directory)
        if directory in ("", "."):
            self._all.append(key)
        else:
            self._dir(directory)[0].append(key)

    def _for_dir(self, directory: str) -> tuple[frozenset[Any], tuple[tuple[re.Pattern[str], Any], ...]]:
        """``(keys, regexes)`` for a path in ``directory``: the keys of ``**`` and of the ``dir/**``
        globs of it and its ancestors, and the ``(regex, key)`` of regex globs rooted there.

        Built from the parent directory's (cached): a directory no glob names shares its parent's.
        """
        if len(self._by_dir) > 1000000:
            self._by_dir = {}
        missing: list[str] = []
        current = directory
        while True:
            found = self._by_dir.get(current)
            if found is not None:
                break
            missing.append(current)
            if not current:
                found = (frozenset(self._all), ())
                break
            slash = current.rfind("/")
            current = current[:slash] if slash != -1 else ""
        for current in reversed(missing):
            entry = self._dirs.get(current) if current else None
            if entry is not None and (entry[0] or entry[1]):
                found = (found[0].union(entry[0]), found[1] + tuple(entry[1]))
            self._by_dir[current] = found
        return found

    def match(self, path: str) -> set[Any]:
        """Return the set of keys matching the (already normalised) ``path``.

        Linear in the length of ``path``; paths in one directory share the walk over its ancestors.
        """
        slash = path.rfind("/")
        directory = path[:slash] if slash != -1 else ""
        keys, regexes = self._by_dir.get(directory) or self._for_dir(directory)
        found = set(keys) if keys else set()
        hit = self._literal.get(path)
        if hit:
            found.update(hit)
        for rx, key in regexes:
            if key not in found and rx.match(path):
                found.add(key)
        if self._base:
            bucket = self._base.get(path[slash + 1:])
            if bucket:
                for rx, key in bucket:
                    if key not in found and rx.match(path):
                        found.add(key)
        if self._any:
            if self._any_rx is None:
                self._any_rx = re.compile("|".join("(?:%s)" % rx.pattern for rx, _index in self._any), re.DOTALL)
            if self._any_rx.match(path):
                for rx, key in self._any:
                    if key not in found and rx.match(path):
                        found.add(key)
        return found
