"""A canary secret (issue 13): a random value made for this run, put in the vault (as an env-file
secret, as the token of a webhook URL and as the registry password), then provision, deploy,
verify and reconcile run at -vvv with --diff. The value must reach the env file (or the test
proves nothing) and appear in none of: the playbook output, the release log, the journal of our
units and Caddy, the module results those runs print, the metrics or state files under the app
root."""
import os
import secrets
import subprocess

import yaml

from conftest import ROOT, playbook_env, run_playbook, serving_ref

# The vault password comes from ANSIBLE_VAULT_PASSWORD_FILE, set by the scenario.
VAULT = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."),
                     "molecule", "provision", "inventory", "group_vars", "berth_vms", "vault.yml")


def vault_vars(path, data):
    """data as a vault-encrypted vars file (the way an operator keeps it)."""
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle)
    subprocess.run(["ansible-vault", "encrypt", path],
                   check=True, stdout=subprocess.DEVNULL, env=playbook_env())


def test_a_canary_secret_appears_in_no_output(host, tmp_path):
    canary = "canary" + secrets.token_hex(12)
    plain = subprocess.run(["ansible-vault", "view", VAULT],
                           check=True, stdout=subprocess.PIPE, text=True, env=playbook_env()).stdout
    env = dict(yaml.safe_load(plain)["vault_sample_env"], CANARY_TOKEN=canary)
    extra = str(tmp_path / "canary.yml")
    vault_vars(extra, {
        "vault_sample_env": env,
        # Nothing listens on port 9: the webhook fails, which must warn without the URL.
        "berth_notify": [{"url": "http://127.0.0.1:9/hook?token=" + canary, "timeout": 2}],
        # Also the registry password (the deploy below pulls nothing, so no login is tried).
        "berth_registry_login": {"registry": "127.0.0.1:5000", "username": "berth", "password": canary},
    })

    outputs = {}
    # The serving release's own ref (BERTH_REF, which may tag an image-only service's image): a
    # deploy of the bare commit would retag that service and leave reconcile a pull to do.
    serving = "ref=" + serving_ref(host)
    for name, args in (("provision", ["--diff"]), ("deploy", ["--diff", "-e", serving, "-e", "service=api"]),
                       ("verify", []), ("reconcile", ["--diff"])):
        run = run_playbook(name, "-vvv", "-e", "@" + extra, *args)
        assert run.rc == 0, run.out[-3000:]
        outputs[name] = run.out

    env_file = host.file(ROOT + "/shared/.env")
    assert canary in env_file.content_string, "the canary must reach the env file, or this test proves nothing"
    assert env_file.mode == 0o600

    outputs["release log"] = host.file(ROOT + "/releases.jsonl").content_string
    outputs["journal"] = host.check_output("journalctl --no-pager -o cat -u 'sample*' -u caddy -u docker")
    outputs["state files"] = host.check_output("find %s/.berth %s/releases -maxdepth 3 -type f -size -1M "
                                               "-not -name '*.env' -not -name .env -exec cat {} + 2>/dev/null || true"
                                               % (ROOT, ROOT))
    leaks = sorted(name for name, text in outputs.items() if canary in text)
    assert not leaks, "the canary leaked into: %s" % ", ".join(leaks)
