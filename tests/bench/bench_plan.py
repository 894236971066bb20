# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: map 100,000 changed paths against 200 rules and a 50-service compose project.

Run: .venv/bin/python tests/bench/bench_plan.py  (make bench-plan). Prints paths per second;
the target is the whole mapping under 1 s. Input is generated with a fixed seed. The project
is given in the shape `docker compose config --format json` renders (no Compose needed here).

Case (f) plans from git in a repository of 100,000 files (built once with ``git fast-import``,
cached under .build/bench-plan/): ``git diff --name-status`` alone, then compute_plan for a
one-file change and for a merge changing 100,000 paths, and the cost of each beyond its git
diff. Target: the one-file change under 2 s beyond git diff (``MISSED`` otherwise). Compose is
replaced by a renderer that reads the JSON compose files (include, extends, env_file) from the
directory it is given, as `docker compose config` would.
"""

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
# tests.unit.conftest makes ansible_collections.berth.compose importable.
import tests.unit.conftest  # noqa: E402,F401  pylint: disable=unused-import

from ansible_collections.berth.compose.plugins.module_utils.change_plan import PlanInput, plan_changes  # noqa: E402
from ansible_collections.berth.compose.plugins.module_utils.change_rules import parse_rules  # noqa: E402
from ansible_collections.berth.compose.plugins.module_utils.changed_services import (  # noqa: E402
    ChangeRequest,
    compute_plan,
)
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import ComposeCliError  # noqa: E402
from ansible_collections.berth.compose.plugins.module_utils.compose_model import (  # noqa: E402
    RenderedProject,
    compare,
)
from ansible_collections.berth.compose.tests.unit.plugins.module_utils.compose_fixtures import (  # noqa: E402
    rendered as rendered_shape,
)

N_PATHS = 100000
N_RULES = 200
N_SERVICES = 50


PROJECT_DIR = "/srv/bench"


def make_compose():
    """The rendered project and its rendering without interpolation (which keeps env_file)."""
    services, raw = {}, {}
    for i in range(N_SERVICES):
        name = "svc%02d" % i
        if i % 5 == 4:
            svc = {"image": "busybox", "environment": {"LEVEL": str(i)}, "volumes": [
                {"type": "bind", "source": "%s/conf/%s" % (PROJECT_DIR, name), "target": "/etc/app", "read_only": True},
                {"type": "volume", "source": "data%02d" % i, "target": "/data", "volume": {}}]}
            raw[name] = dict(svc)
        else:
            svc = {"build": {"context": "%s/services/%s" % (PROJECT_DIR, name), "dockerfile": "Dockerfile"},
                   "environment": {"LEVEL": str(i)}}
            raw[name] = dict(svc, env_file=[{"path": "%s/env/%s.env" % (PROJECT_DIR, name), "required": True}])
        services[name] = svc
    volumes = {"data%02d" % i: {"name": "bench_data%02d" % i} for i in range(N_SERVICES)}
    return {"name": "bench", "services": services, "volumes": volumes}, {"name": "bench", "services": raw}


def make_rules(rng):
    rules = []
    for i in range(N_RULES):
        svc = "svc%02d" % (i % N_SERVICES)
        shape = i % 8
        if shape == 0:
            rule = {"paths": ["services/%s/**" % svc], "exclude": ["services/%s/**/*.md" % svc], "build": [svc]}
        elif shape == 1:
            rule = {"paths": ["libs/lib%03d/**" % i], "build": "%s,svc%02d" % (svc, (i + 7) % N_SERVICES)}
        elif shape == 2:
            rule = {"paths": ["libs/lib%03d/*.{py,txt}" % i, "libs/lib%03d/sub/**/*.py" % i], "build": [svc]}
        elif shape == 3:
            rule = {"paths": ["conf/%s/**" % svc, "conf/%s.yml" % svc], "recreate": [svc]}
        elif shape == 4:
            rule = {"paths": ["db/part%03d/**" % i], "full": True, "hooks": ["hook%03d" % i]}
        elif shape == 5:
            rule = {"paths": ["docs/section%03d/**" % i, "**/CHANGELOG%03d.md" % i], "ignore": True}
        elif shape == 6:
            rule = {"paths": ["tools/t%03d/**/*.sh" % i], "hooks": ["hook%03d" % i]}
        else:
            rule = {"paths": ["web/assets/a%03d/[a-m]*.css" % i, "web/pages/p%03d?/**" % i], "build": [svc]}
        rules.append(rule)
    return rules


def make_paths(rng):
    """About 90 % of the paths fall under some rule's shape, 10 % are unclaimed noise."""
    exts = ["py", "md", "txt", "css", "sh", "json", "yml"]
    paths = []
    for _unused in range(N_PATHS):
        i = rng.randrange(N_RULES)
        svc = "svc%02d" % (i % N_SERVICES)
        mid = "/".join("d%d" % rng.randrange(20) for _unused in range(rng.randrange(0, 4)))
        name = "f%d.%s" % (rng.randrange(1000), rng.choice(exts))
        shape = i % 8 if rng.random() < 0.9 else None
        if shape == 0:
            head = "services/%s" % svc
        elif shape in (1, 2):
            head = "libs/lib%03d" % i + rng.choice(["", "/sub"])
        elif shape == 3:
            head = "conf/%s" % svc
        elif shape == 4:
            head = "db/part%03d" % i if rng.random() < 0.01 else "db/other%03d" % i
        elif shape == 5:
            head = "docs/section%03d" % i
        elif shape == 6:
            head = "tools/t%03d" % i
        elif shape == 7:
            head = rng.choice(["web/assets/a%03d" % i, "web/pages/p%03d%d" % (i, rng.randrange(10))])
        else:
            head = "misc/x%03d" % i
        paths.append("/".join(p for p in (head, mid, name) if p))
    return paths


# ---------------------------------------------------------------- (f) git repository of 100,000 files

REPO_FILES = 100000
REPO_SERVICES = 20
REPO_VERSION = "1"  # bump when the generated repository changes
REPO_CACHE = os.path.join(ROOT, ".build", "bench-plan", "repo-%d" % REPO_FILES)
ONE_FILE_TARGET = 2.0
GIT_ENV = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")


def _git(repo, *args, **kw):
    return subprocess.run(["git", "-C", repo] + list(args), check=True, env=GIT_ENV, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, **kw).stdout


def repo_compose_files():
    """The compose project of the big repository: compose files (JSON is YAML), env files, ``.env``."""
    services = {}
    for i in range(REPO_SERVICES):
        name = "svc%02d" % i
        if i % 4 == 3:
            services[name] = {"image": "busybox", "env_file": ["env/%s.env" % name],
                              "volumes": [{"type": "bind", "source": "conf/%s" % name, "target": "/etc/app"}]}
        else:
            services[name] = {"build": "services/%s" % name, "env_file": ["env/%s.env" % name],
                              "environment": {"LEVEL": str(i)}}
    files = {"compose.yaml": json.dumps({"include": ["compose/extra.yaml"], "services": services}, indent=1),
             "compose/extra.yaml": json.dumps({"services": {"extra": {
                 "extends": {"file": "base.yaml", "service": "base"}, "env_file": ["../env/extra.env"]}}}, indent=1),
             "compose/base.yaml": json.dumps({"services": {"base": {"image": "busybox", "environment": {"B": "1"}}}}),
             ".env": "TAG=1\n", "env/extra.env": "X=1\n"}
    for i in range(REPO_SERVICES):
        files["env/svc%02d.env" % i] = "LEVEL=%d\n" % i
    return files


def _generated_paths(count):
    """``count`` paths of source and docs, spread over the services' build contexts."""
    out = []
    for n in range(count):
        svc = n % REPO_SERVICES
        if n % 10 == 9:
            out.append("docs/part%03d/page%06d.md" % (n % 200, n))
        else:
            out.append("services/svc%02d/src/d%03d/f%06d.py" % (svc, (n // REPO_SERVICES) % 250, n))
    return out


def _fast_import_stream(compose_files, generated):
    chunks = []

    def data(text):
        raw = text.encode()
        chunks.append(b"data %d\n%s\n" % (len(raw), raw))

    def commit(ref, mark, message, parents, entries):
        chunks.append(b"commit %s\nmark :%d\ncommitter bench <bench@example.invalid> %d +0000\n"
                      % (ref.encode(), mark, 1700000000 + mark))
        data(message)
        for i, parent in enumerate(parents):
            chunks.append(b"%s :%d\n" % (b"from" if i == 0 else b"merge", parent))
        for path, text in entries:
            chunks.append(b"M 100644 inline %s\n" % path.encode())
            data(text)

    extra = ["docs/new/added%06d.md" % n for n in range(REPO_FILES - len(generated))]
    base = list(compose_files.items()) + [(p, "v1 %s\n" % p) for p in generated]
    side = [(p, "v2 %s\n" % p) for p in generated] + [(p, "new\n") for p in extra]
    commit("refs/heads/main", 1, "base: %d files" % len(base), [], base)
    commit("refs/heads/main", 2, "one-file change", [1], [("services/svc03/src/added.py", "one\n")])
    commit("refs/heads/side", 3, "side: every file changed", [1], side)
    commit("refs/heads/main", 4, "merge side", [2, 3], side)
    chunks.append(b"done\n")
    return b"".join(chunks)


def big_repo():
    """The repository (built once, cached): tags base, one (one-file change), merged (100,000 paths)."""
    stamp = os.path.join(REPO_CACHE, ".bench-version")
    if os.path.isfile(stamp) and open(stamp).read() == REPO_VERSION:
        return REPO_CACHE
    shutil.rmtree(REPO_CACHE, ignore_errors=True)
    os.makedirs(REPO_CACHE)
    t0 = time.perf_counter()
    _git(REPO_CACHE, "init", "-q", "-b", "main")
    compose_files = repo_compose_files()
    generated = _generated_paths(REPO_FILES - len(compose_files))
    _git(REPO_CACHE, "fast-import", "--quiet", "--done", input=_fast_import_stream(compose_files, generated))
    for tag, rev in (("base", "main^1^1"), ("one", "main^1"), ("merged", "main")):
        _git(REPO_CACHE, "tag", tag, rev)
    # no checkout: the planner reads commits, never the work tree (an index keeps git status sane)
    _git(REPO_CACHE, "read-tree", "main")
    with open(stamp, "w") as handle:
        handle.write(REPO_VERSION)
    print("(f) built %s in %.1f s (once; cached)" % (REPO_CACHE, time.perf_counter() - t0))
    return REPO_CACHE


def _load(directory, name):
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise ComposeCliError("open %s: no such file or directory" % path)
    with open(path) as handle:
        return json.load(handle)


def bench_render(project, interpolate=True):
    """`docker compose config` for the bench's JSON compose files: include, extends and env_file are read
    from the directory, relative to the file naming them; a missing one fails as Compose would."""
    services = {}

    def absolute(base, path):
        return os.path.normpath(os.path.join(base, path))

    def load(directory, name):
        doc = _load(directory, name)
        base = os.path.dirname(os.path.join(directory, name))
        for inc in doc.get("include", []):
            load(base, inc)
        for svc_name, svc in doc.get("services", {}).items():
            svc = dict(svc)
            ext = svc.pop("extends", None)
            if ext:
                parent = _load(base, ext["file"])["services"][ext["service"]]
                svc = dict(parent, **svc)
            for key in ("build",):
                if key in svc:
                    svc[key] = absolute(base, svc[key])
            env_files = [absolute(base, p) for p in svc.get("env_file", [])]
            for path in env_files:
                if not os.path.isfile(path):
                    raise ComposeCliError("env file %s not found" % path)
            if env_files:
                svc["env_file"] = env_files
            svc["volumes"] = [dict(v, source=absolute(base, v["source"])) if v.get("type") == "bind" else v
                              for v in svc.get("volumes", [])]
            services[svc_name] = svc

    for name in project.files:
        load(project.project_dir, name)
    model, raw = rendered_shape(services, project.project_dir)
    return model if interpolate else raw


def _timed(func, repeat):
    times, result = [], None
    for _unused in range(repeat):
        t0 = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def bench_big_repo():
    """Case (f): git diff alone, then planning a one-file change and a 100,000-path merge."""
    repeat = int(os.environ.get("BENCH_PLAN_REPEAT", "3"))
    repo = big_repo()
    rules = [{"paths": "docs/**", "ignore": True}]

    def diff(a, b):
        return _git(repo, "-c", "core.quotepath=off", "diff", "--no-color", "--no-ext-diff", "--name-status", "-z",
                    "-M", "--relative", a, b)

    def plan(a, b):
        return compute_plan(ChangeRequest(project_dir=repo, compose_project="bench", from_ref=a, to_ref=b,
                                          rules=rules), bench_render)

    print("(f) git repository of %d files, %d compose services (median of %d)"
          % (REPO_FILES, REPO_SERVICES + 1, repeat))
    ok = True
    for label, a, b in (("one-file change", "base", "one"), ("merge of %d paths" % REPO_FILES, "one", "merged")):
        git_s, raw = _timed(lambda: diff(a, b), repeat)
        plan_s, result = _timed(lambda: plan(a, b), repeat)
        npaths = raw.count(b"\0") // 2
        beyond = plan_s - git_s
        print("  %-24s git diff --name-status %.3f s (%d paths); plan %.3f s; beyond git diff %.3f s"
              % (label + ":", git_s, npaths, plan_s, beyond))
        print("    plan: %s" % result.summary[:160])
        if b == "one":
            ok = beyond < ONE_FILE_TARGET
            print("  target: one-file change < %.1f s beyond git diff -> %s"
                  % (ONE_FILE_TARGET, "OK" if ok else "MISSED"))
    return ok


def main():
    rng = random.Random(20261123)
    paths = make_paths(rng)
    rendered, uninterpolated = make_compose()
    # the deployed release, rendered from its own directory, differs in one service's environment
    previous = json.loads(json.dumps(rendered).replace(PROJECT_DIR, "/srv/releases/previous"))
    previous["services"]["svc07"]["environment"]["LEVEL"] = "old"
    t0 = time.perf_counter()
    project = RenderedProject(rendered, PROJECT_DIR, uninterpolated)
    rules = parse_rules(make_rules(rng), project.services, project.buildable)
    claims, claim_index = project.claims(["compose.yaml", ".env"])
    config_changes = compare(RenderedProject(previous, "/srv/releases/previous"), project)
    t1 = time.perf_counter()
    plan = plan_changes(PlanInput(paths=paths, services=project.services, buildable=project.buildable, rules=rules,
                                  claims=claims, claim_index=claim_index, config_changes=config_changes))
    t2 = time.perf_counter()
    mapping = t2 - t1
    print("setup (read the rendered project, compile %d rules, compare two renderings): %.3f s"
          % (len(rules), t1 - t0))
    print("mapped %d paths against %d rules and %d services in %.3f s: %d paths/second"
          % (len(paths), len(rules), len(project.services), mapping, len(paths) / mapping))
    print("plan: %d build, %d recreate, full=%s, %d hooks, %d unclaimed, %d reasons, config changes %s"
          % (len(plan.build), len(plan.recreate), plan.full, len(plan.hooks), len(plan.unclaimed), len(plan.reasons),
             config_changes))
    print("target: < 1.0 s ->", "OK" if (t2 - t0) < 1.0 else "TOO SLOW")
    bench_big_repo()  # prints its figures and MISSED; wall-clock time fails no test
    return 0 if (t2 - t0) < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
