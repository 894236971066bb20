# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""berth_backup_copy: validation, the ssh/rsync argv, the remote prune, and Copier/Backups end to end with a
stand-in target (the remote shell commands run for real in ``sh`` against a local directory)."""

import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.berth.compose.plugins.module_utils import backup_copy as bc
from ansible_collections.berth.compose.plugins.module_utils import backups as bk
from ansible_collections.berth.compose.plugins.module_utils import host

KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
       "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
       "QyNTUxOQAAACBsecretsecretsecretsecretsecretsecretsecretAAAA\n"
       "-----END OPENSSH PRIVATE KEY-----\n")
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxYz0123456789abcdefghijklmnopqrstuvwxyzAB"
COPY = dict(host="backup.example.net", user="backup", path="/srv/backups", port=22, key=KEY, host_key=HOST_KEY)
DB = dict(name="db", service="db", command="pg_dump", restore_command="pg_restore", keep=2)
T0 = 1796601600.0


# --------------------------------------------------------------------------- settings


def test_a_valid_copy_passes_and_empty_is_off():
    assert bc.validate(COPY) == []
    assert bc.validate(dict(COPY, host="10.0.0.5", port=2222)) == []
    assert bc.validate(dict(COPY, host="fd00::5")) == []
    assert bc.validate({}) == [] and bc.validate(None) == []
    assert not bc.enabled({}) and bc.enabled(COPY)


@pytest.mark.parametrize("change, words", [
    (dict(host="bad host"), "berth_backup_copy.host must be a host name or an IP address"),
    (dict(host="-oProxyCommand=x"), "berth_backup_copy.host must be"),
    (dict(user="Root Admin"), "berth_backup_copy.user must be a plain user name"),
    (dict(user="-l"), "berth_backup_copy.user must be"),
    (dict(path="srv/backups"), "berth_backup_copy.path must be an absolute path"),
    (dict(path="/"), "berth_backup_copy.path must not be /"),
    (dict(path="/srv/../etc"), "berth_backup_copy.path must be normalised"),
    (dict(path="/srv//backups"), "berth_backup_copy.path must be normalised"),
    (dict(path="/srv/my backups"), "berth_backup_copy.path must have only letters"),
    (dict(port=0), "berth_backup_copy.port must be a port number 1-65535"),
    (dict(port=70000), "berth_backup_copy.port must be"),
    (dict(port=True), "berth_backup_copy.port must be"),
    (dict(key="not a key"), "berth_backup_copy.key must be an OpenSSH or PEM private key block"),
    (dict(host_key="ssh-ed25519"), "berth_backup_copy.host_key must be the target's public host key on one line"),
    (dict(host_key=HOST_KEY + "\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ"), "berth_backup_copy.host_key must be"),
    (dict(host=""), "berth_backup_copy needs berth_backup_copy.host"),
    (dict(colour="red"), "berth_backup_copy has unknown keys colour"),
])
def test_each_bad_value_is_refused_naming_the_key(change, words):
    problems = bc.validate(dict(COPY, **change))
    assert any(words in p for p in problems), problems


def test_the_key_is_never_quoted_in_a_problem():
    leaked = "-----BEGIN OPENSSH PRIVATE KEY-----\nsupersecretmaterial\n"
    problems = bc.validate(dict(COPY, key=leaked))
    assert problems and not any("supersecret" in p for p in problems), problems


def test_a_non_mapping_and_missing_keys_are_refused():
    assert "berth_backup_copy must be a mapping" in bc.validate("backup.example.net")[0]
    problems = bc.validate(dict(host="h"))
    assert any("berth_backup_copy.user" in p and "berth_backup_copy.key" in p for p in problems), problems


def test_without_secrets_the_key_and_host_key_may_be_left_out():
    bare = dict(host="h", user="backup", path="/srv/backups", port=22)
    assert bc.validate(bare, secrets=False) == []
    assert bc.validate(bare) != []


# --------------------------------------------------------------------------- argv


def test_known_hosts_line_uses_the_bare_name_on_22_and_brackets_otherwise():
    assert bc.known_hosts_line(COPY) == "backup.example.net " + HOST_KEY + "\n"
    assert bc.known_hosts_line(dict(COPY, port=2222)) == "[backup.example.net]:2222 " + HOST_KEY + "\n"


def test_ssh_and_rsync_pin_the_host_key_and_use_only_the_key_file():
    t = bc.target(dict(COPY, port=2222))
    assert "key" not in t
    ssh = bc.ssh_argv(t, "/etc/berth/s/backup-copy/id_key", "/etc/berth/s/backup-copy/known_hosts", "true")
    for option in ("StrictHostKeyChecking=yes", "BatchMode=yes", "IdentitiesOnly=yes", "ConnectTimeout=10",
                   "UserKnownHostsFile=/etc/berth/s/backup-copy/known_hosts"):
        assert option in ssh
    assert ssh[ssh.index("-p") + 1] == "2222" and ssh[ssh.index("-i") + 1] == "/etc/berth/s/backup-copy/id_key"
    assert ssh[-2:] == ["backup@backup.example.net", "true"]
    rsync = bc.rsync_argv(t, "/k", "/kh", ["/a/x.dump", "/a/x.dump.sha256"], "/srv/backups/sample/db")
    assert rsync[0] == "rsync" and "--delete" not in " ".join(rsync)
    assert rsync[-3:] == ["/a/x.dump", "/a/x.dump.sha256", "backup@backup.example.net:/srv/backups/sample/db/"]
    shell = rsync[rsync.index("-e") + 1]
    assert "StrictHostKeyChecking=yes" in shell and "-p 2222" in shell
    assert KEY not in " ".join(ssh + rsync)


def test_an_ipv6_target_is_bracketed_for_rsync():
    t = bc.target(dict(COPY, host="fd00::5"))
    assert bc.rsync_argv(t, "/k", "/kh", ["/a"], "/d")[-1] == "backup@[fd00::5]:/d/"


def test_the_remote_prune_uses_keep_and_only_dump_names():
    listing = "\n".join(["20261201T000000Z.dump", "20261201T000000Z.dump.sha256", "20261202T000000Z.dump",
                         "20261203T000000Z.dump", "notes.txt", ".20261204T000000Z.dump.partial",
                         "20261204T000000Z.dump"])
    assert bc.remote_prune(listing, "dump", 2) == ["20261201T000000Z.dump", "20261202T000000Z.dump"]
    assert bc.remote_prune(listing, "dump", 7) == []
    assert bc.remote_prune("", "dump", 1) == []
    command = bc.prune_command("/srv/b/sample/db", ["20261201T000000Z.dump"], "dump")
    assert command == "cd -- /srv/b/sample/db && rm -f -- 20261201T000000Z.dump 20261201T000000Z.dump.sha256"
    with pytest.raises(bk.BackupError, match="not dumps"):
        bc.prune_command("/srv/b", ["../../etc/passwd"], "dump")


# --------------------------------------------------------------------------- running against a stand-in target


class Target:
    """Runs what Copier runs: an ssh command's remote part in a real ``sh`` inside ``remote`` (paths mapped
    under it), an rsync as a file copy; ``fail`` makes every call fail as ssh does."""

    def __init__(self, remote, fail=None):
        self.remote, self.fail, self.calls = str(remote), fail, []

    def __call__(self, argv, timeout=None, check=True):
        self.calls.append(argv)
        if self.fail:
            raise host.CommandError("%s failed (exit 255): %s" % (argv[0], self.fail), output=self.fail, argv=argv,
                                    rc=255)
        if argv[0] == "ssh":
            command = argv[-1].replace("-- /", "-- " + self.remote + "/")
            done = subprocess.run(["sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  check=False)
            if done.returncode:
                raise host.CommandError("ssh failed", output=done.stdout, argv=argv, rc=done.returncode)
            return host.Result(0, done.stdout, argv, "")
        assert argv[0] == "rsync"
        directory = self.remote + argv[-1].split(":", 1)[1]
        assert os.path.isdir(directory), "rsync into a directory that was not made"
        for path in argv[argv.index("--") + 1:-1]:
            shutil.copy2(path, directory)
        return host.Result(0, "", argv, "")


class Runner:
    def __call__(self, argv, stdout, stderr, env, timeout, check):
        stdout.write(b"PGDMP dump bytes")
        return subprocess.CompletedProcess(argv, 0, None, b"")


class Project:
    def argv(self, *args):
        return ["docker", "compose"] + list(args)

    def process_env(self):
        return {}


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


def make(tmp_path, target, copy=None):
    copy = copy or COPY
    root = tmp_path / "app"
    (root / "backups").mkdir(parents=True)
    files = tmp_path / "etc"
    files.mkdir()
    (files / "id_key").write_text("key")
    (files / "known_hosts").write_text(bc.known_hosts_line(copy))
    copier = bc.Copier(bc.target(copy), str(files / "id_key"), str(files / "known_hosts"), run=target)
    clock = Clock()
    backups = bk.Backups(dict(root=str(root), project="sample", compose_files=["compose.yaml"], env_file="/dev/null",
                              app="sample", metrics_dir=str(tmp_path / "metrics")),
                         clock=clock, runner=Runner(), copier=copier)
    return backups, root, clock


def test_each_dump_is_copied_with_its_sha256_and_the_copies_pruned_to_keep(tmp_path):
    remote = tmp_path / "remote"
    remote.mkdir()
    target = Target(remote)
    backups, root, clock = make(tmp_path, target)
    spec = bk.normalise(DB)
    results = []
    for step in range(3):
        clock.now = T0 + 60 * step
        results.append(backups.dump(spec, project=Project()))
    there = remote / "srv" / "backups" / "sample" / "db"
    # A file of someone else's in the remote directory is never touched.
    (there / "README").write_text("mine")
    clock.now = T0 + 180
    last = backups.dump(spec, project=Project())
    assert last["off_host"]["result"] == "ok", last
    names = sorted(os.listdir(there))
    local = sorted(n for n in os.listdir(root / "backups" / "db") if not n.startswith("."))
    assert names == sorted(local + ["README"]), (names, local)
    assert len([n for n in names if n.endswith(".dump")]) == 2
    newest = os.path.basename(last["file"])
    assert (there / newest).read_bytes() == b"PGDMP dump bytes"
    assert bk.parse_sha((there / (newest + ".sha256")).read_text()) == last["sha256"]
    assert last["off_host"]["remote"] == "backup@backup.example.net:/srv/backups/sample/db"
    assert results[2]["off_host"]["pruned"] == [os.path.basename(results[0]["file"])]
    state = bk.read_state(str(root / "backups" / "db"))
    assert state["copy_last_result"] == "ok" and state["copy_last_success"] == int(T0 + 180)
    assert not any("--delete" in a for call in target.calls for a in call)


def test_a_failed_copy_keeps_the_local_dump_records_it_and_names_file_and_target(tmp_path):
    target = Target(tmp_path / "remote", fail="Host key verification failed.")
    backups, root, clock = make(tmp_path, target)
    done = backups.dump(bk.normalise(DB), project=Project())
    assert os.path.isfile(done["file"]) and os.path.isfile(done["file"] + ".sha256")
    copy = done["off_host"]
    assert copy["result"] == "failed"
    assert copy["error"].startswith("backup db: the dump is stored locally at %s; the copy to "
                                    "backup@backup.example.net:/srv/backups failed: " % done["file"]), copy
    assert "Host key verification failed." in copy["error"] and KEY not in copy["error"]
    state = bk.read_state(str(root / "backups" / "db"))
    assert state["last_result"] == "ok" and state["copy_last_result"] == "failed"
    assert "Host key verification failed." in state["copy_last_error"] and not state.get("copy_last_success")
    metrics = open(backups.write_metrics([DB])).read()
    assert 'berth_backup_copy_last_result{app="sample",backup="db",result="failed"} 1' in metrics
    assert 'berth_backup_copy_last_success_timestamp_seconds{app="sample",backup="db"} 0' in metrics
    assert 'berth_backup_last_result{app="sample",backup="db",result="ok"} 1' in metrics
    reports = backups.copies([DB])
    assert len(reports) == 1 and not reports[0]["ok"] and "FAILED" in reports[0]["msg"], reports


def test_a_missing_key_file_fails_the_copy_before_any_ssh(tmp_path):
    target = Target(tmp_path / "remote")
    backups, root, clock = make(tmp_path, target)
    os.unlink(str(tmp_path / "etc" / "id_key"))
    done = backups.dump(bk.normalise(DB), project=Project())
    assert done["off_host"]["result"] == "failed" and "provision.yml" in done["off_host"]["error"]
    assert target.calls == []


def test_without_copy_the_metrics_have_no_copy_lines():
    text = bk.render_metrics("sample", {"db": {"last_result": "ok"}})
    assert "berth_backup_copy" not in text
    text = bk.render_metrics("sample", {"db": {"last_result": "ok", "copy_last_result": "ok",
                                               "copy_last_success": 5}}, copy=True)
    assert 'berth_backup_copy_last_result{app="sample",backup="db",result="ok"} 1' in text
    assert 'berth_backup_copy_last_success_timestamp_seconds{app="sample",backup="db"} 5' in text


def test_next_copy_state_keeps_the_last_success_on_failure():
    ok = bk.next_copy_state({}, 100, "ok", remote="r")
    failed = bk.next_copy_state(ok, 200, "failed", remote="r", error="boom")
    assert failed["copy_last_success"] == 100 and failed["copy_last_error"] == "boom"
    assert json.dumps(failed)
    assert bk.copy_report("db", {}) is None
