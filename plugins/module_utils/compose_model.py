# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the planner reads from a project as Compose renders it (``docker compose config --format json``).

Compose does include, extends, profiles, merging and interpolation; this module only reads
the result: which host paths each service depends on (as claims for the planner) and a
fingerprint of each service's configuration to compare two renderings.

The rendered project holds secret values (the env file's). Nothing here returns or stores
it: claims name paths and services, fingerprints are one-way hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ansible_collections.berth.compose.plugins.module_utils.change_plan import Claim
from ansible_collections.berth.compose.plugins.module_utils.change_rules import ChangedServicesError
from ansible_collections.berth.compose.plugins.module_utils.pathglob import MatcherIndex, normalize_path

# Stands in for the project directory in fingerprints: the two sides of a change are rendered
# from different directories (release dirs, temporary exports), which must not count as a change.
PROJECT_DIR_TOKEN = "<project-dir>"
# Top-level sections whose entries a service refers to by name.


class ComposeError(ChangedServicesError):
    """The compose project cannot be rendered or read."""


def _services_of(rendered: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    services = rendered.get("services") or {}
    if not isinstance(services, dict):
        raise ComposeError("the rendered compose project has no services mapping")
    return {str(name): svc if isinstance(svc, dict) else {} for name, svc in services.items()}


def _path_forms(directory: str) -> list[str]:
    forms = {os.path.abspath(directory), os.path.realpath(directory)}
    return sorted(forms, key=len, reverse=True)


class RenderedProject:
    """One rendered compose project, read in place. ``project_dir`` is where it was rendered from."""

    def __init__(self, rendered: Mapping[str, Any], project_dir: str,
                 uninterpolated: Mapping[str, Any] | None = None) -> None:
        self._rendered = rendered
        self._services = _services_of(rendered)
        # Compose folds env files into `environment` when it interpolates; the render without
        # interpolation still names them.
        self._env_files = {name: svc.get("env_file") or [] for name, svc in _services_of(uninterpolated or {}).items()}
        self._dirs = _path_forms(project_dir)

    @property
    def services(self) -> list[str]:
        return sorted(self._services)

    @property
    def buildable(self) -> list[str]:
        return sorted(n for n, s in self._services.items() if s.get("build") is not None)

    # ------------------------------------------------------------------ paths

    def relative(self, path: object) -> str | None:
        """An absolute rendered path -> relative to the project dir ('' for the dir), None if outside."""
        if not isinstance(path, str) or not path.startswith("/"):
            return None
        path = posixpath.normpath(path)
        for directory in self._dirs:
            if path == directory:
                return ""
            if path.startswith(directory.rstrip("/") + "/"):
                return normalize_path(path[len(directory.rstrip("/")) + 1:])
        return None

    def _top(self, section: str, name: Any) -> Any:
        entries = self._rendered.get(section) or {}
        return entries.get(name) if isinstance(entries, dict) else None

    def service_paths(self, name: str) -> Iterator[tuple[str | None, Claim]]:
        """``(relative path, claim)`` for every host path service ``name`` reads (None: outside)."""
        svc = self._services[name]
        build = svc.get("build")
        if isinstance(build, dict):
            yield from self._build_paths(name, build)
        for item in self._env_files.get(name) or []:
            path = item.get("path") if isinstance(item, dict) else item
            yield self.relative(path), Claim(name, "recreate", "env_file of %s" % name)
        for volume in svc.get("volumes") or []:
            if isinstance(volume, dict) and volume.get("type") == "bind":
                yield self.relative(volume.get("source")), Claim(name, "recreate", "bind mount of %s" % name)
        for section in ("configs", "secrets"):
            for ref in svc.get(section) or []:
                source = ref.get("source") if isinstance(ref, dict) else ref
                spec = self._top(section, source)
                if isinstance(spec, dict) and spec.get("file"):
                    yield self.relative(spec["file"]), Claim(
                        name, "recreate", "%s %s of %s" % (section[:-1], source, name))

    def env_file_readers(self, env_file: str | None) -> list[str]:
        """Services whose ``env_file`` is the project's ``.env`` (a release links it to the shared env
        file) or ``env_file`` itself."""
        wanted = {os.path.realpath(env_file)} if env_file else set()
        readers = []
        for name, items in self._env_files.items():
            for item in items or []:
                path = item.get("path") if isinstance(item, dict) else item
                if self.relative(path) == ".env" or (isinstance(path, str) and os.path.realpath(path) in wanted):
                    readers.append(name)
                    break
        return sorted(readers)

    def _build_paths(self, name: str, build: Mapping[str, Any]) -> Iterator[tuple[str | None, Claim]]:
        context = build.get("context")
        if isinstance(context, str) and "://" not in context:
            rel_context = self.relative(context)
            yield rel_context, Claim(name, "build", "build context of %s" % name)
            dockerfile = build.get("dockerfile")
            if isinstance(dockerfile, str) and dockerfile:
                full = dockerfile if dockerfile.startswith("/") else posixpath.join(context, dockerfile)
                yield self.relative(full), Claim(name, "build", "dockerfile of %s" % name)
        extra = build.get("additional_contexts")
        for source in (extra.values() if isinstance(extra, dict) else []):
            yield self.relative(source), Claim(name, "build", "additional build context of %s" % name)

    def claims(self, config_files: Iterable[str] = ()) -> tuple[list[Claim], MatcherIndex]:
        """Register every compose-derived claim; returns ``(claims, MatcherIndex)``.

        ``config_files`` are inputs of the rendering itself (compose files, the project ``.env``,
        included files), relative to the project dir.
        """
        claims: list[Claim] = []
        index = MatcherIndex()

        def add(path: str | None, claim: Claim) -> None:
            if path is None:
                return
            claims.append(claim)
            key = len(claims) - 1
            if path:  # a file is its own path; a directory (context, bind mount) everything below it
                index.add_literal(path, key)
            index.add_prefix(path, key)

        for name in self.services:
            for path, claim in self.service_paths(name):
                add(path, claim)
        for path in config_files:
            add(normalize_path(path), Claim(None, "config", "%s (input of the rendered config)" % path))
        return claims, index

    # ------------------------------------------------------------------ fingerprints

    def _neutral(self, value: Any) -> Any:
        """``value`` with the project dir replaced by a token, recursively."""
        if isinstance(value, str):
            for directory in self._dirs:
                value = value.replace(directory, PROJECT_DIR_TOKEN)
            return value
        if isinstance(value, dict):
            return {k: self._neutral(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._neutral(v) for v in value]
        return value

    def _referenced(self, svc: Mapping[str, Any]) -> dict[str, Any]:
        refs = {}
        networks = svc.get("networks")
        for net in (networks if isinstance(networks, dict) else networks or []):
            refs["networks/" + net] = self._top("networks", net)
        for volume in svc.get("volumes") or []:
            if isinstance(volume, dict) and volume.get("type") == "volume" and volume.get("source"):
                refs["volumes/" + volume["source"]] = self._top("volumes", volume["source"])
        for section in ("configs", "secrets"):
            for ref in svc.get(section) or []:
                source = ref.get("source") if isinstance(ref, dict) else ref
                refs["%s/%s" % (section, source)] = self._top(section, source)
        return refs

    def fingerprints(self) -> dict[str, tuple[str, str]]:
        """``{service: (config_hash, build_hash)}``; the config hash covers the service and the
        top-level networks/volumes/configs/secrets it uses."""
        out = {}
        for name, svc in self._services.items():
            whole = self._neutral({"service": svc, "uses": self._referenced(svc)})
            out[name] = (_digest(whole), _digest(whole["service"].get("build")))
        return out


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def compare(old: RenderedProject, new: RenderedProject) -> dict[str, str]:
    """``{service: "build"|"recreate"|"removed"}`` for services whose rendered config differs.

    A changed (or new) build section rebuilds; any other change recreates; a new service without
    a build section is recreated (created).
    """
    before, after = old.fingerprints(), new.fingerprints()
    changes = {}
    for name in sorted(set(before) | set(after)):
        if name not in after:
            changes[name] = "removed"
        elif name not in before:
            changes[name] = "build" if name in new.buildable else "recreate"
        elif before[name][0] != after[name][0]:
            build_changed = before[name][1] != after[name][1] and name in new.buildable
            changes[name] = "build" if build_changed else "recreate"
    return changes


def _names_in(text: str, by_name: Mapping[str, Any]) -> set[str]:
    """The keys of ``by_name`` (file names ending in .yml or .yaml) that occur in ``text``.

    A name holds no '/', so an occurrence is a suffix of the run between the last '/' and an
    occurrence of ".yml"/".yaml": one dict lookup per such occurrence and name length, whatever
    the number of names.
    """
    lengths = sorted({len(name) for name in by_name})
    hits: set[str] = set()
    for ext in (".yml", ".yaml"):
        pos = text.find(ext)
        while pos != -1:
            end = pos + len(ext)
            start = text.rfind("/", 0, end) + 1
            for length in lengths:
                if end - length < start:
                    break
                if text[end - length:end] in by_name:
                    hits.add(text[end - length:end])
            pos = text.find(ext, pos + 1)
    return hits


def referenced_compose_files(directory: str, files: Iterable[str], candidates: Iterable[str]) -> list[str]:
    """The ``candidates`` (YAML paths relative to ``directory``) that a compose file names.

    Compose's rendering does not say which files ``include:`` and ``extends: {file:}`` pulled
    in, so a candidate counts as a compose input when its path, relative to the directory of a
    compose input, appears in that input's text; inputs found so are searched in turn. A false
    match costs nothing: an input's effect is the comparison of the rendered sides. Only
    candidates whose file name occurs in the text are tried, so 100,000 candidates cost little.
    """
    wanted = {normalize_path(c) for c in candidates if c.endswith((".yml", ".yaml"))}
    by_name: dict[str, list[str]] = {}
    for candidate in wanted:
        by_name.setdefault(posixpath.basename(candidate), []).append(candidate)
    found: set[str] = set()
    queue = [normalize_path(f) for f in files]
    while queue and len(found) < len(wanted):
        current = queue.pop()
        try:
            with open(os.path.join(directory, current), encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        base = posixpath.dirname(current)
        for candidate in sorted(c for name in _names_in(text, by_name) for c in by_name[name] if c not in found):
            if posixpath.relpath(candidate, base or ".") in text:
                found.add(candidate)
                queue.append(candidate)
    return sorted(found)


# ------------------------------------------------------------------ files a compose file names

# Interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR:+alt}, $VAR ($$ is a literal $).
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
# What separates path-like words in YAML (and in env files): blanks, quotes, flow punctuation, ':' and '='.
_SEPARATORS = re.compile(r"[\s\"'`,\[\]{}()=:;|<>]+")
_QUOTED = re.compile(r'"([^"\n]*)"|\'([^\'\n]*)\'')
_PLACEHOLDER = re.compile("\x00([0-9]+)\x00")


def _interpolated(match: re.Match[str], variables: Mapping[str, str]) -> str:
    name = match.group(1) or match.group(4)
    op, arg = match.group(2) or "", match.group(3) or ""
    value = variables.get(name)
    empty = value is None or (value == "" and op.startswith(":"))
    if op.endswith("-"):
        return arg if empty else value  # type: ignore[return-value]  # not empty: value is not None
    if op.endswith("+"):
        return "" if empty else arg
    return value or ""


def _known(match: re.Match[str], variables: Mapping[str, str]) -> bool:
    """Whether the value of a ``${VAR}`` is known here: set, or with a default that applies."""
    return (match.group(1) or match.group(4)) in variables or (match.group(2) or "").endswith("-")


def named_paths(path: str, text: str, variables: Mapping[str, str] | None = None) -> list[str]:
    """Every path (relative to the project dir) that the file ``path`` may name: its words read as paths.

    ``path`` is a compose file, an included or extended one or an env file, relative to the project
    dir. A word counts relative to that file's directory (``include``, ``extends.file`` and the paths
    of an included file) and relative to the project dir (paths of the ``-f`` files), so a compose
    project's every input is among them, plus words that name nothing, which cost a lookup. A word
    with ``${VAR}`` counts as interpolated with ``variables`` and, for values not known here, with
    ``*`` (any run of characters within one path segment). The directory's ``.env`` is named too
    (an included project's own).
    """
    variables = variables or {}
    base = posixpath.dirname(path)
    found: list[re.Match[str]] = []

    def hide(match: re.Match[str]) -> str:
        found.append(match)
        return "\x00%d\x00" % (len(found) - 1)

    hidden = _VARIABLE.sub(hide, text.replace("$$", ""))
    words = set(_SEPARATORS.split(hidden))
    words.update(q for pair in _QUOTED.findall(hidden) for q in pair if q)
    out = {posixpath.join(base, ".env")}
    for word in words:
        if not word or len(word) > 4096 or word.startswith(("/", "~")):
            continue
        forms = [word]
        if "\x00" in word:
            unknown = [m for m in _PLACEHOLDER.findall(word) if not _known(found[int(m)], variables)]
            forms = [_PLACEHOLDER.sub(lambda m: _interpolated(found[int(m.group(1))], variables), word)]
            if unknown:
                forms.append(_PLACEHOLDER.sub("*", word))
        for form in forms:
            if not form or form.startswith(("/", "~")) or "\x00" in form:
                continue
            if "*" in form and not re.search(r"[^*/.]", form):
                continue  # only variables: a pattern that names everything names no file
            out.add(posixpath.normpath(posixpath.join(base, form)))
            if base:
                out.add(posixpath.normpath(form))
    return sorted(out)
