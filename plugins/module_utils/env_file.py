# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render, parse, compare and atomically write Docker Compose env files.

Pure logic for the ``berth.compose.env_file`` module; no Ansible imports, so
``pytest`` calls every function directly. The quoting rules (what Compose v2's
env-file parser reads back verbatim) and why they are so are in docs/decisions.md.
Keys are written in sorted order under a one-line header comment, so the same
input always gives byte-identical content.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import re
import stat
from dataclasses import dataclass, field
from collections.abc import Callable, Iterable, Mapping
from typing import Any, List, Optional, Tuple

from ansible_collections.berth.compose.plugins.module_utils.atomic_file import atomic_write

HEADER = "# Managed by Ansible (berth.compose.env_file): local edits are overwritten.\n"
REDACTED = "<redacted>"
DEFAULT_MODE = 0o600

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BARE_RE = re.compile(r"^[A-Za-z0-9_.,:/@%+=-]+$")
_FORBIDDEN_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_KEY_RE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*")
_DQ_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t", "$": "$"}


class EnvFileError(Exception):
    """A problem the caller reports as a failure. Messages never hold a value."""


# --------------------------------------------------------------------------- keys and values

def is_valid_key(key: object) -> bool:
    """True when ``key`` is a portable environment variable name."""
    return isinstance(key, str) and bool(_KEY_RE.fullmatch(key))


def to_env_string(value: object) -> str:
    """The string an env file holds for one YAML value.

    Booleans become ``true``/``false`` (what YAML wrote, not Python's ``True``),
    ``None`` the empty string, numbers their decimal form. Lists and mappings
    are rejected: an env var holds one string.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise TypeError(type(value).__name__)


def normalize_values(values: object) -> dict[str, str]:
    """Validate keys and stringify values; raise EnvFileError naming bad keys only."""
    if not isinstance(values, Mapping):
        raise EnvFileError("values must be a mapping of KEY: value")
    bad_keys = sorted(str(k) for k in values if not is_valid_key(k))
    if bad_keys:
        raise EnvFileError(
            "Invalid env variable names (must match [A-Za-z_][A-Za-z0-9_]*): %s" % ", ".join(bad_keys))
    result: dict[str, str] = {}
    bad_types: list[str] = []
    bad_chars: list[str] = []
    for key in sorted(values):
        try:
            text = to_env_string(values[key])
        except TypeError as exc:
            bad_types.append("%s (%s)" % (key, exc))
            continue
        if _FORBIDDEN_CHARS_RE.search(text):
            bad_chars.append(key)
            continue
        result[key] = text
    if bad_types:
        raise EnvFileError("Env values must be strings, numbers, booleans or null; not for: %s" % ", ".join(bad_types))
    if bad_chars:
        raise EnvFileError(
            "Env values hold control characters an env file cannot carry (only tab, newline and "
            "carriage return are allowed) for: %s" % ", ".join(bad_chars))
    return result


def missing_required(values: Mapping[str, Any], required_keys: Iterable[str] | None) -> list[str]:
    """Sorted required keys that are absent, null, or empty/whitespace-only in ``values``."""
    missing: set[str] = set()
    for key in required_keys or ():
        if key not in values:
            missing.add(key)
            continue
        try:
            text = to_env_string(values[key])
        except TypeError:
            continue  # present and non-empty; normalize_values reports the type
        if not text.strip():
            missing.add(key)
    return sorted(missing)


# --------------------------------------------------------------------------- render / parse

def quote_value(value: str) -> str:
    """Encode one value for a Compose env file (see the module docstring)."""
    if value == "":
        return ""
    if _BARE_RE.fullmatch(value):
        return value
    escaped = (value.replace("\\", "\\\\")
               .replace('"', '\\"')
               .replace("$", "$$")
               .replace("\n", "\\n")
               .replace("\r", "\\r"))
    return '"%s"' % escaped


def render(values: Mapping[str, str]) -> str:
    """The whole file for already normalized ``values``: header, then sorted KEY=VALUE lines."""
    lines = [HEADER]
    for key in sorted(values):
        lines.append("%s=%s\n" % (key, quote_value(values[key])))
    return "".join(lines)


def _read_double_quoted(text: str, pos: int) -> tuple[str, int]:
    """Decode a double-quoted value starting after the opening quote; return (value, end)."""
    out: list[str] = []
    i = pos
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _DQ_ESCAPES:
                out.append(_DQ_ESCAPES[nxt])
            else:
                out.append(ch + nxt)
            i += 2
            continue
        if ch == "$" and text.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise ValueError("unterminated double quote")


def _read_single_quoted(text: str, pos: int) -> tuple[str, int]:
    """Decode a single-quoted (literal) value; only an escaped quote is special."""
    out: list[str] = []
    i = pos
    while i < len(text):
        ch = text[i]
        if ch == "\\" and text.startswith("'", i + 1):
            out.append("'")
            i += 2
            continue
        if ch == "'":
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise ValueError("unterminated single quote")


def parse(text: str) -> dict[str, str]:
    """Read an env file into ``{key: value}`` the way Compose would, without interpolation.

    Lenient on purpose: it only serves to tell which keys an existing file
    holds and whether their values differ. Lines that are not assignments are
    skipped; a later assignment of a key wins, as in Compose.
    """
    result = {}
    pos = 0
    length = len(text)
    while pos < length:
        eol = text.find("\n", pos)
        if eol == -1:
            eol = length
        line = text[pos:eol]
        match = _LINE_KEY_RE.match(line)
        if not match:
            pos = eol + 1
            continue
        key = match.group(1)
        start = pos + match.end()
        first = text[start:start + 1]
        try:
            if first == '"':
                value, end = _read_double_quoted(text, start + 1)
            elif first == "'":
                value, end = _read_single_quoted(text, start + 1)
            else:
                raw = text[start:eol]
                raw = raw.split(" #", 1)[0].rstrip()
                value, end = raw.replace("$$", "$"), eol
        except ValueError:
            pos = eol + 1
            continue
        result[key] = value
        nxt = text.find("\n", end)
        pos = length if nxt == -1 else nxt + 1
    return result


# --------------------------------------------------------------------------- comparing

@dataclass
class KeyChanges:
    """Which keys an update adds, changes the value of, or removes."""

    added: List[str] = field(default_factory=list)
    updated: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)

    @property
    def changed_keys(self) -> list[str]:
        return sorted(set(self.added) | set(self.updated) | set(self.removed))


def compare(old: Mapping[str, str], new: Mapping[str, str]) -> KeyChanges:
    """Key-level difference between two ``{key: value}`` mappings."""
    return KeyChanges(
        added=sorted(k for k in new if k not in old),
        updated=sorted(k for k in new if k in old and old[k] != new[k]),
        removed=sorted(k for k in old if k not in new),
    )


def redacted_listing(keys: Iterable[str], marks: Mapping[str, str] | None = None,
                     attributes: Iterable[tuple[str, str]] | None = None, note: str | None = None) -> str:
    """A diff-friendly text naming keys with every value replaced by REDACTED.

    ``marks`` maps a key to a suffix (``changed``) so a changed value shows as a
    changed line in a unified diff without revealing either value.
    """
    marks = marks or {}
    lines: list[str] = []
    if attributes:
        lines.append("# %s\n" % " ".join("%s=%s" % item for item in attributes))
    if note:
        lines.append("# %s\n" % note)
    for key in sorted(keys):
        suffix = " (%s)" % marks[key] if key in marks else ""
        lines.append("%s=%s%s\n" % (key, REDACTED, suffix))
    return "".join(lines)


# --------------------------------------------------------------------------- files

def parse_mode(mode: object) -> int:
    """An octal mode from ``"0600"``, ``"600"``, ``"0o600"`` or an int (YAML ``0600``)."""
    if mode is None:
        return DEFAULT_MODE
    if isinstance(mode, bool):
        raise EnvFileError("mode must be an octal string such as '0600'")
    if isinstance(mode, int):
        value = mode
    else:
        text = str(mode).strip().lower()
        if text.startswith("0o"):
            text = text[2:]
        if not text or any(c not in "01234567" for c in text):
            raise EnvFileError("mode must be an octal string such as '0600', got %r" % (mode,))
        value = int(text, 8)
    if not 0 <= value <= 0o7777:
        raise EnvFileError("mode %r is out of range" % (mode,))
    return value


def check_secret_mode(mode: int) -> int:
    """Refuse a mode that lets every user on the host read or write the secrets (any bit for others)."""
    if mode & 0o007:
        raise EnvFileError("mode %s gives other users access to the secrets; allowed: owner and group bits only, "
                           "such as 0600 or 0640" % format_mode(mode))
    return mode


def format_mode(mode: int) -> str:
    return "%04o" % mode


def _resolve_id(name: object, lookup: Callable[[str], int], kind: str) -> int | None:
    """Numeric id for a name or a numeric string via ``lookup``; None when ``name`` is unset."""
    if name is None or name == "":
        return None
    text = str(name)
    if text.isdigit():
        return int(text)
    try:
        return lookup(text)
    except KeyError:
        raise EnvFileError("%s %s does not exist on the host" % (kind, text))


def resolve_uid(owner: object) -> int | None:
    """uid for a user name or numeric id; None when ``owner`` is None."""
    return _resolve_id(owner, lambda name: pwd.getpwnam(name).pw_uid, "owner")


def resolve_gid(group: object) -> int | None:
    """gid for a group name or numeric id; None when ``group`` is None."""
    return _resolve_id(group, lambda name: grp.getgrnam(name).gr_gid, "group")


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


@dataclass
class FileState:
    """What is on disk now; ``exists`` False means no file (content None)."""

    exists: bool
    content: Optional[str] = None
    mode: Optional[int] = None
    uid: Optional[int] = None
    gid: Optional[int] = None


def read_state(path: str) -> FileState:
    """Current content and attributes of ``path``; a directory or binary file is an error."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return FileState(exists=False)
        raise EnvFileError("cannot stat %s: %s" % (path, exc.strerror))
    if not stat.S_ISREG(st.st_mode):
        raise EnvFileError("%s exists and is not a regular file" % path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise EnvFileError("cannot read %s: %s" % (path, exc.strerror))
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        content = raw.decode("utf-8", errors="replace")
    return FileState(exists=True, content=content, mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid)


def set_attributes(path: str, mode: int, uid: int | None = None, gid: int | None = None) -> None:
    """Bring owner, group and mode of an existing file in line (no content change)."""
    if uid is not None or gid is not None:
        os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
    os.chmod(path, mode)


# --------------------------------------------------------------------------- the plan

@dataclass
class Plan:
    """Everything the module decides before touching the host."""

    path: str
    content: str
    keys: List[str]
    changes: KeyChanges
    write_content: bool
    attribute_changes: List[Tuple[str, str, str]]  # (name, before, after)
    before_diff: str = ""
    after_diff: str = ""
    exists: bool = False

    @property
    def changed(self) -> bool:
        return self.write_content or bool(self.attribute_changes)


def make_plan(path: str, values: Mapping[str, str], state: FileState, mode: int, uid: int | None = None,
              gid: int | None = None) -> Plan:
    """Compare the wanted file (``values`` normalized) with ``state`` and describe the update."""
    content = render(values)
    old_values = parse(state.content) if state.exists else {}  # type: ignore[arg-type]  # exists: content is set
    changes = compare(old_values, values)
    write_content = (not state.exists) or state.content != content

    attribute_changes: list[tuple[str, str, str]] = []
    if state.exists:
        if state.mode != mode:
            attribute_changes.append(("mode", format_mode(state.mode), format_mode(mode)))  # type: ignore[arg-type]  # exists: mode is set
        if uid is not None and state.uid != uid:
            attribute_changes.append(("owner", user_name(state.uid), user_name(uid)))  # type: ignore[arg-type]  # exists: uid is set
        if gid is not None and state.gid != gid:
            attribute_changes.append(("group", group_name(state.gid), group_name(gid)))  # type: ignore[arg-type]  # exists: gid is set

    before_attrs = [(name, before) for name, before, _after in attribute_changes]
    after_attrs = [(name, after) for name, _before, after in attribute_changes]
    note = None
    if state.exists and write_content and not changes.changed_keys:
        note = "file rewritten in canonical form; no value changed"
    before = redacted_listing(old_values, attributes=before_attrs) if state.exists else ""
    after = redacted_listing(values, marks=dict.fromkeys(changes.updated, "changed"), attributes=after_attrs, note=note)
    return Plan(path=path, content=content, keys=sorted(values), changes=changes, write_content=write_content,
                attribute_changes=attribute_changes, before_diff=before, after_diff=after, exists=state.exists)


def apply_plan(plan: Plan, mode: int, uid: int | None = None, gid: int | None = None) -> None:
    """Carry out ``plan``: an atomic write when content differs, else attribute fixes only."""
    if plan.write_content:
        atomic_write(plan.path, plan.content, mode, uid, gid)
    elif plan.attribute_changes:
        set_attributes(plan.path, mode, uid, gid)


def keys_overlapping_values(keys: Iterable[str], values: Iterable[str]) -> bool:
    """True when a key name contains one of the values (Ansible will mask that name in output)."""
    texts = [v for v in values if v]
    return any(t in k for k in keys for t in texts)


__all__ = [
    "DEFAULT_MODE", "EnvFileError", "FileState", "HEADER", "KeyChanges", "Plan", "REDACTED",
    "apply_plan", "atomic_write", "compare", "format_mode", "is_valid_key", "keys_overlapping_values",
    "make_plan", "missing_required", "normalize_values", "parse", "parse_mode", "quote_value",
    "read_state", "redacted_listing", "render", "resolve_gid", "resolve_uid", "set_attributes",
    "to_env_string",
]
