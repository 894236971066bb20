# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A restore of one dump (``restore.yml``): what the ``berth.compose.backup`` module runs with ``action=restore``.

Under the deploy lock (held by this process, like a task's), with the serving release's compose
project: check the dump's sha256 (refused, nothing changed, when it does not match), stop the
services that write to the database (``writers``, else those whose ``depends_on`` names the
backup's service in the rendered model), pipe the dump into ``restore_command`` in the
service's container, start the writers again whatever happened, gate them, and append one
``kind: restore`` record. Check mode stops after the plan. No Ansible imports.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils import backups as bk
from ansible_collections.berth.compose.plugins.module_utils import deploy_lock
from ansible_collections.berth.compose.plugins.module_utils import host
from ansible_collections.berth.compose.plugins.module_utils import release_log
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import run as compose_run
from ansible_collections.berth.compose.plugins.module_utils.engine_gate import Gate
from ansible_collections.berth.compose.plugins.module_utils.release_dir import serving_project


def restore_record(ref: str | None, commit: str | None, outcome: str, started: float, seconds: float,
                   operator: str | None, message: str, gate: Any) -> dict[str, Any]:
    """The ``kind: restore`` record: the release keeps serving, its data was replaced."""
    return dict(kind="restore", ref=ref, to_commit=commit, serving_commit=commit, outcome=outcome, gate=gate,
                started=release_log.iso_now(started), duration_s=seconds, operator=operator, message=message)


def plan_lines(name: str, path: str, size: int, service: str, writers: list[str], command: Any) -> list[str]:
    return ["restore %s from %s (%d bytes, sha256 matches)" % (name, os.path.basename(path), size),
            "stop:      " + (", ".join(writers) or "- (no service writes to %s)" % service),
            "restore:   %s in %s: %s" % (name, service, command if isinstance(command, str) else " ".join(command)),
            "start:     " + (", ".join(writers) or "-") + ", then the gate"]


class Restore:
    """One restore (``params``: the backup module's options); :meth:`run` fills and returns ``result``."""

    def __init__(self, params: Mapping[str, Any], check_mode: bool = False, clock: Callable[[], float] = time.time,
                 gate: Gate | None = None) -> None:
        self.p = params
        self.check_mode = check_mode
        self.clock = clock
        self.lock_path = os.path.join(params["root"], ".berth", "deploy.lock")
        self.log_path = os.path.join(params["root"], "releases.jsonl")
        self.gate = gate or Gate(params["project"], params["one_shot"], params["probes"], params["health_timeout"],
                                 params["log_lines"])

    def run(self, result: dict[str, Any]) -> dict[str, Any]:
        try:
            self._run(result)
        except bk.BackupError as exc:
            result.update(failed=True, msg=str(exc))
        return result

    def _run(self, result: dict[str, Any]) -> None:
        p = self.p
        spec = bk.find(p["backups"], p["name"])
        path = bk.resolve(bk.backup_dir(p["root"], spec["name"]), spec["extension"], p["backup"])
        digest, size = bk.verify_file(path)
        serving = serving_project(p)
        if serving is None:
            raise bk.BackupError("no release serves under %s (current is missing): nothing to restore into" % p["root"])
        directory, commit, ref, project = serving
        try:
            model = json.loads(compose_run(project, ["config", "--format", "json"]).stdout.decode("utf-8", "replace"))
        except (host.CommandError, ValueError) as exc:
            raise bk.BackupError("cannot read the serving release's compose model: %s" % exc)
        if spec["service"] not in (model.get("services") or {}):
            raise bk.BackupError("service %s of backup %s is not in the serving release" % (spec["service"], spec["name"]))
        writers = bk.writers_of(model, spec["service"], p["one_shot"], spec["writers"])
        result.update(file=path, size=size, sha256=digest, writers=writers, commit=commit,
                      plan=plan_lines(spec["name"], path, size, spec["service"], writers, spec["restore_command"]))
        hold = deploy_lock.ProcessHold(self.lock_path)
        try:
            lock = deploy_lock.acquire(
                self.lock_path, owner="restore %s" % spec["name"], operator=p["operator"] or deploy_lock.default_operator(),
                controller=p["controller"] or socket.gethostname(), pid=os.getpid(), ttl=p["lock_ttl"],
                wait=p["lock_wait"], force=p["force_unlock"], check_mode=self.check_mode,
                hold=None if self.check_mode else hold)
        except (deploy_lock.LockError, OSError) as exc:
            raise bk.BackupError("Refusing the restore, nothing changed: %s" % exc)
        result.setdefault("warnings", []).extend(lock.warnings)
        if self.check_mode:
            result["plan"].append("check mode: nothing changes")
            return
        try:
            self._restore(result, spec, path, project, writers, ref, commit, (lock.lock or {}).get("operator"))
        finally:
            try:
                deploy_lock.release(self.lock_path, token=lock.token)
            except (deploy_lock.LockError, OSError) as exc:
                result.setdefault("warnings", []).append(str(exc))
            finally:
                hold.drop()

    def _restore(self, result: dict[str, Any], spec: Mapping[str, Any], path: str, project: Any, writers: list[str],
                 ref: str, commit: str, operator: str | None) -> None:
        started, began = self.clock(), time.monotonic()
        env = project.process_env()
        failure = None
        result["changed"] = True
        if writers:
            done = host.run(project.argv("stop", *writers), env=env, check=False)
            if done.rc != 0:
                failure = "stopping %s failed: %s" % (", ".join(writers), host.tail(done.out, 10))
        if failure is None:
            with open(path, "rb") as handle:
                ran = subprocess.run(project.argv("exec", "-T", spec["service"], *bk.argv(spec["restore_command"])),
                                     stdin=handle, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                     timeout=self.p["timeout"] or None, check=False)
            output = ran.stdout.decode("utf-8", "replace")
            result.update(exit_code=ran.returncode, output=host.tail(output, self.p["log_lines"]))
            if ran.returncode != 0:
                failure = "the restore command exited %d: %s" % (ran.returncode, host.tail(output, 10))
        # The writers come back whatever happened: a failed restore must not leave the app down.
        if writers:
            host.run(project.argv("start", *writers), env=env, check=False)
        gated = self.gate.run([spec["service"]] + writers)
        result["gate"] = gated
        seconds = round(time.monotonic() - began, 1)
        result["seconds"] = seconds
        if failure is None and not gated["passed"]:
            failure = "the gate failed after the restore: %s" % gated["msg"]
        message = "%s from %s (%d bytes) into %s; writers stopped and started: %s%s" % (
            spec["name"], os.path.basename(path), result["size"], spec["service"], ", ".join(writers) or "-",
            " -- " + failure if failure else "")
        record = restore_record(ref, commit, "failed" if failure else "ok", started, seconds, operator, message,
                                dict(passed=bool(gated["passed"]), services=list(gated.get("failed_services") or [])))
        result["record"] = release_log.prepare_record(record)
        release_log.append_record(self.log_path, release_log.encode(result["record"]))
        if failure:
            raise bk.BackupError("Restore of %s from %s failed: %s" % (spec["name"], os.path.basename(path), failure))


__all__ = ["Restore", "plan_lines", "restore_record"]
