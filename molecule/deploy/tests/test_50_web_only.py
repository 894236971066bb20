"""A web-only deploy after a rollback, and `rollback.yml -e ref=previous` back from it: the deploy
lifts the rollback pin and recreates web alone; the rollback serves the older release again.
(What these cost next to the bare commands is `make bench`'s job, not a test's.)"""
from conftest import ROOT, commit_of, container_ids, current_commit, deploy, rollback

OPTIONAL_COLOR = '{"berth_env_optional": ["APP_COLOR"]}'


def test_web_only_deploy_lifts_the_pin_and_rollback_previous_returns(host):
    assert host.file(ROOT + "/.berth/pin").exists  # left by the rollback in test_40
    assert deploy("env-template", "-e", OPTIONAL_COLOR).rc == 0
    assert not host.file(ROOT + "/.berth/pin").exists, "a deploy lifts the rollback pin"
    before = container_ids(host)
    web = deploy("web-v3", "-e", OPTIONAL_COLOR)
    assert web.rc == 0, web.out
    after = container_ids(host)
    assert after["web"] != before["web"] and after["api"] == before["api"] and after["worker"] == before["worker"]
    assert "web v3" in host.check_output("curl -s http://127.0.0.1:8080/")
    back = rollback("previous", "-e", OPTIONAL_COLOR)
    assert back.rc == 0, back.out
    assert current_commit(host) == commit_of(host, "env-template")
    assert "web v2" in host.check_output("curl -s http://127.0.0.1:8080/")
