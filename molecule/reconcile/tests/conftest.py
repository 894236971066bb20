"""Drive reconcile.yml and the VM's reconcile timer against the scenario's one VM.

The test modules run in file order against the same VM, each starting from the state the
previous one left (converge deployed web-only over the v1 release that prepare provisioned)."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
import recap  # noqa: E402  (molecule/shared: ansible-playbook with its recap as data)

ROOT = "/opt/sample"
PROJECT = "sample"
UNIT = "sample-reconcile.service"
ENABLE = "/etc/berth/sample/reconcile-enabled"
CADDY_CA = "/var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt"
PLAYBOOKS = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "playbooks")
OUTPUT = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "tests", "output")


class Run:
    def __init__(self, proc, data, seconds):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.seconds = seconds
        self.recap = data
        self.changed = recap.changed(data)


def run_playbook(name, *extra_args):
    """Run playbooks/<name>.yml (or a path to a playbook) against the scenario's VM."""
    path = name if os.path.isabs(name) else os.path.join(PLAYBOOKS, name + ".yml")
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], path] + list(extra_args)
    started = time.monotonic()
    proc, data = recap.run_playbook(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1"))
    return Run(proc, data, time.monotonic() - started)


def timer_run(host):
    """Start the reconcile service on the VM (what its timer does), opted in for this run only, and return
    (rc, its journal lines)."""
    cursor = host.check_output("journalctl -n 0 --show-cursor -q | sed -n 's/^-- cursor: //p'")
    host.check_output("touch %s" % ENABLE)
    try:
        result = host.run("systemctl start %s" % UNIT)
    finally:
        host.check_output("rm -f %s" % ENABLE)
    journal = host.check_output("journalctl -q -o cat -u %s --after-cursor '%s'" % (UNIT, cursor))
    return result.rc, journal


def commit_of(host, ref):
    return host.check_output("git -C /srv/fixtures/sample.git rev-parse %s^{commit}" % ref)


def current_commit(host):
    return os.path.basename(host.check_output("readlink %s/current" % ROOT))


def records(host):
    text = host.file(ROOT + "/releases.jsonl").content_string
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def reconciles(host):
    return [r for r in records(host) if r.get("kind") == "reconcile"]


def containers(host):
    """service -> (ID, StartedAt) of the app's long-running containers."""
    out = host.check_output(
        "docker ps -q --filter label=com.docker.compose.project=%s | xargs -r docker inspect --format "
        "'{{index .Config.Labels \"com.docker.compose.service\"}} {{.Id}} {{.State.StartedAt}} {{with index .State \"Health\"}}{{.Status}}{{else}}none{{end}}'"
        % PROJECT)
    return dict((line.split()[0], tuple(line.split()[1:])) for line in out.splitlines() if line.strip())


def wait_healthy(host, services=("web", "api", "worker"), seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = containers(host)
        if all(s in state and state[s][2] in ("healthy", "none") for s in services):
            return state
        time.sleep(1)
    raise AssertionError("not healthy in time: %s" % containers(host))


def https_get(host, path="/"):
    return host.run("curl -sS --max-time 10 --cacert %s --resolve sample.test:443:127.0.0.1 https://sample.test%s"
                    % (CADDY_CA, path))


def write_figures(name, lines):
    os.makedirs(OUTPUT, exist_ok=True)
    with open(os.path.join(OUTPUT, name), "w") as handle:
        handle.write("\n".join(lines) + "\n")
