# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argv builders: the exact command line of every compose, docker, git and caddy call."""

import pytest

from ansible_collections.berth.compose.plugins.module_utils import commands as cmd
from ansible_collections.berth.compose.plugins.module_utils import zero_downtime as zd
from ansible_collections.berth.compose.plugins.module_utils.compose_cli import ComposeProject

DIR = "/opt/shop/releases/abc"
BASE = ["docker", "compose", "-p", "shop", "--project-directory", DIR, "-f", DIR + "/compose.yaml",
        "--env-file", "/opt/shop/shared/.env"]
REPO = "/opt/shop/repo"
SHA = "0123456789abcdef0123456789abcdef01234567"


# ---------------------------------------------------------------- compose

def test_compose_names_the_project_like_the_app_unit():
    assert cmd.compose("shop", DIR, ["compose.yaml"], ["/opt/shop/shared/.env"]) == BASE


def test_compose_keeps_absolute_files_and_takes_one_env_file_or_none():
    assert cmd.compose("p", "/d", ("a.yml", "/etc/b.yml", ".berth/images.yml"), "/e/.env", docker="/usr/bin/docker") == [
        "/usr/bin/docker", "compose", "-p", "p", "--project-directory", "/d", "-f", "/d/a.yml", "-f", "/etc/b.yml",
        "-f", "/d/.berth/images.yml", "--env-file", "/e/.env"]
    assert cmd.compose("p", "/d") == ["docker", "compose", "-p", "p", "--project-directory", "/d"]
    assert cmd.compose("p", "/d", None, None) == ["docker", "compose", "-p", "p", "--project-directory", "/d"]


def test_compose_project_uses_the_one_builder():
    project = ComposeProject(name="shop", project_dir=DIR, files=("compose.yaml",), env_file="/opt/shop/shared/.env")
    assert project.argv("ps", 1) == BASE + ["ps", "1"]


def test_up_defaults_recreate_exactly_the_services_and_nothing_else():
    assert cmd.up(BASE, ["web", "worker"]) == BASE + [
        "up", "-d", "--no-deps", "--no-build", "--force-recreate", "web", "worker"]


def test_up_lets_compose_decide_what_to_recreate():
    assert cmd.up(BASE, ["web"], recreate=None) == BASE + ["up", "-d", "--no-deps", "--no-build", "web"]


def test_up_beside_the_old_container_for_a_cutover():
    assert cmd.up(BASE, ["web"], recreate=False, scale={"web": 2}) == BASE + [
        "up", "-d", "--no-deps", "--no-build", "--no-recreate", "--scale", "web=2", "web"]


def test_up_with_every_option():
    assert cmd.up(BASE, ["api", "web"], recreate=None, no_deps=False, build=True, wait=True, dry_run=True,
                  scale={"web": 2, "api": 3}) == BASE + [
        "--dry-run", "up", "-d", "--build", "--wait", "--scale", "api=3", "--scale", "web=2", "api", "web"]
    assert cmd.up([], [], recreate=None, no_deps=False, build=None) == ["up", "-d"]


def test_build_and_pull():
    assert cmd.build(BASE, ["web", "worker"]) == BASE + ["build", "web", "worker"]
    assert cmd.pull(BASE, ("redis",)) == BASE + ["pull", "--quiet", "--policy", "missing", "redis"]


def test_run_once_and_exec():
    assert cmd.run_once(BASE, "web", ["./manage.py", "migrate"]) == BASE + [
        "run", "--rm", "--no-deps", "-T", "web", "./manage.py", "migrate"]
    assert cmd.exec_(BASE, "worker", ("sh", "-c", "test ! -e /tmp/busy")) == BASE + [
        "exec", "-T", "worker", "sh", "-c", "test ! -e /tmp/busy"]


def test_config_commands():
    assert cmd.config_json(BASE) == BASE + ["config", "--format", "json"]
    assert cmd.config_json((), interpolate=False) == ["config", "--format", "json", "--no-interpolate"]
    assert cmd.config_services(()) == ["config", "--services"]
    assert cmd.config_hash(BASE) == BASE + ["config", "--hash", "*"]
    assert cmd.config_hash(BASE, ["web", "worker"]) == BASE + ["config", "--hash", "web,worker"]


def test_builders_never_change_the_base_they_are_given():
    base = list(BASE)
    cmd.up(base, ["web"])
    cmd.build(base, ["web"])
    assert base == BASE


# ---------------------------------------------------------------- docker

def test_ps_by_compose_labels():
    assert cmd.ps() == ["docker", "ps", "-aq", "--no-trunc"]
    assert cmd.ps("shop") == ["docker", "ps", "-aq", "--no-trunc", "--filter", "label=com.docker.compose.project=shop"]
    assert cmd.ps("shop", "web", docker="podman") == [
        "podman", "ps", "-aq", "--no-trunc", "--filter", "label=com.docker.compose.project=shop",
        "--filter", "label=com.docker.compose.service=web"]


def test_inspect_and_images():
    assert cmd.inspect(["a1", "b2"]) == ["docker", "inspect", "a1", "b2"]
    assert cmd.inspect(("a1",), fmt="{{.Image}} {{.Config.Image}}") == [
        "docker", "inspect", "--format", "{{.Image}} {{.Config.Image}}", "a1"]
    assert cmd.image_inspect("shop-web:0123456789ab") == [
        "docker", "image", "inspect", "--format", "{{.Id}}", "shop-web:0123456789ab"]
    assert cmd.images() == ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"]
    assert cmd.image_rm("shop-web:old") == ["docker", "image", "rm", "shop-web:old"]


def test_container_commands():
    assert cmd.logs("c1", 20) == ["docker", "logs", "--tail", "20", "c1"]
    assert cmd.stop("c1") == ["docker", "stop", "c1"]
    assert cmd.rm("c1") == ["docker", "rm", "-f", "c1"]


# ---------------------------------------------------------------- git

def test_git_commands():
    assert cmd.fetch(REPO) == ["git", "-C", REPO, "fetch", "--prune", "origin",
                               "refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"]
    assert cmd.rev_parse(DIR) == ["git", "-C", DIR, "rev-parse", "HEAD"]
    assert cmd.verify_commit(REPO, "refs/tags/v1") == [
        "git", "-C", REPO, "rev-parse", "--verify", "--quiet", "refs/tags/v1^{commit}"]
    assert cmd.worktree_add(REPO, DIR, SHA) == ["git", "-C", REPO, "worktree", "add", "--detach", DIR, SHA]
    assert cmd.worktree_remove(REPO, DIR) == ["git", "-C", REPO, "worktree", "remove", "--force", DIR]
    assert cmd.worktree_prune(REPO, git="/usr/bin/git") == ["/usr/bin/git", "-C", REPO, "worktree", "prune"]
    assert cmd.show(REPO, SHA, ".env.example") == ["git", "-C", REPO, "show", SHA + ":.env.example"]
    assert cmd.for_each_ref(REPO) == ["git", "-C", REPO, "for-each-ref", "--format=%(objectname) %(refname)"]
    assert cmd.diff_name_status(REPO, "a" * 40, SHA) == [
        "git", "-C", REPO, "-c", "core.quotepath=off", "diff", "--no-color", "--no-ext-diff", "--name-status", "-z",
        "-M", "--relative", "a" * 40, SHA]


# ---------------------------------------------------------------- caddy

@pytest.mark.parametrize("build, word", [(cmd.adapt, "adapt"), (cmd.reload, "reload"), (cmd.validate, "validate")])
def test_caddy_commands(build, word):
    assert build("/etc/caddy/Caddyfile") == ["caddy", word, "--adapter", "caddyfile", "--config", "/etc/caddy/Caddyfile"]
    assert build("/c", caddy="/usr/bin/caddy")[0] == "/usr/bin/caddy"


# ---------------------------------------------------------------- the call sites run exactly these

class Recorder:
    def __init__(self, outputs=None):
        self.calls = []
        self.outputs = outputs or {}

    def __call__(self, argv, **kwargs):
        self.calls.append(list(argv))
        return 0, self.outputs.get(argv[1], "")


def test_reload_caddy_adapts_then_reloads(monkeypatch):
    run = Recorder()
    monkeypatch.setattr(zd.rel, "run", run)
    zd.reload_caddy("caddy", "/etc/caddy/Caddyfile")
    assert run.calls == [cmd.adapt("/etc/caddy/Caddyfile"), cmd.reload("/etc/caddy/Caddyfile")]


def test_remove_container_stops_then_removes(monkeypatch):
    run = Recorder()
    monkeypatch.setattr(zd.rel, "run", run)
    zd.remove_container("docker", "c1")
    assert run.calls == [["docker", "stop", "c1"], ["docker", "rm", "-f", "c1"]]


def test_inspect_service_asks_for_the_service_containers_only(monkeypatch):
    run = Recorder({"ps": ""})
    monkeypatch.setattr(zd.rel, "run", run)
    assert zd.inspect_service("docker", "shop", "web") == []
    assert run.calls == [cmd.ps("shop", "web")]
