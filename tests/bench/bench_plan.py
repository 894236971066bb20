# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: map 100,000 changed paths against 200 rules and a 50-service compose project.

Run: .venv/bin/python tests/bench/bench_plan.py  (make bench-plan). Prints paths per second;
the target is the whole mapping under 1 s. Input is generated with a fixed seed. The project
is given in the shape `docker compose config --format json` renders (no Compose needed here).
"""

import json
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
# tests.unit.conftest makes ansible_collections.berth.compose importable.
import tests.unit.conftest  # noqa: E402,F401  pylint: disable=unused-import

from ansible_collections.berth.compose.plugins.module_utils.change_plan import PlanInput, plan_changes  # noqa: E402
from ansible_collections.berth.compose.plugins.module_utils.change_rules import parse_rules  # noqa: E402
from ansible_collections.berth.compose.plugins.module_utils.compose_model import (  # noqa: E402
    RenderedProject,
    compare,
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
    return 0 if (t2 - t0) < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
