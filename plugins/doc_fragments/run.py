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

    # The HTTP probes of a health gate: health_gate, and the gate of engine and reconcile.
    PROBES = r"""
options:
  probes:
    description:
      - HTTP(S) requests that must succeed, typically a health endpoint on the VM's loopback or the public
        site through the reverse proxy.
    type: list
    elements: dict
    default: []
    suboptions:
      url:
        description:
          - URL to request, C(http://) or C(https://).
          - Its password and query values are hidden from every result and message; Ansible's own journal line
            of the invocation on the host keeps the query, so put a token in O(probes[].headers) rather than in it.
        type: str
        required: true
      name:
        description: Label for the probe in results and messages; defaults to the URL.
        type: str
      status:
        description: Accepted HTTP status codes. Empty means any 2xx.
        type: list
        elements: int
        default: []
      body:
        description:
          - Python regular expression that must be found in the response body.
          - On a mismatch the result carries an excerpt of the body.
        type: str
      headers:
        description:
          - Request headers. A C(Host) header is also used as the TLS server name (SNI) and for
            certificate checks, so C(https://127.0.0.1/) with C(Host=app.example.com) reaches the right
            site of a reverse proxy like Caddy.
          - Their values are C(no_log) (an C(Authorization) or C(Cookie) header never shows, not even at C(-vvv)).
        type: dict
        default: {}
      method:
        description: HTTP method.
        type: str
        default: GET
      validate_certs:
        description: Verify the server certificate for HTTPS.
        type: bool
        default: true
      ca_path:
        description: PEM file of CA certificates to trust for HTTPS, for example Caddy's local CA root.
        type: path
      timeout:
        description: Seconds one request may take.
        type: float
        default: 5
      follow_redirects:
        description: Follow redirects. When false a redirect is judged by its own 3xx status.
        type: bool
        default: false
"""

    # The health gate after a change (its probes: PROBES).
    GATE = r"""
options:
  health_timeout:
    description: Seconds the gate waits for health.
    type: float
    default: 120
"""
