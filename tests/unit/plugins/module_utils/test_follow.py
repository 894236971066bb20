# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pull mode (berth_follow): the target, the tag choice, the retry rule, the rate limit, the metrics."""
import calendar
import time

import pytest

from ansible_collections.berth.compose.plugins.module_utils import follow as fl

A = "a" * 40
B = "b" * 40
C = "c" * 40
NOW = calendar.timegm(time.strptime("2026-12-07T12:00:00Z", "%Y-%m-%dT%H:%M:%SZ"))


def iso(seconds_ago):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - seconds_ago))


def deploy(to, outcome="ok", operator="follow@vm", ago=600, gate=None, **extra):
    record = {"kind": "deploy", "to_commit": to, "serving_commit": to if outcome == "ok" else A, "outcome": outcome,
              "operator": operator, "started": iso(ago), "id": "r-%s-%d" % (to[:4], ago), "duration_s": 30}
    if gate is not None:
        record["gate"] = gate
    record.update(extra)
    return record


BRANCH = fl.Spec("branch", "main")
TAGS = fl.Spec("tags", "v*")


# ---------------------------------------------------------------- the setting

@pytest.mark.parametrize("value, spec", [
    ("", None),
    ("main", fl.Spec("branch", "main")),
    ("release/2026", fl.Spec("branch", "release/2026")),
    ("refs/heads/staging", fl.Spec("branch", "staging")),
    ("v*", fl.Spec("tags", "v*")),
    ("v1.?.*", fl.Spec("tags", "v1.?.*")),
    ("release-[0-9]*", fl.Spec("tags", "release-[0-9]*")),
])
def test_a_branch_or_a_tag_pattern(value, spec):
    assert fl.parse_follow(value) == spec


@pytest.mark.parametrize("value", ["-main", "ma in", "a..b", "main:x", "x~1", "a^", "back\\slash", "/main", "main/",
                                   "main.lock", ".hidden", "new\nline", "refs/tags/v1", "a//b", 7, ["main"],
                                   "a@{1}", "x" * 101])
def test_a_bad_value_is_refused_naming_the_variable(value):
    problem = fl.follow_problem(value)
    assert problem and problem.startswith("berth_follow=")
    with pytest.raises(ValueError, match="berth_follow"):
        fl.parse_follow(value)  # type: ignore[arg-type]


# ---------------------------------------------------------------- tags

def test_version_sort_compares_numbers_as_numbers():
    tags = ["v1", "v9", "v10", "v2.0.0", "v10.0.1", "v10.0.0"]
    assert sorted(tags, key=fl.version_key) == ["v1", "v2.0.0", "v9", "v10", "v10.0.0", "v10.0.1"]


def test_a_release_is_above_its_pre_releases():
    tags = ["v2.0.0", "v2.0.0-rc.10", "v2.0.0-rc.2", "v1.9.9", "v2.0.0-beta"]
    assert sorted(tags, key=fl.version_key) == ["v1.9.9", "v2.0.0-beta", "v2.0.0-rc.2", "v2.0.0-rc.10", "v2.0.0"]


def test_the_highest_matching_tag():
    tags = ["v1", "v9", "v10", "web-only", "x99", "v10-rc.1"]
    assert fl.highest_tag(tags, "v*") == "v10"
    assert fl.highest_tag(tags, "x*") == "x99"
    assert fl.highest_tag(tags, "release-*") is None
    # Case-sensitive, as git is.
    assert fl.highest_tag(["V3", "v2"], "v*") == "v2"


def test_tags_without_numbers_sort_below():
    assert fl.highest_tag(["v-next", "v1"], "v*") == "v1"
    assert fl.highest_tag(["v-next"], "v*") == "v-next"


def test_ls_remote_peeled_tags_win():
    text = ("%s\trefs/heads/main\n%s\trefs/tags/v1\n%s\trefs/tags/v1^{}\n%s\trefs/tags/v2\n" % (A, B, C, A))
    refs = fl.parse_ls_remote(text)
    assert refs == {"refs/heads/main": A, "refs/tags/v1": C, "refs/tags/v2": A}
    assert fl.remote_target(BRANCH, refs) == ("main", A)
    assert fl.remote_target(TAGS, refs) == ("v2", A)
    assert fl.remote_target(fl.Spec("branch", "gone"), refs) is None
    assert fl.remote_target(fl.Spec("tags", "z*"), refs) is None


# ---------------------------------------------------------------- the decision

def test_a_moved_branch_is_deployed():
    decision = fl.decide(BRANCH, ("main", B), A, "", [deploy(A)], NOW, 2, 3600)
    assert decision.action == "deploy" and decision.commit == B and decision.behind and not decision.pinned
    assert decision.as_dict()["deploy"] is True


def test_nothing_to_do_when_the_commit_serves():
    decision = fl.decide(BRANCH, ("main", A), A, "", [deploy(A)], NOW, 2, 3600)
    assert decision.action == "current" and not decision.behind


def test_nothing_deployed_yet_deploys():
    assert fl.decide(BRANCH, ("main", A), None, "", [], NOW, 2, 3600).action == "deploy"


def test_the_pin_holds_and_says_so():
    decision = fl.decide(BRANCH, ("main", C), A, A, [deploy(B, "ok"), {"kind": "rollback", "outcome": "ok"}],
                         NOW, 2, 3600)
    assert decision.action == "pinned" and decision.pinned and decision.behind
    assert "rollback pin" in decision.msg and "never deploys past the pin" in decision.msg
    # Even -e force=true does not go past the pin.
    assert fl.decide(BRANCH, ("main", C), A, A, [], NOW, 2, 3600, force=True).action == "pinned"
    # Pinned at the very commit the ref names: held, not behind.
    held = fl.decide(BRANCH, ("main", A), A, A, [], NOW, 2, 3600)
    assert held.action == "pinned" and not held.behind


def test_a_commit_that_failed_its_gate_is_not_retried():
    records = [deploy(A), deploy(B, "rolled_back", ago=300)]
    decision = fl.decide(BRANCH, ("main", B), A, "", records, NOW, 5, 3600)
    assert decision.action == "failed_before" and decision.behind and "not retried" in decision.msg
    # The ref moved on: the new commit is deployed.
    assert fl.decide(BRANCH, ("main", C), A, "", records, NOW, 5, 3600).action == "deploy"


def test_a_failed_gate_without_rollback_counts_too():
    records = [deploy(A), deploy(B, "failed", gate={"passed": False})]
    assert fl.decide(BRANCH, ("main", B), A, "", records, NOW, 5, 3600).action == "failed_before"


def test_a_failure_before_the_gate_is_retried():
    # The fetch failed (no gate ran): the next round tries again (within the rate limit).
    records = [deploy(A), deploy(B, "failed")]
    assert fl.decide(BRANCH, ("main", B), A, "", records, NOW, 5, 3600).action == "deploy"


def test_a_good_deploy_of_that_commit_by_hand_lifts_the_rule():
    records = [deploy(B, "rolled_back", ago=900), deploy(B, operator="ops", ago=600), deploy(A, operator="ops")]
    assert fl.failed_gate(records, B) is None
    assert fl.decide(BRANCH, ("main", B), A, "", records, NOW, 5, 3600).action == "deploy"


def test_the_rate_limit_counts_failed_follow_deploys():
    records = [deploy(A, ago=3000), deploy(B, "failed", ago=900), deploy(C, "failed", ago=600)]
    decision = fl.decide(BRANCH, ("main", "d" * 40), A, "", records, NOW, 2, 3600)
    assert decision.action == "rate_limited" and "2 failed follow deploys" in decision.msg
    assert fl.decide(BRANCH, ("main", "d" * 40), A, "", records, NOW, 2, 3600, force=True).action == "deploy"
    assert fl.decide(BRANCH, ("main", "d" * 40), A, "", records, NOW, 0, 3600).action == "deploy"
    assert fl.decide(BRANCH, ("main", "d" * 40), A, "", records, NOW, 3, 3600).action == "deploy"


def test_the_rate_limit_window_and_reset():
    old = [deploy(B, "failed", ago=7200), deploy(C, "failed", ago=600)]
    assert len(fl.recent_failures(old, NOW, 3600)) == 1
    reset = [deploy(B, "failed", ago=900), deploy(A, operator="ops", ago=800), deploy(C, "failed", ago=600)]
    assert len(fl.recent_failures(reset, NOW, 3600)) == 1
    # A deploy by hand that failed is not follow's.
    by_hand = [deploy(B, "failed", operator="ops", ago=900), deploy(C, "failed", ago=600)]
    assert len(fl.recent_failures(by_hand, NOW, 3600)) == 1


def test_a_missing_ref():
    decision = fl.decide(TAGS, None, A, "", [], NOW, 2, 3600)
    assert decision.action == "missing" and not decision.behind and "v*" in decision.msg


def test_last_deployed_is_the_end_of_the_last_good_follow_deploy():
    records = [deploy(A, ago=900), deploy(B, operator="ops", ago=600), deploy(C, "rolled_back", ago=300)]
    assert fl.last_deployed(records) == NOW - 900 + 30
    assert fl.last_deployed([deploy(A, operator="ops")]) == 0


# ---------------------------------------------------------------- metrics

def test_metrics_replace_their_own_lines_and_keep_the_rest():
    reconcile = 'berth_reconcile_enabled{app="s"} 1\n'
    first = fl.merge_metrics(reconcile, fl.render_metrics("s", 100, True, False))
    assert first.startswith(reconcile)
    assert 'berth_follow_behind{app="s"} 1' in first and 'berth_follow_last_deployed_timestamp_seconds{app="s"} 100' in first
    second = fl.merge_metrics(first, fl.render_metrics("s", 200, False, True))
    assert second.count("berth_follow_behind{") == 1 and 'berth_follow_behind{app="s"} 0' in second
    assert 'berth_follow_pinned{app="s"} 1' in second and reconcile in second
    assert fl.follow_lines(second) == fl.render_metrics("s", 200, False, True)
    assert fl.merge_metrics(second, "") == reconcile
    assert fl.follow_lines(reconcile) == ""
