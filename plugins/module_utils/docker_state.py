# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin adapters from the outside world to the health gate's snapshots.

* DockerState: Docker SDK -> ContainerState lists for one compose project, found
  by the labels Compose puts on every container, plus container logs.
* http_probe: one HTTP(S) request with the standard library -> ProbeResult.

Only long-stable parts of the Docker SDK's low-level API are used
(containers, inspect_container, logs), because on the VM the module runs
with the distribution's python3-docker, not the controller's pinned SDK.
"""

from __future__ import annotations

import functools
import http.client
import os
import re
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any, cast

from ansible_collections.berth.compose.plugins.module_utils import commands, compose_cli
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import ComposeCliError, ComposeProject
from ansible_collections.berth.compose.plugins.module_utils.health_gate import (
    FAILED, ContainerState, ProbeResult, check_response)


class NotFound(Exception):
    """A container gone between list and inspect (the SDK's own NotFound is caught too)."""


class _Sdk:
    """The Docker SDK, imported on first use: it costs about 0.2 s, which a call that never talks to
    Docker (a deploy with nothing to do) should not pay."""

    module: Any = None
    not_found: Any = NotFound

    @classmethod
    def load(cls) -> Any:
        if cls.module is None:
            try:
                import docker  # pylint: disable=import-outside-toplevel
                from docker.errors import NotFound as sdk_not_found  # pylint: disable=import-outside-toplevel
            except ImportError as exc:  # reported with a clear message
                raise DockerUnavailableError(
                    "the Docker SDK for Python is not installed for %s on the target "
                    "(Debian/Ubuntu package python3-docker): %s" % (sys.executable, exc))
            cls.module, cls.not_found = docker, sdk_not_found
        return cls.module


LABEL_PROJECT = "com.docker.compose.project"
LABEL_SERVICE = "com.docker.compose.service"
LABEL_ONEOFF = "com.docker.compose.oneoff"
LABEL_CONFIG_FILES = "com.docker.compose.project.config_files"
LABEL_WORKING_DIR = "com.docker.compose.project.working_dir"
LABEL_ENV_FILE = "com.docker.compose.project.environment_file"
SOURCE_LABELS = (LABEL_WORKING_DIR, LABEL_CONFIG_FILES, LABEL_ENV_FILE)
COMPOSE_TIMEOUT = 30

BODY_READ_LIMIT = 65536


class DockerUnavailableError(Exception):
    pass


class ProjectNotFoundError(Exception):
    def __init__(self, project: str, known: Iterable[str]) -> None:
        self.project = project
        self.known = sorted(known)
        super().__init__(
            "compose project %r has no containers on this host (is it deployed? is the project name right?); "
            "known compose projects: %s" % (project, ", ".join(self.known) or "(none)"))


def container_state_from_attrs(attrs: Mapping[str, Any]) -> ContainerState:
    """ContainerState from `docker inspect` data (low-level API dict)."""
    state = attrs.get("State") or {}
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    health = state.get("Health") or None
    health_status = None
    health_output = ""
    if health:
        health_status = health.get("Status") or None
        log = health.get("Log") or []
        if log:
            health_output = (log[-1].get("Output") or "").strip()
    return ContainerState(
        id=attrs.get("Id", ""),
        name=(attrs.get("Name") or "").lstrip("/"),
        service=labels.get(LABEL_SERVICE, ""),
        status=state.get("Status") or ("running" if state.get("Running") else "unknown"),
        exit_code=int(state.get("ExitCode") or 0),
        restart_count=int(attrs.get("RestartCount") or 0),
        health=health_status,
        health_output=health_output,
        oom_killed=bool(state.get("OOMKilled")),
        error=state.get("Error") or "",
    )


def declared_services(project: str, labels: Mapping[str, Any]) -> list[str] | None:
    """Services the compose files recorded on a container declare, as Compose renders them.

    Asks ``docker compose config --services`` (names only: no configuration, no values) with the
    files, directory and env files Compose put in the labels. None when that fails, for example
    when the files have moved: the containers then still tell which services exist.
    """
    workdir = labels.get(LABEL_WORKING_DIR)
    files = tuple(f.strip() for f in (labels.get(LABEL_CONFIG_FILES) or "").split(",") if f.strip())
    if not workdir or not files:
        return None
    env_files = tuple(f.strip() for f in (labels.get(LABEL_ENV_FILE) or "").split(",") if f.strip())
    command = ComposeProject(name=project, project_dir=workdir, files=files, env_file=env_files or None)
    try:
        proc = compose_cli.run(command, commands.config_services(()), timeout=COMPOSE_TIMEOUT)
    except ComposeCliError:
        return None
    return proc.stdout.decode("utf-8", "replace").split()


class DockerState:
    """Read-only view of the compose projects on one Docker engine."""

    def __init__(self, client: Any) -> None:
        self.api = client.api if hasattr(client, "api") else client

    @classmethod
    def connect(cls, docker_host: str | None = None, timeout: int = 30) -> DockerState:
        docker = _Sdk.load()
        where = docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        try:
            if docker_host:
                client = docker.DockerClient(base_url=docker_host, version="auto", timeout=timeout)
            else:
                client = docker.from_env(version="auto", timeout=timeout)
            client.ping()
        except Exception as exc:
            raise DockerUnavailableError(
                "Docker is not reachable at %s: %s. Is the docker service running, and may this user "
                "use its socket (member of the docker group, or become: true)?" % (where, exc))
        return cls(client)

    def projects(self) -> list[str]:
        rows = self.api.containers(all=True, filters={"label": LABEL_PROJECT})
        return sorted(cast("set[str]", {(r.get("Labels") or {}).get(LABEL_PROJECT) for r in rows} - {None, ""}))

    def _rows(self, project: str) -> list[dict[str, Any]]:
        rows = self.api.containers(all=True, filters={"label": ["%s=%s" % (LABEL_PROJECT, project)]})
        # `docker compose run` containers are one-offs, not part of the service's state.
        return [r for r in rows if (r.get("Labels") or {}).get(LABEL_ONEOFF, "False") != "True"]

    def snapshot(self, project: str) -> list[ContainerState]:
        out = []
        try:
            for row in self._rows(project):
                try:
                    attrs = self.api.inspect_container(row["Id"])
                except (NotFound, _Sdk.not_found):  # removed between list and inspect: simply gone
                    continue
                out.append(container_state_from_attrs(attrs))
        except Exception as exc:  # the engine went away mid-gate: say so instead of a traceback
            raise DockerUnavailableError("lost contact with Docker while reading project %r: %s" % (project, exc))
        return sorted(out, key=lambda c: (c.service, c.name))

    def services(self, project: str) -> list[str]:
        """Services the project declares (its compose files) plus those with containers.

        Raises ProjectNotFoundError when no container carries the project label.
        """
        rows = self._rows(project)
        if not rows:
            raise ProjectNotFoundError(project, self.projects())
        seen = cast("set[str]", {(r.get("Labels") or {}).get(LABEL_SERVICE) for r in rows} - {None, ""})
        # containers of one project normally share these labels; render each distinct set once
        sources = {tuple((r.get("Labels") or {}).get(k) or "" for k in SOURCE_LABELS) for r in rows}
        declared: set[str] = set()
        for source in sorted(sources):
            declared.update(declared_services(project, dict(zip(SOURCE_LABELS, source))) or ())
        return sorted(seen | declared)

    def logs(self, container_id: str, lines: int) -> list[str]:
        raw = self.api.logs(container_id, stdout=True, stderr=True, tail=int(lines), timestamps=False)
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        return raw.splitlines()[-int(lines):]


class _SNIHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address (127.0.0.1) while presenting the site's name for SNI and cert checks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._berth_sni = kwargs.pop("server_hostname", None)
        http.client.HTTPSConnection.__init__(self, *args, **kwargs)

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        # _context: the SSLContext HTTPSConnection keeps (private in typeshed, stable in CPython)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            self.sock, server_hostname=self._berth_sni or self.host)


class _SNIHandler(urllib.request.HTTPSHandler):
    def __init__(self, context: ssl.SSLContext, server_hostname: str | None) -> None:
        urllib.request.HTTPSHandler.__init__(self, context=context)
        self._berth_context = context
        self._berth_sni = server_hostname

    def https_open(self, req: urllib.request.Request) -> Any:
        conn = functools.partial(_SNIHTTPSConnection, server_hostname=self._berth_sni)
        return self.do_open(conn, req, context=self._berth_context)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: Any, msg: Any, headers: Any,
                         newurl: Any) -> None:
        return None  # the 3xx surfaces as HTTPError and is judged like any status


def http_probe(spec: Any, excerpt_chars: int = 300) -> ProbeResult:
    """One request for a ProbeSpec; never raises, a failure is a FAILED ProbeResult."""
    headers = dict(spec.headers)
    request = urllib.request.Request(spec.url, method=spec.method, headers=headers)
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]  # health checks never go through a proxy
    if spec.url.lower().startswith("https://"):
        context = ssl.create_default_context(cafile=spec.ca_path) if spec.ca_path else ssl.create_default_context()
        if not spec.validate_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        host = next((v for k, v in headers.items() if k.lower() == "host"), None)
        sni = re.sub(r":\d+$", "", host) if host else None
        handlers.append(_SNIHandler(context, sni))
    if not spec.follow_redirects:
        handlers.append(_NoRedirect())
    opener = urllib.request.build_opener(*handlers)
    location = None
    try:
        response = opener.open(request, timeout=spec.timeout)
        try:
            status, body = response.getcode(), response.read(BODY_READ_LIMIT)
        finally:
            response.close()
    except urllib.error.HTTPError as exc:
        status, location = exc.code, exc.headers.get("Location") if exc.headers else None
        try:
            body = exc.read(BODY_READ_LIMIT)
        except Exception:
            body = b""
    except (TimeoutError, urllib.error.URLError, ssl.SSLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return ProbeResult(url=spec.url, name=spec.name, state=FAILED, reason="request failed: %s" % reason)
    return check_response(spec, status, body.decode("utf-8", "replace"), location, excerpt_chars)
