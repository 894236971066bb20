"""berth.compose.ci_summary's Markdown (module_utils/ci_summary.py): the CI job summary of a deploy."""
from ansible_collections.berth.compose.plugins.module_utils.ci_summary import cell, markdown

OK = {"ok": 9, "changed": 2, "failures": 0, "unreachable": 0}
RECORD = {"kind": "deploy", "ref": "v2", "from_commit": "a" * 40, "to_commit": "b" * 40, "serving_commit": "b" * 40,
          "services_built": ["web"], "services_recreated": ["web"], "outcome": "ok", "duration_s": 37.0,
          "operator": "octocat", "job_url": "https://github.com/acme/app/actions/runs/1", "note": "INC-42", "message": None}


def test_an_ok_deploy_reads_as_a_heading_a_row_and_who():
    text = markdown("deploy", "v2", {"vm1": OK}, {"vm1": RECORD}, {})
    lines = text.splitlines()
    assert lines[0] == "### berth.compose deploy `v2`: ok"
    assert "| vm1 | ok | `aaaaaaaaaaaa` -> `bbbbbbbbbbbb` | `bbbbbbbbbbbb` | web | web | 37.0 s | - |" in lines
    assert "operator: octocat - job: https://github.com/acme/app/actions/runs/1 - note: INC-42" in lines


def test_a_rolled_back_host_and_an_unreachable_one_fail_the_heading_with_their_reasons():
    back = dict(RECORD, outcome="rolled_back", serving_commit="a" * 40, message="web failed its gate")
    text = markdown("deploy", None, {"vm1": dict(OK, failures=1), "vm2": dict(OK, unreachable=1)}, {"vm1": back},
                    {"vm1": "web failed its gate | now serving aaaa", "vm2": "Host key verification failed.\r\n"})
    assert text.splitlines()[0] == "### berth.compose deploy `v2`: FAILED (rolled_back, unreachable)"
    assert "| vm1 | rolled_back | `aaaaaaaaaaaa` -> `bbbbbbbbbbbb` | `aaaaaaaaaaaa` | web | web | 37.0 s | " \
           "web failed its gate \\| now serving aaaa |" in text
    assert "| vm2 | unreachable | - | - | - | - | - | host key verification failed: no pinned host key for this host; " \
           "nothing was run |" in text
    changed = markdown("deploy", "v2", {"vm2": dict(OK, unreachable=1)}, {}, {"vm2": "Data could not be sent: @@@@@@\n"
                       "@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @\nHost key verification failed."})
    assert "| vm2 | unreachable | - | - | - | - | - | host key mismatch: the host's key is not the pinned one" in changed


def test_a_host_with_nothing_to_do_is_unchanged_with_its_plan_and_the_run_ok():
    text = markdown("deploy", "main", {"vm1": OK}, {}, {}, {"vm1": ["main: 8080820940f1 -> 8080820940f1", "nothing to deploy"]})
    assert text.splitlines()[0] == "### berth.compose deploy `main`: ok"
    assert "| vm1 | unchanged | - | - | - | - | - | main: 8080820940f1 -> 8080820940f1; nothing to deploy |" in text


def test_no_host_and_long_or_multiline_cells():
    assert markdown("rollback", "previous", {}, {}, {}).startswith("### berth.compose rollback `previous`: no host matched")
    assert cell("a\nb") == "a b" and cell(None) == ""
    long = cell("x" * 1000)
    assert len(long) == 300 and long.endswith("...")
