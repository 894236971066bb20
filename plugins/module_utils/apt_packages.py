# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which wanted Debian packages dpkg does not report as installed."""

from __future__ import annotations

import re
from collections.abc import Iterable

# One line per package dpkg knows: "<name> <status>"; only "installed" counts.
DPKG_QUERY_FORMAT = "${Package} ${db:Status-Status}\\n"


# Debian policy: lowercase letters, digits, '+', '-', '.', at least two characters, starting with a
# letter or digit; an optional ':arch'. So a name never starts with '-' (read as an option).
PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+(:[a-z0-9][a-z0-9-]*)?\Z")


def bad_package_names(names: Iterable[object]) -> str | None:
    """The names that are not Debian package names, as a message naming the option, or None."""
    bad = [name for name in names if not isinstance(name, str) or not PACKAGE_NAME.match(name)]
    if not bad:
        return None
    return ("names %s: allowed are Debian package names (lowercase letters, digits, '+', '-' and '.', starting "
            "with a letter or digit, optionally ':arch')" % ", ".join(repr(name) for name in bad))


def dpkg_query_argv(names: Iterable[str]) -> list[str]:
    return ["dpkg-query", "--show", "--showformat=" + DPKG_QUERY_FORMAT] + list(names)


def missing_packages(wanted: Iterable[str], dpkg_output: str) -> list[str]:
    """The wanted names, in their order, that ``dpkg-query`` did not list as installed.

    dpkg lists nothing for a package it never heard of, and states such as
    ``config-files`` or ``half-installed`` for removed or broken ones: all of them are missing.
    """
    installed: set[str] = set()
    for line in dpkg_output.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] == "installed":
            # Multi-arch packages may be listed as name:arch.
            installed.add(fields[0].split(":", 1)[0])
    return [name for name in wanted if name.split(":", 1)[0] not in installed]
