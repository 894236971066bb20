"""The closing note's figures, measured in one run on this VM: a web-only deploy and
`rollback.yml -e ref=previous`, next to the bare commands they replace. Written to
tests/output/deploy-timing.txt."""
import os
import time

from conftest import ROOT, commit_of, container_ids, current_commit, deploy, rollback

OPTIONAL_COLOR = '{"berth_env_optional": ["APP_COLOR"]}'
BARE = ("cd /root/bare && docker compose -p sample --env-file %s/shared/.env" % ROOT)
FIGURES = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "tests", "output", "deploy-timing.txt")


def timed(host, command):
    """Seconds the command takes on the VM, measured here like the playbook runs are."""
    started = time.monotonic()
    host.check_output(command)
    return time.monotonic() - started


def test_web_only_deploy_and_rollback_next_to_the_bare_commands(host):
    assert host.file(ROOT + "/.berth/pin").exists  # left by the rollback in test_40
    assert deploy("env-template", "-e", OPTIONAL_COLOR).rc == 0
    assert not host.file(ROOT + "/.berth/pin").exists, "a deploy lifts the rollback pin"
    before = container_ids(host)
    web = deploy("web-v3", "-e", OPTIONAL_COLOR)
    assert web.rc == 0, web.out
    after = container_ids(host)
    assert after["web"] != before["web"] and after["api"] == before["api"] and after["worker"] == before["worker"]
    back = rollback("previous", "-e", OPTIONAL_COLOR)
    assert back.rc == 0, back.out
    assert current_commit(host) == commit_of(host, "env-template")
    assert "web v2" in host.check_output("curl -s http://127.0.0.1:8080/")

    host.check_output("rm -rf /root/bare && git clone -q file:///srv/fixtures/sample.git /root/bare "
                      "&& git -C /root/bare checkout -q env-template")
    bare_deploy = timed(host, "cd /root/bare && git checkout -q web-v3 && %s up -d --build web" % BARE)
    assert "web v3" in host.check_output("curl -s http://127.0.0.1:8080/")
    bare_back = timed(host, "cd /root/bare && git checkout -q env-template && %s up -d web" % BARE)
    bare_back_build = timed(host, "cd /root/bare && git checkout -q env-template && %s up -d --build web" % BARE)
    lines = [
        "web-only deploy (deploy.yml -e ref=web-v3):              %5.1f s" % web.seconds,
        "  bare: git pull && docker compose up -d --build web:    %5.1f s" % bare_deploy,
        "rollback.yml -e ref=previous:                             %5.1f s" % back.seconds,
        "  bare: git checkout <old> && docker compose up -d web:  %5.1f s (re-ups the newest image: no rollback)"
        % bare_back,
        "  bare, rebuilding: ... up -d --build web:               %5.1f s" % bare_back_build,
    ]
    os.makedirs(os.path.dirname(FIGURES), exist_ok=True)
    with open(FIGURES, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    assert web.seconds > 0 and back.seconds > 0
