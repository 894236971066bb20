"""The log and the host agree on what serves (issue 18): a tag re-pointed on the remote is followed,
a `-e service=` deploy leaves the other changed services pending until the next deploy picks them
up, a rollback to a commit this host never deployed runs that commit's own images, a failing rollback
puts back what served, and a Ctrl-C during a migration never lets a second deploy run alongside."""
import os
import signal
import subprocess
import time

from conftest import (ROOT, commit_of, current_commit, deploy, playbook_argv, playbook_env, rollback, run_playbook,
                      serving_ref)
from test_90_faults import tolerant_records as records  # test_90 leaves a truncated line in the log

FIXTURES = "/srv/fixtures/sample.git"
GIT = "git -c user.name=truth -c user.email=truth@berth.test"
CLONE = "/root/truth"


def commit_on(host, branch, base, edits, tag=None):
    """Push branch ``branch``: one commit off ``base`` made by the shell ``edits`` (run in the clone);
    with ``tag``, (re)point that tag at it on the remote too. The image-only service is pinned to the
    tag that serves, as test_90's fault branches do, so nothing needs pulling."""
    host.check_output(
        "rm -rf {clone} && git clone -q {fixtures} {clone} && cd {clone} && git checkout -q -b {branch} {base} "
        "&& sed -i 's/:${{BERTH_REF:-latest}}/:{serving}/' compose.yaml && {edits} && git add -A "
        "&& {git} commit -qm '{branch}' && git push -q origin {branch}".format(
            clone=CLONE, fixtures=FIXTURES, branch=branch, base=base, serving=serving_ref(host), edits=edits,
            git=GIT))
    commit = commit_of(host, branch)
    if tag:
        host.check_output("cd %s && git tag -f %s %s && git push -q -f origin refs/tags/%s" % (CLONE, tag, commit, tag))
    return commit


def container_image(host, service):
    return host.check_output("docker inspect --format '{{.Config.Image}}' sample-%s-1" % service)


def test_a_tag_re_pointed_on_the_remote_is_followed_and_the_plan_says_it_moved(host):
    first = commit_on(host, "truth-t1", current_commit(host), "printf 't1\\n' > web/www/truth.html", tag="stable")
    run = deploy("stable")
    assert run.rc == 0, run.out
    assert current_commit(host) == first
    second = commit_on(host, "truth-t2", first, "printf 't2\\n' > web/www/truth.html", tag="stable")
    run = deploy("stable")
    assert run.rc == 0, run.out
    assert "stable moved: %s -> %s" % (first[:12], second[:12]) in run.out, run.out
    assert current_commit(host) == second and records(host)[-1]["to_commit"] == second


def test_a_deploy_that_names_one_service_leaves_the_others_pending_until_the_next_deploy(host):
    target = commit_on(host, "truth-pending", current_commit(host),
                       "printf 'pending\\n' > web/www/truth.html && echo '# pending' >> api/serve.sh")
    api_before = container_image(host, "api")
    run = deploy("truth-pending", "-e", "service=web")
    assert run.rc == 0, run.out
    last = records(host)[-1]
    assert last["outcome"] == "ok" and last["services_pending"] == ["api"], last
    assert "pending:   api" in run.out, run.out
    assert container_image(host, "api") == api_before, "api was left out: it keeps its image"
    # The same commit again, naming no service: api's change ships now.
    run = deploy("truth-pending")
    assert run.rc == 0, run.out
    assert "picks up:  api" in run.out, run.out
    last = records(host)[-1]
    assert last["services_pending"] == [] and "api" in last["services_built"], last
    assert container_image(host, "api") == "sample-api:" + target[:12]


def test_a_rollback_to_a_commit_never_deployed_here_runs_its_own_images(host):
    base = current_commit(host)
    older = commit_on(host, "truth-docs", base, "echo 'never deployed' >> docs/operations.md")
    newer = commit_on(host, "truth-api", base, "echo '# newer api' >> api/serve.sh")
    run = deploy("truth-api")
    assert run.rc == 0, run.out
    assert container_image(host, "api") == "sample-api:" + newer[:12]
    back = rollback(older)
    assert back.rc == 0, back.out
    last = records(host)[-1]
    assert last["kind"] == "rollback" and last["outcome"] == "ok" and last["serving_commit"] == older, last
    # api differs between the two commits: it runs an image built from the rollback target, never the newer one.
    assert container_image(host, "api") == "sample-api:" + older[:12]
    assert last["images"]["api"] == "sample-api:" + older[:12], last
    # Leave the scenario unpinned, serving a deployed release, for the tests after this one.
    forward = deploy("truth-api")
    assert forward.rc == 0, forward.out
    assert current_commit(host) == newer


def test_a_failing_rollback_switches_back_and_reconcile_keeps_the_last_good_release(host):
    good = current_commit(host)
    assert not host.file(ROOT + "/.berth/pin").exists
    # A commit whose api never turns healthy (its health endpoint dropped, as the api-unhealthy fixture).
    bad = commit_on(host, "truth-bad-api", good, "sed -i '/> \\/www\\/health$/d' api/serve.sh")
    # A rollback never fetches: the host learns of the commit as a deploy's fetch would have taught it.
    host.check_output("runuser -u deploy -- git -C %s/repo fetch -q origin" % ROOT)
    back = rollback(bad)
    assert back.rc != 0, back.out
    last = records(host)[-1]
    assert last["kind"] == "rollback" and last["outcome"] == "rolled_back" and last["serving_commit"] == good, last
    # The pin that was in force before (none) is in force again, and the host agrees with the log.
    assert not host.file(ROOT + "/.berth/pin").exists
    assert current_commit(host) == good
    repair = run_playbook("reconcile")
    assert repair.rc == 0, repair.out
    assert current_commit(host) == good
    assert records(host)[-1]["serving_commit"] == good


def test_ctrl_c_during_a_migration_then_a_second_deploy_never_runs_alongside(host):
    commit_on(host, "truth-slow-migrate", current_commit(host),
              "sed -i 's/^set -eu$/set -eu\\nsleep 15/' migrate/migrate.sh")
    before = len(records(host))
    first = subprocess.Popen(playbook_argv("deploy", "-e", "ref=truth-slow-migrate"), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=playbook_env(), start_new_session=True)
    migrating = "docker ps -q --filter label=com.docker.compose.project=sample --filter label=com.docker.compose.service=migrate"
    try:
        for _attempt in range(480):
            if host.check_output(migrating):
                break
            time.sleep(0.25)
        else:
            raise AssertionError("the migration never started")
    finally:
        os.killpg(first.pid, signal.SIGINT)  # the operator's Ctrl-C
        first.wait(timeout=120)
    second = deploy("truth-slow-migrate", "-e", "berth_lock_wait=2")
    assert second.rc != 0, second.out
    assert "held by 'deploy truth-slow-migrate'" in second.out, second.out
    assert len(host.check_output(migrating).split()) <= 1
    # The first engine finishes on the VM and gives the lock back; its migration ran once.
    for _attempt in range(480):
        if not host.file(ROOT + "/.berth/deploy.lock").exists:
            break
        time.sleep(0.25)
    assert not host.file(ROOT + "/.berth/deploy.lock").exists
    new = [r for r in records(host)[before:] if r["kind"] == "deploy"]
    assert [(r["to_commit"], r["outcome"]) for r in new] == [(commit_of(host, "truth-slow-migrate"), "ok")], new
