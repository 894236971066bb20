# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reconcile without a recorded provisioning baseline says so, in its check and in verify's status (issue 18)."""
import json

from ansible_collections.berth.compose.plugins.module_utils import repair
from ansible_collections.berth.compose.plugins.modules import reconcile as module


def params(root, **extra):
    p = dict((name, spec.get("default")) for name, spec in module.ARGUMENT_SPEC.items())
    p.update(root=str(root), app_name="shop", project="shop", env_file=str(root / "env"), systemctl="true",
             metrics_dir=str(root / "metrics"), baseline={"files": [], "enabled": [], "active": []})
    p.update(extra)
    return p


def test_status_and_check_warn_loudly_without_a_baseline_and_not_once_one_is_recorded(tmp_path):
    root = tmp_path / "app"
    (root / ".berth").mkdir(parents=True)
    (root / "releases.jsonl").write_text("")
    status = repair.Reconciler(params(root, step="status")).run("status")
    assert status["baseline_recorded"] is False
    assert any("no provisioning baseline is recorded" in w and "provision never finished" in w
               for w in status["warnings"]), status
    check = repair.Reconciler(params(root, step="check")).run("check")
    assert check["baseline_recorded"] is False and check["baseline_changed"]
    assert any("re-applies the provisioning roles" in w for w in check["warnings"]), check
    repair.Reconciler(params(root, step="baseline")).run("baseline")
    assert json.loads((root / ".berth" / "reconcile-baseline.json").read_text())["items"] == {}
    again = repair.Reconciler(params(root, step="status")).run("status")
    assert again["baseline_recorded"] is True and not again.get("warnings"), again


def test_an_unreadable_baseline_is_named_as_such(tmp_path):
    root = tmp_path / "app"
    (root / ".berth").mkdir(parents=True)
    (root / "releases.jsonl").write_text("")
    (root / ".berth" / "reconcile-baseline.json").write_text("not json")
    status = repair.Reconciler(params(root, step="status")).run("status")
    assert status["baseline_recorded"] is False
    assert any("cannot be read as JSON" in w for w in status["warnings"]), status
