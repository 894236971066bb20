"""Issue 20.2: the CI recipes run. docs/ci/github-actions.yml's deploy step and docs/ci/gitlab-ci.yml's job are
read from the files and run as the CI would run them - the same command line, the same variables (secrets and
CI variables filled in with this VM's key, vault password and pinned host key) - in a checkout that holds the
inventory, where the collection is where the recipe installs it. scripts/berth-ci-deploy reaches the first VM
over real SSH (its sshd, an account with the key), not through Docker. Last in the file order: it leaves the VM
serving the tag it deployed."""
import os
import re
import subprocess

import yaml
from conftest import HOSTS, TOKEN, commit_of, current_commit, records

PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", ".")
VAULT_PASSWORD_FILE = os.path.join(PROJECT, "molecule", "provision", "files", "vault-password")
VAULT_VALUE = "s3cr3t-from-vault"  # in molecule/provision/inventory/group_vars/berth_vms/vault.yml
SUMMARY = "summary written to the job summary (GITHUB_STEP_SUMMARY)"


def docker_ip(name):
    out = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", name],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    return out.split()[0]


def setup_ci(host, tmp):
    """The VM: an account `ci` with the deploy key and sudo. This machine: a checkout with the inventory
    (deploy/inventories/production, as the recipes name it) and the collection where the recipes install it."""
    key = os.path.join(tmp, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ci", "-f", key], check=True)
    with open(key + ".pub") as public:
        pub = public.read().strip()
    host.check_output("id ci >/dev/null 2>&1 || useradd -m -s /bin/bash ci; install -d -m 700 -o ci -g ci ~ci/.ssh; "
                      "echo '%s' >~ci/.ssh/authorized_keys; chown ci:ci ~ci/.ssh/authorized_keys; "
                      "echo 'ci ALL=(ALL) NOPASSWD: ALL' >/etc/sudoers.d/ci; chmod 440 /etc/sudoers.d/ci" % pub)
    assert host.service("ssh").is_running
    ip = docker_ip(HOSTS[0])
    # Pinned the way an operator would: read through the console (here docker exec), not over the network.
    known = "\n".join("%s %s" % (ip, " ".join(line.split()[:2]))
                      for line in host.check_output("cat /etc/ssh/ssh_host_*_key.pub").splitlines())
    checkout = os.path.join(tmp, "checkout")
    inventory = os.path.join(checkout, "deploy", "inventories", "production")
    os.makedirs(inventory)
    with open(os.path.join(inventory, "hosts.yml"), "w") as hosts:
        yaml.safe_dump({"berth_vms": {"hosts": {HOSTS[0]: {
            "ansible_host": ip, "ansible_user": "ci", "ansible_python_interpreter": "/usr/bin/python3"}}}}, hosts)
    os.symlink(os.path.join(PROJECT, "molecule", "provision", "inventory", "group_vars"), os.path.join(inventory, "group_vars"))
    os.symlink(os.path.join(PROJECT, "molecule", "operator", "inventory", "host_vars"), os.path.join(inventory, "host_vars"))
    collection = os.path.join(checkout, ".ansible", "collections", "ansible_collections", "berth")
    os.makedirs(collection)
    os.symlink(PROJECT, os.path.join(collection, "compose"))
    with open(key) as private, open(VAULT_PASSWORD_FILE) as vault:
        secrets = {"BERTH_SSH_KEY": private.read(), "BERTH_VAULT_PASSWORD": vault.read().strip()}
    return checkout, secrets, known, ip


def base_env():
    """A runner's environment: no Ansible settings of this test session (Molecule's config, vault file)."""
    return {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "LANG": "C.UTF-8", "CI": "true"}


def github_expand(value, context):
    """GitHub's ${{ secrets.X }}, ${{ vars.X }}, ${{ inputs.x }} in a step's env."""
    return re.sub(r"\$\{\{\s*(?:secrets|vars|inputs)\.(\w+)\s*\}\}", lambda m: context.get(m.group(1), ""), value)


def gitlab_expand(value, env):
    """GitLab's $VAR and ${VAR} in a job's variables."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), m.group(0)), value)


def assert_no_secret(text, secrets):
    for secret in (secrets["BERTH_VAULT_PASSWORD"], VAULT_VALUE, TOKEN) + tuple(
            line for line in secrets["BERTH_SSH_KEY"].splitlines() if "PRIVATE KEY" not in line and line):
        assert secret not in text


def test_the_github_recipe_deploys_a_tag_over_ssh_records_the_actor_and_writes_the_job_summary(vms, tmp_path):
    host = vms[HOSTS[0]]
    checkout, secrets, known, ip = setup_ci(host, str(tmp_path))
    assert ip in known
    with open(os.path.join(PROJECT, "docs", "ci", "github-actions.yml")) as recipe:
        steps = yaml.safe_load(recipe)["jobs"]["deploy"]["steps"]
    step = next(s for s in steps if "berth-ci-deploy" in s.get("run", ""))
    # A tag that does not serve yet (test_50_jobs may have left api-only serving): the deploy must do work.
    tag = next(t for t in ("api-only", "web-only") if commit_of(host, t) != current_commit(host))
    summary = tmp_path / "step_summary.md"
    summary.write_text("")
    # What GitHub sets for a workflow_dispatch run on a tag, then the step's own env.
    env = dict(base_env(), GITHUB_ACTIONS="true", GITHUB_ACTOR="octo-deployer", GITHUB_REF_TYPE="tag",
               GITHUB_REF_NAME=tag, GITHUB_REF="refs/tags/" + tag, GITHUB_SHA=commit_of(host, tag),
               GITHUB_SERVER_URL="https://github.com", GITHUB_REPOSITORY="acme/sample", GITHUB_RUN_ID="9001",
               GITHUB_WORKSPACE=checkout, GITHUB_STEP_SUMMARY=str(summary))
    context = dict(secrets, BERTH_KNOWN_HOSTS=known, note="CI recipe check")
    env.update({name: github_expand(str(value), context) for name, value in step["env"].items()})
    count = len(records(host))
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=checkout, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout
    assert current_commit(host) == commit_of(host, tag)
    new = records(host)[count:]
    assert [(r["kind"], r["outcome"], r["ref"], r["to_commit"]) for r in new] == [("deploy", "ok", tag, commit_of(host, tag))]
    assert (new[0]["operator"], new[0]["job_url"], new[0]["note"]) == (
        "octo-deployer", "https://github.com/acme/sample/actions/runs/9001", "CI recipe check")
    assert SUMMARY in proc.stdout
    text = summary.read_text()
    assert text.startswith("### berth.compose deploy `%s`: ok\n" % tag), text
    assert "| %s | ok | `%s` -> `%s` |" % (HOSTS[0], (new[0]["from_commit"] or "")[:12], commit_of(host, tag)[:12]) in text
    assert "operator: octo-deployer - job: https://github.com/acme/sample/actions/runs/9001 - note: CI recipe check" in text
    assert_no_secret(proc.stdout + text, secrets)
    assert not [name for name in os.listdir(os.environ.get("TMPDIR", "/tmp")) if name.startswith("berth-ci.")]


def test_the_gitlab_job_refuses_a_host_whose_key_is_not_the_pinned_one_and_deploys_nothing(vms, tmp_path):
    host = vms[HOSTS[0]]
    checkout, secrets, pinned, ip = setup_ci(host, str(tmp_path))
    assert ip in pinned
    with open(os.path.join(PROJECT, "docs", "ci", "gitlab-ci.yml")) as recipe:
        job = yaml.safe_load(recipe)["deploy"]
    # A host key of another machine, pinned for this VM's address: a man in the middle, or a rebuilt VM.
    other = os.path.join(str(tmp_path), "other_host_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other], check=True)
    with open(other + ".pub") as public:
        wrong = "%s %s" % (ip, " ".join(public.read().split()[:2]))
    serving, count = current_commit(host), len(records(host))
    env = dict(base_env(), GITLAB_CI="true", GITLAB_USER_LOGIN="gl-deployer", CI_PROJECT_DIR=checkout,
               CI_COMMIT_SHA=commit_of(host, "web-v3"), CI_COMMIT_BRANCH="main",
               CI_JOB_URL="https://gitlab.example.com/acme/sample/-/jobs/77", BERTH_KNOWN_HOSTS=wrong, **secrets)
    env.update({name: gitlab_expand(str(value), env) for name, value in job["variables"].items()})
    [script] = job["script"]
    proc = subprocess.run(["bash", "-e", "-c", script], cwd=checkout, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    assert proc.returncode != 0, proc.stdout
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in proc.stdout or "Host key verification failed" in proc.stdout, proc.stdout
    assert current_commit(host) == serving and len(records(host)) == count
    # No job summary on GitLab: printed at the end of the log, and kept as the job's artifact.
    with open(os.path.join(checkout, job["variables"]["BERTH_SUMMARY_FILE"])) as artifact:
        text = artifact.read()
    assert text.startswith("### berth.compose deploy `%s`: FAILED (unreachable)" % commit_of(host, "web-v3")), text
    assert "| %s | unreachable | - | - | - | - | - | host key mismatch: the host's key is not the pinned one" % HOSTS[0] in text
    assert text.strip() in proc.stdout
    assert_no_secret(proc.stdout, secrets)
