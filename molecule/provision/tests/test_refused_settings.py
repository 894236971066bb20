"""Bad app-wide settings stop provision.yml (and verify.yml) before anything on the host changes."""
import json
import os

import pytest

from conftest import APP, ROOT, run_playbook

# Owners, modes and mtimes of the places a bad root or name would touch (a new entry changes its
# directory's mtime), plus the users and groups a run could create.
SNAPSHOT = ("stat -c '%n %U:%G %a %Y' / /etc /etc/* /opt /opt/* /srv /srv/* /home /var /var/lib /usr/local "
            + ROOT + " " + ROOT + "/* " + ROOT + "/.berth " + ROOT + "/.berth/* /etc/systemd/system/*; "
            "getent passwd; getent group")

CASES = {
    "app name with a path": (
        ["-e", "berth_app_name=../etc"], "berth_app_name='../etc' is not allowed"),
    "app name with a space": (
        ["-e", json.dumps({"berth_app_name": "my app"})], "berth_app_name='my app' is not allowed"),
    "root /": (
        ["-e", "berth_app_root=/"], "berth_app_root='/' is not allowed: it is / or a system directory"),
    "root /etc": (
        ["-e", "berth_app_root=/etc"], "berth_app_root='/etc' is not allowed: it is / or a system directory"),
    "root /etc in check mode": (
        ["--check", "-e", "berth_app_root=/etc"], "berth_app_root='/etc' is not allowed"),
    "env file outside the root": (
        ["-e", "berth_env_file=/etc/sample.env"],
        "berth_env_file='/etc/sample.env' is not allowed: it must be a file inside berth_app_root"),
    "compose file leaving the release": (
        ["-e", json.dumps({"berth_compose_files": ["../compose.yaml"]})],
        "berth_compose_files entry '../compose.yaml' is not allowed"),
    "root of another app": (
        ["-e", "berth_app_name=other", "-e", "berth_compose_project=other", "-e", "berth_app_root=" + ROOT],
        "belongs to the app '%s'" % APP),
    "root that is not a berth layout": (
        ["-e", "berth_app_root=/srv/fixtures"], "holds sample.git"),
    # Issue 18.14: a misspelt `when` ran a before-hook after cutover; a string guard command was split into
    # characters, so the service stayed busy for ever. Both are refused with the other settings now.
    "hook with a when typo": (
        ["-e", json.dumps({"berth_hooks": {"report": {"service": "web", "command": ["true"], "when": "bfore"}}})],
        "berth_hooks['report']: when='bfore' is not allowed: use before or after"),
    "guard command a string": (
        ["-e", json.dumps({"berth_restart_guards": {"web": {"command": "test ! -e /tmp/busy"}}})],
        "berth_restart_guards['web']: command='test ! -e /tmp/busy' is not allowed: use a non-empty list of strings"),
}


@pytest.mark.parametrize("args, message", CASES.values(), ids=list(CASES))
def test_provision_refuses_the_setting_and_changes_nothing(host, provision, args, message):
    before = host.check_output(SNAPSHOT)
    run = provision(*args)
    assert run.rc != 0, run.out
    assert message in run.out, run.out
    # The check is the first task that reaches the host (no facts are gathered before it).
    assert "Check the app-wide settings and the app root before anything changes" in run.out
    assert "Gathering Facts" not in run.out
    assert run.changed == 0, run.out
    assert host.check_output(SNAPSHOT) == before


def test_verify_refuses_a_bad_app_name_without_facts(host):
    run = run_playbook(os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "playbooks", "verify.yml"),
                       "-e", "berth_app_name=../etc")
    assert run.rc != 0 and "berth_app_name='../etc' is not allowed" in run.out, run.out
    assert "Gathering Facts" not in run.out


def test_the_app_root_carries_the_marker_of_its_app(host):
    marker = host.file(ROOT + "/.berth/app")
    assert marker.content_string == APP + "\n"
    assert (marker.user, marker.mode) == ("deploy", 0o644)


def test_deploy_refuses_a_hook_when_typo_before_any_change(host):
    """The release engine's first step judges berth_hooks too: nothing is locked, fetched or switched."""
    state = ("readlink %s/current; sha256sum %s/releases.jsonl; ls -a %s/.berth; ls -l --time-style=full-iso %s/repo/.git; "
             "runuser -u deploy -- git -C %s/repo rev-parse HEAD" % (ROOT, ROOT, ROOT, ROOT, ROOT))
    before = host.check_output(state)
    run = run_playbook(os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "playbooks", "deploy.yml"),
                       "-e", json.dumps({"berth_hooks": {"report": [
                           {"service": "web", "command": ["true"], "when": "bfore"}]}}))
    assert run.rc != 0, run.out
    assert "berth_hooks['report'] step 1: when='bfore' is not allowed" in run.out, run.out
    assert run.changed == 0, run.out
    assert host.check_output(state) == before
