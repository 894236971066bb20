# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The changed_services module minus Ansible: git changes + two Compose renderings -> a Plan.

* change_rules: operator rules;  change_plan: paths -> plan (pure);
* git_changes: changed paths and temporary partial copies of a commit;  compose_model: the rendered project;
* compose_cli: the ``docker compose`` command line.
"""

from __future__ import annotations

import os
import typing as t
from contextlib import ExitStack
from dataclasses import dataclass, field

from ansible_collections.berth.compose.plugins.module_utils import names
from ansible_collections.berth.compose.plugins.module_utils import compose_cli
from ansible_collections.berth.compose.plugins.module_utils.change_plan import Claim, Plan, PlanInput, plan_changes
from ansible_collections.berth.compose.plugins.module_utils.change_rules import ChangedServicesError, parse_rules
from ansible_collections.berth.compose.plugins.module_utils.compose_model import (
    ComposeError,
    RenderedProject,
    compare,
    named_paths,
    referenced_compose_files,
)
from ansible_collections.berth.compose.plugins.module_utils.env_file import parse as parse_env_file
from ansible_collections.berth.compose.plugins.module_utils.git_changes import (
    changed_paths,
    check_ref,
    materialized_tree,
    require_work_tree,
)
from ansible_collections.berth.compose.plugins.module_utils.pathglob import MatcherIndex

# What `docker compose` reads without -f: the first of these, plus the first override found.
DEFAULT_COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
DEFAULT_OVERRIDE_FILES = ("compose.override.yaml", "compose.override.yml",
                          "docker-compose.override.yaml", "docker-compose.override.yml")


@dataclass
class ChangeRequest:
    """The module's options. ``paths`` given: no git, the work tree is rendered once."""

    project_dir: str
    compose_project: str
    compose_files: t.List[str] = field(default_factory=list)
    env_file: t.Optional[str] = None
    environment: t.Dict[str, str] = field(default_factory=dict)
    from_ref: t.Optional[str] = None
    to_ref: str = "HEAD"
    from_dir: t.Optional[str] = None
    to_dir: t.Optional[str] = None
    paths: t.Optional[t.List[str]] = None
    services: t.Any = None
    rules: list = field(default_factory=list)
    unclaimed: str = "ignore"
    use_defaults: bool = True
    # Why the env file counts as changed (it differs from what the serving release was deployed with):
    # the services that read it are recreated. None: unchanged or unknown.
    env_changed: t.Optional[str] = None


# What Compose accepts as a project name.
COMPOSE_PROJECT_NAME = names.PROJECT_NAME


def validate_request(request: ChangeRequest) -> None:
    """Refuse bad options before git or Compose runs; each message names the option and what is allowed."""
    if not isinstance(request.compose_project, str) or not COMPOSE_PROJECT_NAME.match(request.compose_project):
        raise ChangedServicesError("compose_project %r: allowed are lowercase letters, digits, '_' and '-', "
                                   "starting with a letter or digit" % (request.compose_project,))
    if request.env_file and not os.path.isabs(request.env_file):
        raise ChangedServicesError("env_file %r must be an absolute path" % (request.env_file,))
    check_ref("from_ref", request.from_ref)
    check_ref("to_ref", request.to_ref)
    for option in ("from_dir", "to_dir"):
        given = getattr(request, option)
        if given and not os.path.isdir(given):
            raise ComposeError("%s %s does not exist (allowed: an existing directory)" % (option, given))


def compose_files_in(directory: str, compose_files: t.Iterable[str] | None) -> list[str]:
    """The compose files as given, else what Compose picks without -f; relative where possible."""
    if compose_files:
        return list(compose_files)
    found = [f for f in DEFAULT_COMPOSE_FILES if os.path.isfile(os.path.join(directory, f))][:1]
    if not found:
        raise ComposeError("no compose file found in %s (looked for %s)" % (directory, ", ".join(DEFAULT_COMPOSE_FILES)))
    return found + [f for f in DEFAULT_OVERRIDE_FILES if os.path.isfile(os.path.join(directory, f))][:1]


class _Sides:
    """Renders the from and to sides: given directories, else temporary copies of the commits that
    hold what the rendering reads (the compose files and the files they name, see :meth:`directory`)."""

    def __init__(self, request: ChangeRequest, render: t.Callable[..., t.Dict[str, t.Any]], stack: ExitStack) -> None:
        self.request = request
        self.render = render
        self.stack = stack

    def directory(self, given: str | None, commit: str, environment: t.Mapping[str, str] | None = None) -> str:
        """``given``, else a temporary copy of ``commit`` with the inputs of ``docker compose config``.

        Those are the compose files (as given, else every name Compose looks for), the project
        ``.env`` and, file by file, whatever they name: included and extended files, env files,
        build contexts (created empty: Compose looks them up but reads nothing in them). Each
        word of these files that is a path in the commit counts (see
        :func:`compose_model.named_paths`), so no YAML parser is needed and the cost does not grow
        with the repository.
        """
        if given:
            if not os.path.isdir(given):
                raise ComposeError("%s does not exist" % given)
            return given
        variables = self._variables(environment or {})
        roots = list(self.request.compose_files) or list(DEFAULT_COMPOSE_FILES + DEFAULT_OVERRIDE_FILES)
        roots.append(".env")
        for name in self.request.compose_files:
            if os.path.isabs(name):  # a compose file outside the repository names paths in it too
                roots.extend(named_paths(".", _read_text(name), variables))
        tree = self.stack.enter_context(materialized_tree(
            self.request.project_dir, commit, roots, lambda path, text: named_paths(path, text, variables)))
        env_link = os.path.join(tree, ".env")
        # releases link .env to the shared env file; a copy must look the same to Compose
        if self.request.env_file and not os.path.lexists(env_link):
            os.symlink(self.request.env_file, env_link)
        return tree

    def _variables(self, environment: t.Mapping[str, str]) -> dict[str, str]:
        """What Compose interpolates with, as far as it names files: the env file, then the process
        environment, then ``environment`` (the module's and the side's release variables)."""
        variables = parse_env_file(_read_text(self.request.env_file)) if self.request.env_file else {}
        variables.update(os.environ)
        variables.update(environment)
        return variables

    def rendered(self, directory: str, environment: t.Mapping[str, str], with_paths: bool) -> RenderedProject:
        """The project rendered in ``directory``; ``with_paths`` also reads the env file paths."""
        files = compose_files_in(directory, self.request.compose_files)
        missing = [f for f in files if not os.path.isfile(os.path.join(directory, f))]
        if missing:
            raise ComposeError("compose file(s) %s not found in %s" % (", ".join(missing), directory))
        project = compose_cli.ComposeProject(
            name=self.request.compose_project, project_dir=directory, files=tuple(files),
            env_file=self.request.env_file, environment=environment)
        try:
            rendered = self.render(project)
            uninterpolated = self.render(project, interpolate=False) if with_paths else None
        except compose_cli.ComposeCliError as exc:
            raise ComposeError(str(exc))
        return RenderedProject(rendered, directory, uninterpolated)

    def side(self, given_dir: str | None, commit: str, ref: str | None,
             with_paths: bool) -> tuple[str, RenderedProject]:
        environment = dict(self.request.environment, **compose_cli.release_environment(commit, ref))
        directory = self.directory(given_dir, commit, environment)
        return directory, self.rendered(directory, environment, with_paths)


def _read_text(path: str) -> str:
    """A host file's text ("" when it cannot be read: whoever needs it reports that)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(1 << 20)
    except OSError:
        return ""


def _config_inputs(directory: str, compose_files: t.Iterable[str] | None, changed: t.Iterable[str]) -> list[str]:
    """Inputs of the rendering, relative to ``directory``: compose files, included ones, ``.env``."""
    files = [f for f in (os.path.relpath(os.path.join(directory, f), directory)
                         for f in compose_files_in(directory, compose_files)) if not f.startswith("..")]
    return files + referenced_compose_files(directory, files, changed) + [".env"]


def compute_plan(request: ChangeRequest, render: t.Callable[..., t.Dict[str, t.Any]]) -> Plan:
    """Everything the module does, minus Ansible: returns a :class:`Plan`.

    ``render`` turns a :class:`compose_cli.ComposeProject` into the rendered dict
    (:func:`compose_cli.render_config` on a host with Compose).
    """
    validate_request(request)
    with ExitStack() as stack:
        sides = _Sides(request, render, stack)
        config_changes = None
        if request.paths is not None:
            if not os.path.isdir(request.project_dir):
                raise ComposeError("project_dir %s does not exist" % request.project_dir)
            changes = None
            paths = list(request.paths)
            to_dir = request.project_dir
            new = sides.rendered(to_dir, dict(request.environment), request.use_defaults)
        else:
            require_work_tree(request.project_dir)
            changes = changed_paths(request.project_dir, request.from_ref, request.to_ref)
            paths = changes.paths
            to_dir, new = sides.side(request.to_dir, changes.to_commit, request.to_ref, request.use_defaults)
            if changes.from_commit and not changes.full_reason and changes.from_commit != changes.to_commit:
                old = sides.side(request.from_dir, changes.from_commit, request.from_ref, False)[1]
                config_changes = compare(old, new)
            elif changes.from_commit == changes.to_commit:
                config_changes = {}
        rules = parse_rules(request.rules, new.services, new.buildable)
        claims: list[Claim] = []
        claim_index = MatcherIndex()
        if request.use_defaults:
            claims, claim_index = new.claims(_config_inputs(to_dir, request.compose_files, paths))
        env_readers = new.env_file_readers(request.env_file) if request.env_changed else []
    plan = plan_changes(PlanInput(
        paths=paths, services=new.services, buildable=new.buildable, rules=rules, claims=claims,
        claim_index=claim_index, config_changes=config_changes, unclaimed=request.unclaimed,
        override=request.services, full_reason=changes.full_reason if changes else None,
        from_commit=changes.from_commit if changes else None, to_commit=changes.to_commit if changes else None,
        env_readers=env_readers, env_reason=request.env_changed))
    if (changes and changes.from_commit and changes.from_commit == changes.to_commit and not plan.full
            and not plan.build and not plan.recreate):
        plan.summary = "nothing to deploy: %s is already deployed" % changes.to_commit[:12]
    return plan
