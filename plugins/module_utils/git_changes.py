# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only git access for the planner: resolve commits, list changed paths, copy files of a commit.

Nothing here changes the repository's refs, index or work tree.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import tempfile
import typing as t
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from ansible_collections.berth.compose.plugins.module_utils import names
from ansible_collections.berth.compose.plugins.module_utils.change_rules import ChangedServicesError
from ansible_collections.berth.compose.plugins.module_utils.host import CommandError, Result
from ansible_collections.berth.compose.plugins.module_utils.host import run as host_run


class GitError(ChangedServicesError, CommandError):
    """git failed in a way that is not a plain 'from_ref unreachable'."""


# A ref refused before git sees it: a leading '-' (read as an option, `--upload-pack=...`),
# whitespace or control characters, '..' (a range, never one commit) or nothing at all.
_BAD_REF = names.BAD_REF


def check_ref(option: str, ref: object) -> None:
    """Refuse a ref that is no single branch, tag or commit id; the message names ``option``."""
    if ref is None:
        return
    if not isinstance(ref, str) or not ref or _BAD_REF.search(ref):
        raise GitError("%s %r is not a usable git ref: allowed is one branch, tag or commit id that does not start "
                       "with '-' and holds no whitespace, control characters or '..'" % (option, ref))


@dataclass
class GitChanges:
    """What changed between two commits. ``full_reason`` is set when nobody can tell."""

    paths: t.List[str]
    from_commit: t.Optional[str]
    to_commit: str
    full_reason: t.Optional[str] = None


def _argv(project_dir: str, args: Iterable[str]) -> list[str]:
    return ["git", "-C", project_dir, "-c", "core.quotepath=off"] + list(args)


def git(project_dir: str, args: Sequence[str], check: bool = True) -> Result:
    """Run git through :func:`host.run`: a :class:`host.Result` with text output (stdout apart)."""
    try:
        result = host_run(_argv(project_dir, args), check=False, merge=False)
    except CommandError as exc:  # git could not be started
        raise GitError(str(exc), output=exc.output, argv=exc.argv)
    if check and result.rc != 0:
        raise GitError("git %s failed: %s" % (" ".join(args[:2]), result.err.strip()), output=result.err,
                       argv=result.argv, rc=result.rc)
    return result


def git_bytes(project_dir: str, args: Sequence[str], input: bytes | None = None) -> bytes:
    """Run git for output that is bytes (``-z`` path lists, file contents) and return its stdout.

    :func:`host.run` in bytes mode: file contents are written as they are, and ``cat-file`` output
    is read by byte counts.
    """
    try:
        result = host_run(_argv(project_dir, args), input=input, check=False, merge=False, text=False)
    except CommandError as exc:  # git could not be started
        raise GitError(str(exc), output=exc.output, argv=exc.argv)
    if result.rc != 0:
        err = result.err.decode("utf-8", "replace").strip()
        raise GitError("git %s failed: %s" % (" ".join(args[:2]), err), output=err, argv=result.argv, rc=result.rc)
    return result.out


def resolve_commit(project_dir: str, ref: str) -> str | None:
    """Commit id for ``ref``, or None when it does not exist in this repository."""
    result = git(project_dir, ["rev-parse", "--verify", "--quiet", "--end-of-options", "%s^{commit}" % ref],
                 check=False)
    if result.rc != 0:
        return None
    return result.out.strip() or None


def parse_name_status(raw: bytes) -> list[str]:
    """Parse ``git diff --name-status -z`` output; renames and copies yield both paths."""
    fields = raw.decode("utf-8", "surrogateescape").split("\0")
    out = []
    i = 0
    while i < len(fields):
        status = fields[i]
        if not status:
            i += 1
            continue
        width = 2 if status[0] in "RC" else 1
        out.extend(fields[i + 1:i + 1 + width])
        i += 1 + width
    return out


def require_work_tree(project_dir: str) -> None:
    if not os.path.isdir(project_dir):
        raise GitError("project_dir %s does not exist" % project_dir)
    if git(project_dir, ["rev-parse", "--is-inside-work-tree"], check=False).rc != 0:
        raise GitError("project_dir %s is not inside a git work tree" % project_dir)


def _is_ancestor(project_dir: str, ancestor: str, descendant: str) -> bool:
    result = git(project_dir, ["merge-base", "--is-ancestor", ancestor, descendant], check=False)
    if result.rc not in (0, 1):
        raise GitError("git merge-base failed: %s" % result.err.strip(), output=result.err, argv=result.argv,
                       rc=result.rc)
    return result.rc == 0


def changed_paths(project_dir: str, from_ref: str | None, to_ref: str = "HEAD") -> GitChanges:
    """Paths under ``project_dir`` changed between ``from_ref`` and ``to_ref``, as :class:`GitChanges`.

    A missing or unknown ``from_ref``, or one on another line of history than ``to_ref`` (neither
    is an ancestor of the other), gives no paths and a ``full_reason``.
    """
    require_work_tree(project_dir)
    to_commit = resolve_commit(project_dir, to_ref)
    if to_commit is None:
        raise GitError("to_ref %r does not name a commit in %s (fetched?)" % (to_ref, project_dir))
    if not from_ref:
        return GitChanges([], None, to_commit, "no from_ref given (nothing recorded as deployed)")
    from_commit = resolve_commit(project_dir, from_ref)
    if from_commit is None:
        return GitChanges([], None, to_commit, "from_ref %r is not in the repository (history rewritten or "
                                               "shallow clone?)" % from_ref)
    if from_commit == to_commit:
        return GitChanges([], from_commit, to_commit)
    # forwards (a deploy) or backwards (a rollback) along one line of history; commits on
    # diverged lines mean rewritten history, where nobody can tell what is deployed
    if not (_is_ancestor(project_dir, from_commit, to_commit) or _is_ancestor(project_dir, to_commit, from_commit)):
        return GitChanges([], from_commit, to_commit, "from_ref %s and to_ref %s are not on one line of history "
                                                      "(rewritten history?)" % (from_commit[:12], to_commit[:12]))
    diff = git_bytes(project_dir, ["diff", "--no-color", "--no-ext-diff", "--name-status", "-z", "-M", "--relative",
                                   from_commit, to_commit])
    return GitChanges(parse_name_status(diff), from_commit, to_commit)


# What :func:`materialized_tree` reads of one file to find the files it names, at most.
SCAN_LIMIT = 1 << 20
# A ``*`` pattern that matches more paths than this names no file: the rest are left out.
PATTERN_LIMIT = 1000


class _CommitReader:
    """Reads paths of one commit without a checkout: ``git cat-file`` batches, one process per call."""

    def __init__(self, toplevel: str, commit: str) -> None:
        self.toplevel = toplevel
        self.commit = commit

    def _check(self, names: Sequence[str]) -> list[tuple[str, str] | None]:
        """``git cat-file --batch-check --follow-symlinks`` of ``names``: one ``(kind, value)`` or None each."""
        if not names:
            return []
        raw = git_bytes(self.toplevel, ["cat-file", "--batch-check", "--follow-symlinks"],
                        input=b"".join(n.encode("utf-8", "surrogateescape") + b"\n" for n in names))
        lines = raw.decode("utf-8", "surrogateescape").split("\n")
        out: list[tuple[str, str] | None] = []
        pos = 0
        for _name in names:
            head = lines[pos]
            pos += 1
            word = head.split(" ", 1)[0]
            if word in ("symlink", "dangling", "loop", "notdir"):
                out.append(("symlink", lines[pos]) if word == "symlink" else None)
                pos += 1
            elif head.endswith((" missing", " ambiguous")):
                out.append(None)
            else:
                oid, kind = head.split(" ")[:2]
                out.append((kind, oid))
        return out

    def root(self) -> str | None:
        """The object id of the commit's tree, None when the commit is not in the repository."""
        found = self._check([self.commit + "^{tree}"])[0]
        return found[1] if found and found[0] == "tree" else None

    def stat(self, paths: Iterable[str]) -> dict[str, t.Any]:  # (kind, value) or None
        """``{path: (kind, value)}`` for repository-relative ``paths``; symlinks inside the tree are followed.

        kind ``blob``/``tree``/``commit`` (a submodule) with the object id, ``symlink`` with the target
        of a symlink that leaves the tree (the path itself or one of its directories), None for a path
        that is not in the commit.
        """
        paths = [p for p in paths if "\n" not in p]
        return dict(zip(paths, self._check(["%s:%s" % (self.commit, p) for p in paths])))

    def contents(self, oids: Iterable[str]) -> dict[str, bytes]:
        """``{oid: bytes}`` of the given objects."""
        oids = sorted(set(oids))
        if not oids:
            return {}
        raw = git_bytes(self.toplevel, ["cat-file", "--batch"], input=b"".join(o.encode("ascii") + b"\n" for o in oids))
        out: dict[str, bytes] = {}
        pos = 0
        for oid in oids:
            eol = raw.index(b"\n", pos)
            size = int(raw[pos:eol].split(b" ")[2])
            out[oid] = raw[eol + 1:eol + 1 + size]
            pos = eol + 1 + size + 1
        return out

    def listdir(self, tree_oid: str) -> list[tuple[str, bool]]:
        """``[(name, is_tree)]`` of the tree object ``tree_oid``."""
        raw = self.contents([tree_oid])[tree_oid]
        width = len(tree_oid) // 2  # the binary object id: 20 bytes (SHA-1) or 32 (SHA-256)
        out: list[tuple[str, bool]] = []
        pos = 0
        while pos < len(raw):
            space = raw.index(b" ", pos)
            nul = raw.index(b"\0", space)
            out.append((raw[space + 1:nul].decode("utf-8", "surrogateescape"), raw[pos:space] == b"40000"))
            pos = nul + 1 + width
        return out


def _segment_regex(segment: str) -> re.Pattern[str]:
    return re.compile("".join("[^/]*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", segment))
                      + r"\Z")


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


class _Materializer:
    """Writes what :func:`materialized_tree` needs into ``tree``; see there."""

    def __init__(self, reader: _CommitReader, tree: str, prefix: str,
                 references: Callable[[str, str], Iterable[str]] | None) -> None:
        self.reader = reader
        self.tree = tree
        self.prefix = prefix.rstrip("/")
        self.references = references
        self.seen: set[str] = set()
        self.written: list[str] = []

    def repo_path(self, path: object) -> str | None:
        """``path`` (relative to the project dir) relative to the repository; None when outside it."""
        if not isinstance(path, str) or not path or path.startswith("/") or "\0" in path:
            return None
        full = posixpath.normpath(posixpath.join(self.prefix, path))
        if full == ".." or full.startswith("../"):
            return None
        return "" if full == "." else full

    def _place(self, path: str) -> str | None:
        """Where ``path`` goes, its directories made; None when one of them is a symlink or a file
        (nothing is ever written through a symlink, which may lead out of the copy)."""
        current = self.tree
        parts = path.split("/")
        for part in parts[:-1]:
            current = os.path.join(current, part)
            if os.path.islink(current) or (os.path.lexists(current) and not os.path.isdir(current)):
                return None
            if not os.path.lexists(current):
                os.mkdir(current)
        return os.path.join(current, parts[-1])

    def _expand(self, pattern: str) -> list[str]:
        """Repository paths matching ``pattern`` (``*`` within one segment), listed level by level."""
        segments = pattern.split("/")
        bases = [""]
        for depth, segment in enumerate(segments):
            if "*" not in segment:
                bases = [posixpath.join(b, segment) for b in bases]
                continue
            regex, last = _segment_regex(segment), depth == len(segments) - 1
            stats = self.reader.stat([b for b in bases if b])
            found: list[str] = []
            for base in bases:
                oid = stats.get(base) if base else ("tree", self.reader.root())
                if not oid or oid[0] != "tree" or not oid[1]:
                    continue
                found.extend(posixpath.join(base, name) for name, is_tree in self.reader.listdir(oid[1])
                             if (is_tree or last) and regex.match(name))
            bases = found[:PATTERN_LIMIT]
        return bases

    def run(self, paths: Iterable[str]) -> list[str]:
        pending = self._queue(paths)
        while pending:
            batch: set[str] = set()
            for path in pending:
                batch.update(self._expand(path) if "*" in path else [path])
            batch = sorted(batch - self.seen)  # type: ignore[assignment]  # the set, then its sorted list
            self.seen.update(batch)
            pending = set()
            stats = self.reader.stat(batch)
            links = [p for p in batch if stats.get(p) and stats[p][0] == "symlink"]
            if links:  # a symlink out of the tree: the path itself or one of its directories
                above = {a for p in links for a in _ancestors(p)} - set(stats)
                stats.update(self.reader.stat(sorted(above)))
            blobs: dict[str, str] = {}
            for path in batch:
                found = stats.get(path)
                if found is None:
                    continue
                if found[0] == "blob":
                    blobs[path] = found[1]
                    continue
                if found[0] == "symlink":
                    path = next(a for a in _ancestors(path) + [path] if stats.get(a) and stats[a][0] == "symlink")
                dest = self._place(path) if path else self.tree
                if dest is None or os.path.lexists(dest):
                    continue
                if found[0] == "symlink":
                    os.symlink(stats[path][1], dest)
                else:  # a directory (Compose looks a build context up) or a submodule
                    os.mkdir(dest)
            data = self.reader.contents(blobs.values())
            for path, oid in sorted(blobs.items()):
                dest = self._place(path)
                if dest is None or os.path.lexists(dest):
                    continue
                with open(dest, "wb") as handle:
                    handle.write(data[oid])
                self.written.append(path)
                if self.references and len(data[oid]) <= SCAN_LIMIT and b"\0" not in data[oid]:
                    named = self.references(posixpath.relpath(path, self.prefix or "."),
                                            data[oid].decode("utf-8", "replace"))
                    pending |= self._queue(named)
        return self.written

    def _queue(self, paths: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for path in paths:
            full = self.repo_path(path)
            if full is not None and full not in self.seen:
                out.add(full)
        return out


@contextmanager
def materialized_tree(project_dir: str, commit: str, paths: Iterable[str],
                      references: Callable[[str, str], Iterable[str]] | None = None) -> Iterator[str]:
    """A temporary partial copy of the repository at ``commit``; yields the copy of ``project_dir``.

    Only ``paths`` (relative to ``project_dir``; they may lead elsewhere in the repository) are
    written, and in turn what ``references(path, text)`` names in each file written: paths
    relative to ``project_dir`` too, where ``*`` stands for any run of characters within one
    segment. A path naming a directory creates it, empty; a path that is not in the commit is left
    out (whoever reads it fails as with a full copy); a symlink leading out of the repository is
    copied as the symlink, one inside it is followed.

    The cost follows what is written, not the size of the repository: a few ``git cat-file``
    batches, no checkout and no archive. Read-only for the repository (no worktree, ref or index);
    the copy is removed afterwards, whatever happens.
    """
    out = git_bytes(project_dir, ["rev-parse", "--show-toplevel", "--show-prefix"])
    toplevel, prefix = (out.decode("utf-8", "surrogateescape").split("\n") + [""])[:2]
    reader = _CommitReader(toplevel, commit)
    if reader.root() is None:
        raise GitError("commit %s is not in the repository at %s" % (commit, toplevel))
    top = tempfile.mkdtemp(prefix="berth-tree-")
    try:
        tree = os.path.join(top, "tree")
        project = os.path.join(tree, prefix) if prefix else tree
        os.makedirs(project)
        _Materializer(reader, tree, prefix, references).run(paths)
        yield project
    finally:
        shutil.rmtree(top, ignore_errors=True)
