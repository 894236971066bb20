# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker compose command line: argv, environment, errors that never carry the rendered config."""

import json
import subprocess

import pytest

from ansible_collections.berth.compose.plugins.module_utils import compose_cli
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import (
    ComposeCliError,
    ComposeProject,
    release_environment,
    render_config,
)

SECRET = "hunter2-do-not-print"


class FakeRun:
    def __init__(self, returncode=0, stdout=b"{}", stderr=b"", raises=None):
        self.result = subprocess.CompletedProcess([], returncode, stdout, stderr)
        self.raises = raises
        self.calls = []

    def __call__(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        if self.raises:
            raise self.raises
        return self.result


@pytest.fixture
def project():
    return ComposeProject(name="shop", project_dir="/opt/shop/releases/abc", files=("compose.yaml", "/etc/extra.yml"),
                          env_file="/opt/shop/shared/.env", environment={"BERTH_REF": "main"})


def fake(monkeypatch, **kwargs):
    run = FakeRun(**kwargs)
    monkeypatch.setattr(compose_cli.subprocess, "run", run)
    return run


def test_argv_names_the_project_like_the_app_unit(project):
    assert project.argv("up", "-d") == [
        "docker", "compose", "-p", "shop", "--project-directory", "/opt/shop/releases/abc",
        "-f", "/opt/shop/releases/abc/compose.yaml", "-f", "/etc/extra.yml",
        "--env-file", "/opt/shop/shared/.env", "up", "-d"]


def test_argv_without_files_or_env_file_lets_compose_pick():
    assert ComposeProject(name="p", project_dir="/d").argv("ps") == [
        "docker", "compose", "-p", "p", "--project-directory", "/d", "ps"]


def test_run_adds_environment_and_never_uses_a_shell(monkeypatch, project):
    run = fake(monkeypatch)
    compose_cli.run(project, ["ps"])
    argv, kwargs = run.calls[0]
    assert isinstance(argv, list) and not kwargs.get("shell")
    assert kwargs["env"]["BERTH_REF"] == "main" and "PATH" in kwargs["env"]


def test_render_config_parses_json_and_asks_without_interpolation(monkeypatch, project):
    run = fake(monkeypatch, stdout=json.dumps({"services": {"web": {}}}).encode())
    assert render_config(project) == {"services": {"web": {}}}
    render_config(project, interpolate=False)
    assert run.calls[0][0][-3:] == ["config", "--format", "json"]
    assert run.calls[1][0][-4:] == ["config", "--format", "json", "--no-interpolate"]


def test_failure_carries_stderr_but_not_stdout(monkeypatch, project):
    fake(monkeypatch, returncode=15, stdout=SECRET.encode(), stderr=b"required variable API_SECRET is missing a value")
    with pytest.raises(ComposeCliError) as err:
        render_config(project)
    assert "API_SECRET is missing" in str(err.value) and "exit 15" in str(err.value)
    assert SECRET not in str(err.value)


def test_unparsable_output_is_not_quoted(monkeypatch, project):
    fake(monkeypatch, stdout=("services: {web: {environment: {P: %s}}}" % SECRET).encode())
    with pytest.raises(ComposeCliError, match="no valid JSON") as err:
        render_config(project)
    assert SECRET not in str(err.value)


def test_json_that_is_not_an_object_is_rejected(monkeypatch, project):
    fake(monkeypatch, stdout=b"[]")
    with pytest.raises(ComposeCliError, match="not an object"):
        render_config(project)


def test_missing_docker_cli_is_explained(monkeypatch, project):
    fake(monkeypatch, raises=FileNotFoundError(2, "No such file or directory"))
    with pytest.raises(ComposeCliError, match="Compose plugin installed"):
        compose_cli.run(project, ["ps"])


def test_timeout_is_reported(monkeypatch, project):
    fake(monkeypatch, raises=subprocess.TimeoutExpired(["docker"], 5))
    with pytest.raises(ComposeCliError, match="did not finish within 5 s"):
        compose_cli.run(project, ["ps"], timeout=5)


def test_release_environment_names_the_commit():
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert release_environment(sha, "main") == {"BERTH_COMMIT": sha, "BERTH_SHORT_SHA": "0123456789ab",
                                                "BERTH_REF": "main"}
    assert release_environment(sha)["BERTH_REF"] == sha
