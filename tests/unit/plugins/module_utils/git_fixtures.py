# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small real git repositories for the tests (no mocks of git)."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MAKE_HISTORY = os.path.join(ROOT, "tests", "fixtures", "make_history.sh")

GIT_ENV = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo)] + list(args), check=True, env=GIT_ENV,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout.decode().strip()


def write(repo, path, text):
    full = repo / path
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(text)


def commit(repo, msg, tag):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", msg)
    git(repo, "tag", tag)


def new_repo(path, files, tag):
    """A repository at ``path`` whose one commit, tagged ``tag``, holds ``files`` (name -> text)."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    for name, text in files.items():
        write(path, name, text)
    commit(path, "one", tag)
    return path


def sample_history(base):
    """A clone of the sample app's generated history (tests/fixtures/make_history.sh)."""
    bare = base / "history.git"
    subprocess.run(["bash", MAKE_HISTORY, str(bare)], check=True, env=GIT_ENV,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    clone = base / "clone"
    subprocess.run(["git", "clone", "-q", str(bare), str(clone)], check=True, env=GIT_ENV)
    return clone
