"""provision.yml holds the app's deploy lock for its whole run (issue 18.10).

A reconcile round (the VM's timer) that ran in the middle of a provision re-applied the roles with the
VM's old inventory, reverting new config or secrets, and provision then fingerprinted the reverted
state. Provision now takes the lock deploy, rollback and reconcile take, after the settings check, and
gives it back at the end, a failed run included.
"""
import json
import os
import subprocess
import time

from conftest import ROOT

LOCK = ROOT + "/.berth/deploy.lock"
# A site Caddy rejects: provision fails at the caddy role, after it changed the host.
BAD_SITES = json.dumps({"caddy_sites": [
    {"domain": "sample.test", "upstream": "127.0.0.1:8080", "tls_internal": True},
    {"domain": "broken.test", "respond": "x", "extra": ["no_such_directive on"]},
]})


def lock_holder(host):
    """The JSON of the deploy lock on the VM, or None when nobody holds it."""
    out = host.run("cat %s" % LOCK)
    if out.rc != 0 or not out.stdout.strip():
        return None
    return json.loads(out.stdout)


def test_provision_refuses_a_live_lock_naming_its_holder_and_changes_nothing(host, provision):
    # A deploy from another controller holds the lock, as berth.compose.deploy_lock writes it.
    holder = {"owner": "deploy v9", "operator": "alice", "controller": "ctl.elsewhere", "pid": 4242,
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "started_epoch": time.time(),
              "ttl": 1800, "token": "fakeholder0001"}
    host.run("printf '%%s\\n' '%s' > %s" % (json.dumps(holder), LOCK))
    env_before = host.file(ROOT + "/shared/.env").sha256sum
    try:
        run = provision("-e", "berth_lock_wait=2",
                        "-e", '{"secrets_env": {"APP_MESSAGE": "rotated-under-a-lock", "DB_PASSWORD": "x"}}')
        assert run.rc != 0, run.out
        assert "deploy lock held by 'deploy v9' (alice@ctl.elsewhere, pid 4242)" in run.out, run.out
        assert run.changed == 0, run.out
        # Nothing of the provision ran: the secret stays, and the holder's lock is left in place.
        assert host.file(ROOT + "/shared/.env").sha256sum == env_before
        assert lock_holder(host)["token"] == "fakeholder0001"
    finally:
        host.run("rm -f %s" % LOCK)


def test_no_provision_so_far_left_its_lock_behind(host):
    # converge, idempotence and the tests before this one ran provision.yml to its end
    assert lock_holder(host) is None


def test_provision_holds_the_lock_while_it_runs_and_gives_it_back_when_it_fails(host, tmp_path):
    """One failing run (a site Caddy rejects, after the roles before it changed the host) shows both: the lock
    is held while provision runs, and given back when it fails."""
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
           os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml"), "-e", BAD_SITES]
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    log = tmp_path / "provision.log"
    with open(log, "w") as sink:  # a file, not a pipe: a full pipe would stall the run
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env)
    seen = None
    refused = None
    try:
        deadline = time.time() + 300
        while proc.poll() is None and time.time() < deadline and refused is None:
            seen = lock_holder(host)
            if seen and seen["owner"] == "provision":
                # What a reconcile round does first when it must re-apply the roles.
                refused = subprocess.run(
                    ["ansible", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "all", "-b", "-m",
                     "berth.compose.deploy_lock", "-a", "path=%s owner=reconcile wait=0" % LOCK],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, check=False)
            time.sleep(0.3)
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = log.read_text()
    assert seen is not None and seen["owner"] == "provision", "provision never held the deploy lock:\n" + out
    assert refused is not None and refused.returncode != 0, refused and refused.stdout
    assert "deploy lock held by 'provision'" in refused.stdout, refused.stdout
    assert proc.returncode != 0 and "no_such_directive" in out, out
    assert "Release the deploy lock" in out, out
    assert lock_holder(host) is None, "a failed provision left its lock behind"
