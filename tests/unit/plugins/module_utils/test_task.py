# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import re

import pytest

from ansible_collections.berth.compose.plugins.module_utils import task as tk


def test_a_string_runs_under_sh_and_a_list_runs_as_given():
    assert tk.command_argv("./manage.py seed && echo done") == ["sh", "-c", "./manage.py seed && echo done"]
    assert tk.command_argv(["./backfill", "--all", "a b"]) == ["./backfill", "--all", "a b"]


@pytest.mark.parametrize("command, message", [
    ("", "cmd is empty"),
    ("   ", "cmd is empty"),
    ([], "empty list"),
    (["", "x"], "program"),
    (["ok", 3], "strings only"),
    ({"cmd": "x"}, "must be a string"),
    (None, "must be a string"),
    ("a\x00b", "NUL"),
])
def test_unusable_commands_are_refused(command, message):
    with pytest.raises(tk.TaskError, match=message):
        tk.command_argv(command)


def test_only_services_of_the_release_are_accepted():
    tk.check_service("api", ["web", "api"])
    with pytest.raises(tk.TaskError, match="service apx is not in the current release; its services: api, web"):
        tk.check_service("apx", ["web", "api"])
    for bad in ("../etc", "-rm", "", "a b", None):
        with pytest.raises(tk.TaskError, match="not a Compose service name"):
            tk.check_service(bad, ["web", bad])


def test_container_names_are_unique_and_valid_docker_names():
    names = {tk.container_name("shop", "api", now=0) for _n in range(50)}
    assert len(names) > 40
    name = tk.container_name("shop", "api", now=0, random_hex="beef")
    assert name == "shop-task-api-19700101T000000Z-beef"
    assert re.match(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z", name)


def test_attached_runs_are_removed_and_detached_ones_stay_readable():
    attached = tk.run_args("api", ["sh", "-c", "x"], "n1", detach=False)
    assert attached[:6] == ["run", "--no-deps", "--name", "n1", "--label", "berth.compose.task=api"]
    assert "--rm" in attached and "-T" in attached and "-d" not in attached
    assert attached[-4:] == ["api", "sh", "-c", "x"]
    detached = tk.run_args("api", ["./job"], "n2", detach=True)
    assert "-d" in detached and "--rm" not in detached and detached[-2:] == ["api", "./job"]
    hint = tk.follow_hint("n2")
    assert "docker logs -f n2" in hint and "docker wait n2" in hint and "docker rm n2" in hint
    assert "{{" not in hint, "Ansible refuses module results that look like templates"


def test_release_env_and_tail():
    assert tk.parse_release_env("BERTH_REF=v1\n# c\nBERTH_COMMIT=abc\n\n") == {"BERTH_REF": "v1", "BERTH_COMMIT": "abc"}
    assert tk.tail("a\nb\nc\n", 2) == "b\nc" and tk.tail("a\nb\n", 0) == "a\nb"
