# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only git access for the planner: resolve commits, list changed paths, export a tree.

Nothing here changes the repository's refs, index or work tree.
"""

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import typing as t
from contextlib import contextmanager
from dataclasses import dataclass

from ansible_collections.berth.compose.plugins.module_utils.change_rules import ChangedServicesError


class GitError(ChangedServicesError):
    """git failed in a way that is not a plain 'from_ref unreachable'."""


# A ref refused before git sees it: a leading '-' (read as an option, `--upload-pack=...`),
# whitespace or control characters, '..' (a range, never one commit) or nothing at all.
_BAD_REF = re.compile(r"\A-|[\s\x00-\x1f\x7f]|\.\.")


def check_ref(option, ref):
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


def git(project_dir, args, check=True, stdout=subprocess.PIPE):
    cmd = ["git", "-C", project_dir, "-c", "core.quotepath=off"] + list(args)
    try:
        proc = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, check=False)
    except OSError as exc:
        raise GitError("cannot run git: %s" % exc)
    if check and proc.returncode != 0:
        raise GitError("git %s failed: %s" % (" ".join(args[:2]), proc.stderr.decode("utf-8", "replace").strip()))
    return proc


def resolve_commit(project_dir, ref):
    """Commit id for ``ref``, or None when it does not exist in this repository."""
    proc = git(project_dir, ["rev-parse", "--verify", "--quiet", "--end-of-options", "%s^{commit}" % ref],
               check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip() or None


def parse_name_status(raw):
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


def require_work_tree(project_dir):
    if not os.path.isdir(project_dir):
        raise GitError("project_dir %s does not exist" % project_dir)
    if git(project_dir, ["rev-parse", "--is-inside-work-tree"], check=False).returncode != 0:
        raise GitError("project_dir %s is not inside a git work tree" % project_dir)


def _is_ancestor(project_dir, ancestor, descendant):
    proc = git(project_dir, ["merge-base", "--is-ancestor", ancestor, descendant], check=False)
    if proc.returncode not in (0, 1):
        raise GitError("git merge-base failed: %s" % proc.stderr.decode("utf-8", "replace").strip())
    return proc.returncode == 0


def changed_paths(project_dir, from_ref, to_ref="HEAD"):
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
    diff = git(project_dir, ["diff", "--no-color", "--no-ext-diff", "--name-status", "-z", "-M", "--relative",
                             from_commit, to_commit])
    return GitChanges(parse_name_status(diff.stdout), from_commit, to_commit)


@contextmanager
def exported_tree(project_dir, commit):
    """A temporary copy of the repository at ``commit``; yields the copy of ``project_dir``.

    Uses ``git archive`` (read-only: no worktree registration, no ref) and removes the copy
    afterwards, whatever happens.
    """
    prefix = git(project_dir, ["rev-parse", "--show-prefix"]).stdout.decode().strip()
    toplevel = git(project_dir, ["rev-parse", "--show-toplevel"]).stdout.decode().strip()
    top = tempfile.mkdtemp(prefix="berth-tree-")
    try:
        archive = os.path.join(top, ".archive.tar")
        with open(archive, "wb") as handle:
            # from the top level: run in a subdirectory, git archive exports only that subtree
            git(toplevel, ["archive", "--format=tar", commit], stdout=handle)
        tree = os.path.join(top, "tree")
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "tar_filter"):
                # "tar", not "data": a committed symlink may point at an absolute path
                tar.extractall(tree, filter="tar")
            else:  # Python < 3.11.4: git archive output has no absolute or .. member names
                tar.extractall(tree)
        os.remove(archive)
        yield os.path.join(tree, prefix) if prefix else tree
    finally:
        shutil.rmtree(top, ignore_errors=True)
