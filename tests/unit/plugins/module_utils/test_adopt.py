# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Adopting a hand-run checkout: the project name Compose derived, what refuses, the env merge (real git)."""
import json

import pytest

from ansible_collections.berth.compose.tests.unit.plugins.module_utils.git_fixtures import git, new_repo, write
from ansible_collections.berth.compose.plugins.module_utils import adopt
from ansible_collections.berth.compose.plugins.module_utils import host

COMPOSE = "services:\n  web:\n    image: busybox\nvolumes:\n  data:\n"


@pytest.mark.parametrize("basename, project", [
    ("heartbeat-dashboard", "heartbeat-dashboard"),
    ("Heartbeat.Dashboard", "heartbeatdashboard"),
    ("_My App 2", "myapp2"),
    ("--x_y", "x_y"),
])
def test_project_name_is_the_basename_as_compose_normalizes_it(basename, project):
    assert adopt.normalize_project(basename) == project


def test_project_name_order_env_then_compose_name_then_basename():
    named = "name: shop-prod\nservices: {}\n"
    assert adopt.derive_project("/home/ops/Shop", {"COMPOSE_PROJECT_NAME": "legacy"}, [named])[0] == "legacy"
    name, source = adopt.derive_project("/home/ops/Shop", {}, [COMPOSE, named])
    assert (name, source) == ("shop-prod", "the compose file's top-level name")
    assert adopt.derive_project("/home/ops/Shop/", {}, [COMPOSE]) == ("shop", "the directory's basename")


def test_compose_name_reads_only_the_top_level_key():
    assert adopt.compose_name("services:\n  web:\n    name: x\n") is None
    assert adopt.compose_name('name: "quoted"  # comment\n') == "quoted"


@pytest.mark.parametrize("value, words", [
    ("", "from is required"),
    (None, "from is required"),
    ("home/ops/app", "not an absolute path"),
    ("/nonexistent/adopt", "not a directory"),
])
def test_bad_from_is_refused_naming_from(value, words):
    problem = adopt.path_problem(value)
    assert problem is not None and words in problem


def test_dirty_paths_and_the_message_naming_them():
    paths = adopt.dirty_paths(" M compose.yaml\n?? notes.txt\nA  api/new.py\n")
    assert paths == ["compose.yaml", "notes.txt", "api/new.py"]
    problem = adopt.dirty_problem("/home/ops/app", paths)
    assert "uncommitted changes (compose.yaml, notes.txt, api/new.py)" in problem
    assert adopt.dirty_problem("/home/ops/app", []) is None
    assert "and 2 more" in adopt.dirty_problem("/x", ["f%d" % i for i in range(12)])


def test_project_mismatch_names_the_setting_and_the_value_to_set():
    problem = adopt.project_problem("heartbeat-dashboard", "the directory's basename", "heartbeat")
    assert "berth_compose_project: heartbeat-dashboard" in problem
    assert adopt.project_problem("hb", "x", "hb") is None
    assert "not one berth accepts" in adopt.project_problem("", "the directory's basename", "")


def test_root_with_a_release_is_refused_a_failed_attempt_is_not():
    assert adopt.root_problem("/opt/a", False, 0) is None
    assert "already has a release (/opt/a/current exists)" in adopt.root_problem("/opt/a", True, 0)
    assert "1 record(s) of a serving release" in adopt.root_problem("/opt/a", False, 1)
    log = "\n".join([json.dumps({"kind": "adopt", "outcome": "failed"}), "{torn",
                     json.dumps({"kind": "adopt", "outcome": "ok", "serving_commit": "a" * 40})])
    assert adopt.serving_records(log) == 1
    assert adopt.serving_records(None) == 0


def test_live_projects_keep_only_containers_started_from_the_checkout():
    lines = "c1\thb\tweb\t/home/ops/hb\nc2\thb\tapi\t/home/ops/hb/\nc3\tother\tweb\t/srv/other\nbad line\n"
    assert adopt.live_projects(lines, "/home/ops/hb") == {"hb": {"web": "c1", "api": "c2"}}
    assert adopt.live_problem("/home/ops/hb", "hb", {"hb": {}}) is None
    problem = adopt.live_problem("/home/ops/hb", "hb", {"custom": {}})
    assert "compose project custom" in problem and "COMPOSE_PROJECT_NAME=custom" in problem


def test_merge_env_hand_run_values_win_and_berths_extra_keys_stay():
    merged, added, replaced = adopt.merge_env({"A": "berth", "B": "same", "C": "only berth"},
                                              {"A": "hand", "B": "same", "D": "new"})
    assert merged == {"A": "hand", "B": "same", "C": "only berth", "D": "new"}
    assert (added, replaced) == (["D"], ["A"])


def fake_docker(ps="", volumes=""):
    """The real git, a docker CLI answering `ps` and `volume ls` with the given lines."""
    def run(argv, **kwargs):
        if argv[0] == "docker":
            out = ps if argv[1] == "ps" else volumes
            return host.Result(0, out, argv, "")
        return host.run(argv, **kwargs)
    return run


@pytest.fixture
def checkout(tmp_path):
    origin = new_repo(tmp_path / "origin", {"compose.yaml": COMPOSE}, "v1")
    work = tmp_path / "heartbeat-dashboard"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    write(work, ".env", "APP_MESSAGE=hello\nDB_PASSWORD='s3cret'\n")
    return work


def test_inspect_a_clean_checkout(checkout, tmp_path):
    ps = "c1\theartbeat-dashboard\tweb\t%s\n" % checkout
    plan = adopt.inspect(str(checkout), str(tmp_path / "root"), "heartbeat-dashboard", ["compose.yaml"],
                         run=fake_docker(ps, "heartbeat-dashboard_data\n"))
    assert plan.problems == []
    assert plan.commit == git(checkout, "rev-parse", "HEAD") and plan.branch == "main"
    assert plan.project == "heartbeat-dashboard" and plan.project_source == "the directory's basename"
    assert plan.env_keys == ["APP_MESSAGE", "DB_PASSWORD"]
    assert plan.containers == {"web": "c1"} and plan.volumes == ["heartbeat-dashboard_data"]
    text = "\n".join(plan.lines(""))
    assert "s3cret" not in text and "hello" not in text and "heartbeat-dashboard_data" in text


def test_inspect_refuses_a_dirty_checkout_naming_the_files(checkout, tmp_path):
    write(checkout, "compose.yaml", COMPOSE + "# edited on the VM\n")
    write(checkout, "hotfix.sh", "echo\n")  # and .env, untracked: what adopting brings in, not a change
    plan = adopt.inspect(str(checkout), str(tmp_path / "root"), "heartbeat-dashboard", ["compose.yaml"],
                         run=fake_docker())
    assert len(plan.problems) == 1
    assert "uncommitted changes (compose.yaml, hotfix.sh)" in plan.problems[0]


def test_inspect_refuses_an_unpushed_commit_a_missing_compose_file_and_a_root_with_a_release(checkout, tmp_path):
    write(checkout, "local.txt", "x\n")
    git(checkout, "add", "local.txt")
    git(checkout, "commit", "-q", "-m", "local only")
    root = tmp_path / "root"
    root.mkdir()
    (root / "current").symlink_to("releases/x")
    plan = adopt.inspect(str(checkout), str(root), "heartbeat-dashboard", ["compose.yaml", "compose.prod.yaml"],
                         run=fake_docker())
    problems = "\n".join(plan.problems)
    assert "on no remote branch and no tag" in problems
    assert "no committed compose file compose.prod.yaml" in problems
    assert "already has a release" in problems
    assert len(plan.problems) == 3


def test_inspect_refuses_a_subdirectory_and_a_plain_directory(checkout, tmp_path):
    (checkout / "sub").mkdir()
    assert "give its top directory" in adopt.inspect(str(checkout / "sub"), "/r", "x", [], run=fake_docker()).problems[0]
    plain = tmp_path / "plain"
    plain.mkdir()
    assert "is not a git checkout" in adopt.inspect(str(plain), "/r", "x", [], run=fake_docker()).problems[0]


def test_inspect_uses_compose_project_name_of_the_env_and_the_running_containers(checkout, tmp_path):
    write(checkout, ".env", "COMPOSE_PROJECT_NAME=hb\n")
    ps = "c1\tcustom\tweb\t%s\n" % checkout
    plan = adopt.inspect(str(checkout), str(tmp_path / "root"), "hb", ["compose.yaml"], run=fake_docker(ps))
    assert plan.project == "hb" and "COMPOSE_PROJECT_NAME" in plan.project_source
    assert len(plan.problems) == 1 and "compose project custom" in plan.problems[0]
