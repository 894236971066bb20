# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import json

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.berth.compose.plugins.modules import app_settings as module


def run(capsys, check_mode=False, **overrides):
    args = dict(app_name="shop", app_root="/opt/shop", compose_project="shop", compose_files=["compose.yaml"],
                env_file="/opt/shop/shared/.env", deploy_user="deploy", deploy_group="deploy",
                _ansible_check_mode=check_mode)
    args.update(overrides)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("check_mode", [False, True])
def test_good_settings_pass_unchanged_in_both_modes(tmp_path, capsys, check_mode):
    root = str(tmp_path / "shop")
    result = run(capsys, check_mode=check_mode, app_root=root, env_file=root + "/shared/.env")
    assert not result.get("failed") and result["changed"] is False
    assert result["app_root_state"] == "absent" and result["problems"] == []


def test_bad_settings_fail_with_every_problem_and_leave_the_host_alone(capsys):
    result = run(capsys, app_name="../etc", app_root="/etc", env_file="/etc/shared/.env")
    assert result["failed"] and result["app_root_state"] == "unchecked"
    assert [p.split("=")[0] for p in result["problems"]] == ["berth_app_name", "berth_app_root"]
    assert result["msg"].startswith("Refusing the app-wide settings, nothing was changed:")
    assert all(problem in result["msg"] for problem in result["problems"])


def test_root_of_another_app_fails(tmp_path, capsys):
    (tmp_path / ".berth").mkdir()
    (tmp_path / ".berth" / "app").write_text("blog\n")
    result = run(capsys, app_root=str(tmp_path), env_file=str(tmp_path / "shared/.env"))
    assert result["failed"] and result["app_root_state"] == "refused"
    assert "belongs to the app 'blog'" in result["msg"]


def test_bad_jobs_are_refused_naming_berth_jobs_and_good_ones_ask_the_host(tmp_path, capsys, monkeypatch):
    from ansible_collections.berth.compose.plugins.module_utils import jobs

    root = str(tmp_path / "shop")
    good = {"name": "ingest", "service": "api", "command": "./ingest", "on_calendar": "hourly"}
    result = run(capsys, app_root=root, env_file=root + "/shared/.env", jobs=[dict(good, name="../x", timeout=0)])
    assert result["failed"] and result["app_root_state"] == "unchecked"
    assert [p.split(" ")[0] for p in result["problems"]] == ["berth_jobs[0].name", "berth_jobs[0].timeout"]
    asked = []
    monkeypatch.setattr(jobs, "analyze_calendar", lambda e: asked.append(e) or (1, "Failed to parse"))
    monkeypatch.setattr(jobs, "serving_services", lambda p: None)
    monkeypatch.setattr(jobs.host_problems, "__defaults__", (jobs.analyze_calendar, jobs.serving_services))
    result = run(capsys, app_root=root, env_file=root + "/shared/.env", jobs=[good])
    assert result["failed"] and asked == ["hourly"]
    assert result["problems"] == ["berth_jobs[0].on_calendar 'hourly' is refused by systemd-analyze calendar: "
                                  "Failed to parse"]


COPY_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
            "-----END OPENSSH PRIVATE KEY-----\n")
COPY = dict(host="10.0.0.9", user="copy", path="/srv/berth-backups", port=22,
            host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxYz0123456789abcdefghijklmnop")


def test_a_good_backup_copy_passes_and_its_key_is_never_returned(tmp_path, capsys):
    root = str(tmp_path / "shop")
    result = run(capsys, app_root=root, env_file=root + "/shared/.env", backup_copy=COPY, backup_copy_key=COPY_KEY)
    assert not result.get("failed") and result["problems"] == []
    assert "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" not in json.dumps(result)


def test_a_bad_backup_copy_is_refused_naming_each_key_before_the_host_is_looked_at(tmp_path, capsys):
    root = str(tmp_path / "shop")
    leaked = "-----BEGIN OPENSSH PRIVATE KEY-----\nsupersecretmaterial\n"
    result = run(capsys, app_root=root, env_file=root + "/shared/.env",
                 backup_copy=dict(COPY, path="/srv/../etc", port=0), backup_copy_key=leaked)
    assert result["failed"] and result["app_root_state"] == "unchecked"
    assert [p.split(" ")[0] for p in result["problems"]] == [
        "berth_backup_copy.path", "berth_backup_copy.port", "berth_backup_copy.key"], result["problems"]
    assert "supersecret" not in json.dumps(result)
    result = run(capsys, app_root=root, env_file=root + "/shared/.env", backup_copy=dict(COPY), backup_copy_key="")
    assert result["problems"] == ["berth_backup_copy needs berth_backup_copy.key"], result["problems"]
