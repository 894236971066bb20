# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Changed paths -> which compose services to build, recreate or fully redeploy.

Pure logic for the ``berth.compose.changed_services`` module (no Ansible imports):

* :func:`parse_rules` validates operator rules into :class:`Rule` objects.
* :func:`load_compose` / :func:`compose_changes` read compose files (PyYAML) and
  tell which services' configuration differs between two versions.
* :func:`git_changes` lists the paths changed between two commits with ``git``.
* :func:`plan_changes` maps paths to a :class:`Plan`; :func:`compute_plan` wires
  everything together for the module.

Matching is *every-match*: a path is checked against every rule and the actions
of every rule that claims it are unioned. Build and recreate sets are unions by
nature, so first-match would silently drop the second service of two
overlapping rules (``api/**`` -> api and ``api/shared/**`` -> worker). Compose-
derived defaults apply only to paths that no rule claims, so a rule (including
an ``ignore`` rule) always overrides the defaults for the paths it matches.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import typing as t
from dataclasses import dataclass, field

from ansible_collections.berth.compose.plugins.module_utils.pathglob import (
    GlobError,
    MatcherIndex,
    compile_glob,
    normalize_path,
)

DEFAULT_COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
DEFAULT_OVERRIDE_FILES = (
    "compose.override.yaml", "compose.override.yml",
    "docker-compose.override.yaml", "docker-compose.override.yml",
)
UNCLAIMED_POLICIES = ("ignore", "full", "fail")
RULE_KEYS = ("name", "paths", "exclude", "build", "restart", "full", "hooks", "ignore")


class ChangedServicesError(Exception):
    """Base class: every error the module turns into a clear ``fail_json``."""


class RuleError(ChangedServicesError):
    """A rule is malformed (no action, unknown service, bad glob, unknown key)."""


class UnknownServiceError(ChangedServicesError):
    """A service name that the compose project does not define."""


class ComposeError(ChangedServicesError):
    """A compose file is missing or cannot be parsed."""


class GitError(ChangedServicesError):
    """git failed in a way that is not a plain 'from_ref unreachable'."""


class UnclaimedPathsError(ChangedServicesError):
    """``unclaimed: fail`` and some changed paths were claimed by nothing."""

    def __init__(self, plan):
        self.plan = plan
        shown = ", ".join(plan.unclaimed[:20])
        more = "" if len(plan.unclaimed) <= 20 else " (and %d more)" % (len(plan.unclaimed) - 20)
        super(UnclaimedPathsError, self).__init__(
            "%d changed path(s) are claimed by no rule and no compose service: %s%s; "
            "add a rule for them (an 'ignore: true' rule if they need nothing) or set unclaimed to "
            "'ignore' or 'full'" % (len(plan.unclaimed), shown, more))


# --------------------------------------------------------------------------- plan

@dataclass
class Plan:
    """What to do for a set of changed paths. Lists are sorted, except ``hooks`` (rule order)."""

    build: t.List[str] = field(default_factory=list)
    restart: t.List[str] = field(default_factory=list)
    full: bool = False
    hooks: t.List[str] = field(default_factory=list)
    unclaimed: t.List[str] = field(default_factory=list)
    reasons: t.Dict[str, str] = field(default_factory=dict)
    full_reasons: t.List[str] = field(default_factory=list)
    summary: str = ""
    from_commit: t.Optional[str] = None
    to_commit: t.Optional[str] = None

    def as_dict(self):
        return {
            "build": list(self.build),
            "restart": list(self.restart),
            "full": self.full,
            "hooks": list(self.hooks),
            "unclaimed": list(self.unclaimed),
            "reasons": dict(self.reasons),
            "full_reasons": list(self.full_reasons),
            "summary": self.summary,
            "from_commit": self.from_commit,
            "to_commit": self.to_commit,
        }


# --------------------------------------------------------------------------- services

def parse_service_list(value, valid, what="services"):
    """Parse a list / comma string / ``"all"`` of service names against ``valid``.

    Returns ``("all", None)`` or ``(None, sorted_names)``; an unknown name raises
    :class:`UnknownServiceError` listing the valid names.
    """
    if value is None:
        return None, []
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
        return "all", None
    unknown = sorted(set(items) - set(valid))
    if unknown:
        raise UnknownServiceError(
            "%s: unknown service(s) %s; the compose project defines: %s"
            % (what, ", ".join(unknown), ", ".join(sorted(valid)) or "(no services)"))
    return None, sorted(set(items))


# --------------------------------------------------------------------------- rules

@dataclass
class Rule:
    index: int
    label: str
    globs: list
    excludes: list
    build: t.Tuple[str, ...] = ()
    restart: t.Tuple[str, ...] = ()
    full: bool = False
    hooks: t.Tuple[str, ...] = ()
    ignore: bool = False
    description: str = ""


def _as_list(value, what):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise RuleError("%s must be a string or a list of strings, got %r" % (what, value))


def _as_bool(value, what):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("yes", "true", "no", "false"):
        return value.lower() in ("yes", "true")
    raise RuleError("%s must be a boolean, got %r" % (what, value))


def parse_rules(rules, project):
    """Validate raw rule dicts against the compose ``project`` and return :class:`Rule` list."""
    if rules is None:
        return []
    if not isinstance(rules, (list, tuple)):
        raise RuleError("rules must be a list of mappings")
    services = project.service_names()
    buildable = project.buildable()
    out = []
    for pos, raw in enumerate(rules, 1):
        where = "rule %d" % pos
        if not isinstance(raw, dict):
            raise RuleError("%s must be a mapping, got %r" % (where, raw))
        if raw.get("name"):
            where = "rule %d (%s)" % (pos, raw["name"])
        unknown = sorted(set(raw) - set(RULE_KEYS))
        if unknown:
            raise RuleError("%s: unknown key(s) %s; allowed: %s" % (where, ", ".join(unknown), ", ".join(RULE_KEYS)))
        patterns = _as_list(raw.get("paths"), where + ": paths")
        if not patterns:
            raise RuleError("%s: 'paths' is required (a glob or a list of globs)" % where)
        excludes = _as_list(raw.get("exclude"), where + ": exclude")
        try:
            globs = [g for p in patterns for g in compile_glob(p)]
            exglobs = [g for p in excludes for g in compile_glob(p)]
        except GlobError as exc:
            raise RuleError("%s: %s" % (where, exc))
        try:
            ball, build = parse_service_list(raw.get("build"), services, where + ": build")
            rall, restart = parse_service_list(raw.get("restart"), services, where + ": restart")
        except UnknownServiceError as exc:
            raise RuleError(str(exc))
        if ball:
            build = sorted(buildable)
        if rall:
            restart = sorted(services)
        full = _as_bool(raw.get("full", False), where + ": full")
        ignore = _as_bool(raw.get("ignore", False), where + ": ignore")
        hooks = _as_list(raw.get("hooks"), where + ": hooks")
        if not (build or restart or full or hooks or ignore or ball or rall):
            raise RuleError(
                "%s: no action; give at least one of build, restart, full: true, hooks, or ignore: true" % where)
        if ignore and (build or restart or full or hooks or ball or rall):
            raise RuleError("%s: 'ignore: true' cannot be combined with build, restart, full or hooks" % where)
        label = raw.get("name") or "rule %d (%s)" % (pos, ", ".join(patterns))
        actions = []
        if ignore:
            actions.append("ignore")
        if ball or build:
            actions.append("build " + ("all" if ball else ", ".join(build)))
        if rall or restart:
            actions.append("recreate " + ("all" if rall else ", ".join(restart)))
        if full:
            actions.append("full deploy")
        if hooks:
            actions.append("hooks " + ", ".join(hooks))
        out.append(Rule(
            index=pos, label=label, globs=globs, excludes=exglobs, build=tuple(build), restart=tuple(restart),
            full=full, hooks=tuple(hooks), ignore=ignore, description="%s: %s" % (label, "; ".join(actions))))
    return out


# --------------------------------------------------------------------------- compose

_VAR_RE = re.compile(r"\$(?:\$|\{|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(value, variables=None):
    """Compose-style interpolation for paths: ``${V}``, ``$V``, ``${V:-d}``, ``${V-d}``, ``${V:+a}``,
    ``${V:?e}``, nesting and ``$$``. Unset variables without a default become ``""`` (as compose does)."""
    if not isinstance(value, str) or "$" not in value:
        return value
    variables = variables or {}
    out = []
    i = 0
    n = len(value)
    while i < n:
        m = _VAR_RE.search(value, i)
        if not m:
            out.append(value[i:])
            break
        out.append(value[i:m.start()])
        tok = m.group(0)
        if tok == "$$":
            out.append("$")
            i = m.end()
        elif m.group(1):
            out.append(str(variables.get(m.group(1), "")))
            i = m.end()
        else:
            depth = 1
            j = m.end()
            while j < n and depth:
                if value[j] == "{":
                    depth += 1
                elif value[j] == "}":
                    depth -= 1
                j += 1
            if depth:
                out.append(value[m.start():])  # unterminated: keep literally
                break
            out.append(_expand_braced(value[m.end():j - 1], variables))
            i = j
    return "".join(out)


def _expand_braced(body, variables):
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])(.*))?$", body, re.DOTALL)
    if not m:
        return ""
    name, op, arg = m.group(1), m.group(2), m.group(3) or ""
    val = variables.get(name)
    is_set = val is not None
    non_empty = is_set and str(val) != ""
    if op in (":-", "-"):
        use_default = not non_empty if op == ":-" else not is_set
        return interpolate(arg, variables) if use_default else str(val)
    if op in (":+", "+"):
        use_alt = non_empty if op == ":+" else is_set
        return interpolate(arg, variables) if use_alt else ""
    return str(val) if is_set else ""


def _deep_merge(base, over):
    """Merge a service/top-level mapping the way compose overrides do (approximately):
    mappings merge, list-valued multi keys concatenate, scalars replace."""
    out = dict(base)
    for key, val in over.items():
        if key in out and isinstance(out[key], dict) and isinstance(val, dict):
            out[key] = _deep_merge(out[key], val)
        elif key in out and isinstance(out[key], list) and isinstance(val, list) and key in (
                "volumes", "env_file", "configs", "secrets", "ports", "expose", "dns", "extra_hosts"):
            out[key] = out[key] + [v for v in val if v not in out[key]]
        else:
            out[key] = val
    return out


class ComposeProject(object):
    """The merged view of one or more compose files.

    ``files`` are the compose file paths relative to the project directory, ``base``
    the directory (relative to the project directory) that relative paths inside them
    resolve against (the first file's directory, as in compose).
    """

    def __init__(self, data, files=(), base=""):
        self.data = data or {}
        self.files = [normalize_path(f) for f in files]
        self.base = normalize_path(base) if base not in ("", ".") else ""
        services = self.data.get("services") or {}
        if not isinstance(services, dict):
            raise ComposeError("'services' in %s must be a mapping" % (", ".join(self.files) or "compose"))
        self.services = {}
        for name, svc in services.items():
            self.services[str(name)] = svc if isinstance(svc, dict) else {}

    def service_names(self):
        return sorted(self.services)

    def buildable(self):
        return sorted(n for n, s in self.services.items() if s.get("build") is not None)

    def rel(self, path, variables=None):
        """Host path from the compose file -> path relative to the project dir, or None if outside."""
        path = interpolate(path, variables)
        if not isinstance(path, str) or not path or "://" in path or path.startswith(("/", "~")):
            return None
        joined = os.path.normpath(os.path.join(self.base, path)) if self.base else os.path.normpath(path)
        joined = joined.replace(os.sep, "/")
        if joined == ".":
            return ""
        if joined.startswith("../") or joined == "..":
            return None
        return joined


def _load_yaml(text, name):
    try:
        import yaml  # lazy: only the host running the module needs PyYAML
    except ImportError:
        raise ComposeError("PyYAML is required to read compose files (install python3-yaml)")
    try:
        data = yaml.safe_load(text) if text else {}
    except yaml.YAMLError as exc:
        raise ComposeError("cannot parse compose file %s: %s" % (name, exc))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ComposeError("compose file %s must hold a mapping at the top level" % name)
    return data


def load_compose(sources):
    """Build a :class:`ComposeProject` from ``[(path, text_or_None), ...]``; missing files (None) are skipped."""
    merged = {}
    files = []
    for name, text in sources:
        files.append(name)
        if text is None:
            continue
        data = _load_yaml(text, name)
        merged = _deep_merge(merged, data)
    base = os.path.dirname(normalize_path(files[0])) if files else ""
    return ComposeProject(merged, files=files, base=base)


def _named_refs(svc, key):
    val = svc.get(key)
    if isinstance(val, dict):
        return sorted(str(k) for k in val)
    if isinstance(val, list):
        out = []
        for item in val:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict) and item.get("source"):
                out.append(str(item["source"]))
        return sorted(out)
    return []


def _split_volume(spec):
    """Split short volume syntax on ``:`` but not inside ``${...}`` (``${A:-./x}:/x``)."""
    parts, cur, depth, i = [], [], 0, 0
    while i < len(spec):
        ch = spec[i]
        if ch == "$" and spec[i + 1:i + 2] == "{":
            depth += 1
            cur.append("${")
            i += 2
            continue
        if ch == "}" and depth:
            depth -= 1
        elif ch == ":" and not depth:
            parts.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def _volume_entries(svc):
    """Yield (type, source) for each volume of a service, short and long syntax."""
    for item in svc.get("volumes") or []:
        if isinstance(item, str):
            parts = _split_volume(item)
            if len(parts) < 2:
                continue  # anonymous volume
            src = parts[0]
            kind = "bind" if src.startswith((".", "/", "~", "$")) else "volume"
            yield kind, src
        elif isinstance(item, dict) and item.get("source"):
            yield str(item.get("type") or "volume"), str(item["source"])


def _service_signature(project, name):
    """Everything that decides a service's container config: its own definition plus the
    top-level networks / volumes / configs / secrets it references and the project-wide keys."""
    svc = project.services.get(name)
    if svc is None:
        return None
    data = project.data
    nets = _named_refs(svc, "networks") or (["default"] if "network_mode" not in svc else [])
    vols = [src for kind, src in _volume_entries(svc) if kind == "volume"]
    ref = {
        "networks": {n: (data.get("networks") or {}).get(n) for n in nets},
        "volumes": {v: (data.get("volumes") or {}).get(v) for v in vols},
        "configs": {c: (data.get("configs") or {}).get(c) for c in _named_refs(svc, "configs")},
        "secrets": {s: (data.get("secrets") or {}).get(s) for s in _named_refs(svc, "secrets")},
    }
    glob = {k: v for k, v in data.items()
            if k not in ("services", "networks", "volumes", "configs", "secrets") and not str(k).startswith("x-")}
    return repr((_canon(svc), _canon(ref), _canon(glob)))


def _canon(obj):
    """A stable, order-insensitive-for-mappings representation for comparison."""
    if isinstance(obj, dict):
        return tuple(sorted((str(k), _canon(v)) for k, v in obj.items()))
    if isinstance(obj, list):
        return tuple(_canon(v) for v in obj)
    return obj


def compose_changes(old, new):
    """Compare two :class:`ComposeProject` versions; return ``{service: "build"|"restart"}`` for
    services whose configuration changed, plus ``{service: "removed"}`` for removed ones.

    A changed ``build`` section (context, args, dockerfile, target) needs a rebuild; any
    other change only a recreate. A new service is built when it has a ``build``.
    """
    out = {}
    for name in sorted(set(old.services) | set(new.services)):
        if name not in new.services:
            out[name] = "removed"
            continue
        before, after = _service_signature(old, name), _service_signature(new, name)
        if before == after:
            continue
        new_build = new.services[name].get("build")
        old_build = old.services.get(name, {}).get("build") if name in old.services else None
        if new_build is not None and (name not in old.services or _canon(new_build) != _canon(old_build)):
            out[name] = "build"
        else:
            out[name] = "restart"
    return out


@dataclass
class Claim:
    """A compose-derived default: ``service`` needs ``action`` when the path changes."""

    service: t.Optional[str]  # None: every service
    action: str  # "build" | "restart" | "compose"
    what: str


def default_claims(project, variables=None):
    """Register the compose-derived defaults in a :class:`MatcherIndex`; return (index, claims)."""
    index = MatcherIndex()
    claims = []

    def add(kind, path, claim):
        if path is None:
            return
        claims.append(claim)
        key = len(claims) - 1
        if kind == "tree":
            index.add_prefix(path, key)
        elif kind == "file_or_tree":
            if path:
                index.add_literal(path, key)
            index.add_prefix(path, key)
        else:
            if path:
                index.add_literal(path, key)

    for name in project.service_names():
        svc = project.services[name]
        build = svc.get("build")
        if build is not None:
            if isinstance(build, str):
                build = {"context": build}
            if isinstance(build, dict):
                ctx = project.rel(build.get("context") or ".", variables)
                if ctx is not None:
                    add("tree", ctx, Claim(name, "build", "build context of %s" % name))
                    dockerfile = interpolate(build.get("dockerfile") or "Dockerfile", variables)
                    if isinstance(dockerfile, str) and not dockerfile.startswith("/"):
                        df = os.path.normpath(os.path.join(ctx or ".", dockerfile)).replace(os.sep, "/")
                        if not df.startswith("../"):
                            add("file", df, Claim(name, "build", "dockerfile of %s" % name))
                for extra in (build.get("additional_contexts") or {}).values() \
                        if isinstance(build.get("additional_contexts"), dict) else []:
                    add("tree", project.rel(extra, variables), Claim(name, "build", "additional build context of %s" % name))
        env_files = svc.get("env_file")
        for item in ([env_files] if isinstance(env_files, (str, dict)) else env_files or []):
            path = item.get("path") if isinstance(item, dict) else item
            add("file", project.rel(path, variables), Claim(name, "restart", "env_file of %s" % name))
        for kind, src in _volume_entries(svc):
            if kind == "bind":
                add("file_or_tree", project.rel(src, variables), Claim(name, "restart", "bind mount of %s" % name))
        for section in ("configs", "secrets"):
            top = project.data.get(section) or {}
            for ref in _named_refs(svc, section):
                spec = top.get(ref) if isinstance(top, dict) else None
                if isinstance(spec, dict) and spec.get("file"):
                    add("file", project.rel(spec["file"], variables),
                        Claim(name, "restart", "%s %s of %s" % (section[:-1], ref, name)))
    if project.services:
        add("file", project.rel(".env"), Claim(None, "restart", "project .env (interpolation for every service)"))
    for f in project.files:
        add("file", normalize_path(f), Claim(None, "compose", "compose file"))
    return index, claims


# --------------------------------------------------------------------------- planning

def _fmt(names):
    return "[" + ", ".join(names) + "]"


def plan_changes(paths, project, rules=None, unclaimed="ignore", services=None, compose_diff=None,
                 full_reasons=None, use_defaults=True, variables=None, all_hooks_on_full=False,
                 commits=(None, None)):
    """Map changed ``paths`` to a :class:`Plan`.

    ``rules`` are raw dicts (validated here) or :class:`Rule` objects. ``compose_diff`` is
    the result of :func:`compose_changes` for the two refs, or None when the old version
    is unknown (a changed compose file then means a full deploy). ``full_reasons`` forces
    a full deploy (e.g. unreachable from_ref); with ``all_hooks_on_full`` every hook named
    in any rule runs, because nobody knows what changed.
    """
    if unclaimed not in UNCLAIMED_POLICIES:
        raise ChangedServicesError("unclaimed must be one of %s, got %r" % (", ".join(UNCLAIMED_POLICIES), unclaimed))
    if rules and not isinstance(rules[0], Rule):
        rules = parse_rules(rules, project)
    rules = rules or []
    override_all, override = (None, None)
    if services is not None and services != [] and services != "":
        override_all, override = parse_service_list(services, project.service_names(), "services")

    rule_index = MatcherIndex()
    exclude_index = MatcherIndex()
    for i, rule in enumerate(rules):
        for g in rule.globs:
            rule_index.add(g, i)
        for g in rule.excludes:
            exclude_index.add(g, i)
    has_excludes = any(r.excludes for r in rules)
    if use_defaults:
        def_index, claims = default_claims(project, variables)
    else:
        def_index, claims = MatcherIndex(), []

    build, restart, hooks_seen = set(), set(), {}
    full = False
    reasons_full = list(full_reasons or [])
    unclaimed_paths = []
    reasons = {}
    ignored = 0
    all_services = project.service_names()
    cache = {}

    for raw in paths:
        path = normalize_path(raw)
        if not path or path in reasons:
            continue
        hits = rule_index.match(path)
        excluded = exclude_index.match(path) if has_excludes and hits else ()
        if excluded:
            hits = hits - excluded
        if hits:
            key = ("r", tuple(sorted(hits)))
            effect = cache.get(key)
            if effect is None:
                effect = _rule_effect([rules[i] for i in key[1]])
                cache[key] = effect
        else:
            dhits = def_index.match(path)
            key = ("d", tuple(sorted(dhits)), tuple(sorted(excluded)))
            effect = cache.get(key)
            if effect is None:
                effect = _default_effect([claims[i] for i in key[1]], compose_diff, all_services,
                                         [rules[i] for i in key[2]])
                cache[key] = effect
        e_build, e_restart, e_full, e_hooks, reason, kind = effect
        build.update(e_build)
        restart.update(e_restart)
        for h in e_hooks:
            hooks_seen.setdefault(h, len(hooks_seen))
        if e_full and not full:
            full = True
        if e_full:
            reasons_full.append("%s: %s" % (path, reason))
        if kind == "unclaimed":
            unclaimed_paths.append(path)
            if unclaimed == "full":
                reasons_full.append("%s: unclaimed (policy: full)" % path)
        elif kind == "ignored":
            ignored += 1
        reasons[path] = reason + (" (policy: %s)" % unclaimed if kind == "unclaimed" else "")

    if unclaimed == "full" and unclaimed_paths:
        full = True
    if reasons_full and not full:
        full = True
    if all_hooks_on_full and full_reasons:
        for rule in rules:
            for h in rule.hooks:
                hooks_seen.setdefault(h, len(hooks_seen))

    full_reasons_out = _dedupe_full_reasons(reasons_full)
    hook_order = {}
    for rule in rules:
        for h in rule.hooks:
            hook_order.setdefault(h, len(hook_order))
    plan = Plan(reasons=reasons, unclaimed=sorted(unclaimed_paths),
                hooks=sorted(hooks_seen, key=hook_order.get))
    buildable = set(project.buildable())
    if override is not None or override_all:
        if override_all:
            plan.full = True
            plan.build = sorted(buildable)
            plan.restart = sorted(set(all_services) - buildable)
            plan.full_reasons = ["operator asked for all services"]
        else:
            plan.build = sorted(set(override) & buildable)
            plan.restart = sorted(set(override) - buildable)
            plan.full_reasons = []
        how = "operator override"
    else:
        if full:
            plan.full = True
            plan.build = sorted(buildable)
            plan.restart = sorted(set(all_services) - buildable)
        else:
            # a service named in 'build' without a build section can only be recreated
            plan.build = sorted(build & buildable)
            plan.restart = sorted((restart | (build - buildable)) - set(plan.build))
        plan.full_reasons = full_reasons_out
        how = None
    plan.summary = _summary(plan, len(reasons), ignored, how)
    plan.from_commit, plan.to_commit = commits
    if unclaimed == "fail" and plan.unclaimed and override is None and not override_all:
        raise UnclaimedPathsError(plan)
    return plan


def _dedupe_full_reasons(items, limit=20):
    seen = list(dict.fromkeys(items))
    if len(seen) > limit:
        seen = seen[:limit] + ["... and %d more" % (len(seen) - limit)]
    return seen


def _rule_effect(rules):
    build, restart, hooks = set(), set(), []
    full = False
    for r in rules:
        build.update(r.build)
        restart.update(r.restart)
        full = full or r.full
        for h in r.hooks:
            if h not in hooks:
                hooks.append(h)
    kind = "ignored" if all(r.ignore for r in rules) else "claimed"
    reason = "; ".join(r.description for r in rules)
    return frozenset(build), frozenset(restart), full, tuple(hooks), reason, kind


def _default_effect(claims, compose_diff, all_services, excluded_by):
    build, restart = set(), set()
    full = False
    parts = []
    for c in claims:
        if c.action == "compose":
            if compose_diff is None:
                full = True
                parts.append("compose file changed and its previous version is unknown: full deploy")
                continue
            b = sorted(s for s, a in compose_diff.items() if a == "build")
            r = sorted(s for s, a in compose_diff.items() if a == "restart")
            gone = sorted(s for s, a in compose_diff.items() if a == "removed")
            build.update(b)
            restart.update(r)
            bits = []
            if b:
                bits.append("build " + ", ".join(b))
            if r:
                bits.append("recreate " + ", ".join(r))
            if gone:
                bits.append("removed " + ", ".join(gone))
            parts.append("default: compose file, service config changed: " + "; ".join(bits)
                         if bits else "default: compose file, no service config changed")
        elif c.service is None:
            restart.update(all_services)
            parts.append("default: %s: recreate all" % c.what)
        elif c.action == "build":
            build.add(c.service)
            parts.append("default: %s: build %s" % (c.what, c.service))
        else:
            restart.add(c.service)
            parts.append("default: %s: recreate %s" % (c.what, c.service))
    if not claims:
        reason = "unclaimed"
        if excluded_by:
            reason += " (excluded from %s)" % ", ".join(r.label for r in excluded_by)
        return frozenset(), frozenset(), False, (), reason, "unclaimed"
    reason = "; ".join(parts)
    if excluded_by:
        reason += " (excluded from %s)" % ", ".join(r.label for r in excluded_by)
    kind = "claimed" if (build or restart or full) else "ignored"
    return frozenset(build), frozenset(restart), full, (), reason, kind


def _summary(plan, npaths, ignored, how):
    if plan.full and how is None:
        head = "full deploy (%s)" % "; ".join(plan.full_reasons[:3]) if plan.full_reasons else "full deploy"
    elif plan.full:
        head = "full deploy (operator asked for all services)"
    elif not plan.build and not plan.restart and not plan.hooks:
        head = "nothing to deploy"
    else:
        bits = []
        if plan.build:
            bits.append("build " + _fmt(plan.build))
        if plan.restart:
            bits.append("recreate " + _fmt(plan.restart))
        head = ", ".join(bits) if bits else "no service changes"
        if how:
            head += " (%s)" % how
    tail = ["%d changed path%s" % (npaths, "" if npaths == 1 else "s")]
    if plan.hooks:
        tail.append("hooks " + _fmt(plan.hooks))
    if ignored:
        tail.append("%d ignored" % ignored)
    if plan.unclaimed:
        tail.append("%d unclaimed" % len(plan.unclaimed))
    return head + ": " + ", ".join(tail)


# --------------------------------------------------------------------------- git

def _git(project_dir, args, runner=None, check=True):
    cmd = ["git", "-C", project_dir, "-c", "core.quotepath=off"] + list(args)
    run = runner or subprocess.run
    try:
        proc = run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    except OSError as exc:
        raise GitError("cannot run git: %s" % exc)
    if check and proc.returncode != 0:
        raise GitError("%s failed: %s" % (" ".join(cmd[3:]), proc.stderr.decode("utf-8", "replace").strip()))
    return proc


def resolve_commit(project_dir, ref, runner=None):
    """Commit id for ``ref``, or None when it does not exist in this repository."""
    proc = _git(project_dir, ["rev-parse", "--verify", "--quiet", "--end-of-options", "%s^{commit}" % ref],
                runner, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip() or None


def parse_name_status(raw):
    """Parse ``git diff --name-status -z`` output; renames/copies yield both paths."""
    parts = raw.decode("utf-8", "surrogateescape").split("\0")
    out = []
    i = 0
    while i < len(parts):
        status = parts[i]
        if not status:
            i += 1
            continue
        if status[0] in "RC":
            out.extend(parts[i + 1:i + 3])
            i += 3
        else:
            out.append(parts[i + 1])
            i += 2
    return out


def git_changes(project_dir, from_ref, to_ref="HEAD", runner=None):
    """Return ``(paths, from_commit, to_commit, full_reason)``.

    ``full_reason`` is set (and paths empty) when from_ref is missing, unknown to this
    repository, or not an ancestor of to_ref; then nobody can tell what changed.
    """
    if not os.path.isdir(project_dir):
        raise GitError("project_dir %s does not exist" % project_dir)
    top = _git(project_dir, ["rev-parse", "--is-inside-work-tree"], runner, check=False)
    if top.returncode != 0:
        raise GitError("project_dir %s is not inside a git work tree" % project_dir)
    to_commit = resolve_commit(project_dir, to_ref, runner)
    if to_commit is None:
        raise GitError("to_ref %r does not name a commit in %s (fetched?)" % (to_ref, project_dir))
    if not from_ref:
        return [], None, to_commit, "no from_ref given (nothing recorded as deployed)"
    from_commit = resolve_commit(project_dir, from_ref, runner)
    if from_commit is None:
        return [], None, to_commit, ("from_ref %r is not in the repository (history rewritten or shallow clone?)"
                                     % from_ref)
    if from_commit == to_commit:
        return [], from_commit, to_commit, None
    anc = _git(project_dir, ["merge-base", "--is-ancestor", from_commit, to_commit], runner, check=False)
    if anc.returncode == 1:
        return [], from_commit, to_commit, ("from_ref %s is not an ancestor of to_ref %s (rewritten history "
                                            "or a move backwards)" % (from_commit[:12], to_commit[:12]))
    if anc.returncode != 0:
        raise GitError("git merge-base failed: %s" % anc.stderr.decode("utf-8", "replace").strip())
    diff = _git(project_dir, ["diff", "--no-color", "--no-ext-diff", "--name-status", "-z", "-M", "--relative",
                              from_commit, to_commit], runner)
    return parse_name_status(diff.stdout), from_commit, to_commit, None


def git_show(project_dir, commit, path, runner=None):
    """Text of ``path`` (relative to project_dir) at ``commit``, or None when absent there."""
    proc = _git(project_dir, ["show", "%s:./%s" % (commit, path)], runner, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "replace")


def _read_file(project_dir, path):
    full = os.path.join(project_dir, path)
    if not os.path.isfile(full):
        return None
    with open(full, "r", encoding="utf-8") as fh:
        return fh.read()


def pick_compose_files(exists):
    """What ``docker compose`` picks with no ``-f``: the first default name plus its override."""
    found = [f for f in DEFAULT_COMPOSE_FILES if exists(f)][:1]
    if found:
        found += [f for f in DEFAULT_OVERRIDE_FILES if exists(f)][:1]
    return found


def compute_plan(project_dir, compose_files=None, from_ref=None, to_ref="HEAD", paths=None, services=None,
                 rules=None, unclaimed="ignore", use_defaults=True, variables=None, runner=None):
    """Everything the module does, minus Ansible: returns a :class:`Plan`.

    With ``paths`` (not None) git is not consulted and compose files are read from the
    work tree; otherwise the changed paths come from ``git diff from_ref to_ref`` and the
    compose files are read at ``to_ref`` (and at ``from_ref`` to compare them).
    """
    use_git = paths is None
    from_commit = to_commit = None
    full_reason = None
    if use_git:
        changed, from_commit, to_commit, full_reason = git_changes(project_dir, from_ref, to_ref, runner)

        def read_new(f):
            return git_show(project_dir, to_commit, f, runner)
    else:
        if not os.path.isdir(project_dir):
            raise ComposeError("project_dir %s does not exist" % project_dir)
        changed = list(paths)

        def read_new(f):
            return _read_file(project_dir, f)

    new_texts = {}

    def exists(f):
        if f not in new_texts:
            new_texts[f] = read_new(f)
        return new_texts[f] is not None

    files = [normalize_path(f) for f in compose_files] if compose_files else pick_compose_files(exists)
    if not files:
        raise ComposeError("no compose file found in %s (looked for %s)"
                           % (project_dir, ", ".join(DEFAULT_COMPOSE_FILES)))
    missing = [f for f in files if not exists(f)]
    if missing:
        raise ComposeError("compose file(s) %s not found in %s%s" % (
            ", ".join(missing), project_dir, " at %s" % to_commit[:12] if to_commit else ""))
    project = load_compose([(f, new_texts[f]) for f in files])

    compose_diff = None
    if use_git and from_commit and not full_reason:
        compose_set = set(files)
        if any(normalize_path(p) in compose_set for p in changed):
            old = load_compose([(f, git_show(project_dir, from_commit, f, runner)) for f in files])
            compose_diff = compose_changes(old, project)
    plan = plan_changes(changed, project, rules=rules, unclaimed=unclaimed, services=services,
                        compose_diff=compose_diff, full_reasons=[full_reason] if full_reason else None,
                        use_defaults=use_defaults, variables=variables, all_hooks_on_full=bool(full_reason),
                        commits=(from_commit, to_commit))
    if use_git and from_commit and from_commit == to_commit and not plan.full:
        plan.summary = "nothing to deploy: %s is already deployed" % to_commit[:12]
    return plan
