# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
import os
import random
import stat

import pytest

from ansible_collections.berth.compose.plugins.module_utils import env_file as ef


# --------------------------------------------------------------------------- keys and values

@pytest.mark.parametrize("key", ["A", "_", "APP_MESSAGE", "a1", "_X_9", "lower_case"])
def test_valid_env_names_are_accepted(key):
    assert ef.is_valid_key(key)


@pytest.mark.parametrize("key", ["", "1ABC", "A-B", "A B", "A.B", "ÄPFEL", "A=B", "A\nB", "A\n", 5, None])
def test_invalid_env_names_are_rejected(key):
    assert not ef.is_valid_key(key)


def test_normalize_rejects_invalid_keys_and_names_them_only():
    with pytest.raises(ef.EnvFileError) as err:
        ef.normalize_values({"GOOD": "s3cr3t-value", "BAD-KEY": "hunter2", "9LIVES": "x"})
    msg = str(err.value)
    assert "9LIVES" in msg and "BAD-KEY" in msg
    assert "hunter2" not in msg and "s3cr3t-value" not in msg


@pytest.mark.parametrize("value, text", [
    (True, "true"), (False, "false"), (None, ""), (8080, "8080"), (1.5, "1.5"), ("x", "x"),
])
def test_scalar_values_become_the_strings_yaml_meant(value, text):
    assert ef.normalize_values({"K": value}) == {"K": text}


@pytest.mark.parametrize("value", [[1, 2], {"a": 1}])
def test_lists_and_mappings_are_rejected(value):
    with pytest.raises(ef.EnvFileError, match="K"):
        ef.normalize_values({"K": value})


@pytest.mark.parametrize("value", ["a\x00b", "esc\x1b[0m", "bell\x07", "del\x7f"])
def test_control_characters_other_than_tab_newline_cr_are_rejected_without_the_value(value):
    with pytest.raises(ef.EnvFileError) as err:
        ef.normalize_values({"SECRET": value})
    assert "SECRET" in str(err.value)
    assert value not in str(err.value)


def test_missing_required_lists_absent_null_and_blank_keys_sorted():
    values = {"A": "x", "B": "", "C": None, "D": "   ", "E": 0, "F": False}
    assert ef.missing_required(values, ["Z", "A", "B", "C", "D", "E", "F"]) == ["B", "C", "D", "Z"]


def test_missing_required_with_no_required_keys_is_empty():
    assert ef.missing_required({}, []) == []
    assert ef.missing_required({}, None) == []


# --------------------------------------------------------------------------- quoting

@pytest.mark.parametrize("value, encoded", [
    ("", ""),
    ("plain", "plain"),
    ("postgres://u:p@db:5432/app", "postgres://u:p@db:5432/app"),
    ("a=b,c+d%e-f.g_h", "a=b,c+d%e-f.g_h"),
    ("hello world", '"hello world"'),
    ("with#hash", '"with#hash"'),
    ("it's", '"it\'s"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("trailing\\", '"trailing\\\\"'),
    ("$HOME and ${X}", '"$$HOME and $${X}"'),
    ("line1\nline2", '"line1\\nline2"'),
    ("bare-looking\n", '"bare-looking\\n"'),
    ("crlf\r\n", '"crlf\\r\\n"'),
    ("tab\there", '"tab\there"'),
    (" leading", '" leading"'),
    ("trailing ", '"trailing "'),
    ("'quoted'", '"\'quoted\'"'),
    ("ünïcødé", '"ünïcødé"'),
    ("`cmd`", '"`cmd`"'),
])
def test_values_are_quoted_for_compose(value, encoded):
    assert ef.quote_value(value) == encoded


def test_render_sorts_keys_under_the_header():
    text = ef.render({"B": "2", "A": "one two", "C": ""})
    assert text == ef.HEADER + 'A="one two"\nB=2\nC=\n'


def test_render_is_deterministic_regardless_of_dict_order():
    assert ef.render({"A": "1", "B": "2"}) == ef.render({"B": "2", "A": "1"})


TRICKY = [
    "", "plain", "a b", "a#b", "a #b", " x ", "\\", "\\\\", "\\n", "\\$", "$$", "$", "${A:-b}", '"', "'", "\\'",
    '\\"', "a\nb\n", "\r", "\t", "x=y=z", "é€😀", "#", "  # not a comment  ", "--", "end\\",
]


@pytest.mark.parametrize("value", TRICKY)
def test_parse_reads_back_what_render_wrote(value):
    assert ef.parse(ef.render({"K": value, "Z": "after"})) == {"K": value, "Z": "after"}


def test_random_values_round_trip():
    rng = random.Random(20261123)
    alphabet = "ab Z09_\\\"'$#={}\n\r\t.-é "
    for _unused in range(500):
        values = {"K%d" % i: "".join(rng.choice(alphabet) for _unused in range(rng.randint(0, 12))) for i in range(4)}
        assert ef.parse(ef.render(values)) == values


def test_parse_understands_hand_written_files():
    text = (
        "# comment\n"
        "\n"
        "export EXPORTED=yes\n"
        "SPACED = value  # trailing comment\n"
        "SINGLE='literal $HOME \\' done'\n"
        'DOUBLE="multi\nline"\n'
        "not an assignment\n"
        "UNTERMINATED=\"oops\n"
        "LAST=1\n"
        "LAST=2"
    )
    parsed = ef.parse(text)
    assert parsed["EXPORTED"] == "yes"
    assert parsed["SPACED"] == "value"
    assert parsed["SINGLE"] == "literal $HOME ' done"
    assert parsed["DOUBLE"] == "multi\nline"
    assert parsed["LAST"] == "2"
    assert "UNTERMINATED" not in parsed


# --------------------------------------------------------------------------- compare and redaction

def test_compare_sorts_added_updated_removed_and_their_union():
    changes = ef.compare({"A": "1", "B": "2", "D": "4"}, {"A": "1", "B": "3", "C": "5"})
    assert changes.added == ["C"]
    assert changes.updated == ["B"]
    assert changes.removed == ["D"]
    assert changes.changed_keys == ["B", "C", "D"]


def test_compare_of_equal_mappings_is_empty():
    assert ef.compare({"A": "1"}, {"A": "1"}).changed_keys == []


def _plan(tmp_path, old_values, new_values, **kwargs):
    path = str(tmp_path / ".env")
    if old_values is not None:
        with open(path, "w") as handle:
            handle.write(ef.render(old_values))
        os.chmod(path, kwargs.pop("old_mode", 0o600))
    return ef.make_plan(path, new_values, ef.read_state(path), kwargs.pop("mode", 0o600), **kwargs)


def test_diff_names_keys_but_never_values(tmp_path):
    plan = _plan(tmp_path, {"KEEP": "same-secret", "GONE": "old-secret", "EDIT": "before-secret"},
                 {"KEEP": "same-secret", "EDIT": "after-secret", "NEW": "new-secret"})
    both = plan.before_diff + plan.after_diff
    for secret in ("same-secret", "old-secret", "before-secret", "after-secret", "new-secret"):
        assert secret not in both
    assert "GONE=<redacted>" in plan.before_diff and "GONE" not in plan.after_diff
    assert "EDIT=<redacted> (changed)" in plan.after_diff
    assert "EDIT=<redacted>\n" in plan.before_diff
    assert "NEW=<redacted>" in plan.after_diff and "NEW" not in plan.before_diff
    assert "KEEP=<redacted>\n" in plan.before_diff and "KEEP=<redacted>\n" in plan.after_diff
    assert plan.changes.changed_keys == ["EDIT", "GONE", "NEW"]


def test_diff_shows_mode_change(tmp_path):
    plan = _plan(tmp_path, {"A": "1"}, {"A": "1"}, old_mode=0o644)
    assert not plan.write_content
    assert plan.attribute_changes == [("mode", "0644", "0600")]
    assert "mode=0644" in plan.before_diff and "mode=0600" in plan.after_diff
    assert plan.changed and plan.changes.changed_keys == []


def test_reformatting_without_value_change_is_a_change_with_no_changed_keys(tmp_path):
    path = tmp_path / ".env"
    path.write_text("A=1\n")
    os.chmod(str(path), 0o600)
    plan = ef.make_plan(str(path), {"A": "1"}, ef.read_state(str(path)), 0o600)
    assert plan.write_content and plan.changes.changed_keys == []
    assert "canonical form" in plan.after_diff


def test_new_file_plan_adds_every_key(tmp_path):
    plan = _plan(tmp_path, None, {"B": "2", "A": "1"})
    assert plan.write_content and not plan.exists
    assert plan.changes.added == ["A", "B"]
    assert plan.before_diff == ""


def test_unchanged_file_plans_nothing(tmp_path):
    plan = _plan(tmp_path, {"A": "x y"}, {"A": "x y"})
    assert not plan.changed


# --------------------------------------------------------------------------- modes and owners

@pytest.mark.parametrize("given, expected", [
    (None, 0o600), ("0600", 0o600), ("600", 0o600), ("0o640", 0o640), (0o600, 0o600), ("0755", 0o755), (" 0400 ", 0o400),
])
def test_modes_parse_as_octal(given, expected):
    assert ef.parse_mode(given) == expected


@pytest.mark.parametrize("given", ["u=rw", "0800", "", "rw-------", True, 0o10000, "99999"])
def test_bad_modes_are_rejected(given):
    with pytest.raises(ef.EnvFileError):
        ef.parse_mode(given)


def test_owner_and_group_resolve_by_name_and_number():
    assert ef.resolve_uid("root") == 0
    assert ef.resolve_uid("0") == 0
    assert ef.resolve_uid(None) is None
    assert ef.resolve_gid("0") == 0
    assert ef.resolve_gid(None) is None


def test_unknown_owner_and_group_fail_clearly():
    with pytest.raises(ef.EnvFileError, match="no-such-user-berth"):
        ef.resolve_uid("no-such-user-berth")
    with pytest.raises(ef.EnvFileError, match="no-such-group-berth"):
        ef.resolve_gid("no-such-group-berth")


# --------------------------------------------------------------------------- atomic writes

def test_atomic_write_sets_mode_and_content(tmp_path):
    path = str(tmp_path / ".env")
    ef.atomic_write(path, "A=1\n", 0o600)
    assert open(path).read() == "A=1\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(str(tmp_path))) == [".env"]


def test_atomic_write_replaces_the_inode_instead_of_truncating(tmp_path):
    path = tmp_path / ".env"
    path.write_text("OLD=1\n")
    before = os.stat(str(path)).st_ino
    ef.atomic_write(str(path), "NEW=1\n", 0o640)
    assert os.stat(str(path)).st_ino != before
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o640


@pytest.mark.parametrize("failing_call, error", [
    ("replace", OSError(28, "No space left on device")),   # the rename itself
    ("fsync", OSError(5, "Input/output error")),            # while writing the temp file
])
def test_failure_during_write_leaves_old_file_untouched_and_no_temp_file(tmp_path, monkeypatch, failing_call, error):
    path = tmp_path / ".env"
    path.write_text("OLD=1\n")
    os.chmod(str(path), 0o600)

    def broken(*args):
        raise error

    monkeypatch.setattr(ef.os, failing_call, broken)
    with pytest.raises(OSError):
        ef.atomic_write(str(path), "NEW=2\n", 0o600)
    assert path.read_text() == "OLD=1\n"
    assert sorted(os.listdir(str(tmp_path))) == [".env"]


def test_temp_file_gets_mode_and_owner_before_it_becomes_visible(tmp_path, monkeypatch):
    seen = {}
    real_replace = os.replace

    def spying_replace(src, dst):
        st = os.stat(src)
        seen.update(mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid, dir=os.path.dirname(src))
        real_replace(src, dst)

    monkeypatch.setattr(ef.os, "replace", spying_replace)
    uid, gid = os.getuid(), os.getgid()
    ef.atomic_write(str(tmp_path / ".env"), "A=1\n", 0o600, uid, gid)
    assert seen == dict(mode=0o600, uid=uid, gid=gid, dir=str(tmp_path))


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_owner_and_group_are_applied_as_root(tmp_path):
    path = str(tmp_path / ".env")
    ef.atomic_write(path, "A=1\n", 0o600, 65534, 65534)
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (65534, 65534)
    plan = ef.make_plan(path, {"A": "1"}, ef.read_state(path), 0o600, 0, 0)
    assert [name for name, _b, _a in plan.attribute_changes] == ["owner", "group"]


def test_apply_plan_fixes_only_attributes_when_content_matches(tmp_path):
    path = tmp_path / ".env"
    path.write_text(ef.render({"A": "1"}))
    os.chmod(str(path), 0o644)
    inode = os.stat(str(path)).st_ino
    plan = ef.make_plan(str(path), {"A": "1"}, ef.read_state(str(path)), 0o600)
    ef.apply_plan(plan, 0o600)
    assert os.stat(str(path)).st_ino == inode
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600


def test_read_state_of_missing_file_and_of_directory(tmp_path):
    assert ef.read_state(str(tmp_path / "nope")) == ef.FileState(exists=False)
    with pytest.raises(ef.EnvFileError, match="not a regular file"):
        ef.read_state(str(tmp_path))


def test_keys_overlapping_values_detects_masking_risk():
    assert ef.keys_overlapping_values(["APP_URL"], ["APP"])
    assert not ef.keys_overlapping_values(["APP_URL"], ["long-secret", ""])
