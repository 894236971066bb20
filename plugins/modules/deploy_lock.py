#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: deploy_lock
short_description: Take or release the app's deploy lock, so deploy, rollback and reconcile never overlap
version_added: 0.1.0
author:
  - berth.compose contributors (@berth-compose)
description:
  - One lock file per app on the target host (for example C(<berth_app_root>/.berth/deploy.lock)) says who is
    changing the app right now. Deploy, rollback and the reconcile timer take it first and release it in an
    C(always:) section.
  - O(state=acquired) creates the lock file atomically (a complete temporary file hard-linked to O(path), which fails
    when O(path) exists), holding JSON C({owner, operator, controller, pid, started, started_epoch, ttl, token}).
    The returned RV(token) is what O(state=released) needs.
  - When another holder has the lock, the module polls every second for up to O(wait) seconds, then fails with a
    message naming the holder, its operator, controller host and pid, and since when it holds the lock.
  - "A lock is stale, reported in RV(stale) and a warning, and taken over at once when: it is older than its own
    TTL (the O(ttl) its holder gave); its file is empty or corrupt (a holder killed mid-write); the process that took
    it is known to be gone (O(stale_token)); or O(force=true)."
  - Every read-check-write of the lock happens under an C(flock) on C(<path>.guard), so two hosts of the same
    playbook run or two concurrent takers of a stale lock can never both win; the guard file stays in place (it
    holds nothing) and a killed process drops its C(flock) automatically.
  - Run through the collection's action plugin of the same name, O(controller), O(pid) and O(operator) default to the
    controller's host name, the C(ansible-playbook) process id and the controller user; when a lock held from the
    same controller names a process that no longer runs there (a killed C(ansible-playbook)), the action plugin
    takes it over as stale at once instead of waiting for its TTL.
options:
  path:
    description:
      - The lock file. Its directory is created (mode C(0755)) when missing.
    type: path
    required: true
  state:
    description:
      - V(acquired) takes the lock (or waits for it); V(released) gives it back.
    type: str
    choices: [acquired, released]
    default: acquired
  owner:
    description:
      - What holds the lock, in words an operator understands, for example V(deploy web), V(rollback),
        V(reconcile). Shown to whoever waits for the lock.
    type: str
    default: deploy
  operator:
    description:
      - Who runs it. Default is the controller user through the action plugin, else the user the module runs as
        (C(SUDO_USER) when run through C(sudo)).
    type: str
  controller:
    description:
      - Host name of the Ansible controller. Default is the controller's host name through the action plugin,
        else V(unknown).
    type: str
  pid:
    description:
      - Process id of the controller's C(ansible-playbook). Default is filled in by the action plugin, else V(0).
    type: int
  ttl:
    description:
      - Seconds after which this lock counts as stale and any later taker may take it over (with a warning).
        Choose it longer than the longest deploy.
    type: int
    default: 1800
  wait:
    description:
      - Seconds to wait for a lock held by someone else before failing; V(0) fails at once.
    type: int
    default: 60
  force:
    description:
      - With O(state=acquired), take the lock over even when it is live (reported in RV(stale) and a warning).
        With O(state=released), remove the lock whatever its token (an operator's manual unlock).
      - Playbooks map C(-e force_unlock=true) to this option.
    type: bool
    default: false
  token:
    description:
      - With O(state=released), the RV(token) that O(state=acquired) returned. A lock held with another token is left
        in place and the task fails (unless O(force)); an empty or omitted token releases nothing and succeeds
        unchanged, so an C(always:) section after a failed acquire never removes someone else's lock.
      - With O(state=acquired), a token equal to the one of the held lock succeeds at once without change
        (re-entrant, for example a rollback run from inside a deploy that holds the lock).
    type: str
  stale_token:
    description:
      - The token of a lock the caller knows is dead (its process is gone). When the held lock still carries this
        token it is taken over at once and reported stale; any other lock is waited for as usual.
      - Set by the action plugin; rarely useful by hand.
    type: str
attributes:
  check_mode:
    support: full
    description:
      - O(state=acquired) reports whether it would take the lock (free, stale or forced), with the holder and the
        stale lock it found, and writes nothing; a lock held live is reported with a warning, without waiting or
        failing, so a C(--check) plan can still be printed. O(state=released) changes nothing.
  diff_mode:
    support: none
    description: The lock holds no content worth a diff; RV(lock) and RV(stale) say what changed.
  platform:
    support: full
    platforms: posix
    description: Needs C(flock) and hard links on the lock's filesystem (any local Linux filesystem).
notes:
  - Times in the lock and the messages are UTC (C(2026-11-23T15:00:00Z)).
  - The lock file is world-readable (C(0644)) so anyone on the host can see who deploys; it holds no secret.
seealso:
  - module: berth.compose.release_log
"""

EXAMPLES = r"""
- name: Take the deploy lock
  berth.compose.deploy_lock:
    path: "{{ berth_app_root }}/.berth/deploy.lock"
    owner: "deploy {{ service | default('planned services') }}"
    ttl: "{{ berth_lock_ttl }}"
    wait: "{{ berth_lock_wait }}"
    force: "{{ force_unlock | default(false) | bool }}"
  register: berth_lock

- name: Release the deploy lock (in an always section)
  berth.compose.deploy_lock:
    path: "{{ berth_app_root }}/.berth/deploy.lock"
    state: released
    token: "{{ berth_lock.token | default('') }}"

- name: Remove a lock left behind by a crashed run (operator's manual unlock)
  berth.compose.deploy_lock:
    path: /opt/app/.berth/deploy.lock
    state: released
    force: true
"""

RETURN = r"""
changed:
  description: Whether the lock file was (or in check mode would be) created, replaced or removed.
  returned: always
  type: bool
  sample: true
token:
  description:
    - With O(state=acquired), the token of the lock now held; pass it to O(state=released). In check mode, the token
      the lock would get (nothing is written). With O(state=released), the token given.
  returned: success
  type: str
  sample: 3f9a0c1b2d4e5f60
lock:
  description:
    - The holder information of the lock. With O(state=acquired), the lock now held by this task (or, on failure
      and in check mode with a live lock, the other holder). With O(state=released), the lock that was removed, or
      the one left in place; V(null) when there was none.
  returned: always
  type: dict
  sample:
    owner: deploy web
    operator: alice
    controller: ctl.example.org
    pid: 4242
    started: '2026-11-23T15:00:00Z'
    started_epoch: 1795446000.0
    ttl: 1800
    token: 3f9a0c1b2d4e5f60
stale:
  description:
    - The previous holder when O(state=acquired) took over a lock it did not wait for, with C(reason) one of
      V(expired) (past its TTL), V(corrupt) (empty or unreadable file; the other fields are then missing),
      V(dead) (its process is gone, see O(stale_token)) or V(forced) (O(force=true) on a live lock); V(null) otherwise.
  returned: always
  type: dict
  sample:
    owner: deploy web
    operator: alice
    controller: ctl.example.org
    pid: 4100
    started: '2026-11-23T14:00:00Z'
    started_epoch: 1795442400.0
    ttl: 1800
    token: 0c1d2e3f4a5b6c7d
    reason: expired
waited:
  description: Seconds spent waiting for another holder (0 when the lock was free).
  returned: always
  type: float
  sample: 12.0
msg:
  description: What happened, in one sentence (on failure, who holds the lock and since when).
  returned: always
  type: str
  sample: "deploy lock held by 'deploy web' (alice@ctl, pid 123) since 2026-11-23T15:00:00Z (4 min ago); waited 60 s;
    -e force_unlock=true takes it over"
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.berth.compose.plugins.module_utils.deploy_lock import (
    LockError,
    LockHeld,
    acquire,
    default_operator,
    option_problems,
    release,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["acquired", "released"], default="acquired"),
            owner=dict(type="str", default="deploy"),
            operator=dict(type="str"),
            controller=dict(type="str"),
            pid=dict(type="int"),
            ttl=dict(type="int", default=1800),
            wait=dict(type="int", default=60),
            force=dict(type="bool", default=False),
            token=dict(type="str", no_log=False),
            stale_token=dict(type="str", no_log=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    path = p["path"]
    problems = option_problems(path, pid=p["pid"], token=p["token"], stale_token=p["stale_token"],
                               owner=p["owner"], operator=p["operator"], controller=p["controller"])
    if problems:
        module.fail_json(msg="; ".join(problems), lock=None, stale=None, waited=0.0, changed=False)
    for name in ("ttl", "wait"):
        if p[name] < 0:
            module.fail_json(msg="%s must be 0 or more seconds, got %d" % (name, p[name]),
                             lock=None, stale=None, waited=0.0, changed=False)
    if p["state"] == "acquired" and p["ttl"] == 0:
        module.fail_json(msg="ttl must be more than 0 seconds", lock=None, stale=None, waited=0.0,
                         changed=False)
    try:
        if p["state"] == "acquired":
            outcome = acquire(
                path,
                owner=p["owner"],
                operator=p["operator"] or default_operator(),
                controller=p["controller"] or "unknown",
                pid=p["pid"] or 0,
                ttl=p["ttl"],
                wait=p["wait"],
                force=p["force"],
                token=p["token"],
                stale_token=p["stale_token"],
                check_mode=module.check_mode,
            )
        else:
            outcome = release(path, token=p["token"], force=p["force"], check_mode=module.check_mode)
    except LockHeld as exc:
        module.fail_json(msg=str(exc), lock=exc.holder, stale=None, waited=exc.waited, changed=False)
    except LockError as exc:
        module.fail_json(msg=str(exc), lock=exc.holder, stale=None, waited=0.0, changed=False)
    except OSError as exc:
        module.fail_json(msg="deploy lock %s: %s" % (path, exc.strerror or exc), lock=None, stale=None,
                         waited=0.0, changed=False)

    for warning in outcome.warnings:
        module.warn(warning)
    module.exit_json(changed=outcome.changed, token=outcome.token, lock=outcome.lock,
                     stale=outcome.stale, waited=outcome.waited, msg=outcome.msg)


if __name__ == "__main__":
    main()
