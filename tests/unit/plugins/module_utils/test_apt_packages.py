# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from ansible_collections.berth.compose.plugins.module_utils.apt_packages import dpkg_query_argv, missing_packages

WANTED = ["docker.io", "docker-compose", "python3-docker", "caddy"]


def test_nothing_missing_when_dpkg_lists_every_package_installed():
    out = "docker.io installed\ndocker-compose installed\npython3-docker installed\ncaddy installed\n"
    assert missing_packages(WANTED, out) == []


def test_unknown_removed_and_broken_packages_are_missing_in_the_given_order():
    out = "docker.io installed\ndocker-compose config-files\npython3-docker half-installed\n"
    assert missing_packages(WANTED, out) == ["docker-compose", "python3-docker", "caddy"]


def test_arch_qualified_names_match_either_way():
    assert missing_packages(["libc6:amd64", "zlib1g"], "libc6 installed\nzlib1g:amd64 installed\n") == []


def test_query_asks_for_name_and_status_of_each_package():
    argv = dpkg_query_argv(["a", "b"])
    assert argv[:2] == ["dpkg-query", "--show"] and argv[-2:] == ["a", "b"]
    assert "${db:Status-Status}" in argv[2]
