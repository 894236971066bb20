"""--check --diff on a provisioned host: nothing to change, and no secret value printed."""
from conftest import ROOT


def test_check_diff_on_provisioned_host_changes_nothing_and_prints_no_secret(host, provision):
    env_before = host.file(ROOT + "/shared/.env").sha256sum
    run = provision("--check", "--diff")
    assert run.rc == 0, run.out
    assert run.changed == 0, run.out
    assert "s3cr3t-from-vault" not in run.out
    assert host.file(ROOT + "/shared/.env").sha256sum == env_before


def test_check_diff_names_changed_secret_keys_without_values(host, provision):
    run = provision("--check", "--diff", "-e", '{"secrets_env": {"APP_MESSAGE": "rotated-value-xyz", "DB_PASSWORD": "s3cr3t-from-vault"}}')
    assert run.rc == 0, run.out
    assert "APP_MESSAGE" in run.out
    assert "rotated-value-xyz" not in run.out and "s3cr3t-from-vault" not in run.out
    assert "hello from the vault" in host.file(ROOT + "/shared/.env").content_string
