# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release log: one JSON object per line, one line per deploy, rollback, reconcile or task.

Pure logic for the ``berth.compose.release_log`` module; no Ansible imports.

Why it is built this way:

* a record is validated against a closed list of fields before it is written,
  so a caller can never put a secret (or a whole Ansible result) in the log;
* an append is one ``write`` of one line on an ``O_APPEND`` descriptor, under an
  exclusive ``flock`` on the file itself, followed by ``fsync``: concurrent
  appenders queue up and lines never interleave;
* a power loss can still leave a truncated last line. Readers skip any line
  that is not a JSON object (reporting its number) and the next append starts
  on a fresh line, so one bad line never hides or corrupts the next record;
* the queries are plain functions over the list of records, oldest first;
* the log is bounded: an append that takes it past :data:`ROTATE_BYTES` rotates it (:func:`rotate`),
  under the same lock. The live file keeps the newest :data:`KEEP_RECORDS` records plus, further
  back, every record rollback, reconcile and retention read - for each of the newest
  :data:`KEEP_RELEASES` good releases the deploy that went to it, its latest good record and its
  latest record with images, and the current record - in their order; the other records move to
  ``<log>.1``, which replaces the one an earlier rotation wrote. So every reader reads at most about
  ROTATE_BYTES, and the disk holds at most about twice that; a full history is the webhooks' job.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import secrets
import stat
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils.env_file import (
    EnvFileError,
    parse_mode as _env_parse_mode,
    resolve_gid as _env_resolve_gid,
    resolve_uid as _env_resolve_uid,
)

KINDS = ("deploy", "rollback", "reconcile", "task", "job", "restore", "adopt")
OUTCOMES = ("ok", "rolled_back", "failed", "hook_failed")
QUERIES = ("current", "last_good", "history", "images", "retained")
DEFAULT_MODE = 0o640
MIN_SHA_PREFIX = 7
ROTATE_BYTES = 1 << 20  # about 2,000 records
KEEP_RECORDS = 500
KEEP_RELEASES = 20


class ReleaseLogError(Exception):
    """A problem the module reports as a failure."""


# --------------------------------------------------------------------------- records

def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _opt_str(value: object) -> bool:
    return value is None or isinstance(value, str)


def _is_number(value: object) -> bool:
    # NaN and infinities would be written as bare NaN/Infinity, which is not JSON.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _opt_number(value: object) -> bool:
    return value is None or _is_number(value)


def _str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _name_or_mapping_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, (str, Mapping)) for item in value)


def _str_map(value: object) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _number_map(value: object) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) and _is_number(v) for k, v in value.items())


def _gate(value: object) -> bool:
    if value is None or isinstance(value, str):
        return True
    return isinstance(value, Mapping) and isinstance(value.get("passed", False), bool)


def _opt_bool(value: object) -> bool:
    return value is None or isinstance(value, bool)


# name -> (check, what the check wants, default when missing); the order is the order in the file.
FIELDS = (
    ("id", _is_str, "a string", None),
    ("kind", lambda v: v in KINDS, "one of " + ", ".join(KINDS), None),
    ("ref", _opt_str, "a string or null", None),
    ("from_commit", _opt_str, "a string or null", None),
    ("to_commit", _opt_str, "a string or null", None),
    ("serving_commit", _opt_str, "a string or null", None),
    ("services_built", _str_list, "a list of service names", list),
    ("services_recreated", _str_list, "a list of service names", list),
    ("services_deferred", _str_list, "a list of service names", list),
    ("services_pending", _str_list, "a list of service names", list),
    ("images", _str_map, "a mapping of service name to image", dict),
    ("migrations", _name_or_mapping_list, "a list of names or mappings", list),
    ("hooks", _name_or_mapping_list, "a list of names or mappings", list),
    ("backups", _str_list, "a list of dump files", list),
    ("gate", _gate, "null, a string or a mapping whose 'passed' is a boolean", None),
    ("outcome", lambda v: v in OUTCOMES, "one of " + ", ".join(OUTCOMES), None),
    ("started", _is_str, "a string (UTC ISO time)", None),
    ("duration_s", _opt_number, "a number of seconds or null", None),
    ("steps", _number_map, "a mapping of step name to seconds", dict),
    ("operator", _opt_str, "a string or null", None),
    ("pinned", _opt_bool, "a boolean or null", None),
    ("message", _opt_str, "a string or null", None),
    ("note", _opt_str, "a string or null", None),
    ("job_url", _opt_str, "a string or null", None),
)
FIELD_NAMES = tuple(name for name, _check, _want, _default in FIELDS)
REQUIRED = ("kind", "outcome")


def iso_now(now: float) -> str:
    """UTC ISO 8601 to the second with a Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


def new_id(now: float, random_hex: str | None = None) -> str:
    """``20261123T150000.123456Z-4f3a2b``: sorts by time; the random part separates same-microsecond ids."""
    micro = int(round((now - int(now)) * 1000000)) % 1000000
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(int(now)))
    return "%s.%06dZ-%s" % (stamp, micro, random_hex or secrets.token_hex(3))


def prepare_record(record: object, now: float | None = None, random_hex: str | None = None) -> dict[str, Any]:
    """A validated copy of ``record`` with defaults filled in, fields in file order.

    Raises ReleaseLogError naming every unknown, missing or mistyped field (never a value).
    """
    if not isinstance(record, Mapping):
        raise ReleaseLogError("record must be a mapping of the documented fields")
    unknown = sorted(str(key) for key in record if key not in FIELD_NAMES)
    if unknown:
        raise ReleaseLogError("record has unknown fields: %s (allowed: %s)" % (", ".join(unknown), ", ".join(FIELD_NAMES)))
    missing = [name for name in REQUIRED if record.get(name) is None]
    if missing:
        raise ReleaseLogError("record lacks required fields: %s" % ", ".join(missing))
    now = time.time() if now is None else now
    result: dict[str, Any] = {}
    problems: list[str] = []
    for name, check, want, default in FIELDS:
        value = record.get(name)
        if value is None:
            if name == "id":
                value = new_id(now, random_hex)
            elif name == "started":
                value = iso_now(now)
            elif default is not None:
                value = default()
        value = _numbers_from_text(name, value)
        if not check(value):
            problems.append("%s must be %s" % (name, want))
            continue
        result[name] = _plain(value)
    if problems:
        raise ReleaseLogError("record fields are invalid: %s" % "; ".join(problems))
    return result


def _to_number(value: Any) -> Any:
    """A number from a numeric string (templating may hand over ``"3.5"``); anything else unchanged."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() and "." not in value else number
    return value


def _numbers_from_text(name: str, value: Any) -> Any:
    if name == "duration_s":
        return _to_number(value)
    if name == "steps" and isinstance(value, Mapping):
        return {k: _to_number(v) for k, v in value.items()}
    return value


def _plain(value: Any) -> Any:
    """Mappings become plain dicts (JSON-ready); everything else passes through."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def encode(record: Mapping[str, Any]) -> str:
    """The record as one line of JSON, newline included; no newline can hide inside it."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"


# The fields the queries read, with the type they need: a JSON object whose fields have other
# types (written by hand, or by something else) is skipped like a corrupt line instead of crashing a query.
_QUERIED = (("id", _opt_str), ("kind", _opt_str), ("outcome", _opt_str), ("to_commit", _opt_str),
            ("serving_commit", _opt_str), ("images", lambda v: v is None or _str_map(v)), ("gate", _gate))


def _shape_problem(data: Mapping[str, Any]) -> str | None:
    wrong = [name for name, check in _QUERIED if not check(data.get(name))]
    if wrong:
        return "not a release record (wrong type of %s)" % ", ".join(wrong)
    return None


def parse_lines(text: str) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """``(records, skipped)`` from the file's text; skipped is ``[(line number, reason)]``.

    A blank line is ignored silently; anything else that is not a JSON object is skipped.
    """
    records: list[dict[str, Any]] = []
    skipped: list[tuple[int, str]] = []
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            skipped.append((number, "not a complete JSON line (truncated by an interrupted write, or corrupt)"))
            continue
        if not isinstance(data, dict):
            skipped.append((number, "not a JSON object"))
            continue
        problem = _shape_problem(data)
        if problem:
            skipped.append((number, problem))
            continue
        records.append(data)
    return records, skipped


# --------------------------------------------------------------------------- files

def parse_mode(mode: object) -> int:
    try:
        return _env_parse_mode(DEFAULT_MODE if mode is None else mode)
    except EnvFileError as exc:
        raise ReleaseLogError(str(exc))


def resolve_uid(owner: object) -> int | None:
    try:
        return _env_resolve_uid(owner)
    except EnvFileError as exc:
        raise ReleaseLogError(str(exc))


def resolve_gid(group: object) -> int | None:
    try:
        return _env_resolve_gid(group)
    except EnvFileError as exc:
        raise ReleaseLogError(str(exc))


def read_log(path: str) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """``(records, skipped)`` of the log at ``path`` under a shared flock; a missing file is an empty log."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return [], []
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ReleaseLogError("release log %s is not a regular file" % path)
        fcntl.flock(fd, fcntl.LOCK_SH)
        chunks: list[bytes] = []
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    return parse_lines(b"".join(chunks).decode("utf-8", errors="replace"))


def _open_locked(path: str, mode: int) -> int:
    """A descriptor of the log at ``path`` under an exclusive flock, re-opened when a rotation replaced the
    file while this one waited for the lock (its record would otherwise land in the moved-out file)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, mode)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ReleaseLogError("release log %s is not a regular file" % path)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def rotation_split(records: Sequence[Mapping[str, Any]], keep_records: int | None = None,
                   keep_releases: int | None = None) -> list[int]:
    """The indexes of ``records`` a rotation keeps in the live log (see the module's docstring), sorted."""
    keep_records = KEEP_RECORDS if keep_records is None else keep_records
    keep_releases = KEEP_RELEASES if keep_releases is None else keep_releases
    count = len(records)
    keep = set(range(max(0, count - keep_records), count))
    good: list[str] = []
    for index in range(count - 1, -1, -1):
        record = records[index]
        if is_good(record) and record["serving_commit"] not in good:
            good.append(record["serving_commit"])
            if len(good) >= keep_releases:
                break
    for commit in good:
        wanted = (lambda r, c=commit: is_good(r) and r.get("serving_commit") == c,
                  lambda r, c=commit: r.get("kind") == "deploy" and r.get("to_commit") == c,
                  lambda r, c=commit: r.get("to_commit") == c and bool(r.get("images")))
        for test in wanted:
            for index in range(count - 1, -1, -1):
                if test(records[index]):
                    keep.add(index)
                    break
    for index in range(count - 1, -1, -1):
        if records[index].get("serving_commit"):
            keep.add(index)
            break
    return sorted(keep)


def rotate(path: str, fd: int | None = None, keep_records: int | None = None,
           keep_releases: int | None = None) -> bool:
    """Move the records the live log no longer needs to ``<path>.1`` (replacing it); True when it did.

    Runs under the exclusive flock of ``fd`` (append_record's), or takes one. The new live file is
    written aside and renamed over the old one with its mode, owner and group, so a reader sees either
    the old file or the new one; a line that is not a record moves out with the old records."""
    own = fd is None
    if fd is None:  # own
        fd = _open_locked(path, DEFAULT_MODE)
    try:
        st = os.fstat(fd)
        chunks: list[bytes] = []
        offset = 0
        while True:
            chunk = os.pread(fd, 1 << 16, offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        lines = [line for line in b"".join(chunks).split(b"\n") if line.strip()]
        parsed: list[dict[str, Any] | None] = []
        for line in lines:
            records, _skipped = parse_lines(line.decode("utf-8", errors="replace"))
            parsed.append(records[0] if records else None)
        good = [(index, record) for index, record in enumerate(parsed) if record is not None]
        kept = set(good[i][0] for i in rotation_split([r for _i, r in good], keep_records, keep_releases))
        if len(kept) == len(lines):
            return False
        live = b"".join(lines[i] + b"\n" for i in range(len(lines)) if i in kept)
        moved = b"".join(lines[i] + b"\n" for i in range(len(lines)) if i not in kept)
        for target, data in ((path + ".1", moved), (path, live)):
            tmp = "%s.rotate-%d" % (target, os.getpid())
            out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IMODE(st.st_mode))
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(out, view):]
                os.fsync(out)
                try:
                    os.fchown(out, st.st_uid, st.st_gid)
                except OSError:
                    pass  # not root: the file is ours already
                os.fchmod(out, stat.S_IMODE(st.st_mode))
            finally:
                os.close(out)
            os.replace(tmp, target)
        return True
    finally:
        if own:
            os.close(fd)


def append_record(path: str, line: str, mode: int = DEFAULT_MODE, uid: int | None = None, gid: int | None = None,
                  rotate_bytes: int | None = None) -> None:
    """Append ``line`` (from encode) to ``path`` as one write under an exclusive flock, then fsync.

    Creates the file with ``mode``; brings mode, owner and group in line on every append. Past
    ``rotate_bytes`` (default ROTATE_BYTES; 0: never) the log is rotated under the same lock (:func:`rotate`).
    """
    rotate_bytes = ROTATE_BYTES if rotate_bytes is None else rotate_bytes
    if not line.endswith("\n") or "\n" in line[:-1]:
        raise ReleaseLogError("a release log line must be exactly one line")
    fd = _open_locked(path, mode)
    try:
        st = os.fstat(fd)
        size = st.st_size
        data = line.encode("utf-8")
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # a cut last line stays alone, the new record stays readable
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        if (uid is not None and st.st_uid != uid) or (gid is not None and st.st_gid != gid):
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        if stat.S_IMODE(st.st_mode) != mode:
            os.fchmod(fd, mode)  # after chown, which may clear setgid bits
        if rotate_bytes and size + len(data) > rotate_bytes:
            rotate(path, fd)
    finally:
        os.close(fd)  # also drops the flock


# --------------------------------------------------------------------------- queries

def commit_matches(value: object, wanted: object) -> bool:
    """Same commit: equal, or one a prefix of the other of at least MIN_SHA_PREFIX characters."""
    if not value or not wanted:
        return False
    value = str(value).lower()
    wanted = str(wanted).lower()
    if value == wanted:
        return True
    shorter = min(len(value), len(wanted))
    return shorter >= MIN_SHA_PREFIX and (value.startswith(wanted) or wanted.startswith(value))


def gate_failed(gate: object) -> bool:
    if isinstance(gate, Mapping):
        return gate.get("passed") is False
    return isinstance(gate, str) and gate.lower() == "failed"


def is_good(record: Mapping[str, Any]) -> bool:
    """A release that served and passed (or skipped) its gate."""
    return record.get("outcome") == "ok" and bool(record.get("serving_commit")) and not gate_failed(record.get("gate"))


def current(records: Sequence[Mapping[str, Any]]) -> Any:
    """The last record stating what serves now, or None."""
    for record in reversed(records):
        if record.get("serving_commit"):
            return record
    return None


def _start_of(records: Sequence[Mapping[str, Any]], before: str) -> tuple[int, Any]:
    """Index to search backwards from (exclusive) and the commit to avoid, for last_good's ``before``.

    For a commit the anchor is the deploy that went to it, not a later rollback back to it, an automatic
    rollback that left it serving or a reconcile of it: anchoring on those would make ``ref=previous``
    toggle between two releases instead of walking back through history.
    """
    for index in range(len(records) - 1, -1, -1):
        if records[index].get("id") == before:
            return index, records[index].get("serving_commit") or records[index].get("to_commit")
    anchors = (
        lambda r: r.get("kind") == "deploy" and r.get("outcome") in ("ok", "hook_failed")
        and commit_matches(r.get("to_commit"), before),
        lambda r: commit_matches(r.get("to_commit"), before),
        lambda r: commit_matches(r.get("serving_commit"), before),
    )
    for anchor in anchors:
        for index in range(len(records) - 1, -1, -1):
            if anchor(records[index]):
                return index, before
    return len(records), before


def last_good(records: Sequence[Mapping[str, Any]], before: str | None = None) -> Any:
    """The last good record; with ``before``, the last good one of another commit before that release."""
    if not before:
        for record in reversed(records):
            if is_good(record):
                return record
        return None
    end, avoid = _start_of(records, before)
    for record in reversed(records[:end]):
        if is_good(record) and not commit_matches(record.get("serving_commit"), avoid):
            return record
    return None


def history(records: Sequence[Mapping[str, Any]], limit: int = 0) -> list[Any]:
    """Records newest first, at most ``limit`` (0 = all)."""
    newest_first = list(reversed(records))
    return newest_first[:limit] if limit else newest_first


def pending(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The services the serving release left out (a deploy with ``-e service=``): they still run older
    code, and the next deploy that names no service picks them up. Read from the last deploy or rollback
    record that says what serves (a reconcile or a task changes no code)."""
    for record in reversed(records):
        if record.get("kind") in ("deploy", "rollback") and record.get("serving_commit"):
            return list(record.get("services_pending") or [])
    return []


def images(records: Sequence[Mapping[str, Any]], commit: str) -> dict[str, str]:
    """Service -> image of the latest record of release ``commit`` that recorded images."""
    for record in reversed(records):
        if commit_matches(record.get("to_commit"), commit) and record.get("images"):
            return dict(record["images"])
    return {}


# Failed attempts (deploys and rollbacks that did not end ok) whose release directories retention keeps
# for diagnosis - their compose files, image map and env link show what was tried - besides the good
# releases; the newest ones, since an older failure has been looked at or superseded. They never count
# toward ``keep``: a few failed tries cannot push a good release (the ref=previous target) out.
KEEP_FAILED = 2


def _failed_attempts(records: Sequence[Mapping[str, Any]], good: Sequence[str]) -> list[str]:
    failed: list[str] = []
    for record in reversed(records):
        commit = record.get("to_commit")
        if (commit and record.get("kind") in ("deploy", "rollback") and record.get("outcome") != "ok"
                and commit not in good and commit not in failed):
            failed.append(commit)
    return failed


def retained(records: Sequence[Mapping[str, Any]], keep: int, keep_failed: int = KEEP_FAILED) -> list[str]:
    """Commits retention keeps, newest first: the newest ``keep`` good releases, the current and the last
    good, and the newest ``keep_failed`` failed attempts (which never count toward ``keep``)."""
    ordered: list[str] = []
    good: list[str] = []
    for record in reversed(records):
        for name in ("serving_commit", "to_commit"):
            commit = record.get(name)
            if commit and commit not in ordered:
                ordered.append(commit)
        if is_good(record) and record["serving_commit"] not in good:
            good.append(record["serving_commit"])
    keep_set = set(good[:keep]) | set(_failed_attempts(records, good)[:keep_failed])
    for record in (current(records), last_good(records)):
        if record and record.get("serving_commit"):
            keep_set.add(record["serving_commit"])
    return [commit for commit in ordered if commit in keep_set]


def prune_plan(found: Iterable[tuple[str, float]], records: Sequence[Mapping[str, Any]], keep: int, protect: Iterable[str | None] = (),
               keep_failed: int = KEEP_FAILED) -> list[str]:
    """Release directories to remove, newest first, judged by the log: all but the good releases
    :func:`retained` keeps and ``protect``, except the newest ``keep_failed`` directories (by modification
    time) of failed attempts - recorded ones, or ones no record names (a run killed before it recorded, or
    made by hand) - so at most ``keep_failed`` directories ever stay beside the good ones. Without
    records, the newest ``keep`` by modification time stay (the log is the only judge of good and failed).

    found: [(commit, mtime)] of the directories under releases/."""
    newest = sorted(found, key=lambda item: item[1], reverse=True)
    if not records:
        kept = set(commit for commit, _mtime in newest[:max(keep, 1)])
    else:
        kept = set(retained(records, keep, keep_failed=0))
        good = set(r["serving_commit"] for r in records if is_good(r))
        failed = [commit for commit, _mtime in newest if commit not in kept and commit not in good]
        kept |= set(failed[:keep_failed])
    kept |= set(c for c in protect if c)
    return [commit for commit, _mtime in newest if commit not in kept]


def run_query(records: Sequence[Mapping[str, Any]], state: str, before: str | None = None, commit: str | None = None, limit: int = 0,
              keep: int = 5) -> Any:
    """Dispatch one of QUERIES by name."""
    if state == "current":
        return current(records)
    if state == "last_good":
        return last_good(records, before)
    if state == "history":
        return history(records, limit)
    if state == "images":
        if not commit:
            raise ReleaseLogError("commit is required when state=images")
        return images(records, commit)
    if state == "retained":
        return retained(records, keep)
    raise ReleaseLogError("unknown query %r (one of %s)" % (state, ", ".join(QUERIES)))


__all__ = [
    "FIELD_NAMES", "KINDS", "OUTCOMES", "QUERIES", "ReleaseLogError", "append_record", "commit_matches", "current",
    "encode", "gate_failed", "history", "images", "is_good", "last_good", "new_id", "parse_lines", "parse_mode",
    "prepare_record", "prune_plan", "read_log", "resolve_gid", "resolve_uid", "retained", "rotate", "rotation_split",
    "run_query",
]
