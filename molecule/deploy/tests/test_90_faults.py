"""Faults during a deploy (issue 13): the git remote unreachable during fetch, the release log
truncated mid-line, the Docker daemon restarted during the build, and the VM restarted between
build and cutover. After each: the app serves the last good release through Caddy, the lock is
free (or reported stale and taken over by the next run), and nothing in shared/ or the database
volume was lost. The last case deploys the same commit again and it goes through."""
import json
import os
import signal
import subprocess
import time

from conftest import (ROOT, commit_of, container_ids, current_commit, deploy, https_get, playbook_argv, playbook_env,
                      serving_ref)

FIXTURES = "/srv/fixtures/sample.git"
VM = os.environ.get("BERTH_DEPLOY_VM", "berth-deploy")
GIT = "git -c user.name=fault -c user.email=fault@berth.test"


def tolerant_records(host):
    """The release log's complete JSON lines (a truncated line is skipped, as the reader does)."""
    out = []
    for line in host.file(ROOT + "/releases.jsonl").content_string.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def db_digest(host, seconds=60):
    """sha256 of the database's dump. Right after a boot or an engine restart the migrate
    service may still hold the database (or api be starting): retry until a dump succeeds, and
    never hash the empty output of a failed one."""
    deadline = time.monotonic() + seconds
    while True:
        dump = host.run("docker exec sample-api-1 sqlite3 /data/app.db .dump > /var/tmp/db.dump "
                        "&& test -s /var/tmp/db.dump && sha256sum < /var/tmp/db.dump")
        if dump.rc == 0:
            return dump.stdout.split()[0]
        assert time.monotonic() < deadline, "no dump of the database: %s" % dump.stderr
        time.sleep(1)


def state(host):
    """What a fault must not lose: the env file, the database's content, what serves."""
    return {
        "env": host.check_output("sha256sum %s/shared/.env" % ROOT).split()[0],
        "db": db_digest(host),
        "current": current_commit(host),
    }


def serves(host, seconds=120):
    """True once the app answers through Caddy (it may still be coming back from a restart)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if https_get(host, "/health").rc == 0 and host.run("curl -sf --max-time 3 http://127.0.0.1:8081/health").rc == 0:
            return True
        time.sleep(1)
    return False


def wait_for_boot(host, seconds=180):
    """Until systemd in the restarted VM container has finished its boot (the app unit included).
    `is-system-running --wait` fails at once while systemd is not up yet: ask again."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if host.run("timeout 60 systemctl is-system-running --wait").stdout.strip() in ("running", "degraded"):
            return
        time.sleep(1)
    raise AssertionError("the VM did not finish booting in %d s" % seconds)


def fault_branch(host, name, text, slow_build=False):
    """A new commit on top of what serves, changing web's page only: its deploy builds web.
    slow_build adds a 30 s step to web's image build, so a fault aimed at the build lands in
    it (web's other layers are cached, and its build would otherwise end in a blink).
    The image-only service (test_70's cache) is tagged ${BERTH_REF} in compose.yaml: the fault
    commit pins it to the tag that serves, so its release names an image that exists (a fault
    branch's name is no pushed tag) and a reconcile of it has nothing to pull."""
    base = current_commit(host)
    slow = " && echo 'RUN sleep 30' >> web/Dockerfile" if slow_build else ""
    host.check_output("rm -rf /root/fault && git clone -q %s /root/fault && cd /root/fault && git checkout -q -b %s %s "
                      "&& sed -i 's/:${BERTH_REF:-latest}/:%s/' compose.yaml "
                      "&& printf '%s\\n' > web/www/fault.html%s && git add -A && %s commit -qm '%s' "
                      "&& git push -q origin %s" % (FIXTURES, name, base, serving_ref(host), text, slow, GIT, name, name))
    return commit_of(host, name)


def assert_intact(host, before):
    assert serves(host), "the app must serve the last good release through Caddy"
    after = state(host)
    assert after == before, (before, after)
    assert not host.file(ROOT + "/.berth/deploy.lock").exists, "the lock must be free"


def assert_failed_and_switched_nothing(host, before, run):
    """A deploy that failed before cutover: it says so, the app is intact, its record is not `ok`
    and names the release that still serves."""
    assert run.rc != 0, run.out
    assert_intact(host, before)
    last = tolerant_records(host)[-1]
    assert last["outcome"] != "ok" and last["serving_commit"] == before["current"], last


def test_unreachable_remote_fails_in_preflight_and_changes_nothing(host):
    before = state(host)
    fault_branch(host, "fault-web-1", "fault one")
    host.check_output("mv %s %s.off" % (FIXTURES, FIXTURES))
    try:
        run = deploy("fault-web-1", "-e", "service=web")
    finally:
        host.check_output("mv %s.off %s" % (FIXTURES, FIXTURES))
    assert run.rc != 0
    assert "git fetch failed" in run.out, run.out
    assert_intact(host, before)


def test_release_log_truncated_mid_line_is_skipped_with_a_warning(host):
    before = state(host)
    serving = tolerant_records(host)[-1]
    host.check_output("printf '%%s' '{\"kind\": \"deploy\", \"to_comm' >> %s/releases.jsonl" % ROOT)
    # The unreachable remote held fault-web-1 back: fetch it as preflight does, so the deploy
    # below has nothing new to fetch and nothing to do.
    host.check_output("runuser -u deploy -- git -C %s/repo fetch -q --prune --tags origin "
                      "'refs/heads/*:refs/remotes/origin/*'" % ROOT)
    ids = container_ids(host)
    run = deploy(current_commit(host))
    assert run.rc == 0 and run.changed == 0 and "nothing to deploy" in run.out, run.out
    assert container_ids(host) == ids, "a deploy with nothing to do restarts nothing"
    assert_intact(host, before)
    read = subprocess.run(["ansible", "all", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-m", "berth.compose.release_log",
                           "-a", "path=%s/releases.jsonl state=current" % ROOT],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=playbook_env(), check=False)
    assert read.returncode == 0, read.stdout
    assert "not a complete JSON line" in read.stdout, read.stdout
    assert serving["started"] in read.stdout, read.stdout


def test_docker_restarted_during_the_build_switches_nothing(host):
    before = state(host)
    fault_branch(host, "fault-slow-build", "fault slow", slow_build=True)
    # A watcher on the VM restarts the engine the moment the build starts (the brackets keep
    # pgrep from matching the watcher's own command line); the build's 30 s step is still running.
    host.check_output("(for i in $(seq 1 2400); do if pgrep -f '[d]ocker-buildx|[c]ompose.* build' >/dev/null; then "
                      "systemctl restart docker; echo restarted; break; fi; sleep 0.05; done > /var/tmp/fault.log 2>&1 &)")
    run = deploy("fault-slow-build", "-e", "service=web")
    # The engine fails the moment dockerd stops; `systemctl restart` returns (and the watcher
    # writes its line) only once the new dockerd is up.
    for _attempt in range(120):
        if "restarted" in host.file("/var/tmp/fault.log").content_string:
            break
        time.sleep(0.5)
    assert "restarted" in host.file("/var/tmp/fault.log").content_string, run.out
    assert_failed_and_switched_nothing(host, before, run)


def test_vm_restarted_between_build_and_cutover_boots_the_last_good_release(host):
    before = state(host)
    target = fault_branch(host, "fault-web-2", "fault two")
    # The web guard holds the cutover for 20 s before `current` moves: the restart lands in it.
    guards = json.dumps({"berth_restart_guards": {"web": {"command": ["sh", "-c", "sleep 20"], "wait": 60}}})
    victim = subprocess.Popen(playbook_argv("deploy", "-e", "ref=fault-web-2", "-e", "service=web", "-e", guards),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=playbook_env(),
                              start_new_session=True)
    try:
        for _attempt in range(600):
            if host.run("docker image inspect sample-web:%s" % target[:12]).rc == 0:
                break
            time.sleep(0.25)
        else:
            raise AssertionError("the deploy never built web")
        time.sleep(2)
        subprocess.run(["docker", "restart", "-t", "5", VM], check=True, stdout=subprocess.DEVNULL)
    finally:
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
    wait_for_boot(host)
    assert serves(host), "the boot unit must bring the last good release back"
    after = state(host)
    assert after == before, (before, after)

    again = deploy("fault-web-2", "-e", "service=web")
    assert again.rc == 0, again.out
    assert "stale deploy lock" in again.out, again.out
    assert current_commit(host) == target
    assert "fault two" in host.check_output("curl -sf http://127.0.0.1:8080/fault.html")
    assert not host.file(ROOT + "/.berth/deploy.lock").exists
