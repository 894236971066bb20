"""Issue 20: the CI's identity, job URL and -e note in the release log (20.2); slack-format and test
notifications (20.6); logs.yml (20.5). On the first VM, after the earlier cases."""
import json
import re
import time

from conftest import HOSTS, commit_of, current_commit, hooks, records, run_playbook

SLACK = json.dumps({"berth_environment": "staging", "berth_notify": [
    {"name": "chat", "url": "http://127.0.0.1:8099/hook/token-5ec7e7", "format": "slack", "timeout": 5}]})
GITHUB = {"BERTH_OPERATOR": "", "GITHUB_ACTOR": "octocat", "GITHUB_SERVER_URL": "https://github.com",
          "GITHUB_REPOSITORY": "acme/sample", "GITHUB_RUN_ID": "4242", "GITLAB_USER_LOGIN": "", "CI_JOB_URL": ""}
GITLAB = {"BERTH_OPERATOR": "release-bot", "GITHUB_ACTOR": "", "GITHUB_SERVER_URL": "", "GITHUB_REPOSITORY": "",
          "GITHUB_RUN_ID": "", "GITLAB_USER_LOGIN": "gl-ops", "CI_JOB_URL": "https://gitlab.example.com/acme/sample/-/jobs/7"}


def test_a_ci_deploy_records_the_ci_actor_its_job_and_note_and_slack_reads_one_line(vms):
    host = vms[HOSTS[0]]
    ran = run_playbook("deploy", "-l", HOSTS[0], "-e", "ref=api-only", "-e", "note='INC-42 api fix'", "-e", SLACK,
                       env=GITHUB)
    assert ran.rc == 0, ran.out
    last = records(host)[-1]
    assert (last["kind"], last["outcome"], last["to_commit"]) == ("deploy", "ok", commit_of(host, "api-only"))
    assert (last["operator"], last["note"]) == ("octocat", "INC-42 api fix")
    assert last["job_url"] == "https://github.com/acme/sample/actions/runs/4242"
    assert "note:       INC-42 api fix" in ran.out
    told = hooks(host)[-1]
    assert list(told) == ["text"], told
    sha = commit_of(host, "api-only")[:7]
    assert told["text"].startswith("sample (staging, %s): deploy.ok of api-only @ %s - services " % (HOSTS[0], sha))
    assert "api" in told["text"] and "outcome ok - by octocat - note: INC-42 api fix" in told["text"]
    assert told["text"].endswith(" - <https://github.com/acme/sample/actions/runs/4242|job>")


def test_a_rollback_carries_its_trigger_and_berth_operator_wins(vms):
    host = vms[HOSTS[0]]
    ran = run_playbook("rollback", "-l", HOSTS[0], "-e", "ref=previous", "-e", "note='api-only broke checkout'", env=GITLAB)
    assert ran.rc == 0, ran.out
    last = records(host)[-1]
    assert (last["kind"], last["outcome"], last["serving_commit"]) == ("rollback", "ok", commit_of(host, "web-only"))
    assert current_commit(host) == commit_of(host, "web-only")
    assert (last["operator"], last["note"]) == ("release-bot", "api-only broke checkout")
    assert last["job_url"] == "https://gitlab.example.com/acme/sample/-/jobs/7"
    # The generic webhook (the inventory's) carries them too.
    told = hooks(host)[-1]
    assert (told["event"], told["note"], told["operator"]) == ("rollback.ok", "api-only broke checkout", "release-bot")
    shown = run_playbook("releases", "-l", HOSTS[0], "-e", "format=json", "-e", "limit=1")
    # The play prints results as YAML (callback_result_format).
    assert shown.rc == 0 and "note: api-only broke checkout" in shown.out and "jobs/7" in shown.out, shown.out


def test_a_note_of_two_lines_is_refused_naming_note_before_anything(vms):
    host = vms[HOSTS[0]]
    count = len(records(host))
    ran = run_playbook("deploy", "-l", HOSTS[0], "-e", "ref=api-only", "-e", '{"note": "one\\ntwo"}')
    assert ran.rc != 0 and "note must be one line" in ran.out
    assert len(records(host)) == count and current_commit(host) == commit_of(host, "web-only")


def test_the_test_event_reaches_every_webhook_in_its_format(vms):
    host = vms[HOSTS[0]]
    before = len(hooks(host))
    both = json.dumps({"berth_environment": "staging", "berth_notify": [
        {"name": "chat", "url": "http://127.0.0.1:8099/hook/token-5ec7e7", "format": "slack", "events": ["*.failed"]},
        {"name": "plain", "url": "http://127.0.0.1:8099/hook/token-5ec7e7", "events": ["deploy.ok"]}]})
    ran = run_playbook("notify", "-l", HOSTS[0], "-e", "event=test", "-e", both)
    assert ran.rc == 0, ran.out
    got = hooks(host)[before:]
    assert len(got) == 2, got
    assert got[0] == {"text": "sample (staging, %s): test - test message from berth.compose: this webhook is reachable"
                      % HOSTS[0]}
    assert got[1]["event"] == "test" and got[1]["schema"] == "berth.compose.notify/1"
    # A dead webhook fails the test, naming it.
    dead = json.dumps({"berth_notify": [{"name": "dead", "url": "http://127.0.0.1:9/hook/token-5ec7e7", "timeout": 2}]})
    ran = run_playbook("notify", "-l", HOSTS[0], "-e", "event=test", "-e", dead)
    assert ran.rc != 0 and "did not get the test message: dead" in ran.out
    assert run_playbook("notify", "-l", HOSTS[0], "-e", "event=deploy").rc != 0


def web_container(host):
    return host.check_output("docker ps -q --filter label=com.docker.compose.project=sample "
                             "--filter label=com.docker.compose.service=web --filter label=com.docker.compose.oneoff=False")


def test_logs_prints_a_service_of_the_current_release_with_lines_and_since(vms):
    host = vms[HOSTS[0]]
    web = web_container(host)
    # Docker's init is PID 1 of the container: what it prints goes to the container's log.
    host.check_output("docker exec %s sh -c 'echo berth-marker-one > /proc/1/fd/1'" % web)
    time.sleep(2)
    since = str(int(time.time()) - 1)
    host.check_output("docker exec %s sh -c 'echo berth-marker-two > /proc/1/fd/1'" % web)
    ran = run_playbook("logs", "-l", HOSTS[0], "-e", "service=web", "-e", "lines=100", "-e", "since=10m")
    assert ran.rc == 0, ran.out
    assert "web at %s (" % current_commit(host)[:12] in ran.out
    assert "berth-marker-one" in ran.out and "berth-marker-two" in ran.out
    ran = run_playbook("logs", "-l", HOSTS[0], "-e", "service=web", "-e", "since=" + since, "--check")
    assert ran.rc == 0 and "berth-marker-two" in ran.out and "berth-marker-one" not in ran.out, ran.out
    ran = run_playbook("logs", "-l", HOSTS[0], "-e", "service=web", "-e", "lines=1")
    assert ran.rc == 0 and "berth-marker-two" in ran.out and "berth-marker-one" not in ran.out, ran.out
    assert "1 line(s)" in ran.out


def test_logs_of_caddy_is_its_journal_and_bad_input_is_refused_naming_it(vms):
    host = vms[HOSTS[0]]
    ran = run_playbook("logs", "-l", HOSTS[0], "-e", "service=caddy", "-e", "lines=5")
    assert ran.rc == 0, ran.out
    shown = re.search(r"caddy journal: (\d+) line\(s\)", ran.out)
    assert shown and 0 < int(shown.group(1)) <= 5, ran.out
    # The journal's own last line of caddy.service is among them (Caddy writes no access log here).
    last = host.check_output("journalctl --unit caddy --lines 1 --no-pager --quiet --output short-iso")
    # Compared by its time, host and process (the message is JSON, quoted again in the play's output).
    assert last and last.split(": ", 1)[0] in ran.out, (last, ran.out)
    ran = run_playbook("logs", "-l", HOSTS[0], "-e", "service=web", "-e", "since=yesterday")
    assert ran.rc != 0 and "since 'yesterday'" in ran.out
    ran = run_playbook("logs", "-l", HOSTS[0], "-e", "service=nosuch")
    assert ran.rc != 0 and "service nosuch is not in the current release" in ran.out
    ran = run_playbook("logs", "-l", HOSTS[0], "-e", "service=web", "-e", "lines=many")
    assert ran.rc != 0 and "lines must be a whole number" in ran.out
