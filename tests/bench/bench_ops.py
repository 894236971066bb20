# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the daily commands against the bare commands they replace, on the demo VM over SSH.

Run: make bench (after make demo; make bench starts it). All cases run interleaved in ONE run,
ROUNDS rounds (default 5, BERTH_BENCH_ROUNDS), and the table prints the median of each with
the ratios the issue sets targets for:

  (a) bare `git pull --ff-only && docker compose up -d --build --wait web` for a one-line web
      change  vs  `deploy -e ref=<branch> -e service=web`                    target <= 1.5x
  (b) a deploy with nothing to do  vs  bare `git pull && docker compose up -d --wait`
                                                          target <= 3x and restarts nothing
  (c) `rollback -e ref=previous`  vs  bare `git checkout <old> && docker compose up -d --build
      --wait web`                                           target <= 1x and builds nothing
  (d) a naive play: git + community.docker.docker_compose_v2 with build: always  vs  (a)
  (e) provision with nothing to change  vs  one no-op task (ping), and vs as many no-op tasks
      as provision ran: the per-task overhead

Where the bare side runs: in its own clones on the same VM (/srv/bench/bare and
/srv/bench/naive) of the same repository, each a Compose project of the same shape under
another project name (compose.override.yaml: `name:` and no published ports, which would
clash with the app's), so the bare commands never touch the berth-managed app and both sides
run against an equally warm engine. Every round pushes a new one-line web change to a fresh
branch of the VM's stand-in git server; berth deploys it first, so it always pays the real
build while the bare clone and the naive play may find the same layers in the build cache:
any cache advantage goes to the bare side. At the end the app goes back to the inventory's
ref, the bare projects are removed and the branch is deleted.

SSH for the bare side uses the demo's key and pinned host key with the same connection reuse
as ansible.cfg (ControlPersist), as an operator's ~/.ssh/config would.
"""

import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATE = os.path.join(ROOT, ".build", "demo")
WORK = os.path.join(ROOT, ".build", "bench")
INVENTORY = os.path.join(ROOT, "inventories", "demo")
ROUNDS = int(os.environ.get("BERTH_BENCH_ROUNDS", "5"))
SSH_PORT = os.environ.get("BERTH_DEMO_SSH_PORT", "2222")
PROJECT = "sample"
APP_ROOT = "/opt/sample"
UPSTREAM = "/srv/fixtures/sample.git"
BENCH = "/srv/bench"
BASE_REF = "main"

ENV = dict(os.environ)
ENV.update({
    "PATH": os.path.join(ROOT, ".venv", "bin") + os.pathsep + os.environ.get("PATH", ""),
    "ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".build", "collections")),
    "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
    "ANSIBLE_VAULT_PASSWORD_FILE": os.path.join(INVENTORY, "vault-password.txt"),
    "BERTH_DEMO_SSH_PORT": SSH_PORT,
    "ANSIBLE_NOCOLOR": "1",
})

OVERRIDE = """# The benchmark's bare side: the app's compose project under another name, no published ports.
name: %s
services:
  web:
    ports: !reset []
  api:
    ports: !reset []
"""

NAIVE_PLAY = """- name: A naive deploy - pull, then rebuild and up everything
  hosts: berth_vms
  gather_facts: false
  become: true
  tasks:
    - name: Pull
      ansible.builtin.git:
        repo: %(upstream)s
        dest: %(bench)s/naive
        version: "{{ branch }}"
    - name: Build and up everything
      community.docker.docker_compose_v2:
        project_src: %(bench)s/naive
        build: always
        state: present
        wait: true
""" % {"upstream": UPSTREAM, "bench": BENCH}

PING_PLAY = """- name: No-op tasks
  hosts: berth_vms
  gather_facts: false
  become: true
  tasks:
%s"""


def ssh_base():
    control = os.path.join(WORK, "cm-%C")
    return ["ssh", "-p", SSH_PORT, "-i", os.path.join(STATE, "id_ed25519"), "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=" + os.path.join(STATE, "known_hosts"),
            "-o", "ControlMaster=auto", "-o", "ControlPersist=60s", "-o", "ControlPath=" + control,
            "ops@127.0.0.1"]


def vm(script, check=True):
    """Run a shell script as root on the VM over SSH; returns its stdout."""
    proc = subprocess.run(ssh_base() + ["sudo sh -ec " + shlex.quote(script)], capture_output=True, text=True,
                          check=False)
    if check and proc.returncode != 0:
        sys.exit("bench: on the VM failed (%d): %s\n%s%s" % (proc.returncode, script, proc.stdout, proc.stderr))
    return proc.stdout


def timed_vm(script):
    start = time.monotonic()
    vm(script)
    return time.monotonic() - start


def playbook(args, label):
    """ansible-playbook against the demo inventory: (seconds, recap counts); the last output per label
    stays in .build/bench/logs/."""
    start = time.monotonic()
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY] + args, capture_output=True, text=True,
                          env=ENV, cwd=ROOT, check=False)
    took = time.monotonic() - start
    logs = os.path.join(WORK, "logs")
    os.makedirs(logs, exist_ok=True)
    with open(os.path.join(logs, re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") + ".log"), "w") as handle:
        handle.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        sys.exit("bench: %s failed:\n%s%s" % (label, proc.stdout[-6000:], proc.stderr[-2000:]))
    recap = {}
    for key, value in re.findall(r"\b(ok|changed|skipped|failed|rescued|ignored)=(\d+)", proc.stdout.split("PLAY RECAP")[-1]):
        recap[key] = recap.get(key, 0) + int(value)
    return took, recap


def containers():
    """Container id -> start time of the app's running services."""
    out = vm("docker ps -q --filter label=com.docker.compose.project=%s | xargs -r docker inspect "
             "-f '{{.Id}} {{.State.StartedAt}}'" % PROJECT)
    return sorted(out.split("\n"))


def last_record():
    return json.loads(vm("tail -n 1 %s/releases.jsonl" % APP_ROOT))


def commit_change(branch, n):
    """A one-line change in web/ on the branch, pushed to the stand-in git server; its sha."""
    return vm("cd %(b)s/work && echo 'bench change %(n)d' >> web/www/index.html && git add web/www/index.html"
              " && git -c user.name=bench -c user.email=bench@localhost commit -q -m 'bench: one-line web change %(n)d'"
              " && git push -q origin HEAD:refs/heads/%(br)s && git rev-parse HEAD" % {"b": BENCH, "n": n, "br": branch}).strip()


def setup(branch):
    os.makedirs(WORK, exist_ok=True)
    base = vm("git -C %s rev-parse %s" % (UPSTREAM, BASE_REF)).strip()
    vm("rm -rf %(b)s && mkdir -p %(b)s && git clone -q %(u)s %(b)s/work && cd %(b)s/work && git checkout -q -B %(br)s %(base)s"
       " && git push -q origin HEAD:refs/heads/%(br)s" % {"b": BENCH, "u": UPSTREAM, "br": branch, "base": base})
    for side in ("bare", "naive"):
        vm("git clone -q -b %(br)s %(u)s %(b)s/%(s)s && cd %(b)s/%(s)s && printf %%s %(o)s > compose.override.yaml"
           " && docker compose up -d --build --wait --quiet-pull >/dev/null 2>&1"
           % {"br": branch, "u": UPSTREAM, "b": BENCH, "s": side, "o": shlex.quote(OVERRIDE % ("bench-" + side))})
    with open(os.path.join(WORK, "naive.yml"), "w") as handle:
        handle.write(NAIVE_PLAY)
    # The app on the branch's base (untimed): a deploy with nothing to do when it serves it already.
    playbook(["berth.compose.deploy", "-e", "ref=" + branch], "deploy of the base")


def teardown(branch):
    playbook(["berth.compose.deploy", "-e", "ref=" + BASE_REF], "deploy back to " + BASE_REF)
    vm("for s in bare naive; do [ -d %(b)s/$s ] && (cd %(b)s/$s && docker compose down -v --rmi local >/dev/null 2>&1) || true; done;"
       " rm -rf %(b)s; git -C %(u)s branch -D %(br)s >/dev/null 2>&1 || true" % {"b": BENCH, "u": UPSTREAM, "br": branch})


def write_ping_play(count):
    tasks = "".join("    - name: No-op %d\n      ansible.builtin.ping:\n" % (i + 1) for i in range(count))
    path = os.path.join(WORK, "ping-%d.yml" % count)
    with open(path, "w") as handle:
        handle.write(PING_PLAY % tasks)
    return path


def main():
    if not os.path.exists(os.path.join(STATE, "known_hosts")):
        sys.exit("bench: no demo VM (.build/demo/known_hosts is missing); run make demo first")
    branch = "bench-%d" % int(time.time())
    times = {}
    checks = {"b_restarted": [], "b_changed": [], "c_built": [], "provision_changed": []}
    tasks_in_provision = 0

    def add(key, seconds):
        times.setdefault(key, []).append(seconds)
        print("  %-14s %6.1f s" % (key, seconds), flush=True)

    print("bench: setting up the bare and naive clones on the VM, branch %s" % branch, flush=True)
    setup(branch)
    try:
        for n in range(1, ROUNDS + 1):
            print("round %d/%d" % (n, ROUNDS), flush=True)
            commit_change(branch, n)
            # (a) a one-line web change
            took, recap = playbook(["berth.compose.deploy", "-e", "ref=" + branch, "-e", "service=web"], "deploy (a)")
            add("a_berth", took)
            add("a_bare", timed_vm("cd %s/bare && git pull -q --ff-only && docker compose up -d --build --wait web" % BENCH))
            # (d) the naive play
            took, recap = playbook([os.path.join(WORK, "naive.yml"), "-e", "branch=" + branch], "naive play (d)")
            add("d_naive", took)
            # (b) nothing to do
            before = containers()
            took, recap = playbook(["berth.compose.deploy", "-e", "ref=" + branch], "no-op deploy (b)")
            add("b_berth", took)
            checks["b_changed"].append(recap.get("changed", 0))
            checks["b_restarted"].append(before != containers())
            add("b_bare", timed_vm("cd %s/bare && git pull -q && docker compose up -d --wait" % BENCH))
            # (c) back to the release before
            took, recap = playbook(["berth.compose.rollback", "-e", "ref=previous"], "rollback (c)")
            add("c_berth", took)
            record = last_record()
            checks["c_built"].append(record.get("services_built", []))
            add("c_bare", timed_vm("cd %s/bare && git checkout -q %s && docker compose up -d --build --wait web"
                                   % (BENCH, record["to_commit"])))
            vm("cd %s/bare && git checkout -q %s" % (BENCH, branch))
            # (e) provision with nothing to change, one no-op task, as many no-op tasks
            took, recap = playbook(["berth.compose.provision"], "provision (e)")
            add("e_provision", took)
            checks["provision_changed"].append(recap.get("changed", 0))
            tasks_in_provision = recap.get("ok", 0) + recap.get("skipped", 0)
            add("e_one_task", playbook([write_ping_play(1)], "one no-op task")[0])
            add("e_n_tasks", playbook([write_ping_play(tasks_in_provision)], "no-op tasks")[0])
    finally:
        print("bench: restoring the app to %s and removing the bench clones" % BASE_REF, flush=True)
        teardown(branch)

    med = {key: statistics.median(values) for key, values in times.items()}
    rows = [
        ("(a) one-line web change", "a_berth", "a_bare", "deploy -e service=web / bare pull+build web", 1.5),
        ("(b) nothing to do", "b_berth", "b_bare", "no-op deploy / bare pull+up", 3.0),
        ("(c) back to the last release", "c_berth", "c_bare", "rollback previous / bare checkout+build web", 1.0),
        ("(d) naive rebuild-all play", "d_naive", "a_berth", "naive play / deploy -e service=web", None),
        ("(e) provision, nothing to change", "e_provision", "e_one_task", "provision / one no-op task", None),
        ("(e) same task count as no-ops", "e_provision", "e_n_tasks",
         "provision / %d no-op tasks" % tasks_in_provision, None),
    ]
    print()
    print("median of %d rounds, seconds, on the demo VM over SSH (ControlPersist, pipelining)" % ROUNDS)
    print("| case | berth | other | ratio | target | what |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    for title, left, right, what, target in rows:
        ratio = med[left] / med[right]
        verdict = "" if target is None else ("<= %.1fx %s" % (target, "met" if ratio <= target else "MISSED"))
        print("| %s | %.1f | %.1f | %.2fx | %s | %s |" % (title, med[left], med[right], ratio, verdict, what))
    per_task = (med["e_n_tasks"] - med["e_one_task"]) / max(tasks_in_provision - 1, 1)
    print()
    print("per no-op task over SSH: %.2f s; provision ran %d tasks" % (per_task, tasks_in_provision))
    print("(b) no-op deploy: changed=%s, containers restarted: %s" % (checks["b_changed"], checks["b_restarted"]))
    print("(c) rollback built: %s" % checks["c_built"])
    print("(e) provision changed=%s" % checks["provision_changed"])
    print("raw: " + json.dumps({key: [round(v, 2) for v in values] for key, values in times.items()}))
    with open(os.path.join(WORK, "results.json"), "w") as handle:
        json.dump({"median": med, "runs": times, "checks": checks, "tasks_in_provision": tasks_in_provision}, handle, indent=1)
    failed = any(checks["b_restarted"]) or any(checks["b_changed"]) or any(checks["c_built"]) or any(checks["provision_changed"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
