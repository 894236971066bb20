"""Database backups and restores against the scenario's VM (sample app with compose.db.yaml).

The tests run in file order on the same VM: converge deployed data-2 over main (a new migration)."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
import recap  # noqa: E402  (molecule/shared: ansible-playbook with its recap as data)

ROOT = "/opt/sample"
DUMPS = ROOT + "/backups/db"
PLAYBOOKS = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "playbooks")
FIGURES = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "tests", "output", "data-restore.txt")
METRICS = "/var/lib/berth-metrics/berth_backup_sample.prom"
ROWS = 500
# berth_backup_copy's target (molecule.yml): a second container, outside berth_vms.
TARGET = "berth-data-target"
REMOTE = "/srv/berth-backups/sample/db"
COPY_FILES = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "."), "backup-copy")
KNOWN_HOSTS = "/etc/berth/sample/backup-copy/known_hosts"
# The tests run against the app's VM only; the target is reached with docker exec.
testinfra_hosts = ["berth-data"]


class Run:
    def __init__(self, proc, data, seconds):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.seconds = seconds
        self.changed = recap.changed(data)


def playbook(name, *extra_args):
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", "berth_vms",
            os.path.join(PLAYBOOKS, name + ".yml")]
    started = time.monotonic()
    proc, data = recap.run_playbook(argv + list(extra_args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, timeout=600,
                                    env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1"))
    return Run(proc, data, time.monotonic() - started)


def psql(host, sql):
    return host.check_output("docker exec sample-db-1 psql -qXtA -d app -c %s" % json.dumps(sql)).strip()


def dumps(host):
    return sorted(n for n in host.check_output("ls -A %s" % DUMPS).split() if n.endswith(".dump"))


def records(host):
    return [json.loads(line) for line in host.file(ROOT + "/releases.jsonl").content_string.splitlines() if line]


def health(host, container):
    return host.check_output("docker inspect -f '{{.State.Health.Status}}' %s" % container).strip()


def wait_healthy(host, container, seconds=60):
    deadline = time.monotonic() + seconds
    while health(host, container) != "healthy":
        assert time.monotonic() < deadline, container + " did not turn healthy"
        time.sleep(1)


def figure(line):
    os.makedirs(os.path.dirname(FIGURES), exist_ok=True)
    with open(FIGURES, "a") as handle:
        handle.write(line + "\n")


def test_the_deploy_dumped_the_database_before_its_migration_and_recorded_the_file(host):
    deploys = [r for r in records(host) if r["kind"] == "deploy" and r["ref"] == "data-2"]
    assert deploys and deploys[0]["outcome"] == "ok", deploys
    record = deploys[0]
    assert record["migrations"] == ["dbmigrate"], record
    assert len(record["backups"]) == 1 and record["backups"][0].startswith(DUMPS + "/"), record
    assert host.file(record["backups"][0]).exists
    assert host.run("cd %s && sha256sum -c %s.sha256" % (DUMPS, os.path.basename(record["backups"][0]))).rc == 0
    # berth_backup_copy: the dump before the migration went off the host too, once the deploy was done.
    name = os.path.basename(record["backups"][0])
    assert on_target("cd %s && sha256sum -c %s.sha256" % (REMOTE, name)).returncode == 0
    # The migration ran after the dump: the tags table is there now.
    assert psql(host, "SELECT version FROM schema_migrations ORDER BY version") == "001_create_notes\n002_add_tags"
    # The deploys that ran no migration dumped nothing (provision's first and the idempotence run).
    assert all(not r.get("backups") for r in records(host) if r["kind"] == "deploy" and r is not record
               and r["migrations"] != ["dbmigrate"])


def test_one_timer_per_backup_and_no_shared_tar_by_default(host):
    assert host.service("sample-backup-db.timer").is_enabled
    assert "OnCalendar=daily" in host.file("/etc/systemd/system/sample-backup-db.timer").content_string
    assert not host.file("/etc/systemd/system/sample-backup.timer").exists


def test_backup_then_restore_brings_the_rows_back_with_the_writer_gated(host):
    psql(host, "INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, %d) g" % ROWS)
    assert psql(host, "SELECT count(*) FROM notes") == str(ROWS)
    before = dumps(host)
    backup = playbook("backup", "-e", "name=db")
    assert backup.rc == 0, backup.out
    new = [n for n in dumps(host) if n not in before]
    assert len(new) == 1, (before, dumps(host))
    path = DUMPS + "/" + new[0]
    dump = host.file(path)
    assert dump.mode == 0o600 and dump.user == "deploy", (oct(dump.mode), dump.user)
    assert host.file(path + ".sha256").user == "deploy"
    assert host.run("cd %s && sha256sum -c %s.sha256" % (DUMPS, new[0])).rc == 0
    size = dump.size
    metrics = host.file(METRICS).content_string
    assert 'berth_backup_last_result{app="sample",backup="db",result="ok"} 1' in metrics
    assert 'berth_backup_last_size_bytes{app="sample",backup="db"} %d' % size in metrics

    psql(host, "DELETE FROM notes")
    assert psql(host, "SELECT count(*) FROM notes") == "0"
    logged = len(records(host))

    check = playbook("restore", "-e", "name=db", "--check")
    assert check.rc == 0, check.out
    assert "stop:      ledger" in check.out and "check mode: nothing changes" in check.out, check.out
    assert check.changed == 0
    assert psql(host, "SELECT count(*) FROM notes") == "0" and len(records(host)) == logged
    assert health(host, "sample-ledger-1") == "healthy"

    restore = playbook("restore", "-e", "name=db", "-e", "backup=" + new[0])
    assert restore.rc == 0, restore.out
    assert psql(host, "SELECT count(*) FROM notes") == str(ROWS)
    record = records(host)[-1]
    assert record["kind"] == "restore" and record["outcome"] == "ok" and record["gate"]["passed"], record
    assert new[0] in record["message"] and "ledger" in record["message"], record
    wait_healthy(host, "sample-ledger-1")
    assert host.run("curl -fsS http://127.0.0.1:8081/health").rc == 0
    figure("restore round trip: %d rows; dump %d bytes; backup.yml %.1f s; restore.yml %.1f s (in the module %.1f s: "
           "stop ledger, pg_restore, start, gate)" % (ROWS, size, backup.seconds, restore.seconds,
                                                      record["duration_s"]))


def test_restore_refuses_a_dump_whose_sha256_does_not_match(host):
    newest = dumps(host)[-1]
    bad = "20200101T000000Z.dump"
    host.check_output("cd %s && cp -p %s %s && cp -p %s.sha256 %s.sha256 && printf x >> %s"
                      % (DUMPS, newest, bad, newest, bad, bad))
    logged = len(records(host))
    psql(host, "DELETE FROM notes WHERE id % 2 = 0")
    rows = psql(host, "SELECT count(*) FROM notes")
    try:
        refused = playbook("restore", "-e", "name=db", "-e", "backup=" + bad)
        assert refused.rc != 0
        assert "does not match its sha256" in refused.out and "nothing changed" in refused.out, refused.out
        assert psql(host, "SELECT count(*) FROM notes") == rows and len(records(host)) == logged
        assert health(host, "sample-ledger-1") == "healthy"
    finally:
        host.check_output("rm -f %s/%s %s/%s.sha256" % (DUMPS, bad, DUMPS, bad))


def test_a_failed_dump_keeps_the_previous_good_one(host):
    before = dumps(host)
    contents = host.check_output("cd %s && sha256sum %s" % (DUMPS, " ".join(before)))
    broken = json.dumps({"berth_backups": [{"name": "db", "service": "db", "command": "pg_dump -Fc -d no_such_db",
                                            "restore_command": "pg_restore -d app"}]})
    failed = playbook("backup", "-e", broken)
    assert failed.rc != 0
    assert "backup db failed, nothing stored" in failed.out and "no_such_db" in failed.out, failed.out
    assert dumps(host) == before
    assert host.check_output("cd %s && sha256sum %s" % (DUMPS, " ".join(before))) == contents
    assert not [n for n in host.check_output("ls -A %s" % DUMPS).split() if n.endswith(".partial")]
    metrics = host.file(METRICS).content_string
    assert 'berth_backup_last_result{app="sample",backup="db",result="failed"} 1' in metrics


def test_retention_keeps_keep_dumps_and_the_failed_one_never_counted(host):
    two = json.dumps({"berth_backups": [{"name": "db", "service": "db", "command": "pg_dump -Fc -d app",
                                         "restore_command": "pg_restore -d app", "keep": 2}]})
    assert len(dumps(host)) >= 2
    for attempt in range(2):
        run = playbook("backup", "-e", two)
        assert run.rc == 0, (attempt, run.out)
    kept = dumps(host)
    assert len(kept) == 2, kept
    assert all(host.file("%s/%s.sha256" % (DUMPS, n)).exists for n in kept)
    assert len([n for n in host.check_output("ls -A %s" % DUMPS).split() if n.endswith(".sha256")]) == 2


def on_target(command):
    return subprocess.run(["docker", "exec", TARGET, "sh", "-c", command], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60, check=False)


def remote_dumps():
    listing = on_target("ls -A %s" % REMOTE)
    assert listing.returncode == 0, listing.stdout
    return sorted(n for n in listing.stdout.split() if n.endswith(".dump"))


def test_provision_installed_the_copy_key_root_only_and_pinned_the_host_key(host):
    key = host.file("/etc/berth/sample/backup-copy/id_key")
    assert key.user == "root" and key.mode == 0o600
    assert host.file("/etc/berth/sample/backup-copy").mode == 0o700
    with open(os.path.join(COPY_FILES, "host_key")) as handle:
        pinned = handle.read().strip()
    with open(os.path.join(COPY_FILES, "host")) as handle:
        address = handle.read().strip()
    assert host.file(KNOWN_HOSTS).content_string == "%s %s\n" % (address, pinned)
    assert host.package("rsync").is_installed and host.package("openssh-client").is_installed


def test_a_backup_is_copied_with_its_sha256_to_the_target_and_the_copies_kept_to_keep(host):
    # Someone else's file in the target directory: the prune never touches it.
    assert on_target("mkdir -p %s && echo mine > %s/README" % (REMOTE, REMOTE)).returncode == 0
    before = dumps(host)
    backup = playbook("backup", "-e", "name=db")
    assert backup.rc == 0, backup.out
    new = [n for n in dumps(host) if n not in before]
    assert len(new) == 1, (before, dumps(host))
    assert "copied to copy@" in backup.out, backup.out
    assert new[0] in remote_dumps()
    assert on_target("cd %s && sha256sum -c %s.sha256" % (REMOTE, new[0])).returncode == 0
    local = host.check_output("sha256sum %s/%s" % (DUMPS, new[0])).split()[0]
    assert on_target("sha256sum %s/%s" % (REMOTE, new[0])).stdout.split()[0] == local
    metrics = host.file(METRICS).content_string
    assert 'berth_backup_copy_last_result{app="sample",backup="db",result="ok"} 1' in metrics
    # keep 2, and more runs than that: the target keeps exactly the two newest, as the VM does.
    two = json.dumps({"berth_backups": [{"name": "db", "service": "db", "command": "pg_dump -Fc -d app",
                                         "restore_command": "pg_restore -d app", "keep": 2}]})
    for attempt in range(2):
        run = playbook("backup", "-e", two)
        assert run.rc == 0, (attempt, run.out)
    assert remote_dumps() == dumps(host) and len(dumps(host)) == 2, (remote_dumps(), dumps(host))
    assert on_target("ls -A %s" % REMOTE).stdout.split().count("README") == 1
    assert len([n for n in on_target("ls -A %s" % REMOTE).stdout.split() if n.endswith(".sha256")]) == 2


def test_a_copy_to_a_host_with_another_host_key_fails_keeps_the_dump_and_is_reported(host):
    pinned = host.file(KNOWN_HOSTS).content_string
    address = pinned.split()[0]
    # A host key that is not the target's: ssh must refuse to talk to it.
    other = os.path.join(COPY_FILES, "other_host_key")
    if not os.path.exists(other):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other], check=True)
    with open(other + ".pub") as handle:
        wrong = " ".join(handle.read().split()[:2])
    with open(os.path.join(COPY_FILES, "id_ed25519")) as handle:
        secret = handle.read().strip().splitlines()[1]
    host.check_output("printf '%%s\\n' '%s %s' > %s" % (address, wrong, KNOWN_HOSTS))
    try:
        before, there = dumps(host), remote_dumps()
        failed = playbook("backup", "-e", "name=db")
        assert failed.rc != 0, failed.out
        new = [n for n in dumps(host) if n not in before]
        assert len(new) == 1, (before, dumps(host))
        assert ("backup db: the dump is stored locally at %s/%s; the copy to copy@%s:/srv/berth-backups failed"
                % (DUMPS, new[0], address)) in failed.out, failed.out
        assert "Host key verification failed" in failed.out or "REMOTE HOST IDENTIFICATION" in failed.out, failed.out
        assert "Tell the webhooks the backup failed" in failed.out, failed.out
        assert secret not in failed.out
        assert host.run("cd %s && sha256sum -c %s.sha256" % (DUMPS, new[0])).rc == 0
        assert remote_dumps() == there
        metrics = host.file(METRICS).content_string
        assert 'berth_backup_copy_last_result{app="sample",backup="db",result="failed"} 1' in metrics
        assert 'berth_backup_last_result{app="sample",backup="db",result="ok"} 1' in metrics
        verify = playbook("verify")
        assert verify.rc != 0, verify.out
        assert "backup db: the last copy to copy@%s:/srv/berth-backups FAILED" % address in verify.out, verify.out
    finally:
        host.check_output("printf '%%s' '%s' > %s" % (pinned, KNOWN_HOSTS))
    again = playbook("backup", "-e", "name=db")
    assert again.rc == 0, again.out
    assert dumps(host)[-1] in remote_dumps()


def test_the_timer_unit_dumps_and_a_failed_one_is_reported_by_verify_and_reconcile(host):
    before = dumps(host)
    time.sleep(1)
    host.check_output("systemctl start sample-backup-db.service")
    after = dumps(host)
    assert len(after) == len(before) + 1 and after[-1] not in before, (before, after)  # the VM's inventory: keep 7
    host.check_output("docker stop sample-db-1")
    try:
        assert host.run("systemctl start sample-backup-db.service").rc != 0
        assert host.run("systemctl is-failed --quiet sample-backup-db.service").rc == 0
        assert dumps(host) == after
        reconciled = playbook("reconcile")
        assert reconciled.rc == 0, reconciled.out
        assert "backup db FAILED" in reconciled.out, reconciled.out
    finally:
        host.run("docker start sample-db-1")
    wait_healthy(host, "sample-db-1")


def test_verify_reports_each_backups_age_and_fails_past_the_max_age(host):
    verify = playbook("verify")
    assert verify.rc == 0, verify.out
    assert "backup db: newest" in verify.out and "(within 26.0 h)" in verify.out, verify.out
    time.sleep(2)
    old = playbook("verify", "-e", "berth_backup_max_age=1")
    assert old.rc != 0
    assert "OLDER THAN 1 s" in old.out, old.out
