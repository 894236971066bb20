# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The path_matches filter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.berth.compose.plugins.filter.berth_paths import FilterModule, path_matches

PATHS = ["dashboard/app.js", "dashboard/README.md", "api/x.py", "README.md", "./dashboard/b/c.md"]


def test_keeps_matching_paths_in_input_order():
    assert path_matches(PATHS, "dashboard/**") == ["dashboard/app.js", "dashboard/README.md", "./dashboard/b/c.md"]


def test_exclude_is_a_separate_list():
    assert path_matches(PATHS, ["dashboard/**"], exclude="**/*.md") == ["dashboard/app.js"]


def test_single_path_input_gives_a_list():
    assert path_matches("api/x.py", ["api/**", "web/**"]) == ["api/x.py"]
    assert path_matches("README.md", "api/**") == []


@pytest.mark.parametrize("patterns,message", [("a/[x", "unclosed"), ("!a", "exclude"), (3, "glob")])
def test_bad_patterns_raise_filter_errors(patterns, message):
    with pytest.raises(AnsibleFilterError, match=message):
        path_matches(PATHS, patterns)


def test_registered_under_its_name():
    assert FilterModule().filters()["path_matches"] is path_matches
