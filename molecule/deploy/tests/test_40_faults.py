"""Cases 5, 6, 7: an unhealthy release rolls back by itself, a failing migration switches
nothing, and rollback.yml -e ref=previous re-ups the older images without a build."""
from conftest import ROOT, commit_of, container_ids, current_commit, deploy, https_get, images, records, rollback

OPTIONAL_COLOR = '{"berth_env_optional": ["APP_COLOR"]}'


def test_unhealthy_release_fails_fast_and_rolls_back_to_the_previous_one(host):
    serving = current_commit(host)
    failed = deploy("bad/api-unhealthy", "-e", OPTIONAL_COLOR)
    assert failed.rc != 0
    assert "automatic rollback done, %s serves now" % serving[:12] in failed.out, failed.out
    assert "api" in failed.out and "unhealthy" in failed.out
    assert current_commit(host) == serving
    last = records(host)[-1]
    assert last["outcome"] == "rolled_back" and last["serving_commit"] == serving
    assert host.run("curl -sf --max-time 5 http://127.0.0.1:8081/health").rc == 0
    assert "sample web" in https_get(host).stdout


def test_failing_migration_switches_nothing_and_shows_its_log(host):
    before, serving = container_ids(host), current_commit(host)
    failed = deploy("bad/migration-bad", "-e", OPTIONAL_COLOR)
    assert failed.rc != 0
    assert "nothing was switched" in failed.out
    assert "migration 003_broken failed" in failed.out
    assert current_commit(host) == serving and container_ids(host) == before
    assert records(host)[-1]["outcome"] == "failed"
    assert host.run("curl -sf --max-time 5 http://127.0.0.1:8081/health").rc == 0


def test_rollback_to_previous_builds_nothing_and_serves_the_older_release(host):
    imgs, before = images(host), container_ids(host)
    back = rollback("previous")
    assert back.rc == 0, back.out
    assert "Migrations are not reverted" in back.out
    assert current_commit(host) == commit_of(host, "migration-new")
    last = records(host)[-1]
    assert last["kind"] == "rollback" and last["services_built"] == [] and last["outcome"] == "ok"
    assert last["services_recreated"] == ["worker"]
    assert images(host) == imgs
    after = container_ids(host)
    assert after["worker"] != before["worker"] and after["web"] == before["web"] and after["api"] == before["api"]
    assert host.file(ROOT + "/.berth/pin").content_string.strip() == commit_of(host, "migration-new")
