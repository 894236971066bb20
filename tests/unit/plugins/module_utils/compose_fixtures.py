# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recorded `docker compose config --format json` output (fixtures/compose_config/record.sh),
and hand-written projects in the same rendered shape, for tests that need no Compose."""

import json
import os

from ansible_collections.berth.compose.plugins.module_utils.compose_model import RenderedProject

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDED = os.path.join(HERE, "fixtures", "compose_config")
RECORDED_DIR = "/srv/app"  # where record.sh rendered the projects


def recorded(name, project_dir=RECORDED_DIR, raw=False):
    """A recorded rendering with ``project_dir`` in place of the directory it was recorded in."""
    with open(os.path.join(RECORDED, name + (".raw.json" if raw else ".json"))) as handle:
        text = handle.read()
    return json.loads(text.replace(RECORDED_DIR, project_dir))


def recorded_project(name, project_dir=RECORDED_DIR):
    return RenderedProject(recorded(name, project_dir), project_dir, recorded(name, project_dir, raw=True))


def rendered(services, project_dir=RECORDED_DIR, **top):
    """A project in Compose's rendered shape: relative host paths become absolute under ``project_dir``.

    ``services`` use the rendered keys (``build: {context}``, long-form ``volumes``); ``env_file``
    goes into the uninterpolated rendering, as Compose does.
    """
    def absolute(path):
        return path if path.startswith("/") else os.path.normpath(os.path.join(project_dir, path))

    model, raw = {"name": "app", "services": {}}, {"name": "app", "services": {}}
    for name, spec in services.items():
        svc = dict(spec)
        build = svc.get("build")
        if isinstance(build, str):
            build = {"context": build}
        if build is not None:
            build = dict(build, context=absolute(build.get("context", ".")))
            build.setdefault("dockerfile", "Dockerfile")
            if "additional_contexts" in build:
                build["additional_contexts"] = {k: absolute(v) for k, v in build["additional_contexts"].items()}
            svc["build"] = build
        svc["volumes"] = [dict(v, source=absolute(v["source"])) if v.get("type") == "bind" else v
                          for v in svc.get("volumes", [])]
        env_files = [{"path": absolute(p), "required": True} for p in svc.pop("env_file", [])]
        model["services"][name] = svc
        raw["services"][name] = dict(svc, env_file=env_files)
    for section, entries in top.items():
        fixed = {k: dict(v, file=absolute(v["file"])) if "file" in v else v for k, v in entries.items()}
        model[section] = raw[section] = fixed
    return model, raw


def rendered_project(services, project_dir=RECORDED_DIR, **top):
    model, raw = rendered(services, project_dir, **top)
    return RenderedProject(model, project_dir, raw)


def bind(source, target="/mnt"):
    return {"type": "bind", "source": source, "target": target}


class FakeCompose:
    """Renders a project directory like `docker compose config` would; remembers every call."""

    def __init__(self, read=None):
        self.calls = []
        self.read = read or self.read_json

    @staticmethod
    def read_json(project):
        with open(os.path.join(project.project_dir, project.files[0])) as handle:
            return rendered(json.load(handle), project.project_dir)

    def __call__(self, project, interpolate=True):
        self.calls.append((project.project_dir, dict(project.environment), interpolate))
        model, raw = self.read(project)
        return model if interpolate else raw
