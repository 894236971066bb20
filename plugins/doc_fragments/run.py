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

    # The smoke gate, the preflight checks and the startup log check of a deploy or rollback (issue 19);
    # smoke and preflight_checks have the same suboptions (the steps of module_utils/smoke.py).
    SMOKE = r"""
options:
  smoke:
    description:
      - Steps run in order after the health gate of a deploy or rollback (C(berth_smoke)). The first that fails
        fails the gate - the release that served is switched back, as for an unhealthy container - and the
        message names the step and shows the end of its output (response body or command output), secrets
        redacted. Not run on that switch-back.
      - A step is an HTTP request (C(url)) or a command (C(service) and C(command)).
      - Checked before the lock; a wrong step is refused naming C(berth_smoke[<index>]).

    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The step's name in messages (unique); default the method and URL, or the mode and service.
        type: str
      url:
        description: URL of an HTTP step, C(http://) or C(https://); an HTTP step has no O(smoke[].service).
        type: str
      method:
        description: HTTP method of an HTTP step.
        type: str
        default: GET
      headers:
        description:
          - Request headers. Their values (but C(Host), C(Accept), C(Content-Type) and the like) are secrets,
            C(no_log) and redacted from every message and record - put them in the vault.
        type: dict
        default: {}
      body:
        description:
          - Request body. A secret - C(no_log), redacted whole and, for a JSON object or a form, value by value.
        type: str
      status:
        description: Accepted HTTP status codes; empty means any 2xx. A redirect is not followed, it is judged by
          its 3xx.
        type: list
        elements: int
        default: []
      expect:
        description: A substring the response body must hold.
        type: str
      session:
        description: The HTTP steps of one session share one cookie jar, so login, call and logout work in order.
        type: str
        default: default
      validate_certs:
        description: Verify the server certificate for HTTPS.
        type: bool
        default: true
      ca_path:
        description: PEM file of CA certificates to trust for HTTPS.
        type: path
      service:
        description: Compose service of a command step (with O(smoke[].command); no O(smoke[].url)).
        type: str
      command:
        description: The argv of a command step, a non-empty list of strings (no shell unless it names one).
        type: list
        elements: str
      mode:
        description: V(exec) runs the command in the service's running container, V(run) in a one-off
          C(run --rm --no-deps) container of the service.
        type: str
        default: exec
      timeout:
        description: Seconds the step may take; a step that takes longer fails.
        type: float
        default: 30

  smoke_enabled:
    description: V(false) (C(-e smoke=false)) skips O(smoke); the release record's C(gate.smoke) says
      C(skipped).
    type: bool
    default: true
  preflight_checks:
    description:
      - Steps of the same kind as O(smoke) (C(berth_preflight_checks)), run against the release that serves,
        before anything is built. The first that fails stops the run, nothing built or changed, with a message
        naming the step. Not run in check mode, nor when nothing serves yet.

    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The step's name in messages (unique); default the method and URL, or the mode and service.
        type: str
      url:
        description: URL of an HTTP step, C(http://) or C(https://); an HTTP step has no O(smoke[].service).
        type: str
      method:
        description: HTTP method of an HTTP step.
        type: str
        default: GET
      headers:
        description:
          - Request headers. Their values (but C(Host), C(Accept), C(Content-Type) and the like) are secrets,
            C(no_log) and redacted from every message and record - put them in the vault.
        type: dict
        default: {}
      body:
        description:
          - Request body. A secret - C(no_log), redacted whole and, for a JSON object or a form, value by value.
        type: str
      status:
        description: Accepted HTTP status codes; empty means any 2xx. A redirect is not followed, it is judged by
          its 3xx.
        type: list
        elements: int
        default: []
      expect:
        description: A substring the response body must hold.
        type: str
      session:
        description: The HTTP steps of one session share one cookie jar, so login, call and logout work in order.
        type: str
        default: default
      validate_certs:
        description: Verify the server certificate for HTTPS.
        type: bool
        default: true
      ca_path:
        description: PEM file of CA certificates to trust for HTTPS.
        type: path
      service:
        description: Compose service of a command step (with O(smoke[].command); no O(smoke[].url)).
        type: str
      command:
        description: The argv of a command step, a non-empty list of strings (no shell unless it names one).
        type: list
        elements: str
      mode:
        description: V(exec) runs the command in the service's running container, V(run) in a one-off
          C(run --rm --no-deps) container of the service.
        type: str
        default: exec
      timeout:
        description: Seconds the step may take; a step that takes longer fails.
        type: float
        default: 30

  log_expect:
    description:
      - C(berth_log_expect). After the health gate, each recreated container of C(service) must log a line
        matching C(pattern) within C(within) seconds; else the gate fails, naming the service and showing its
        last lines, and the release that served is switched back.
    type: list
    elements: dict
    default: []
    suboptions:
      service:
        description: A compose service; checked only when the run recreated it.
        type: str
        required: true
      pattern:
        description:
          - "Python regular expression searched in each log line, for example C(\"event\": \"startup\")."
        type: str
        required: true
      within:
        description: Seconds after the health gate within which the line must appear.
        type: float
        default: 60
"""
