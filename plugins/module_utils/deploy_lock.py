# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy lock: one JSON file per app saying who changes it right now.

Pure logic for the ``berth.compose.deploy_lock`` module; no Ansible imports.

Why it is built this way:

* every read-decide-write runs under an exclusive ``flock`` on ``<path>.guard``.
  ``flock`` alone cannot be the deploy lock (the module process exits while the
  deploy goes on), but it makes "the lock is stale, take it over" a single step:
  two takers of the same stale lock are serialized and the second one sees the
  first one's fresh lock. A killed process drops its ``flock``, so the guard
  never goes stale itself;
* a new lock file is written complete to a temporary file and hard-linked to
  the lock path (``link`` fails when the path exists), so even without the guard
  no reader ever sees a half-written lock and two creators never both win;
* a takeover renames a complete temporary file over the stale one, then reads
  the lock back and compares the token before claiming success;
* time comes from an injected clock (``now``/``sleep``) so tests need no waits;
* a holder that works in one process (the release engine) also holds an exclusive
  ``flock`` on ``<path>.held`` for its whole run, taken under the guard right after
  its lock file is written, and says so in the file (``"held": "flock"``). Such a lock
  is live exactly as long as that ``flock`` is held: the kernel drops it however the
  process ends, so liveness needs no TTL, no pid and no controller name.
"""

from __future__ import annotations

import errno
import fcntl
import getpass
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, Callable, List, Literal, Optional

from ansible_collections.berth.compose.plugins.module_utils.atomic_file import (
    atomic_write, fsync_dir, unlink_quietly, write_temp)

DEFAULT_TTL = 1800
DEFAULT_WAIT = 60
POLL_SECONDS = 1.0
LOCK_FILE_MODE = 0o644
FORCE_HINT = "-e force_unlock=true takes it over"

HOLDER_FIELDS = ("owner", "operator", "controller", "pid", "started", "started_epoch", "ttl", "token")
HELD_BY_FLOCK = "flock"


class LockError(Exception):
    """A failure the module reports; ``holder`` is the lock in the way (a dict) or None."""

    def __init__(self, msg: str, holder: Mapping[str, Any] | None = None) -> None:
        super().__init__(msg)
        self.holder = holder


class LockHeld(LockError):
    """Another holder kept the lock for the whole wait."""

    def __init__(self, msg: str, holder: Mapping[str, Any] | None, waited: float) -> None:
        super().__init__(msg, holder)
        self.waited = waited


@dataclass
class Clock:
    """Wall time in epoch seconds and a sleep; tests pass a fake."""

    now: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep


@dataclass
class Outcome:
    """What acquire / release did (or would do, in check mode)."""

    changed: bool
    token: Optional[str]
    lock: Optional[dict]
    msg: str
    stale: Optional[dict] = None
    waited: float = 0.0
    warnings: List[str] = field(default_factory=list)


# --------------------------------------------------------------------------- text

def iso(epoch: float) -> str:
    """UTC ISO 8601 with a Z, to the second: what operators read in messages."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def age_text(seconds: float) -> str:
    """A short human duration: ``12 s``, ``4 min``, ``2 h 5 min``, ``3 d 1 h``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return "%d s" % seconds
    minutes = seconds // 60
    if minutes < 60:
        return "%d min" % minutes
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return "%d h %d min" % (hours, minutes) if minutes else "%d h" % hours
    days, hours = divmod(hours, 24)
    return "%d d %d h" % (days, hours) if hours else "%d d" % days


def describe(holder: Mapping[str, Any], now: float) -> str:
    """``'deploy web' (alice@ctl, pid 123) since 2026-11-23T15:00:00Z (4 min ago)``."""
    return "'%s' (%s@%s, pid %s) since %s (%s ago)" % (
        holder.get("owner"), holder.get("operator"), holder.get("controller"), holder.get("pid"),
        holder.get("started"), age_text(now - holder.get("started_epoch", now)))


def default_operator(environ: Mapping[str, str] | None = None) -> str:
    """Who runs the module: the user behind sudo when there is one, else the effective user."""
    environ = os.environ if environ is None else environ
    if environ.get("SUDO_USER"):
        return environ["SUDO_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.geteuid())


_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def option_problems(path: str, pid: int | None = None, token: str | None = None, stale_token: str | None = None,
                    **labels: str | None) -> list[str]:
    """The module's options checked before the lock file is touched: a list of messages naming each option."""
    problems: list[str] = []
    if not os.path.isabs(path):
        problems.append("path %r must be an absolute path" % path)
    elif ".." in path.split("/"):
        problems.append("path %r must not contain '..' segments" % path)
    for name, value in sorted(labels.items()):
        if value is not None and _CONTROL.search(value):
            problems.append("%s %r must not hold a line break or other control characters" % (name, value))
    if pid is not None and pid < 0:
        problems.append("pid must be 0 or more, got %d" % pid)
    for name, value in (("token", token), ("stale_token", stale_token)):
        if value and not _TOKEN.match(value):  # "" is no token (playbooks pass default(""))
            problems.append("%s %r: allowed are 1 to 128 letters, digits, '_' and '-' (a token this module returned)"
                            % (name, value))
    return problems


def new_token() -> str:
    return secrets.token_hex(8)


def make_holder(owner: str, operator: str, controller: str, pid: int | str, ttl: int | str, now: float, token: str,
                held: str | None = None) -> dict[str, Any]:
    holder: dict[str, Any] = dict(owner=owner, operator=operator, controller=controller, pid=int(pid), started=iso(now),
                                  started_epoch=round(float(now), 3), ttl=int(ttl), token=token)
    if held:
        holder["held"] = held
    return holder


def parse_holder(text: str) -> dict[str, Any] | None:
    """The holder dict of a lock file's text, or None when it is empty, not JSON or lacks a field."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or any(name not in data for name in HOLDER_FIELDS):
        return None
    if not isinstance(data["token"], str) or not data["token"]:
        return None
    try:
        data["started_epoch"] = float(data["started_epoch"])
        data["ttl"] = int(data["ttl"])
    except (TypeError, ValueError):
        return None
    holder = {name: data[name] for name in HOLDER_FIELDS}
    if data.get("held") == HELD_BY_FLOCK:
        holder["held"] = HELD_BY_FLOCK
    return holder


def is_expired(holder: Mapping[str, Any], now: float) -> bool:
    return now >= holder["started_epoch"] + holder["ttl"]


# --------------------------------------------------------------------------- files

class Guard:
    """Exclusive ``flock`` on ``<path>.guard`` for one read-decide-write.

    In check mode nothing may be created, so a missing guard file (or directory)
    means no guard: a check run only reads.
    """

    def __init__(self, path: str, create: bool = True) -> None:
        self.path = path + ".guard"
        self.create = create
        self.fd: int | None = None

    def __enter__(self) -> Guard:
        flags = os.O_RDONLY | (os.O_CREAT if self.create else 0)
        try:
            # Read-only is enough for flock, so users other than the creator can take the guard.
            self.fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            if not self.create and exc.errno == errno.ENOENT:
                return self
            raise
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc_info: object) -> Literal[False]:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the flock
            self.fd = None
        return False


class ProcessHold:
    """The exclusive ``flock`` on ``<path>.held`` a one-process holder keeps for its whole run."""

    def __init__(self, path: str) -> None:
        self.path = path + ".held"
        self.fd: int | None = None

    def take(self) -> ProcessHold:
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o644)
            # Blocking: a holder that just gave the lock back may close its descriptor a moment later.
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def drop(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def process_hold_alive(path: str) -> bool:
    """True while some process holds the ``flock`` on ``<path>.held``."""
    try:
        fd = os.open(path + ".held", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def read_lock(path: str) -> tuple[str, Any]:  # (state, the holder dict or None)
    """``("absent", None)``, ``("held", holder)`` or ``("corrupt", None)`` for the lock file."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return "absent", None
        raise
    holder = parse_holder(raw.decode("utf-8", errors="replace"))
    return ("held", holder) if holder is not None else ("corrupt", None)


def _lock_bytes(holder: Mapping[str, Any]) -> bytes:
    return (json.dumps(holder, sort_keys=True) + "\n").encode("utf-8")


def create_lock(path: str, holder: Mapping[str, Any]) -> bool:
    """Create the lock file complete and atomically; False when it already exists."""
    tmp = write_temp(path, _lock_bytes(holder), LOCK_FILE_MODE)
    try:
        os.link(tmp, path)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            return False
        raise
    finally:
        unlink_quietly(tmp)
    fsync_dir(os.path.dirname(os.path.abspath(path)))
    return _token_on_disk(path) == holder["token"]


def replace_lock(path: str, holder: Mapping[str, Any]) -> bool:
    """Rename a complete new lock over the old one; True when the lock read back is ours."""
    atomic_write(path, _lock_bytes(holder), LOCK_FILE_MODE)
    return _token_on_disk(path) == holder["token"]


def _token_on_disk(path: str) -> Any:
    state, holder = read_lock(path)
    return holder["token"] if state == "held" else None


# --------------------------------------------------------------------------- acquire / release

def _stale_reason(state: str, holder: Any, now: float, force: bool, stale_token: str | None,
                  path: str | None = None) -> str | None:
    """Why the lock found may be taken over without waiting, or None when it is live."""
    if state == "corrupt":
        return "corrupt"
    if holder.get("held") == HELD_BY_FLOCK and path:
        if not process_hold_alive(path):
            return "dead"
        return "forced" if force else None
    if is_expired(holder, now):
        return "expired"
    if stale_token and holder["token"] == stale_token:
        return "dead"
    if force:
        return "forced"
    return None


def _stale_warning(path: str, reason: str, holder: Any, now: float) -> str:
    if reason == "corrupt":
        return "deploy lock %s was empty or corrupt (a holder killed while writing it?); taken over" % path
    text = describe(holder, now)
    if reason == "expired":
        return "stale deploy lock %s taken over: held by %s, past its TTL of %d s" % (path, text, holder["ttl"])
    if reason == "dead":
        return "stale deploy lock %s taken over: held by %s, whose process is gone" % (path, text)
    return "deploy lock %s taken over by force: it was held by %s" % (path, text)


def acquire(path: str, owner: str = "deploy", operator: str = "unknown", controller: str = "unknown", pid: int = 0,
            ttl: int = DEFAULT_TTL, wait: float = DEFAULT_WAIT, force: bool = False, token: str | None = None,
            stale_token: str | None = None, check_mode: bool = False, clock: Clock | None = None,
            poll: float = POLL_SECONDS, make_token: Callable[[], str] = new_token,
            hold: ProcessHold | None = None) -> Outcome:
    """Take the lock at ``path`` or raise LockHeld after ``wait`` seconds; see the module documentation."""
    clock = clock or Clock()
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory) and not check_mode:
        os.makedirs(directory, 0o755)
    started = clock.now()
    deadline = started + wait
    my_token = make_token()
    while True:
        now = clock.now()
        waited = round(now - started, 1)
        with Guard(path, create=not check_mode):
            state, holder = read_lock(path)
            if state == "held" and token and holder["token"] == token:
                return Outcome(changed=False, token=token, lock=holder, waited=waited,
                               msg="deploy lock already held with this token by %s" % describe(holder, now))
            reason = None if state == "absent" else _stale_reason(state, holder, now, force, stale_token, path)
            if state == "absent" or reason:
                mine = make_holder(owner, operator, controller, pid, ttl, now, my_token,
                                   held=HELD_BY_FLOCK if hold is not None else None)
                stale = None
                warnings: list[str] = []
                if reason:
                    stale = dict(holder or {}, reason=reason)
                    warnings.append(_stale_warning(path, reason, holder, now))
                if check_mode:
                    verb = "would take over the stale" if reason else "would take the"
                    return Outcome(changed=True, token=my_token, lock=mine, stale=stale, waited=waited,
                                   warnings=warnings, msg="check mode: %s deploy lock %s" % (verb, path))
                won = create_lock(path, mine) if state == "absent" else replace_lock(path, mine)
                if won and hold is not None:
                    hold.take()  # still under the guard: no checker sees the lock without its flock
                if won:
                    verb = "took over the stale" if reason else "took the"
                    return Outcome(changed=True, token=my_token, lock=mine, stale=stale, waited=waited,
                                   warnings=warnings, msg="%s deploy lock %s" % (verb, path))
                continue  # someone outside the guard got in first (no guard on their side): look again
            if check_mode:
                return Outcome(changed=False, token=None, lock=holder, waited=0.0,
                               warnings=["deploy lock %s is held by %s; a real run would wait up to %d s for it"
                                         % (path, describe(holder, now), wait)],
                               msg="check mode: deploy lock held by %s" % describe(holder, now))
        if now >= deadline:
            until = ("is released when its process ends" if holder.get("held") == HELD_BY_FLOCK
                     else "turns stale at " + iso(holder["started_epoch"] + holder["ttl"]))
            raise LockHeld("deploy lock held by %s; waited %d s; it %s; %s" % (
                describe(holder, now), int(round(now - started)), until, FORCE_HINT), holder, waited)
        clock.sleep(min(poll, deadline - now))


def release(path: str, token: str | None = None, force: bool = False, check_mode: bool = False,
            clock: Clock | None = None) -> Outcome:
    """Remove the lock at ``path`` when ``token`` is its token (or ``force``); see the module documentation.

    In check mode nothing is removed and nothing fails: a ``--check`` run's release only says what a real one
    would do.
    """
    clock = clock or Clock()
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        return Outcome(changed=False, token=token, lock=None, msg="deploy lock %s is not held" % path)
    with Guard(path, create=not check_mode):
        state, holder = read_lock(path)
        if state == "absent":
            return Outcome(changed=False, token=token, lock=None, msg="deploy lock %s is not held" % path)
        now = clock.now()
        who = describe(holder, now) if holder else "an empty or corrupt lock file"
        problem = None
        if not force:
            if not token:
                return Outcome(changed=False, token=token, lock=holder,
                               msg="no token given: deploy lock %s held by %s left in place" % (path, who))
            if state == "corrupt":
                problem = ("deploy lock %s is empty or corrupt, so its token cannot be checked; "
                           "release with force=true to remove it" % path)
            elif holder["token"] != token:
                problem = ("deploy lock %s is held by %s, not with the token given (taken over?); "
                           "release with force=true to remove it anyway" % (path, who))
        if problem and check_mode:
            return Outcome(changed=False, token=token, lock=holder, msg="check mode: " + problem)
        if problem:
            raise LockError(problem, holder)
        if check_mode:
            return Outcome(changed=True, token=token, lock=holder,
                           msg="check mode: would release deploy lock %s held by %s" % (path, who))
        os.unlink(path)
        fsync_dir(os.path.dirname(os.path.abspath(path)))
        return Outcome(changed=True, token=token, lock=holder, msg="released deploy lock %s held by %s" % (path, who))


__all__ = [
    "Clock", "DEFAULT_TTL", "DEFAULT_WAIT", "FORCE_HINT", "LockError", "LockHeld", "Outcome", "acquire", "age_text",
    "default_operator", "describe", "is_expired", "iso", "make_holder", "new_token", "parse_holder", "read_lock",
    "release", "replace_lock", "create_lock",
]
