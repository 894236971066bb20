# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared C(attributes) of the berth.compose modules."""


class ModuleDocFragment:

    # Every module: runs on the target host, which is a POSIX system.
    DOCUMENTATION = r"""
options: {}
attributes:
  platform:
    support: full
    platforms: posix
    description: Runs on the target host, where the app's compose project lives.
"""

    # Modules that only read: check mode behaves exactly like a normal run.
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode returns the same result as a normal run.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
"""
