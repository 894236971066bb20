# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input for release_log: every option refused with a message naming it, and the log unchanged."""
import pytest

from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import run_module
from ansible_collections.berth.compose.plugins.modules import release_log

pytestmark = pytest.mark.usefixtures("module_exit_raises")

GOOD = {"kind": "deploy", "outcome": "ok", "to_commit": "a" * 40}
LINE = '{"id": "20261123T150000.000000Z-aaaaaa", "kind": "deploy", "outcome": "ok", "serving_commit": "%s"}\n' % ("b" * 40)


def rec(**kw):
    return dict(GOOD, **kw)


CASES = [
    ("path relative", {"path": "releases.jsonl", "state": "current"}, ["path", "absolute"]),
    ("state unknown", {"state": "latest"}, ["state", "append, current, last_good"]),
    ("record missing for append", {"state": "append"}, ["record", "required"]),
    ("record wrong type", {"state": "append", "record": ["deploy"]}, ["record", "dict"]),
    ("record unknown field", {"state": "append", "record": rec(sha="x")}, ["unknown fields", "sha", "allowed"]),
    ("record without kind", {"state": "append", "record": {"outcome": "ok"}}, ["required fields", "kind"]),
    ("record outcome unknown", {"state": "append", "record": rec(outcome="great")}, ["outcome must be one of"]),
    ("record kind unknown", {"state": "append", "record": rec(kind="yolo")}, ["kind must be"]),
    ("record images wrong type", {"state": "append", "record": rec(images=["web"])}, ["images must be a mapping"]),
    ("record duration wrong type", {"state": "append", "record": rec(duration_s="slow")}, ["duration_s must be a number"]),
    ("record services wrong type", {"state": "append", "record": rec(services_built="web")}, ["services_built must be a list"]),
    ("record pinned wrong type", {"state": "append", "record": rec(pinned="maybe")}, ["pinned must be a boolean"]),
    ("mode symbolic", {"state": "append", "record": GOOD, "mode": "u=rw"}, ["mode", "octal"]),
    ("owner unknown", {"state": "append", "record": GOOD, "owner": "no-such-user-xyz"}, ["no-such-user-xyz"]),
    ("group unknown", {"state": "append", "record": GOOD, "group": "no-such-group-xyz"}, ["no-such-group-xyz"]),
    ("images without commit", {"state": "images"}, ["commit", "required"]),
    ("limit negative", {"state": "history", "limit": -1}, ["limit", "0 or more"]),
    ("limit wrong type", {"state": "history", "limit": "all"}, ["limit", "int"]),
    ("keep negative", {"state": "retained", "keep": -2}, ["keep", "0 or more"]),
]


@pytest.mark.parametrize("override,needles", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_and_the_log_is_unchanged(tmp_path, override, needles):
    log = tmp_path / "releases.jsonl"
    log.write_text(LINE)
    result, _warned = run_module(release_log, **dict({"path": str(log)}, **override))
    assert result["failed"], result
    for needle in needles:
        assert needle.lower() in result["msg"].lower(), (needle, result["msg"])
    assert log.read_text() == LINE


def test_a_refused_record_names_fields_never_values(tmp_path):
    log = tmp_path / "releases.jsonl"
    result, _warned = run_module(release_log, path=str(log), state="append", record=rec(images="canary-s3cret"))
    assert result["failed"] and "canary-s3cret" not in result["msg"]
    assert not log.exists()
