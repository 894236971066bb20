# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""berth.compose.backup action=copy (the dumps a deploy made before its migrations): refuses what is not a dump,
and a failed copy fails the module naming the local file and the target, the dump staying."""
import json
import os

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.berth.compose.plugins.module_utils import backups as bk
from ansible_collections.berth.compose.plugins.modules import backup as module

DB = dict(name="db", service="db", command="pg_dump", restore_command="pg_restore")
COPY = dict(host="10.0.0.9", user="copy", path="/srv/berth-backups", port=22)


def run(capsys, tmp_path, **overrides):
    args = dict(action="copy", root=str(tmp_path), app="shop", project="shop", env_file=str(tmp_path / ".env"),
                backups=[DB], copy=COPY, copy_key_file=str(tmp_path / "no_key"),
                copy_known_hosts=str(tmp_path / "no_known_hosts"))
    args.update(overrides)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def dump(tmp_path):
    directory = tmp_path / "backups" / "db"
    directory.mkdir(parents=True)
    path = directory / "20261207T031500Z.dump"
    path.write_bytes(b"PGDMP")
    (directory / "20261207T031500Z.dump.sha256").write_text(bk.sha_line(bk.sha256_of(str(path)), path.name))
    return str(path)


def test_a_failed_copy_fails_naming_the_local_file_and_the_target_and_the_dump_stays(tmp_path, capsys):
    path = dump(tmp_path)
    result = run(capsys, tmp_path, files=[path])
    assert result["failed"]
    assert result["msg"].startswith("backup db: the dump is stored locally at %s; the copy to "
                                    "copy@10.0.0.9:/srv/berth-backups failed: the key file" % path), result["msg"]
    assert os.path.isfile(path)
    assert bk.read_state(os.path.dirname(path))["copy_last_result"] == "failed"


def test_only_dumps_of_the_backups_are_copied(tmp_path, capsys):
    dump(tmp_path)
    (tmp_path / "secret.txt").write_text("x")
    result = run(capsys, tmp_path, files=[str(tmp_path / "backups" / "db" / ".." / ".." / "secret.txt")])
    assert result["failed"] and "no backup is called '..'" in result["msg"], result
    (tmp_path / "backups" / "db" / "notes.txt").write_text("x")
    result = run(capsys, tmp_path, files=[str(tmp_path / "backups" / "db" / "notes.txt")])
    assert result["failed"] and "notes.txt is not a dump of backup db" in result["msg"], result
    assert "copy_last_result" not in bk.read_state(str(tmp_path / "backups" / "db"))


def test_without_copy_or_files_nothing_happens(tmp_path, capsys):
    path = dump(tmp_path)
    result = run(capsys, tmp_path, files=[path], copy={})
    assert not result.get("failed") and result["changed"] is False and result["copies"] == []
    assert bk.read_state(os.path.dirname(path)) == {}
