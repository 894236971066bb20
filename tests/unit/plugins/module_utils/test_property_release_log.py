# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based tests (hypothesis) for the release log reader: module_utils/release_log.py.

Garbage lines and a truncated last line never crash the reader, and good lines are never lost.
"""
import json

from hypothesis import given, settings, strategies as st

from ansible_collections.berth.compose.plugins.module_utils import release_log as rl

FAST = settings(max_examples=40, deadline=None, database=None, derandomize=True)

SHA = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)
RECORD = st.fixed_dictionaries({
    "kind": st.sampled_from(rl.KINDS),
    "outcome": st.sampled_from(rl.OUTCOMES),
    "to_commit": SHA,
    "serving_commit": st.one_of(st.none(), SHA),
    "images": st.dictionaries(st.sampled_from(["web", "api"]), st.text(max_size=12), max_size=2),
    "message": st.one_of(st.none(), st.text(max_size=20)),
    "gate": st.one_of(st.none(), st.sampled_from(["passed", "failed", "skipped"])),
})
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                       max_leaves=8)
# A JSON object of any shape: a record written by another version, or by hand.
ODD_OBJECT = st.dictionaries(st.sampled_from(["kind", "outcome", "to_commit", "serving_commit", "images", "gate",
                                              "id", "pinned", "x"]), JSONISH, max_size=6)
GARBAGE = st.one_of(st.text(max_size=30).map(lambda s: s.replace("\n", " ")),
                    st.binary(max_size=20).map(lambda b: b.decode("utf-8", "replace").replace("\n", " ")),
                    JSONISH.map(json.dumps).filter(lambda s: not s.startswith("{")))


def good_line(record, number):
    return rl.encode(rl.prepare_record(record, now=1795000000 + number, random_hex="%06x" % number))


@FAST
@given(st.lists(st.one_of(RECORD.map(lambda r: ("good", r)), GARBAGE.map(lambda g: ("bad", g))), max_size=12))
def test_garbage_lines_are_skipped_and_every_good_line_is_read(lines):
    text = ""
    wanted = []
    for number, (kind, item) in enumerate(lines):
        if kind == "good":
            line = good_line(item, number)
            wanted.append(json.loads(line))
            text += line
        else:
            text += item + "\n"
    records, skipped = rl.parse_lines(text)
    assert records == wanted
    bad = [item for kind, item in lines if kind == "bad" and item.strip()]
    assert len(skipped) == len(bad)


@FAST
@given(st.lists(RECORD, min_size=1, max_size=6), st.data())
def test_a_log_cut_anywhere_keeps_every_complete_line_and_the_next_append(tmp_path_factory, records, data):
    path = str(tmp_path_factory.mktemp("log") / "releases.jsonl")
    lines = [good_line(record, number) for number, record in enumerate(records)]
    blob = "".join(lines).encode("utf-8")
    cut = data.draw(st.integers(min_value=0, max_value=len(blob)), label="cut")
    with open(path, "wb") as handle:
        handle.write(blob[:cut])
    complete = []
    offset = 0
    for line in lines:
        offset += len(line.encode("utf-8"))
        if offset <= cut or (offset - 1 == cut):  # a line cut just before its newline is still whole JSON
            complete.append(json.loads(line))
    records_read, skipped = rl.read_log(path)
    assert records_read == complete
    assert len(skipped) <= 1
    extra = good_line({"kind": "deploy", "outcome": "ok", "to_commit": "f" * 40, "serving_commit": "f" * 40}, 99)
    rl.append_record(path, extra)
    after, _skipped = rl.read_log(path)
    assert after == complete + [json.loads(extra)]


@FAST
@given(st.lists(st.one_of(RECORD, ODD_OBJECT), max_size=8), st.one_of(st.none(), SHA, st.text(max_size=8)),
       st.integers(min_value=0, max_value=5))
def test_queries_answer_on_records_of_any_shape(records, commit, number):
    text = "".join(json.dumps(record) + "\n" for record in records)
    parsed, _skipped = rl.parse_lines(text)
    for state in rl.QUERIES:
        try:
            rl.run_query(parsed, state, before=commit, commit=commit or "0" * 40, limit=number, keep=number)
        except rl.ReleaseLogError:
            pass
