# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import json
import os
import stat

from unittest import mock

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.berth.compose.plugins.module_utils import env_file as ef
from ansible_collections.berth.compose.plugins.modules import env_file as module

SECRETS = {"API_TOKEN": "tok-9f8e7d6c5b4a", "APP_MESSAGE": "hello from the vault", "DB_PASSWORD": 'p@ss "w0rd" $x'}


def run(capsys, check_mode=False, diff=False, **params):
    """Run the module in-process and return its JSON result (and whether it failed)."""
    args = dict(params)
    args["_ansible_check_mode"] = check_mode
    args["_ansible_diff"] = diff
    warned = []
    real_warn = module.AnsibleModule.warn

    def recording_warn(self, warning):
        warned.append(warning)
        real_warn(self, warning)

    # Recorded here because ansible-core may route module warnings to the controller's display
    # instead of the result when controller code was imported earlier in the test session.
    with patch_module_args(args), mock.patch.object(module.AnsibleModule, "warn", recording_warn):
        with pytest.raises(SystemExit) as exc:
            module.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    result["_rc"] = exc.value.code
    result["_warned"] = warned
    return result, out


def warnings_of(result):
    """Warning texts the module emitted."""
    return result["_warned"]


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_creates_the_file_0600_with_every_key(tmp_path, capsys):
    path = tmp_path / ".env"
    result, out = run(capsys, path=str(path), values=SECRETS)
    assert result["_rc"] == 0 and result["changed"]
    assert result["changed_keys"] == ["API_TOKEN", "APP_MESSAGE", "DB_PASSWORD"]
    assert result["added_keys"] == result["changed_keys"]
    assert mode_of(path) == 0o600
    assert ef.parse(path.read_text()) == SECRETS
    for value in SECRETS.values():
        assert value not in out


def test_second_run_is_unchanged(tmp_path, capsys):
    path = tmp_path / ".env"
    run(capsys, path=str(path), values=SECRETS)
    result, _out = run(capsys, path=str(path), values=SECRETS)
    assert not result["changed"] and result["changed_keys"] == []


def test_changed_keys_are_sorted_and_cover_add_update_remove(tmp_path, capsys):
    path = tmp_path / ".env"
    run(capsys, path=str(path), values=SECRETS)
    new = dict(SECRETS, APP_MESSAGE="a new greeting", ZZ_NEW="fresh-value")
    del new["API_TOKEN"]
    result, _out = run(capsys, path=str(path), values=new)
    assert result["changed_keys"] == ["API_TOKEN", "APP_MESSAGE", "ZZ_NEW"]
    assert result["updated_keys"] == ["APP_MESSAGE"]
    assert result["removed_keys"] == ["API_TOKEN"]
    assert result["added_keys"] == ["ZZ_NEW"]


def test_diff_redacts_every_value(tmp_path, capsys):
    path = tmp_path / ".env"
    run(capsys, path=str(path), values=SECRETS)
    new = dict(SECRETS, APP_MESSAGE="a new greeting")
    result, out = run(capsys, diff=True, path=str(path), values=new)
    assert "APP_MESSAGE=<redacted> (changed)" in result["diff"]["after"]
    assert "APP_MESSAGE=<redacted>" in result["diff"]["before"]
    for value in list(SECRETS.values()) + ["a new greeting"]:
        assert value not in out


def test_check_mode_reports_but_writes_nothing(tmp_path, capsys):
    path = tmp_path / ".env"
    result, _out = run(capsys, check_mode=True, diff=True, path=str(path), values=SECRETS)
    assert result["changed"] and result["added_keys"] == sorted(SECRETS)
    assert not path.exists()
    assert os.listdir(str(tmp_path)) == []


def test_check_mode_on_existing_file_leaves_it_alone(tmp_path, capsys):
    path = tmp_path / ".env"
    run(capsys, path=str(path), values=SECRETS)
    os.chmod(str(path), 0o644)
    before = path.read_text()
    result, _out = run(capsys, check_mode=True, path=str(path), values=dict(SECRETS, APP_MESSAGE="other"))
    assert result["changed"] and result["changed_keys"] == ["APP_MESSAGE"]
    assert path.read_text() == before and mode_of(path) == 0o644


def test_required_keys_fail_before_anything_is_written(tmp_path, capsys):
    path = tmp_path / ".env"
    path.write_text("OLD=1\n")
    result, out = run(capsys, path=str(path), values={"A": "value-a", "B": "  ", "C": None},
                      required_keys=["A", "B", "C", "D"])
    assert result["_rc"] == 1 and result["failed"]
    assert result["missing_keys"] == ["B", "C", "D"]
    assert "B, C, D" in result["msg"]
    assert "value-a" not in out
    assert path.read_text() == "OLD=1\n"


def test_invalid_key_fails_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / ".env"
    result, out = run(capsys, path=str(path), values={"GOOD": "secret-one", "BAD KEY": "secret-two"})
    assert result["failed"] and "BAD KEY" in result["msg"]
    assert "secret-one" not in out and "secret-two" not in out
    assert not path.exists()


def test_mode_drift_is_repaired_without_changed_keys(tmp_path, capsys):
    path = tmp_path / ".env"
    run(capsys, path=str(path), values=SECRETS)
    os.chmod(str(path), 0o644)
    result, _out = run(capsys, diff=True, path=str(path), values=SECRETS)
    assert result["changed"] and result["changed_keys"] == []
    assert mode_of(path) == 0o600
    assert "mode=0644" in result["diff"]["before"]


def test_explicit_mode_owner_and_group(tmp_path, capsys):
    path = tmp_path / ".env"
    uid, gid = os.getuid(), os.getgid()
    result, _out = run(capsys, path=str(path), values=SECRETS, mode="0640", owner=str(uid), group=str(gid))
    assert result["mode"] == "0640" and mode_of(path) == 0o640
    assert (os.stat(str(path)).st_uid, os.stat(str(path)).st_gid) == (uid, gid)


def test_unknown_owner_fails_in_normal_mode_and_warns_in_check_mode(tmp_path, capsys):
    path = tmp_path / ".env"
    result, _out = run(capsys, path=str(path), values=SECRETS, owner="no-such-user-berth")
    assert result["failed"] and "no-such-user-berth" in result["msg"]
    assert not path.exists()
    result, _out = run(capsys, check_mode=True, path=str(path), values=SECRETS, owner="no-such-user-berth")
    assert result["changed"] and not result.get("failed")
    assert any("no-such-user-berth" in w for w in warnings_of(result))


def test_missing_directory_fails_in_normal_mode_and_warns_in_check_mode(tmp_path, capsys):
    path = tmp_path / "shared" / ".env"
    result, _out = run(capsys, path=str(path), values=SECRETS)
    assert result["failed"] and "does not exist" in result["msg"]
    result, _out = run(capsys, check_mode=True, path=str(path), values=SECRETS)
    assert result["changed"] and result["added_keys"] == sorted(SECRETS)
    assert not (tmp_path / "shared").exists()


def test_write_error_is_reported_and_old_file_kept(tmp_path, capsys, monkeypatch):
    path = tmp_path / ".env"
    run(capsys, path=str(path), values=SECRETS)
    before = path.read_text()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ef.os, "replace", broken_replace)
    result, out = run(capsys, path=str(path), values=dict(SECRETS, APP_MESSAGE="unwritten-secret"))
    assert result["failed"] and "No space left on device" in result["msg"]
    assert "unwritten-secret" not in out
    assert path.read_text() == before
    assert os.listdir(str(tmp_path)) == [".env"]


def test_key_masking_risk_is_warned(tmp_path, capsys):
    result, _out = run(capsys, path=str(tmp_path / ".env"), values={"APP_URL": "APP"})
    assert any("masks that key name" in w for w in warnings_of(result))


def test_values_option_is_no_log(monkeypatch):
    captured = {}

    class Recorder:
        def __init__(self, argument_spec, **kwargs):
            captured.update(spec=argument_spec, kwargs=kwargs)
            raise SystemExit(0)

    monkeypatch.setattr(module, "AnsibleModule", Recorder)
    with pytest.raises(SystemExit):
        module.main()
    assert captured["spec"]["values"]["no_log"] is True
    assert captured["kwargs"]["supports_check_mode"] is True
