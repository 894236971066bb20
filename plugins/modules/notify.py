#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: notify
short_description: Tell webhooks the outcome of a deploy, rollback, reconcile or task, never failing the run
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - POSTs one JSON document (C(Content-Type application/json)) to every webhook in O(webhooks) whose O(webhooks[].events)
    match the event C(<kind>.<outcome>) of O(record), for example V(deploy.ok) or V(deploy.rolled_back).
  - B(A webhook that fails is a warning, never a failure) - the module fails only on a programming error (a record
    without a known C(kind) and C(outcome)). Each attempt waits at most O(webhooks[].timeout) seconds; connection
    errors, timeouts, HTTP 408, 429 and 5xx are retried up to O(retries) times (capped at 5), with O(retry_delay),
    2 x O(retry_delay), ... between; any other answer outside 2xx is not retried.
  - The URL usually carries a secret token (keep it in the vault). It is C(no_log), and no result, error or warning
    names it, its host or its path; webhooks are named by O(webhooks[].name) or by position (C(webhook 1)).
  - "The payload (schema V(berth.compose.notify/1)), every key always present: C(schema), C(event)
    (C(<kind>.<outcome>)), C(app), C(host), and from the release log record C(id), C(kind) (V(deploy), V(rollback),
    V(reconcile), V(task)), C(outcome) (V(ok), V(rolled_back), V(failed), V(hook_failed)), C(ref), C(from_commit),
    C(to_commit), C(serving_commit) (what serves after the run), C(services_built), C(services_recreated),
    C(services_deferred) (lists), C(started) (UTC ISO time), C(duration_s), C(operator), C(message) (one line, for
    example why it failed), C(note) (the operator's C(-e note)), C(job_url) (the CI job). Missing values are null
    (empty lists for the C(services_*) keys); any other key of O(record) is left out, so an env value or an image map never leaves the host by accident."
  - Sent from the managed host (the reconcile timer runs there too), so the webhook must be reachable from it;
    C(https_proxy)/C(http_proxy) in the host's environment are honoured. HTTPS certificates are verified against the
    host's CA store.
options:
  webhooks:
    description:
      - The webhooks, as C(berth_notify) lists them. An entry that is unusable (no URL, a scheme other than http or
        https, a bad timeout) is skipped with a warning.
    type: list
    elements: dict
    default: []
    suboptions:
      url:
        description: The http:// or https:// URL the payload is POSTed to. Never shown.
        type: str
        required: true
      events:
        description:
          - Shell-style patterns over C(<kind>.<outcome>), for example V(deploy.*), V(*.rolled_back), V(*.failed).
            A pattern that can match no event is reported in a warning.
        type: list
        elements: str
        default: ["*"]
      timeout:
        description: Seconds one attempt may take (more than 0, at most 120).
        type: float
        default: 10
      name:
        description: How warnings and results name this webhook (default C(webhook <position>)).
        type: str
      format:
        description:
          - V(generic) POSTs the JSON document described above.
          - "V(slack) POSTs C({\"text\": \"<line>\"}) (a Slack incoming webhook), V(discord) C({\"content\": \"<line>\"})
            (a Discord webhook, mentions disabled); the line reads app (environment, host), event, ref, short sha,
            services, outcome, operator, note and the job link."
        type: str
        choices: [generic, slack, discord]
        default: generic
  record:
    description:
      - The release log record of the run (what C(berth.compose.release_log) O(berth.compose.release_log#module:state=append)
        returned as C(record)); at least C(kind) and C(outcome).
      - Required unless O(test=true).
    type: dict
  test:
    description:
      - Send a test message (event V(test)) to every webhook, whatever its O(webhooks[].events), instead of a record.
    type: bool
    default: false
  environment:
    description: The environment named in the Slack and Discord line (C(berth_environment)), for example V(production).
    type: str
  operator:
    description: Who sends the test message (O(test=true)).
    type: str
  app:
    description: The app's name for the payload's C(app) (C(berth_app_name)).
    type: str
  host:
    description: The host's name for the payload's C(host) (C(inventory_hostname)).
    type: str
  retries:
    description: Further attempts after a retryable failure, per webhook (0 to 5).
    type: int
    default: 2
  retry_delay:
    description: Seconds before the first retry; the n-th retry waits n times as long.
    type: float
    default: 1
extends_documentation_fragment:
  - berth.compose.attributes
attributes:
  check_mode:
    support: full
    description: Builds the payload and reports which webhooks it would be sent to; sends nothing.
  diff_mode:
    support: none
    description: Nothing on the host changes.
notes:
  - The result is never C(changed) - nothing on the host changes - and never C(failed) because of a webhook.
seealso:
  - module: berth.compose.release_log
"""

EXAMPLES = r"""
- name: Tell the team's chat of the deploy's outcome (deploy.yml does this after recording)
  berth.compose.notify:
    webhooks:
      - url: "{{ vault_chat_webhook_url }}"
        events: ["deploy.*", "*.rolled_back", "*.failed"]
        timeout: 5
        name: chat
    record: "{{ recorded.record }}"
    app: shop
    host: "{{ inventory_hostname }}"

- name: Check that the team's Slack webhook is reachable
  berth.compose.notify:
    webhooks:
      - url: "{{ vault_slack_webhook_url }}"
        format: slack
    test: true
    app: shop
    environment: production
    host: "{{ inventory_hostname }}"
"""

RETURN = r"""
event:
  description: The event name, C(<kind>.<outcome>).
  returned: success
  type: str
  sample: deploy.rolled_back
payload:
  description: The JSON document of the event (see the description for its keys); a V(slack) or V(discord) webhook
    gets its line instead.
  returned: success
  type: dict
  sample: {schema: berth.compose.notify/1, event: deploy.ok, app: shop, host: vm1, kind: deploy, outcome: ok,
           ref: v1.4.2, to_commit: 2f6e8a1d3c5b7a9e0f1d2c3b4a5e6f7a8b9c0d1e, services_recreated: [web]}
webhooks:
  description: One entry per webhook, in order; never the URL.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The webhook's name or C(webhook <position>).
      type: str
    sent:
      description: Whether a 2xx answer came back.
      type: bool
    skipped:
      description: Its O(webhooks[].events) do not match this event.
      type: bool
    status:
      description: The last HTTP status (null without an answer).
      type: int
    attempts:
      description: Attempts made.
      type: int
    error:
      description: Why it was not delivered (URL removed), or null.
      type: str
  sample: [{name: chat, sent: true, skipped: false, status: 204, attempts: 1, error: null}]
delivered:
  description: How many webhooks got the payload.
  returned: success
  type: int
  sample: 1
undelivered:
  description: How many webhooks meant for this event did not get it (each one also gave a warning).
  returned: success
  type: int
  sample: 0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.compose.plugins.module_utils import notify as nt


def main():
    module = AnsibleModule(
        argument_spec=dict(
            webhooks=dict(type="list", elements="dict", default=[], options=dict(
                url=dict(type="str", required=True, no_log=True),
                events=dict(type="list", elements="str", default=["*"]),
                timeout=dict(type="float", default=nt.DEFAULT_TIMEOUT),
                name=dict(type="str"),
                format=dict(type="str", choices=list(nt.FORMATS), default="generic"))),
            record=dict(type="dict"),
            test=dict(type="bool", default=False),
            environment=dict(type="str"),
            operator=dict(type="str"),
            app=dict(type="str"),
            host=dict(type="str"),
            retries=dict(type="int", default=2),
            retry_delay=dict(type="float", default=1.0),
        ),
        supports_check_mode=True,
        required_if=[("test", False, ("record",))],
    )
    p = module.params
    try:
        if p["test"]:
            payload = nt.test_payload(app=p["app"], host=p["host"], operator=p["operator"])
        else:
            payload = nt.build_payload(p["record"], app=p["app"], host=p["host"])
    except nt.NotifyError as exc:
        module.fail_json(msg=str(exc))
    if not 0 <= p["retries"] <= nt.MAX_RETRIES:
        module.fail_json(msg="retries must be 0 to %d" % nt.MAX_RETRIES)
    if module.check_mode:
        results = []
        for index, webhook in enumerate(p["webhooks"]):
            events = nt.check_webhook(webhook)[1]
            results.append(dict(name=nt.label(webhook, index), sent=False, status=None, attempts=0, error=None,
                                skipped=not p["test"] and not nt.wants(events, payload["event"])))
        warnings = []
    else:
        results, warnings = nt.notify(p["webhooks"], payload, retries=p["retries"], delay=p["retry_delay"],
                                      environment=p["environment"])
    for text in warnings:
        module.warn(text)
    module.exit_json(
        changed=False, event=payload["event"], payload=payload, webhooks=results,
        delivered=sum(1 for r in results if r["sent"]),
        undelivered=sum(1 for r in results if not r["sent"] and not r["skipped"] and not module.check_mode))


if __name__ == "__main__":
    main()
