# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/berth-ci-deploy without a VM: a stand-in ansible-playbook on PATH records what it was given.

What it refuses before running anything, how it hands the secrets over (private files, removed at the end,
never printed), the ref it picks from the CI's variables, and where the summary goes. The run against a
VM over SSH is molecule/operator/tests/test_90_ci_recipe.py."""
import json
import os
import stat
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "berth-ci-deploy")
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAc2VjcmV0LWtleS1ib2R5\n-----END OPENSSH PRIVATE KEY-----"
PASSWORD = "vault-pw-7f3e1c"
KNOWN = "203.0.113.7 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinnedHostKey"

FAKE = r"""#!/usr/bin/env bash
# Stand-in ansible-playbook: what it was given, as JSON.
python3 - "$@" <<'PY'
import json, os, stat, sys
env = os.environ
def read(path):
    with open(path) as f:
        return f.read()
vault, key = env["ANSIBLE_VAULT_PASSWORD_FILE"], env["ANSIBLE_PRIVATE_KEY_FILE"]
seen = dict(argv=sys.argv[1:], vault=read(vault), vault_mode=oct(stat.S_IMODE(os.stat(vault).st_mode)),
            key=read(key), key_mode=oct(stat.S_IMODE(os.stat(key).st_mode)), ssh_args=env["ANSIBLE_SSH_ARGS"],
            host_key_checking=env["ANSIBLE_HOST_KEY_CHECKING"], pipelining=env.get("ANSIBLE_PIPELINING"), callbacks=env["ANSIBLE_CALLBACKS_ENABLED"],
            files=[vault, key], work=os.path.dirname(vault))
seen["known_hosts"] = read(env["ANSIBLE_SSH_ARGS"].split("UserKnownHostsFile=")[1].split()[0])
with open(env["FAKE_SEEN"], "w") as f:
    json.dump(seen, f)
with open(env["BERTH_CI_SUMMARY_FILE"], "w") as f:
    f.write("### berth.compose deploy: fake\n")
PY
exit "${FAKE_RC:-0}"
"""


@pytest.fixture
def ci(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "ansible-playbook"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    inventory = tmp_path / "inventory"
    inventory.mkdir()

    def run(**env):
        base = {"PATH": "%s:%s" % (bin_dir, os.environ["PATH"]), "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
                "FAKE_SEEN": str(tmp_path / "seen.json"), "BERTH_SSH_KEY": KEY, "BERTH_KNOWN_HOSTS": KNOWN,
                "BERTH_VAULT_PASSWORD": PASSWORD, "BERTH_INVENTORY": str(inventory)}
        base.update({k: v for k, v in env.items() if v is not None})
        for name in [k for k, v in env.items() if v is None]:
            base.pop(name, None)
        proc = subprocess.run(["bash", SCRIPT], env=base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=60, check=False)
        seen = tmp_path / "seen.json"
        data = json.loads(seen.read_text()) if seen.exists() else None
        if seen.exists():
            seen.unlink()
        for secret in (PASSWORD, "c2VjcmV0LWtleS1ib2R5", "PinnedHostKey"):
            assert secret not in proc.stdout
        return proc, data
    return run


@pytest.mark.parametrize("name", ["BERTH_SSH_KEY", "BERTH_KNOWN_HOSTS", "BERTH_VAULT_PASSWORD", "BERTH_INVENTORY"])
def test_a_missing_variable_is_refused_naming_it_before_ansible_runs(ci, name):
    proc, seen = ci(GITHUB_SHA="a" * 40, **{name: None})
    assert proc.returncode == 2 and ("%s is not set" % name) in proc.stdout, proc.stdout
    assert seen is None


@pytest.mark.parametrize("env, why", [
    (dict(BERTH_KNOWN_HOSTS="# nothing pinned", GITHUB_SHA="a" * 40), "BERTH_KNOWN_HOSTS holds no known_hosts line"),
    (dict(BERTH_SSH_KEY="ssh-ed25519 AAAA a public key", GITHUB_SHA="a" * 40), "BERTH_SSH_KEY does not hold a private key"),
    (dict(BERTH_REF="--upload-pack=x"), "is not a branch, tag or commit name"),
    (dict(BERTH_PLAYBOOK="provision"), "BERTH_PLAYBOOK must be deploy or rollback"),
    (dict(BERTH_INVENTORY="/nonexistent/inventory"), "BERTH_INVENTORY: no such file"),
    (dict(), "no ref to deploy"),
])
def test_bad_input_is_refused_before_ansible_runs(ci, env, why):
    proc, seen = ci(**env)
    assert proc.returncode == 2 and why in proc.stdout, proc.stdout
    assert seen is None


def test_a_github_tag_push_deploys_the_tag_with_pinned_keys_and_private_secret_files(ci, tmp_path):
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    proc, seen = ci(GITHUB_REF_TYPE="tag", GITHUB_REF_NAME="v2.1.0", GITHUB_SHA="c" * 40, GITHUB_STEP_SUMMARY=str(summary),
                    BERTH_SSH_KEY=KEY.replace("\n", "\r\n"))
    assert proc.returncode == 0, proc.stdout
    assert seen["argv"][:5] == ["berth.compose.deploy", "-i", str(tmp_path / "inventory"), "-e", "ref=v2.1.0"]
    assert seen["vault"] == PASSWORD and seen["vault_mode"] == "0o600"
    assert seen["key"] == KEY + "\n" and seen["key_mode"] == "0o600"  # carriage returns gone, the last newline back
    assert seen["known_hosts"].strip() == KNOWN
    assert "StrictHostKeyChecking=yes" in seen["ssh_args"] and seen["host_key_checking"] == "True"
    assert seen["pipelining"] == "True"  # becoming the deploy user without world-readable temporary files
    assert seen["callbacks"].split(",")[0] == "berth.compose.ci_summary"
    assert not any(os.path.exists(path) for path in seen["files"]) and not os.path.exists(seen["work"])
    assert summary.read_text() == "earlier step\n### berth.compose deploy: fake\n"
    assert "### berth.compose" not in proc.stdout


def test_gitlab_takes_the_tag_over_the_sha_a_note_stays_one_value_and_the_summary_is_printed(ci, tmp_path):
    artifact = tmp_path / "berth-summary.md"
    proc, seen = ci(CI_COMMIT_TAG="v3", CI_COMMIT_SHA="d" * 40, BERTH_NOTE="INC-7 'quoted' fix", FAKE_RC="2",
                    BERTH_SUMMARY_FILE=str(artifact), BERTH_KNOWN_HOSTS=str(tmp_path / "kh"))
    assert proc.returncode == 2 and seen is None  # a File variable naming a missing file is read as its text: refused
    (tmp_path / "kh").write_text(KNOWN + "\n")
    proc, seen = ci(CI_COMMIT_TAG="v3", CI_COMMIT_SHA="d" * 40, BERTH_NOTE="INC-7 'quoted' fix", FAKE_RC="2",
                    BERTH_SUMMARY_FILE=str(artifact), BERTH_KNOWN_HOSTS=str(tmp_path / "kh"))
    assert proc.returncode == 2, proc.stdout  # ansible-playbook's exit code
    assert seen["argv"][3:] == ["-e", "ref=v3", "-e", json.dumps({"note": "INC-7 'quoted' fix"})]
    assert seen["known_hosts"].strip() == KNOWN  # read from the file the variable names
    assert proc.stdout.rstrip().endswith("### berth.compose deploy: fake")
    assert artifact.read_text() == "### berth.compose deploy: fake\n"


def test_the_script_ships_executable_with_a_shebang_sanity_accepts():
    mode = os.stat(SCRIPT).st_mode
    assert mode & stat.S_IXUSR
    with open(SCRIPT) as script:
        assert script.readline() == "#!/usr/bin/env bash\n"
