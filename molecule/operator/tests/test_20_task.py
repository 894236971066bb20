"""task.yml: a one-off command with the current release's image and env file, attached and detached."""
import re

from conftest import HOSTS, ROOT, container_ids, current_commit, hooks, records, run_playbook


def test_an_attached_task_runs_in_the_current_release_with_its_env_file_and_is_recorded(vms):
    before = {name: container_ids(host) for name, host in vms.items()}
    ran = run_playbook("task", "-e", "service=api", "-e", "cmd='echo task says: $APP_MESSAGE; ls /www'")
    assert ran.rc == 0, ran.out
    assert "task says: hello from the vault" in ran.out
    for name, host in vms.items():
        last = records(host)[-1]
        assert (last["kind"], last["outcome"], last["to_commit"]) == ("task", "ok", current_commit(host))
        assert last.get("serving_commit") is None and "echo task says" in last["message"]
        assert container_ids(host) == before[name], "a task leaves the services alone"
        # --rm: nothing is left behind.
        assert host.check_output("docker ps -aq --filter label=berth.compose.task=api") == ""
        assert [p["event"] for p in hooks(host)][-1] == "task.ok"


def test_a_failing_task_fails_the_play_and_is_recorded_as_failed(vms):
    ran = run_playbook("task", "-l", HOSTS[0], "-e", "service=worker", "-e", "cmd='echo going down; exit 3'")
    assert ran.rc != 0 and "going down" in ran.out and "exited 3" in ran.out
    assert records(vms[HOSTS[0]])[-1]["outcome"] == "failed"


def test_a_service_the_release_lacks_or_a_split_command_is_refused_before_anything(vms):
    host = vms[HOSTS[0]]
    count = len(records(host))
    ran = run_playbook("task", "-l", HOSTS[0], "-e", "service=nosuch", "-e", "cmd=true")
    assert ran.rc != 0 and "service nosuch is not in the current release; its services:" in ran.out
    # The shell's quotes alone: Ansible would split the command at its first space.
    ran = run_playbook("task", "-l", HOSTS[0], "-e", "service=api", "-e", "cmd=echo two words")
    assert ran.rc != 0 and "cmd was cut at a space" in ran.out
    assert len(records(host)) == count
    assert host.run("test -e %s/.berth/deploy.lock" % ROOT).rc != 0, "the lock was given back"


def test_a_detached_task_runs_outside_the_services_says_how_to_follow_it_and_a_dead_webhook_only_warns(vms):
    host = vms[HOSTS[0]]
    told = len(hooks(host))
    dead = '{"berth_notify": [{"name": "dead", "url": "http://127.0.0.1:9/hook/token-5ec7e7", "timeout": 2}]}'
    ran = run_playbook("task", "-l", HOSTS[0], "-e", "service=worker", "-e", "detach=true", "-e", dead,
                       "-e", "cmd='echo backfill started; sleep 2; echo backfill done'")
    assert ran.rc == 0, ran.out
    assert "started detached as sample-task-worker-" in ran.out and "docker logs -f sample-task-worker-" in ran.out
    assert "docker wait sample-task-worker-" in ran.out
    # Nobody listens on the dead webhook's port: three attempts, one warning, the run passes.
    assert "dead was not told of task.ok after 3 attempt(s)" in ran.out
    assert len(hooks(host)) == told
    name = re.search(r"started detached as (sample-task-worker-[0-9TZ]+-[0-9a-f]+)", ran.out).group(1)
    listed = host.check_output("docker ps -a --filter label=berth.compose.task=worker --format '{{.Names}}'")
    assert name in listed.split()
    # docker wait: the operator's way to wait for the end; it prints the exit code.
    assert host.run("timeout 60 docker wait %s" % name).stdout.strip() == "0"
    assert "backfill done" in host.check_output("docker logs %s 2>&1" % name)
    assert records(host)[-1]["kind"] == "task" and name in records(host)[-1]["message"]
    host.check_output("docker rm %s" % name)
