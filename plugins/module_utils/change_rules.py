# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operator rules for changed_services: validate raw rule mappings into :class:`Rule` objects.

Why the rules mean what they mean (every-match, exclude per rule) is in docs/decisions.md.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.berth.compose.plugins.module_utils.pathglob import GlobError, compile_glob

RULE_KEYS = ("name", "paths", "exclude", "build", "recreate", "full", "hooks", "ignore")


class ChangedServicesError(Exception):
    """Base class: every error the module turns into a clear ``fail_json``."""


class RuleError(ChangedServicesError):
    """A rule is malformed (no action, unknown service, bad glob, unknown key)."""


class UnknownServiceError(ChangedServicesError):
    """A service name that the compose project does not define."""


@dataclass
class Rule:
    index: int
    label: str
    globs: list
    excludes: list
    build: t.Tuple[str, ...] = ()
    recreate: t.Tuple[str, ...] = ()
    full: bool = False
    hooks: t.Tuple[str, ...] = ()
    ignore: bool = False
    description: str = ""


def parse_service_list(value: object, valid: t.Iterable[str], what: str = "services") -> tuple[bool, list[str] | None]:
    """Parse a list / comma string / ``"all"`` of service names against ``valid``.

    Returns ``(True, None)`` for all, else ``(False, sorted_names)``; an unknown name raises
    :class:`UnknownServiceError` listing the valid names.
    """
    if value is None:
        return False, []
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = []
        for v in value:
            if not isinstance(v, str):
                raise UnknownServiceError("%s must be service names, got %r" % (what, v))
            items.extend(x.strip() for x in v.split(","))
    else:
        raise UnknownServiceError("%s must be a list, a comma-separated string or 'all', got %r" % (what, value))
    items = [i for i in items if i]
    if "all" in items:
        if len(items) > 1:
            raise UnknownServiceError("%s: 'all' cannot be combined with service names (%s)" % (what, ", ".join(items)))
        return True, None
    unknown = sorted(set(items) - set(valid))
    if unknown:
        raise UnknownServiceError(
            "%s: unknown service(s) %s; the compose project defines: %s"
            % (what, ", ".join(unknown), ", ".join(sorted(valid)) or "(no services)"))
    return False, sorted(set(items))


def _as_list(value: object, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise RuleError("%s must be a string or a list of strings, got %r" % (what, value))


def _as_bool(value: object, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("yes", "true", "no", "false"):
        return value.lower() in ("yes", "true")
    raise RuleError("%s must be a boolean, got %r" % (what, value))


def _services(raw: dict[str, t.Any], key: str, services: t.Iterable[str], pick_all: t.Iterable[str],
              where: str) -> tuple[list[str], bool]:
    try:
        wants_all, names = parse_service_list(raw.get(key), services, "%s: %s" % (where, key))
    except UnknownServiceError as exc:
        raise RuleError(str(exc))
    # names is None only when wants_all
    return (sorted(pick_all) if wants_all else names), wants_all  # type: ignore[return-value]


def _describe(label: str, ignore: bool, build: t.Iterable[str], build_all: bool, recreate: t.Iterable[str],
              recreate_all: bool, full: bool, hooks: t.Iterable[str]) -> str:
    actions = ["ignore"] if ignore else []
    if build or build_all:
        actions.append("build " + ("all" if build_all else ", ".join(build)))
    if recreate or recreate_all:
        actions.append("recreate " + ("all" if recreate_all else ", ".join(recreate)))
    if full:
        actions.append("full deploy")
    if hooks:
        actions.append("hooks " + ", ".join(hooks))
    return "%s: %s" % (label, "; ".join(actions))


def parse_rule(pos: int, raw: object, services: t.Collection[str], buildable: t.Collection[str]) -> Rule:
    """One raw rule mapping (1-based position ``pos``) -> :class:`Rule`."""
    where = "rule %d" % pos
    if not isinstance(raw, dict):
        raise RuleError("%s must be a mapping, got %r" % (where, raw))
    if raw.get("name"):
        where = "rule %d (%s)" % (pos, raw["name"])
    unknown = sorted(k for k in raw if k not in RULE_KEYS and raw[k] is not None)
    if unknown:
        raise RuleError("%s: unknown key(s) %s; allowed: %s" % (where, ", ".join(unknown), ", ".join(RULE_KEYS)))
    patterns = _as_list(raw.get("paths"), where + ": paths")
    if not patterns:
        raise RuleError("%s: 'paths' is required (a glob or a list of globs)" % where)
    exclude_patterns = _as_list(raw.get("exclude"), where + ": exclude")
    try:
        globs = [g for p in patterns for g in compile_glob(p)]
        excludes = [g for p in exclude_patterns for g in compile_glob(p)]
    except GlobError as exc:
        raise RuleError("%s: %s" % (where, exc))
    build, build_all = _services(raw, "build", services, buildable, where)
    recreate, recreate_all = _services(raw, "recreate", services, services, where)
    full = _as_bool(raw.get("full", False), where + ": full")
    ignore = _as_bool(raw.get("ignore", False), where + ": ignore")
    hooks = _as_list(raw.get("hooks"), where + ": hooks")
    acts = build or recreate or full or hooks or build_all or recreate_all
    if not (acts or ignore):
        raise RuleError("%s: no action; give at least one of build, recreate, full: true, hooks, or ignore: true"
                        % where)
    if ignore and acts:
        raise RuleError("%s: 'ignore: true' cannot be combined with build, recreate, full or hooks" % where)
    label = raw.get("name") or "rule %d (%s)" % (pos, ", ".join(patterns))
    return Rule(index=pos, label=label, globs=globs, excludes=excludes, build=tuple(build),
                recreate=tuple(recreate), full=full, hooks=tuple(hooks), ignore=ignore,
                description=_describe(label, ignore, build, build_all, recreate, recreate_all, full, hooks))


def parse_rules(rules: object, services: t.Collection[str], buildable: t.Collection[str]) -> list[Rule]:
    """Validate raw rule dicts against the project's ``services`` (and the ``buildable`` ones)."""
    if rules is None:
        return []
    if not isinstance(rules, (list, tuple)):
        raise RuleError("rules must be a list of mappings")
    return [parse_rule(pos, raw, services, buildable) for pos, raw in enumerate(rules, 1)]
