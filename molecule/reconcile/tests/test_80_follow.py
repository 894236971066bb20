"""Pull mode (berth_follow): the VM's reconcile timer deploys a followed branch or tag pattern through the
release engine; a bad commit rolls back and is not retried; a rollback's pin holds; the highest matching tag
(version sort) is deployed. Last in the scenario: it restores the VM's inventory (follow off) at the end."""
import pytest

from conftest import ROOT, commit_of, current_commit, https_get, records, run_playbook, timer_run, wait_healthy

INVENTORY = "/etc/berth/sample/inventory.yml"
SAVED = "/root/inventory.yml.before-follow"
METRICS = "/var/lib/node_exporter/textfile_collector/berth_reconcile_sample.prom"
SERVER = "/srv/fixtures/sample.git"
WORK = "/root/follow-work"
BRANCH = "followed"


def set_follow(host, value):
    """berth_follow in the inventory the VM's timer runs with (what provision renders from the operator's)."""
    host.check_output(
        "python3 -c \"import sys, yaml; f = sys.argv[1]; d = yaml.safe_load(open(f)); "
        "d['all']['hosts']['localhost']['berth_follow'] = sys.argv[2]; "
        "yaml.safe_dump(d, open(f, 'w'), default_flow_style=False)\" %s '%s'" % (INVENTORY, value))


def push(host, text, drop_health=False, restore_health=False, to=BRANCH):
    """Commit a visible change of web's front page in a clone of the git server and push it to ``to``."""
    steps = ["cd %s" % WORK, "sed -i 's|<p id=\"version\">.*</p>|<p id=\"version\">%s</p>|' web/www/index.html" % text]
    if drop_health:
        steps.append("git rm -q web/www/health")
    if restore_health:
        steps.append("git checkout -q HEAD~1 -- web/www/health")
    steps += ["git add -A", "git commit -q -m '%s'" % text, "git push -q origin HEAD:refs/heads/%s" % to,
              "git rev-parse HEAD"]
    return host.check_output(" && ".join(steps)).splitlines()[-1]


def deploys(host):
    return [r for r in records(host) if r.get("kind") == "deploy"]


def metric(host, name):
    for line in host.file(METRICS).content_string.splitlines():
        if line.startswith(name + "{"):
            return float(line.split()[-1])
    raise AssertionError("%s not in %s:\n%s" % (name, METRICS, host.file(METRICS).content_string))


@pytest.fixture(scope="module", autouse=True)
def following(host):
    """Lift the pin test_40 left (a deploy by hand) onto a branch of the git server, and follow that branch."""
    host.check_output("cp -p %s %s" % (INVENTORY, SAVED))
    host.check_output("git -C %s branch -f %s env-optional" % (SERVER, BRANCH))
    host.check_output("rm -rf %s && git clone -q -b %s %s %s && git -C %s config user.email t@berth.invalid && "
                      "git -C %s config user.name follow-test" % (WORK, BRANCH, SERVER, WORK, WORK, WORK))
    start = run_playbook("deploy", "-e", "ref=%s" % BRANCH)
    assert start.rc == 0, start.out
    assert not host.file(ROOT + "/.berth/pin").exists
    set_follow(host, BRANCH)
    yield
    host.check_output("cp -p %s %s && rm -rf %s" % (SAVED, INVENTORY, WORK))


def test_a_commit_pushed_to_the_followed_branch_is_served_within_one_round(host):
    count = len(deploys(host))
    commit = push(host, "web follow-1")
    code, journal = timer_run(host)
    assert code == 0, journal
    assert "%s moved, deploying %s" % (BRANCH, commit[:12]) in journal, journal
    assert current_commit(host) == commit
    new = deploys(host)[count:]
    hostname = host.check_output("hostname")
    assert len(new) == 1 and new[0]["outcome"] == "ok" and new[0]["to_commit"] == commit
    assert new[0]["operator"] == "follow@" + hostname and new[0]["note"].startswith("follow %s" % BRANCH)
    wait_healthy(host)
    assert "web follow-1" in https_get(host).stdout
    assert metric(host, "berth_follow_behind") == 0 and metric(host, "berth_follow_pinned") == 0
    assert metric(host, "berth_follow_last_deployed_timestamp_seconds") > 0
    # The reconcile gauges are still there beside them.
    assert 'berth_reconcile_enabled{app="sample"}' in host.file(METRICS).content_string


def test_a_bad_commit_is_rolled_back_and_not_retried(host):
    good = current_commit(host)
    count = len(deploys(host))
    bad = push(host, "web follow-bad", drop_health=True)
    code, journal = timer_run(host)
    assert code != 0, journal
    new = deploys(host)[count:]
    assert len(new) == 1 and new[0]["to_commit"] == bad and new[0]["outcome"] == "rolled_back", new
    assert current_commit(host) == good
    wait_healthy(host)
    assert "web follow-1" in https_get(host).stdout
    # The next round leaves it alone: the ref did not move.
    code, journal = timer_run(host)
    assert code == 0, journal
    assert "failed its gate" in journal and "not retried until %s moves" % BRANCH in journal, journal
    assert len(deploys(host)) == count + 1 and current_commit(host) == good
    assert metric(host, "berth_follow_behind") == 1


def test_a_new_tag_matching_the_pattern_is_deployed(host):
    serving = current_commit(host)
    count = len(deploys(host))
    # v9 on what serves, v10 on a new commit: v10 is the highest version (a string sort says v9).
    host.check_output("cd %s && git reset -q --hard %s && git tag v9 %s && git push -q origin v9" % (WORK, serving, serving))
    commit = push(host, "web follow-v10", to="follow-tags")
    host.check_output("cd %s && git tag v10 && git push -q origin v10" % WORK)
    set_follow(host, "v*")
    code, journal = timer_run(host)
    assert code == 0, journal
    new = deploys(host)[count:]
    assert len(new) == 1 and new[0]["ref"] == "v10" and new[0]["to_commit"] == commit == commit_of(host, "v10"), new
    assert current_commit(host) == commit and new[0]["operator"].startswith("follow@")
    wait_healthy(host)
    assert "web follow-v10" in https_get(host).stdout


def test_a_rollback_by_hand_pins_and_the_pin_holds_while_commits_arrive(host):
    set_follow(host, BRANCH)
    back = run_playbook("rollback", "-e", "ref=previous")
    assert back.rc == 0, back.out
    pinned = current_commit(host)
    assert pinned != commit_of(host, "v10") and host.file(ROOT + "/.berth/pin").exists
    count = len(deploys(host))
    # A good commit on the followed branch (the health endpoint back): the pin still holds.
    host.check_output("cd %s && git fetch -q origin && git reset -q --hard origin/%s" % (WORK, BRANCH))
    arrived = push(host, "web follow-2", restore_health=True)
    code, journal = timer_run(host)
    assert code == 0, journal
    assert "follow holds at the rollback pin %s" % pinned[:12] in journal, journal
    assert current_commit(host) == pinned and len(deploys(host)) == count
    assert commit_of(host, BRANCH) == arrived
    assert metric(host, "berth_follow_pinned") == 1 and metric(host, "berth_follow_behind") == 1
    verify = run_playbook("verify", "-e", "berth_follow=%s" % BRANCH)
    assert verify.rc == 0, verify.out
    assert "follow holds at the rollback pin %s" % pinned[:12] in verify.out
