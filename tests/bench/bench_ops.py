# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the daily commands against the bare commands they replace, on the demo VM over SSH.

Run: make bench (after make demo; make bench starts it). All cases run interleaved in ONE run,
ROUNDS rounds (default 5, BERTH_BENCH_ROUNDS), and the table prints the median of each with
the ratios the issue sets targets for:

  (a)  bare `git pull --ff-only && docker compose up -d --build --wait web` for a one-line web
       change  vs  `deploy -e ref=<branch> -e service=web -e berth_gate_soak=0`  target <= 1.5x
  (a') the same deploy of the next one-line change with the default soak: it may add no more
       than the soak's own seconds over (a); the difference and the soak are printed
  (b)  a deploy with nothing to do  vs  bare `git pull && docker compose up -d --wait`
                                              target <= 2x, changed=0 and restarts nothing
  (c)  `rollback -e ref=previous -e berth_gate_soak=0`  vs  bare `git checkout <old> && docker
       compose up -d --build --wait web` (the bare side serves the same release as berth before
       it, so both really go back one release)               target <= 1x and builds nothing
  (d)  a naive play: git + community.docker.docker_compose_v2 with build: always  vs  (a), on
       the sample app whose images build from cache in a blink (no target)
  (d') the same on slow builds: berth (as in (a), soak 0)  vs  the naive play, where every
       buildable service's image has a 2 s build step that every change invalidates (see
       below)                                               target: berth faster (< 1x)
  (e)  remote module calls per deploy (a, a', b, d') and per rollback (c): the module
       executions sent to the VM, counted by tests/bench/callback_plugins/remote_calls.py
       (enabled for the bench's playbook runs only)          target <= 3
  (p)  provision with nothing to change  vs  one no-op task (ping), and vs as many no-op tasks
       as provision ran: the per-task overhead (must change nothing)

The slow-build case (d') runs after the interleaved rounds, ROUNDS rounds of its own, on a
second branch: one commit turns the sample app into a monorepo-style build (every service
builds with the repository root as its context and its own Dockerfile, which starts with
`COPY . /src` and then a shell loop calibrated on the VM to about 2 s of CPU), so any change,
even a one-line web change, invalidates that 2 s step in every image. CPU, not `sleep 2`:
Compose builds services in parallel, so four sleeps overlap into one 2 s wait, while real
build steps compete for the cores. The change concerns web only and berth is told so
(service=web, as in (a)), so it builds web alone; the naive play (build: always) has to
rebuild all four. berth deploys each change first, so the naive play may reuse berth's web
layers.

Where the bare side runs: in its own clones on the same VM (/srv/bench/bare, /srv/bench/naive
and /srv/bench/slow-naive) of the same repository, each a Compose project of the same shape
under another project name (compose.override.yaml: `name:` and no published ports, which
would clash with the app's), so the bare commands never touch the berth-managed app and both
sides run against an equally warm engine. Every round pushes a new one-line web change to a
fresh branch of the VM's stand-in git server; berth deploys it first, so it always pays the
real build while the bare clone and the naive play may find the same layers in the build
cache: any cache advantage goes to the bare side. At the end the app goes back to the
inventory's ref, the bare projects are removed and the branches are deleted.

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
CALLBACKS = os.path.join(ROOT, "tests", "bench", "callback_plugins")
ROUNDS = int(os.environ.get("BERTH_BENCH_ROUNDS", "5"))
SSH_PORT = os.environ.get("BERTH_DEMO_SSH_PORT", "2222")
PROJECT = "sample"
APP_ROOT = "/opt/sample"
UPSTREAM = "/srv/fixtures/sample.git"
BENCH = "/srv/bench"
BASE_REF = "main"
SLOW_SERVICES = ("web", "api", "worker", "migrate")  # the sample app's services with a build
CALLS_TARGET = 3


def _joined(*parts, sep):
    return sep.join(p for p in parts if p)


ENV = dict(os.environ)
ENV.update({
    "PATH": os.path.join(ROOT, ".venv", "bin") + os.pathsep + os.environ.get("PATH", ""),
    "ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".build", "collections")),
    "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
    "ANSIBLE_VAULT_PASSWORD_FILE": os.path.join(INVENTORY, "vault-password.txt"),
    "BERTH_DEMO_SSH_PORT": SSH_PORT,
    "ANSIBLE_NOCOLOR": "1",
    # (e): the remote-call counter, for the bench's own runs only (it writes BERTH_BENCH_CALLS_FILE).
    "ANSIBLE_CALLBACK_PLUGINS": _joined(CALLBACKS, os.environ.get("ANSIBLE_CALLBACK_PLUGINS", ""), sep=os.pathsep),
    "ANSIBLE_CALLBACKS_ENABLED": _joined("remote_calls", os.environ.get("ANSIBLE_CALLBACKS_ENABLED", ""), sep=","),
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
        dest: "{{ dir }}"
        version: "{{ branch }}"
    - name: Build and up everything
      community.docker.docker_compose_v2:
        project_src: "{{ dir }}"
        build: always
        state: present
        wait: true
""" % {"upstream": UPSTREAM}

PING_PLAY = """- name: No-op tasks
  hosts: berth_vms
  gather_facts: false
  become: true
  tasks:
%s"""

# (d'): one commit that makes every buildable service a monorepo-style build (context: the
# repository root, its own Dockerfile) whose image starts with the whole tree and a CPU-bound
# step of about 2 s, so any change invalidates that step in every image. A CPU-bound step, not
# `sleep 2`: Compose builds the services in parallel, and four sleeps overlap into one 2 s wait
# (a first version measured exactly that), while real build steps (compile, install) compete
# for the cores. Run in the work clone on the VM.
BUSY_LOOP = "i=0; while [ $i -lt %d ]; do i=$((i+1)); done"
SLOW_BASE_IMAGE = "berth/app-base:1"
SLOW_STEP_SECONDS = 2.0
SLOW_COMMIT = r"""
step=%(step)s
printf '.git\n.berth\n.env\ncompose.override.yaml\n' > .dockerignore
for s in %(services)s; do
  sed -i "s|^    build: \./$s\$|    build: {context: ., dockerfile: $s/Dockerfile}|" compose.yaml
  grep -q "dockerfile: $s/Dockerfile}" compose.yaml
  head -n 1 $s/Dockerfile | grep -q '^FROM '
  { head -n 1 $s/Dockerfile; echo 'COPY . /src'; echo "RUN $step"; sed -e 1d -e "s|^COPY \([^ ]*\) |COPY $s/\1 |" $s/Dockerfile; } > $s/Dockerfile.new
  mv $s/Dockerfile.new $s/Dockerfile
done
git add -A
git -c user.name=bench -c user.email=bench@localhost commit -q -m 'bench: every image builds from the whole tree with a 2 s step'
git push -q origin HEAD:refs/heads/%(br)s
"""


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


def slug(label):
    return re.sub(r"[^a-z0-9]+", "-", label.lower().replace("'", "2")).strip("-")


def playbook(args, label):
    """ansible-playbook against the demo inventory: (seconds, recap counts, remote calls); the last
    output and call count per label stay in .build/bench/logs/."""
    logs = os.path.join(WORK, "logs")
    os.makedirs(logs, exist_ok=True)
    calls_file = os.path.join(logs, slug(label) + ".calls.json")
    if os.path.exists(calls_file):
        os.unlink(calls_file)
    env = dict(ENV, BERTH_BENCH_CALLS_FILE=calls_file)
    start = time.monotonic()
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY] + args, capture_output=True, text=True,
                          env=env, cwd=ROOT, check=False)
    took = time.monotonic() - start
    with open(os.path.join(logs, slug(label) + ".log"), "w") as handle:
        handle.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        sys.exit("bench: %s failed:\n%s%s" % (label, proc.stdout[-6000:], proc.stderr[-2000:]))
    recap = {}
    for key, value in re.findall(r"\b(ok|changed|skipped|failed|rescued|ignored)=(\d+)", proc.stdout.split("PLAY RECAP")[-1]):
        recap[key] = recap.get(key, 0) + int(value)
    try:
        with open(calls_file) as handle:
            calls = json.load(handle)["remote"]
    except (OSError, ValueError, KeyError):
        calls = None  # the counter did not run: printed as "?"
    return took, recap, calls


def containers():
    """Container id -> start time of the app's running services."""
    out = vm("docker ps -q --filter label=com.docker.compose.project=%s | xargs -r docker inspect "
             "-f '{{.Id}} {{.State.StartedAt}}'" % PROJECT)
    return sorted(out.split("\n"))


def last_record():
    return json.loads(vm("tail -n 1 %s/releases.jsonl" % APP_ROOT))


def commit_change(branch, n):
    """A one-line change in web/ on the branch, pushed to the stand-in git server; its sha."""
    return vm("cd %(b)s/work && git checkout -q %(br)s && echo 'bench change %(n)d' >> web/www/index.html"
              " && git add web/www/index.html"
              " && git -c user.name=bench -c user.email=bench@localhost commit -q -m 'bench: one-line web change %(n)d'"
              " && git push -q origin HEAD:refs/heads/%(br)s && git rev-parse HEAD" % {"b": BENCH, "n": n, "br": branch}).strip()


def bare_clone(side, branch):
    vm("git clone -q -b %(br)s %(u)s %(b)s/%(s)s && cd %(b)s/%(s)s && printf %%s %(o)s > compose.override.yaml"
       " && docker compose up -d --build --wait --quiet-pull >/dev/null 2>&1"
       % {"br": branch, "u": UPSTREAM, "b": BENCH, "s": side, "o": shlex.quote(OVERRIDE % ("bench-" + side))})


def setup(branch):
    os.makedirs(WORK, exist_ok=True)
    base = vm("git -C %s rev-parse %s" % (UPSTREAM, BASE_REF)).strip()
    vm("rm -rf %(b)s && mkdir -p %(b)s && git clone -q %(u)s %(b)s/work && cd %(b)s/work && git checkout -q -B %(br)s %(base)s"
       " && git push -q origin HEAD:refs/heads/%(br)s" % {"b": BENCH, "u": UPSTREAM, "br": branch, "base": base})
    for side in ("bare", "naive"):
        bare_clone(side, branch)
    with open(os.path.join(WORK, "naive.yml"), "w") as handle:
        handle.write(NAIVE_PLAY)
    # The app on the branch's base (untimed): a deploy with nothing to do when it serves it already.
    playbook(["berth.compose.deploy", "-e", "ref=" + branch], "deploy of the base")


def cpu_seconds(iterations):
    """CPU seconds (user + sys) of BUSY_LOOP in a container of the app's base image on the VM."""
    loop = "time sh -c " + shlex.quote(BUSY_LOOP % iterations)
    out = vm("docker run --rm %s sh -c %s 2>&1" % (SLOW_BASE_IMAGE, shlex.quote(loop)))
    found = dict((k, float(m) * 60 + float(sec)) for k, m, sec in re.findall(r"^(user|sys)\s+(\d+)m\s*([0-9.]+)s", out, re.M))
    if "user" not in found:
        sys.exit("bench: could not time the build step on the VM: %s" % out)
    return found["user"] + found.get("sys", 0.0)


def setup_slow(branch, slow):
    """(d'): the slow-build branch off the bench branch, the app on it, the naive clone of it (untimed).
    The step's iterations are calibrated on the VM to SLOW_STEP_SECONDS of CPU; returns them."""
    probe = 1000000
    iterations = int(probe * SLOW_STEP_SECONDS / max(cpu_seconds(probe), 0.01))
    step = BUSY_LOOP % iterations
    vm("cd %(b)s/work && git checkout -q -B %(sl)s %(br)s" % {"b": BENCH, "br": branch, "sl": slow}
       + SLOW_COMMIT % {"services": " ".join(SLOW_SERVICES), "br": slow, "step": shlex.quote(step)})
    playbook(["berth.compose.deploy", "-e", "ref=" + slow], "deploy of the slow-build base")
    bare_clone("slow-naive", slow)
    return iterations


def teardown(branches):
    playbook(["berth.compose.deploy", "-e", "ref=" + BASE_REF], "deploy back to " + BASE_REF)
    vm("for s in bare naive slow-naive; do [ -d %(b)s/$s ] && (cd %(b)s/$s && docker compose down -v --rmi local >/dev/null 2>&1) || true; done;"
       " rm -rf %(b)s; for br in %(brs)s; do git -C %(u)s branch -D $br >/dev/null 2>&1 || true; done"
       % {"b": BENCH, "u": UPSTREAM, "brs": " ".join(branches)})


def write_ping_play(count):
    tasks = "".join("    - name: No-op %d\n      ansible.builtin.ping:\n" % (i + 1) for i in range(count))
    path = os.path.join(WORK, "ping-%d.yml" % count)
    with open(path, "w") as handle:
        handle.write(PING_PLAY % tasks)
    return path


def soak_seconds():
    """berth_gate_soak as the demo runs with it: the demo inventory's value, else the app role's default."""
    for path in (os.path.join(INVENTORY, "group_vars", "berth_vms", "main.yml"),
                 os.path.join(INVENTORY, "group_vars", "all", "main.yml"),
                 os.path.join(ROOT, "roles", "app", "defaults", "main.yml")):
        try:
            with open(path) as handle:
                found = re.search(r"^berth_gate_soak:\s*([0-9.]+)\s*$", handle.read(), re.M)
        except OSError:
            continue
        if found:
            return float(found.group(1))
    return None


def main():
    if not os.path.exists(os.path.join(STATE, "known_hosts")):
        sys.exit("bench: no demo VM (.build/demo/known_hosts is missing); run make demo first")
    branch = "bench-%d" % int(time.time())
    slow = branch + "-slow"
    times = {}
    calls = {}
    checks = {"b_restarted": [], "b_changed": [], "c_built": [], "d_slow_built": [], "provision_changed": []}
    tasks_in_provision = 0
    slow_iterations = 0
    no_soak = ["-e", "berth_gate_soak=0"]

    def add(key, seconds, remote_calls=None, what=None):
        times.setdefault(key, []).append(seconds)
        if what is not None:
            calls.setdefault(what, []).append(remote_calls)
        extra = "" if what is None else "  %s remote calls" % ("?" if remote_calls is None else remote_calls)
        print("  %-14s %6.1f s%s" % (key, seconds, extra), flush=True)

    print("bench: setting up the bare and naive clones on the VM, branch %s" % branch, flush=True)
    setup(branch)
    try:
        for n in range(1, ROUNDS + 1):
            print("round %d/%d" % (n, ROUNDS), flush=True)
            # (a) a one-line web change, no soak
            commit_change(branch, 2 * n - 1)
            took, recap, remote = playbook(["berth.compose.deploy", "-e", "ref=" + branch, "-e", "service=web"] + no_soak,
                                           "deploy (a)")
            add("a_berth", took, remote, "deploy (a) web change, soak 0")
            add("a_bare", timed_vm("cd %s/bare && git pull -q --ff-only && docker compose up -d --build --wait web" % BENCH))
            # (a') the next one-line web change with the default soak
            commit_change(branch, 2 * n)
            took, recap, remote = playbook(["berth.compose.deploy", "-e", "ref=" + branch, "-e", "service=web"],
                                           "deploy (a')")
            add("a2_berth", took, remote, "deploy (a') web change, default soak")
            # untimed: the bare side serves (a')'s change too, so (b)'s bare pull has nothing to fetch and
            # (c)'s bare rollback really goes back one release (rebuild from cache, recreate, health wait)
            vm("cd %s/bare && git pull -q --ff-only && docker compose up -d --build --wait web" % BENCH)
            # (d) the naive play
            took = playbook([os.path.join(WORK, "naive.yml"), "-e", "branch=" + branch, "-e", "dir=%s/naive" % BENCH],
                            "naive play (d)")[0]
            add("d_naive", took)
            # (b) nothing to do
            before = containers()
            took, recap, remote = playbook(["berth.compose.deploy", "-e", "ref=" + branch], "no-op deploy (b)")
            add("b_berth", took, remote, "deploy (b) nothing to do")
            checks["b_changed"].append(recap.get("changed", 0))
            checks["b_restarted"].append(before != containers())
            add("b_bare", timed_vm("cd %s/bare && git pull -q && docker compose up -d --wait" % BENCH))
            # (c) back to the release before
            took, recap, remote = playbook(["berth.compose.rollback", "-e", "ref=previous"] + no_soak, "rollback (c)")
            add("c_berth", took, remote, "rollback (c) ref=previous")
            record = last_record()
            checks["c_built"].append(record.get("services_built", []))
            add("c_bare", timed_vm("cd %s/bare && git checkout -q %s && docker compose up -d --build --wait web"
                                   % (BENCH, record["to_commit"])))
            vm("cd %s/bare && git checkout -q %s" % (BENCH, branch))
            # (p) provision with nothing to change, one no-op task, as many no-op tasks
            took, recap, remote = playbook(["berth.compose.provision"], "provision (p)")
            add("p_provision", took)
            checks["provision_changed"].append(recap.get("changed", 0))
            tasks_in_provision = recap.get("ok", 0) + recap.get("skipped", 0)
            add("p_one_task", playbook([write_ping_play(1)], "one no-op task")[0])
            add("p_n_tasks", playbook([write_ping_play(tasks_in_provision)], "no-op tasks")[0])

        print("bench: slow builds (d'): branch %s, every image with a %g s CPU step any change invalidates"
              % (slow, SLOW_STEP_SECONDS), flush=True)
        slow_iterations = setup_slow(branch, slow)
        print("  the step: %d iterations of a shell loop, %.1f s of CPU when measured alone"
              % (slow_iterations, cpu_seconds(slow_iterations)), flush=True)
        for n in range(1, ROUNDS + 1):
            print("slow round %d/%d" % (n, ROUNDS), flush=True)
            commit_change(slow, 100 + n)
            took, recap, remote = playbook(["berth.compose.deploy", "-e", "ref=" + slow, "-e", "service=web"] + no_soak,
                                           "deploy (d')")
            add("d2_berth", took, remote, "deploy (d') slow builds, soak 0")
            checks["d_slow_built"].append(last_record().get("services_built", []))
            took = playbook([os.path.join(WORK, "naive.yml"), "-e", "branch=" + slow, "-e", "dir=%s/slow-naive" % BENCH],
                            "naive play (d')")[0]
            add("d2_naive", took)
    finally:
        print("bench: restoring the app to %s and removing the bench clones" % BASE_REF, flush=True)
        teardown([branch, slow])

    med = {key: statistics.median(values) for key, values in times.items()}
    soak = soak_seconds()
    rows = [
        ("(a) one-line web change, soak 0", "a_berth", "a_bare",
         "deploy -e service=web -e berth_gate_soak=0 / bare pull+build web", "<=", 1.5),
        ("(b) nothing to do", "b_berth", "b_bare", "no-op deploy / bare pull+up", "<=", 2.0),
        ("(c) back to the last release, soak 0", "c_berth", "c_bare", "rollback previous / bare checkout+build web",
         "<=", 1.0),
        ("(d) naive rebuild-all play, cached builds", "a_berth", "d_naive", "deploy (a) / naive play", None, None),
        ("(d') naive rebuild-all play, 2 s builds", "d2_berth", "d2_naive",
         "deploy -e service=web, soak 0 / naive play (all %d images rebuilt)" % len(SLOW_SERVICES), "<", 1.0),
        ("(p) provision, nothing to change", "p_provision", "p_one_task", "provision / one no-op task", None, None),
        ("(p) same task count as no-ops", "p_provision", "p_n_tasks",
         "provision / %d no-op tasks" % tasks_in_provision, None, None),
    ]
    print()
    print("median of %d round%s, seconds, on the demo VM over SSH (ControlPersist, pipelining)"
          % (ROUNDS, "" if ROUNDS == 1 else "s"))
    print("| case | berth | other | ratio | target | what |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    extra = med["a2_berth"] - med["a_berth"]  # (a'): the default soak may add its own seconds over (a), no more
    for title, left, right, what, op, target in rows:
        ratio = med[left] / med[right]
        if target is None:
            verdict = ""
        else:
            met = ratio <= target if op == "<=" else ratio < target
            verdict = "%s %.1fx %s" % (op, target, "met" if met else "MISSED")
        print("| %s | %.1f | %.1f | %.2fx | %s | %s |" % (title, med[left], med[right], ratio, verdict, what))
        if left == "a_berth" and right == "a_bare":
            verdict = "soak unknown" if soak is None else "<= +%g s %s" % (soak, "met" if extra <= soak else "MISSED")
            print("| (a') the same, default soak | %.1f | %.1f | %+.1f s | %s | deploy -e service=web / (a);"
                  " the soak is %s s |" % (med["a2_berth"], med["a_berth"], extra, verdict,
                                           "?" if soak is None else "%g" % soak))
    # (e): remote module calls
    for what, counts in calls.items():
        known = [c for c in counts if c is not None]
        worst = max(known) if known else None
        verdict = "unknown (no count)" if worst is None else (
            "<= %d %s" % (CALLS_TARGET, "met" if worst <= CALLS_TARGET else "MISSED"))
        print("| (e) remote calls: %s | %s | | | %s | per run: %s |"
              % (what, "?" if worst is None else worst, verdict, counts))
    per_task = (med["p_n_tasks"] - med["p_one_task"]) / max(tasks_in_provision - 1, 1)
    print()
    print("per no-op task over SSH: %.2f s; provision ran %d tasks" % (per_task, tasks_in_provision))
    print("(b) no-op deploy: changed=%s, containers restarted: %s" % (checks["b_changed"], checks["b_restarted"]))
    print("(c) rollback built: %s" % checks["c_built"])
    print("(d') berth built: %s" % checks["d_slow_built"])
    print("(p) provision changed=%s" % checks["provision_changed"])
    print("remote calls per task: .build/bench/logs/*.calls.json (the last run of each label)")
    print("raw: " + json.dumps({key: [round(v, 2) for v in values] for key, values in times.items()}))
    with open(os.path.join(WORK, "results.json"), "w") as handle:
        json.dump({"median": med, "runs": times, "remote_calls": calls, "soak": soak, "slow_step_iterations": slow_iterations, "checks": checks,
                   "tasks_in_provision": tasks_in_provision}, handle, indent=1)
    failed = any(checks["b_restarted"]) or any(checks["b_changed"]) or any(checks["c_built"]) or any(checks["provision_changed"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
