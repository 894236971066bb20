# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""berth.compose.reconcile steps that need no Docker: baseline, finish, status, and a check with nothing recorded.

The container side runs against a real engine in the Molecule reconcile scenario."""
import json
import os
import time

import pytest

from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import run_module
from ansible_collections.berth.compose.plugins.modules import reconcile

pytestmark = pytest.mark.usefixtures("module_exit_raises")
A = "a" * 40


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "app"
    (path / ".berth").mkdir(parents=True)
    return path


def params(root, **extra):
    base = dict(root=str(root), app_name="shop", project="shop", env_file=str(root / "shared.env"),
                metrics_dir=str(root / "metrics"), systemctl="true")
    base.update(extra)
    return base


def log(root, *records):
    with open(str(root / "releases.jsonl"), "w") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def test_baseline_then_check_finds_the_changed_file(root):
    caddyfile = root / "Caddyfile"
    caddyfile.write_text("a.test\n")
    spec = {"files": [str(caddyfile)]}
    result, _warned = run_module(reconcile, step="baseline", baseline=spec, **params(root))
    assert not result["failed"] and not result["changed"]
    assert oct(os.stat(str(root / ".berth" / "reconcile-baseline.json")).st_mode & 0o777) == "0o600"

    result, _warned = run_module(reconcile, step="check", baseline=spec, **params(root))
    assert result["drift"] == [] and not result["baseline_changed"] and not result["repair_needed"]
    assert "result=\"ok\"} 1" in (root / "metrics" / "berth_reconcile_shop.prom").read_text()

    caddyfile.write_text("b.test\n")
    result, _warned = run_module(reconcile, step="check", check_mode=True, diff=True, baseline=spec, **params(root))
    assert result["baseline_changed"] and not result["changed"]
    assert result["lines"] == ["%s: content changed -> provision" % caddyfile]
    assert "content changed" in result["diff"]["prepared"]


def test_finish_records_one_reconcile_entry_and_counts_repairs(root):
    log(root, {"kind": "deploy", "outcome": "ok", "serving_commit": A, "ref": "v1", "images": {"web": "shop-web:a"}})
    drift = [{"kind": "stopped", "subject": "web", "detail": "container is exited", "action": "start"}]
    result, _warned = run_module(reconcile, step="finish", outcome="ok", drift=drift, actions={"up": ["web"]},
                                 gate={"passed": True, "failed_services": []}, started=time.time() - 3, **params(root))
    assert result["changed"] and result["record"]["kind"] == "reconcile"
    assert result["record"]["serving_commit"] == A and result["record"]["services_recreated"] == ["web"]
    assert result["record"]["message"] == "drift: web: container is exited -- done: started/recreated web"
    metrics = (root / "metrics" / "berth_reconcile_shop.prom").read_text()
    assert 'berth_drift_repaired_total{app="shop"} 1' in metrics
    assert 'result="repaired"} 1' in metrics

    # nothing drifted: no record, the counter stays
    result, _warned = run_module(reconcile, step="finish", outcome="ok", **params(root))
    assert not result["changed"] and "record" not in result
    lines = (root / "releases.jsonl").read_text().splitlines()
    assert len(lines) == 2


def test_failures_trip_the_rate_limit_and_status_reports_it(root):
    log(root, {"kind": "deploy", "outcome": "ok", "serving_commit": A})
    drift = [{"kind": "missing", "subject": "web", "detail": "no container", "action": "create"}]
    for _attempt in range(2):
        result, _warned = run_module(reconcile, step="finish", outcome="failed", drift=drift, failure="gate failed",
                                     **params(root))
        assert result["record"]["outcome"] == "failed" and result["record"]["serving_commit"] is None
    result, _warned = run_module(reconcile, step="status", max_failures=2, **params(root))
    assert result["rate_limited"] and "2 failed repairs" in result["rate_limit_msg"]
    assert result["last"]["last_result"] == "failed"
    result, _warned = run_module(reconcile, step="status", max_failures=3, **params(root))
    assert not result["rate_limited"]


def test_check_with_no_release_recorded_judges_the_baseline_only(root):
    result, _warned = run_module(reconcile, step="check", **params(root))
    assert result["commit"] is None and result["source"] == "nothing recorded"
    assert [d["subject"] for d in result["drift"]] == ["baseline"]
    assert not result["repair_needed"]
