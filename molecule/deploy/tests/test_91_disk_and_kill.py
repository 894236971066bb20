"""Two more faults of issue 13, after test_90's: the disk full while a deploy prepares its
release (its build context: a tmpfs with no room left), and the controller's ansible-playbook
killed during cutover with the engine on the VM. After each: the app serves the last good release, the lock is free or
reported stale and taken over, and nothing in shared/ or the database volume was lost."""
import os
import signal
import subprocess

from test_90_faults import assert_failed_and_switched_nothing, assert_intact, fault_branch, state, tolerant_records

from conftest import ROOT, current_commit, kill_engine_when, playbook_argv, playbook_env, run_playbook


def test_disk_full_while_the_release_is_prepared_fails_and_switches_nothing(host):
    before = state(host)
    target = fault_branch(host, "fault-web-3", "fault three")
    release = "%s/releases/%s" % (ROOT, target)
    # The release's checkout lives on a tmpfs shrunk to what the checkout uses: the deploy finds
    # it (so the plan reads it) and then has no room to write the release's image map.
    host.check_output(
        "install -d -o deploy -g deploy {r} && mount -t tmpfs -o size=1m,mode=0755,uid=$(id -u deploy),"
        "gid=$(id -g deploy) berth-full {r} && runuser -u deploy -- git -C {root}/repo fetch -q origin && "
        "runuser -u deploy -- git -C {root}/repo worktree add -q --detach {r} {c} && "
        "mount -o remount,size=$(df --output=used -k {r} | tail -1 | tr -d ' ')k {r}".format(r=release, root=ROOT, c=target))
    try:
        assert host.run("runuser -u deploy -- sh -c 'head -c 65536 /dev/zero > %s/.fill'" % release).rc != 0, \
            "the tmpfs must be full, or this test proves nothing"
        host.run("rm -f %s/.fill" % release)
        run = run_playbook("deploy", "-e", "ref=fault-web-3", "-e", "service=web")
    finally:
        host.run("umount %s; rmdir %s; runuser -u deploy -- git -C %s/repo worktree prune" % (release, release, ROOT))
    assert "No space left on device" in run.out, run.out
    assert_failed_and_switched_nothing(host, before, run)


def test_controller_killed_during_cutover_then_reconcile_brings_back_the_last_good_release(host):
    before = state(host)
    target = fault_branch(host, "fault-web-4", "fault four")
    victim = subprocess.Popen(playbook_argv("deploy", "-e", "ref=fault-web-4", "-e", "service=web"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=playbook_env(),
                              start_new_session=True)
    try:
        # The controller's death alone would not stop the engine: the engine itself dies mid-cutover,
        # as soon as `current` names the new release.
        kill_engine_when(host, '[ "$(readlink %s/current)" = "releases/%s" ]' % (ROOT, target))
    finally:
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
    # What the killed controller started on the VM may still finish; wait for it to end.
    host.run("for i in $(seq 1 120); do pgrep -f '[d]ocker compose|[d]ocker-compose' >/dev/null || break; "
             "sleep 0.5; done")
    assert host.file(ROOT + "/.berth/deploy.lock").exists, "the killed deploy leaves its lock"
    assert not [r for r in tolerant_records(host) if r.get("to_commit") == target], "nothing recorded the cutover"

    repair = run_playbook("reconcile")
    assert repair.rc == 0, repair.out
    assert "stale" in repair.out.lower(), repair.out
    assert current_commit(host) == before["current"]
    assert_intact(host, before)
    last = tolerant_records(host)[-1]
    assert last["kind"] == "reconcile" and last["outcome"] == "ok", last
    assert last["serving_commit"] == before["current"], last
