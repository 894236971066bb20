"""Adopting a hand-run app (issue 20 part 3): seed 000's team runs `docker compose up -d` in a plain git
checkout; `adopt.yml -e from=...` makes it berth's second app on this VM (app hb, root /opt/hb) and keeps
its compose project, its named volume and the data in it.

Runs last (file order): it stops the sample app first, whose api port the hand-run copy also publishes."""
import json
import time

from conftest import playbook

CHECKOUT = "/home/ops/heartbeat-dashboard"
PROJECT = "heartbeat-dashboard"  # what Compose derives from the directory's name
ROOT = "/opt/hb"
MESSAGE = "hello from the hand-run app"
SECRET = "handrun-secret-7f3a"
ARGS = ["-e", "from=" + CHECKOUT, "-e", json.dumps({
    "berth_app_name": "hb", "berth_app_root": ROOT, "berth_compose_project": PROJECT, "berth_zero_downtime": [],
    "berth_health_probes": [{"url": "http://127.0.0.1:8081/value", "body": MESSAGE}]})]
STATE = {}


def containers(host):
    """service -> (id, created) of the hand-run project's containers."""
    out = host.check_output("docker ps -a --filter label=com.docker.compose.project=%s --format "
                            "'{{.Label \"com.docker.compose.service\"}} {{.ID}}'" % PROJECT)
    found = {}
    for line in out.splitlines():
        service, cid = line.split()
        assert service not in found, "two containers of %s: %s" % (service, out)
        found[service] = (cid, host.check_output("docker inspect --format '{{.Created}}' " + cid))
    return found


def answer(host, path):
    return host.run("curl -sS --max-time 5 http://127.0.0.1:8081" + path).stdout


def test_a_hand_run_app_with_data_in_its_named_volume(host):
    host.run_expect([0], "systemctl stop sample.service")
    host.run_expect([0], "rm -rf %s %s && mkdir -p /home/ops" % (CHECKOUT, ROOT))
    host.run_expect([0], "git clone -q file:///srv/fixtures/sample.git " + CHECKOUT)
    host.run_expect([0], "printf 'APP_MESSAGE=%s\\nDB_PASSWORD=%s\\n' > %s/.env && chmod 600 %s/.env"
                    % (MESSAGE, SECRET, CHECKOUT, CHECKOUT))
    host.run_expect([0], "cd %s && docker compose up -d --build" % CHECKOUT)
    deadline = time.monotonic() + 60
    while answer(host, "/value").strip() != MESSAGE:
        assert time.monotonic() < deadline, "the hand-run api did not answer"
        time.sleep(0.5)
    host.run_expect([0], "cd %s && docker compose exec -T api sqlite3 /data/app.db "
                    "\"INSERT INTO schema_migrations VALUES ('999_handrun_data', datetime('now'));\"" % CHECKOUT)
    STATE["before"] = containers(host)
    assert set(STATE["before"]) == {"web", "api", "worker", "migrate"}


def test_a_dirty_checkout_is_refused_naming_the_file(host):
    host.run_expect([0], "echo hotfix > %s/hotfix.sh" % CHECKOUT)
    try:
        run = playbook("adopt", *ARGS)
    finally:
        host.run_expect([0], "rm -f %s/hotfix.sh" % CHECKOUT)
    assert run.rc != 0
    assert "has uncommitted changes (hotfix.sh)" in run.out
    assert not host.file(ROOT).exists


def test_check_mode_shows_the_plan_and_changes_nothing(host):
    run = playbook("adopt", "--check", *ARGS)
    assert run.rc == 0, run.out
    assert run.changed == 0, run.out
    out = " ".join(run.out.split())  # the callback may fold long lines
    assert "adopt %s as compose project %s (the directory's basename)" % (CHECKOUT, PROJECT) in out, out
    assert "volumes kept: %s_data" % PROJECT in out
    assert not host.file(ROOT).exists
    assert containers(host) == STATE["before"]


def test_adopt_keeps_the_volume_and_its_data_and_recreates_each_service_once(host):
    since = host.check_output("date +%s")
    run = playbook("adopt", *ARGS)
    assert run.rc == 0, run.out
    assert SECRET not in run.out
    commit = host.check_output("git -C %s rev-parse HEAD" % CHECKOUT)
    assert host.check_output("readlink -f %s/current" % ROOT) == "%s/releases/%s" % (ROOT, commit)
    # The data written by hand is served by berth's api, with the hand-run .env's value.
    assert "999_handrun_data" in answer(host, "/schema")
    assert answer(host, "/value").strip() == MESSAGE
    assert host.check_output("docker volume ls -q --filter label=com.docker.compose.project=%s" % PROJECT) == (
        PROJECT + "_data")
    env = host.file(ROOT + "/shared/.env")
    assert env.mode == 0o600 and env.user == "deploy"
    assert "DB_PASSWORD" in env.content_string
    # Each service: one container, made by this run, from the release directory; one create event each.
    after = containers(host)
    assert set(after) == set(STATE["before"])
    for service, (cid, _created) in after.items():
        assert cid != STATE["before"][service][0], service
        workdir = host.check_output("docker inspect --format '{{index .Config.Labels "
                                    "\"com.docker.compose.project.working_dir\"}}' " + cid)
        assert workdir.startswith(ROOT), (service, workdir)
    created = host.check_output(
        "docker events --since %s --until %d --filter type=container --filter event=create --filter "
        "label=com.docker.compose.project=%s --format '{{index .Actor.Attributes \"com.docker.compose.service\"}}'"
        % (since, int(host.check_output("date +%s")) + 1, PROJECT)).split()
    assert sorted(created) == sorted(after), created
    record = json.loads(host.file(ROOT + "/releases.jsonl").content_string.splitlines()[-1])
    assert (record["kind"], record["outcome"], record["serving_commit"]) == ("adopt", "ok", commit)
    assert sorted(record["services_recreated"]) == sorted(after)
    STATE["after"] = after


def test_a_second_adopt_refuses_and_changes_nothing(host):
    run = playbook("adopt", *ARGS)
    assert run.rc != 0
    assert "already has a release" in run.out
    assert containers(host) == STATE["after"]
    assert len(host.file(ROOT + "/releases.jsonl").content_string.splitlines()) == 1
