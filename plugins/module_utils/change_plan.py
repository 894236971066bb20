# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Changed paths -> a deploy :class:`Plan` (pure: no git, no Compose, no I/O).

Every rule that claims a path applies; compose-derived claims apply only to paths that no
rule claims (docs/decisions.md says why).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.berth.compose.plugins.module_utils.change_rules import (
    ChangedServicesError,
    Rule,
    parse_service_list,
)
from ansible_collections.berth.compose.plugins.module_utils.pathglob import MatcherIndex, normalize_path

UNCLAIMED_POLICIES = ("ignore", "build", "full", "fail")
FULL_REASONS_LIMIT = 20


class UnclaimedPathsError(ChangedServicesError):
    """``unclaimed: fail`` and some changed paths were claimed by nothing."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        shown = ", ".join(plan.unclaimed[:20])
        more = "" if len(plan.unclaimed) <= 20 else " (and %d more)" % (len(plan.unclaimed) - 20)
        super().__init__(
            "%d changed path(s) are claimed by no rule and no compose service: %s%s; "
            "add a rule for them (an 'ignore: true' rule if they need nothing) or set unclaimed to "
            "'ignore' or 'full'" % (len(plan.unclaimed), shown, more))


@dataclass
class Plan:
    """What to do for a set of changed paths. Lists are sorted, except ``hooks`` (rule order)."""

    build: t.List[str] = field(default_factory=list)
    recreate: t.List[str] = field(default_factory=list)
    full: bool = False
    hooks: t.List[str] = field(default_factory=list)
    unclaimed: t.List[str] = field(default_factory=list)
    reasons: t.Dict[str, str] = field(default_factory=dict)
    full_reasons: t.List[str] = field(default_factory=list)
    summary: str = ""
    from_commit: t.Optional[str] = None
    to_commit: t.Optional[str] = None
    services: t.List[str] = field(default_factory=list)
    buildable: t.List[str] = field(default_factory=list)
    removed: t.List[str] = field(default_factory=list)
    config_changes: t.Dict[str, str] = field(default_factory=dict)
    # Services the change touches that an operator's `services` override left out: they still run
    # the older code, and the next deploy without an override picks them up.
    pending: t.List[str] = field(default_factory=list)
    # Why services that read the env file are recreated though no path changed ("" when not).
    env_reason: str = ""
    # `services: all` with a known previous side: the services rebuilt only because the operator asked for
    # all; the deploy engine recreates them only when the rebuilt image differs from the one that runs.
    rebuilt_only: t.List[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, t.Any]:
        return {
            "build": list(self.build),
            "recreate": list(self.recreate),
            "full": self.full,
            "hooks": list(self.hooks),
            "unclaimed": list(self.unclaimed),
            "reasons": dict(self.reasons),
            "full_reasons": list(self.full_reasons),
            "summary": self.summary,
            "from_commit": self.from_commit,
            "to_commit": self.to_commit,
            "services": list(self.services),
            "buildable": list(self.buildable),
            "removed": list(self.removed),
            "config_changes": dict(self.config_changes),
            "pending": list(self.pending),
            "env_reason": self.env_reason,
            "rebuilt_only": list(self.rebuilt_only),
        }


@dataclass(frozen=True)
class Claim:
    """A compose-derived default: when a path under it changes, ``service`` needs ``action``.

    ``service`` None means every service. ``action`` ``config`` marks an input of the rendered
    configuration (compose files, the project ``.env``): its effect is the comparison of the two
    rendered sides, and without the previous side it means a full deploy.
    """

    service: t.Optional[str]
    action: str  # "build" | "recreate" | "config"
    what: str


@dataclass
class Effect:
    """What one changed path asks for; shared by every path with the same claims."""

    build: t.FrozenSet[str] = frozenset()
    recreate: t.FrozenSet[str] = frozenset()
    full: bool = False
    hooks: t.Tuple[str, ...] = ()
    reason: str = "unclaimed"
    kind: str = "unclaimed"  # "claimed" | "ignored" | "unclaimed"


@dataclass
class PlanInput:
    """Everything :func:`plan_changes` reads.

    ``claims`` and ``claim_index`` are the compose-derived defaults (index keys are positions
    in ``claims``); ``config_changes`` maps a service to ``build``/``recreate``/``removed`` from
    comparing the two rendered sides, or is None when there is no previous side.
    ``full_reason`` forces a full deploy (unknown history) and then every rule's hooks run.
    """

    paths: t.List[str]
    services: t.List[str]
    buildable: t.List[str]
    rules: list = field(default_factory=list)
    claims: t.List[Claim] = field(default_factory=list)
    claim_index: MatcherIndex = field(default_factory=MatcherIndex)
    config_changes: t.Optional[t.Dict[str, str]] = None
    unclaimed: str = "ignore"
    override: t.Any = None
    full_reason: t.Optional[str] = None
    from_commit: t.Optional[str] = None
    to_commit: t.Optional[str] = None
    # The env file changed since the serving release was deployed: these services read it (env_file),
    # and ``env_reason`` says why they are recreated.
    env_readers: t.List[str] = field(default_factory=list)
    env_reason: t.Optional[str] = None


def _fmt(names: t.Iterable[str]) -> str:
    return "[" + ", ".join(names) + "]"


def _rule_effect(rules: t.Sequence[Rule]) -> Effect:
    effect = Effect(reason="; ".join(r.description for r in rules),
                    kind="ignored" if all(r.ignore for r in rules) else "claimed")
    hooks: list[str] = []
    for rule in rules:
        effect.build |= frozenset(rule.build)
        effect.recreate |= frozenset(rule.recreate)
        effect.full = effect.full or rule.full
        hooks.extend(h for h in rule.hooks if h not in hooks)
    effect.hooks = tuple(hooks)
    return effect


def _config_reason(config_changes: t.Mapping[str, str]) -> str:
    parts = []
    for action, word in (("build", "build"), ("recreate", "recreate"), ("removed", "removed")):
        names = sorted(s for s, a in config_changes.items() if a == action)
        if names:
            parts.append("%s %s" % (word, ", ".join(names)))
    return "rendered config changed: " + "; ".join(parts) if parts else "rendered config of no service changed"


def _default_effect(claims: t.Sequence[Claim], plan_input: PlanInput, excluded_by: t.Sequence[Rule]) -> Effect:
    effect = Effect()
    parts = []
    for claim in claims:
        if claim.action == "config":
            if plan_input.config_changes is None:
                effect.full = True
                parts.append("default: %s changed and its previous version is unknown: full deploy" % claim.what)
            else:
                parts.append("default: %s, %s" % (claim.what, _config_reason(plan_input.config_changes)))
        elif claim.action == "build":
            effect.build |= {claim.service}  # type: ignore[arg-type]  # a build claim always names its service
            parts.append("default: %s: build %s" % (claim.what, claim.service))
        else:
            targets = plan_input.services if claim.service is None else [claim.service]
            effect.recreate |= frozenset(targets)
            parts.append("default: %s: recreate %s" % (claim.what, "all" if claim.service is None else claim.service))
    effect.reason = "; ".join(parts) if claims else "unclaimed"
    if excluded_by:
        effect.reason += " (excluded from %s)" % ", ".join(r.label for r in excluded_by)
    if claims:
        effect.kind = "claimed" if (effect.build or effect.recreate or effect.full) else "ignored"
    return effect


class _Matcher:
    """Finds the effect of a path: rules first, compose-derived claims for paths no rule claims."""

    def __init__(self, plan_input: PlanInput) -> None:
        self.plan_input = plan_input
        self.rules = plan_input.rules
        self.rule_index = MatcherIndex()
        self.exclude_index = MatcherIndex()
        for pos, rule in enumerate(self.rules):
            for glob in rule.globs:
                self.rule_index.add(glob, pos)
            for glob in rule.excludes:
                self.exclude_index.add(glob, pos)
        self.has_excludes = any(r.excludes for r in self.rules)
        self.cache: dict[tuple[t.Any, ...], Effect] = {}  # many paths share the same set of matching rules or claims

    def effect(self, path: str) -> Effect:
        rule_hits = self.rule_index.match(path)
        excluded = self.exclude_index.match(path) & rule_hits if self.has_excludes and rule_hits else set()
        rule_hits -= excluded
        key: t.Any  # ("rules", hits) or ("claims", hits, excluded)
        if rule_hits:
            key = ("rules", tuple(sorted(rule_hits)))
        else:
            key = ("claims", tuple(sorted(self.plan_input.claim_index.match(path))), tuple(sorted(excluded)))
        effect = self.cache.get(key)
        if effect is None:
            if rule_hits:
                effect = _rule_effect([self.rules[i] for i in key[1]])
            else:
                effect = _default_effect([self.plan_input.claims[i] for i in key[1]], self.plan_input,
                                         [self.rules[i] for i in key[2]])
            self.cache[key] = effect
        return effect


def _dedupe(items: t.Iterable[str], limit: int = FULL_REASONS_LIMIT) -> list[str]:
    seen = list(dict.fromkeys(items))
    if len(seen) > limit:
        seen = seen[:limit] + ["... and %d more" % (len(seen) - limit)]
    return seen


def plan_changes(plan_input: PlanInput) -> Plan:
    """Map the changed paths of a :class:`PlanInput` to a :class:`Plan`."""
    if plan_input.unclaimed not in UNCLAIMED_POLICIES:
        raise ChangedServicesError("unclaimed must be one of %s, got %r"
                                   % (", ".join(UNCLAIMED_POLICIES), plan_input.unclaimed))
    override_all, override = False, None
    if plan_input.override not in (None, [], ""):
        override_all, override = parse_service_list(plan_input.override, plan_input.services, "services")
    matcher = _Matcher(plan_input)
    build: set[str] = set()
    recreate: set[str] = set()
    hooks_seen: dict[str, int] = {}
    full_reasons = [plan_input.full_reason] if plan_input.full_reason else []
    unclaimed_paths: list[str] = []
    reasons: dict[str, str] = {}
    ignored = 0
    for raw in plan_input.paths:
        path = normalize_path(raw)
        if not path or path in reasons:
            continue
        effect = matcher.effect(path)
        build |= effect.build
        recreate |= effect.recreate
        for hook in effect.hooks:
            hooks_seen.setdefault(hook, len(hooks_seen))
        if effect.full:
            full_reasons.append("%s: %s" % (path, effect.reason))
        if effect.kind == "unclaimed":
            unclaimed_paths.append(path)
            if plan_input.unclaimed == "full":
                full_reasons.append("%s: unclaimed (policy: full)" % path)
            elif plan_input.unclaimed == "build":  # no image-only service: a file outside every context
                build |= set(plan_input.buildable)
            reasons[path] = "%s (policy: %s)" % (effect.reason, plan_input.unclaimed)
        else:
            ignored += effect.kind == "ignored"
            reasons[path] = effect.reason
    config_changes = plan_input.config_changes or {}
    build |= {s for s, action in config_changes.items() if action == "build"}
    recreate |= {s for s, action in config_changes.items() if action == "recreate"}
    if plan_input.env_reason:
        recreate |= set(plan_input.env_readers)
    rule_hook_order: dict[str, int] = {}
    for rule in plan_input.rules:
        for hook in rule.hooks:
            rule_hook_order.setdefault(hook, len(rule_hook_order))
            if plan_input.full_reason:  # nobody knows what changed: every hook runs
                hooks_seen.setdefault(hook, len(hooks_seen))
    # every hook seen is a rule's, so rule_hook_order.get never gives None
    plan = Plan(reasons=reasons, unclaimed=sorted(unclaimed_paths),
                hooks=sorted(hooks_seen, key=rule_hook_order.get),  # type: ignore[arg-type]
                from_commit=plan_input.from_commit, to_commit=plan_input.to_commit,
                services=sorted(plan_input.services), buildable=sorted(plan_input.buildable),
                config_changes=dict(config_changes),
                removed=sorted(s for s, a in config_changes.items() if a == "removed"),
                env_reason=plan_input.env_reason if plan_input.env_reason and plan_input.env_readers else "")
    # `all` with a known previous side: every service that builds is rebuilt, the others only when changed
    known = plan_input.config_changes is not None and not plan_input.full_reason
    _choose_services(plan, build, recreate, full_reasons, override_all, override, known)
    how = "operator asked for all services" if override_all else "operator override" if override is not None else None
    plan.summary = _summary(plan, len(reasons), ignored, how)
    if plan_input.unclaimed == "fail" and plan.unclaimed and override is None and not override_all:
        raise UnclaimedPathsError(plan)
    return plan


def _choose_services(plan: Plan, build: set[str], recreate: set[str], full_reasons: list[str], override_all: bool,
                     override: list[str] | None, known: bool = False) -> None:
    buildable = set(plan.buildable)
    everything = set(plan.services)
    if override_all and known and not full_reasons:
        # rebuilt; an image-only service is recreated only when its config changed
        plan.rebuilt_only = sorted(buildable - build - recreate)
        build = build | buildable
    elif override_all:
        plan.full, plan.full_reasons = True, ["operator asked for all services"]
    elif override is not None:
        natural = everything if full_reasons else (build | recreate) & everything
        plan.pending = sorted(natural - set(override))
        build, recreate = set(override), set()
    else:
        plan.full, plan.full_reasons = bool(full_reasons), _dedupe(full_reasons)
    if plan.full:
        plan.build, plan.recreate = sorted(buildable), sorted(everything - buildable)
        return
    build &= everything  # a service removed at the to side is reported in removed, not deployed
    recreate &= everything
    # a service named in build without a build section can only be recreated
    plan.build = sorted(build & buildable)
    plan.recreate = sorted((recreate | (build - buildable)) - set(plan.build))


def _summary(plan: Plan, npaths: int, ignored: int, how: str | None) -> str:
    if plan.full and how is None:
        head = "full deploy (%s)" % "; ".join(plan.full_reasons[:3]) if plan.full_reasons else "full deploy"
    elif plan.full:
        head = "full deploy (operator asked for all services)"
    elif not plan.build and not plan.recreate and not plan.hooks:
        head = "nothing to deploy"
    else:
        bits = []
        if plan.build:
            bits.append("build " + _fmt(plan.build))
        if plan.recreate:
            bits.append("recreate " + _fmt(plan.recreate))
        head = ", ".join(bits) if bits else "no service changes"
        if how:
            head += " (%s)" % how
    tail = ["%d changed path%s" % (npaths, "" if npaths == 1 else "s")]
    if plan.env_reason:
        tail.insert(0, plan.env_reason)
    if plan.hooks:
        tail.append("hooks " + _fmt(plan.hooks))
    if ignored:
        tail.append("%d ignored" % ignored)
    if plan.unclaimed:
        tail.append("%d unclaimed" % len(plan.unclaimed))
    if plan.removed:
        tail.append("removed " + _fmt(plan.removed))
    if plan.pending:
        tail.append("left out: " + ", ".join(plan.pending))
    return head + ": " + ", ".join(tail)
