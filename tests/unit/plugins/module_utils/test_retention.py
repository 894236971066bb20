# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 18.17: the prune step of a release (ReleaseDir.prune, what a deploy runs after its gate) keeps
berth_keep_releases good releases; failed attempts never take their places."""
import os

from ansible_collections.berth.compose.plugins.module_utils import release_log as rl
from ansible_collections.berth.compose.plugins.module_utils.release_dir import ReleaseDir

C1, C2, C3, C4, C5 = (str(n) * 40 for n in range(1, 6))


def record(to, frm=None, outcome="ok"):
    serving = to if outcome == "ok" else frm
    return rl.prepare_record(dict(kind="deploy", from_commit=frm, to_commit=to, serving_commit=serving,
                                  outcome=outcome, gate={"passed": outcome == "ok"}))


def test_three_failed_tries_do_not_prune_the_rollback_target(tmp_path):
    root = tmp_path / "app"
    log = str(root / "releases.jsonl")
    for mtime, commit in enumerate((C1, C2, C3, C4, C5)):
        (root / "releases" / commit).mkdir(parents=True)
        os.utime(str(root / "releases" / commit), (1000 + mtime, 1000 + mtime))
    os.symlink(os.path.join("releases", C2), str(root / "current"))
    for entry in [record(C1), record(C2, C1)] + [record(c, C2, "rolled_back") for c in (C3, C4, C5)]:
        rl.append_record(log, rl.encode(entry))
    result = {}
    # docker is `true`: no container, every image "exists"; check mode removes nothing, says what it would.
    ReleaseDir(dict(root=str(root), release_log=log, keep=2, docker="true"), check_mode=True).prune(result)
    assert result["removed"]["releases"] == [C3]


def test_registry_images_are_pruned_with_their_release_unless_a_kept_release_runs_them(tmp_path):
    """Issue 20 part 7: an image-only service's registry image goes with its release, like a built one."""
    from ansible_collections.berth.compose.plugins.module_utils import releases as rel
    root = tmp_path / "app"
    log = str(root / "releases.jsonl")
    pulled = {C1: {"cache": "127.0.0.1:5000/cache:rel-1", "db": "postgres:16"},
              C2: {"cache": "127.0.0.1:5000/cache:rel-2", "db": "postgres:16"},
              C3: {"cache": "127.0.0.1:5000/cache:rel-3", "db": "postgres:16"}}
    for mtime, commit in enumerate((C1, C2, C3)):
        (root / "releases" / commit / ".berth").mkdir(parents=True)
        rel.write_registry_images(str(root / "releases" / commit), pulled[commit])
        os.utime(str(root / "releases" / commit), (1000 + mtime, 1000 + mtime))
    assert rel.read_registry_images(str(root / "releases" / C1)) == pulled[C1]
    os.symlink(os.path.join("releases", C3), str(root / "current"))
    for entry in (record(C1), record(C2, C1), record(C3, C2)):
        rl.append_record(log, rl.encode(entry))
    result = {}
    ReleaseDir(dict(root=str(root), release_log=log, keep=2, docker="true"), check_mode=True).prune(result)
    assert result["removed"] == dict(releases=[C1], images=["127.0.0.1:5000/cache:rel-1"])
