"""Retention after all those deploys: at most berth_keep_releases (5) release directories
plus the protected ones remain; the current and the last good release are among them; every
image a container runs is still there."""
from conftest import ROOT, current_commit, records


def test_old_releases_are_pruned_but_never_the_current_last_good_or_a_running_image(host):
    kept = host.check_output("ls %s/releases" % ROOT).split()
    assert len(kept) <= 5 + 2, kept
    assert current_commit(host) in kept
    good = [r for r in records(host) if r["outcome"] == "ok"]
    assert good[-1]["serving_commit"] in kept
    used = host.check_output("docker ps -aq | xargs docker inspect -f '{{.Config.Image}}'").split()
    present = set(host.check_output("docker images --format '{{.Repository}}:{{.Tag}}'").split())
    assert set(used) <= present, set(used) - present
    # git forgets the pruned worktrees too: the clone itself plus one per kept release.
    worktrees = host.check_output("sudo -u deploy git -C %s/repo worktree list --porcelain | grep -c ^worktree" % ROOT)
    assert int(worktrees) == 1 + len(kept)
