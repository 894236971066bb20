# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options the engine calls share (M(berth.compose.engine), M(berth.compose.reconcile), M(berth.compose.task))."""


class ModuleDocFragment:

    # The deploy lock, held by the module's own process for its whole run.
    LOCK = r"""
options:
  lock_ttl:
    description: Seconds after which a lock not held by a process (an older holder) counts as stale.
    type: int
    default: 1800
  force_unlock:
    description: Take the deploy lock even when it is held.
    type: bool
    default: false
  operator:
    description: Who runs it, for the lock and the record.
    type: str
  controller:
    description: Where it runs from, for the lock message.
    type: str
"""

    # The health gate after a change.
    GATE = r"""
options:
  probes:
    description: HTTP probes of the gate (see M(berth.compose.health_gate) O(probes)).
    type: list
    elements: dict
    default: []
  health_timeout:
    description: Seconds the gate waits for health.
    type: float
    default: 120
"""
