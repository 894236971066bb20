"""Cases 4, 3, 11: a migration with its hook, a compose-only commit, a docs-only commit, the env audit."""
from conftest import ROOT, commit_of, container_ids, current_commit, deploy, images, records


def test_new_migration_runs_before_cutover_and_its_hook_after(host):
    deployed = deploy("migration-new")
    assert deployed.rc == 0, deployed.out
    last = records(host)[-1]
    assert last["migrations"] == ["migrate"] and last["hooks"] == ["schema_report"]
    assert last["services_built"] == ["migrate"]
    schema = host.check_output("docker exec sample-api-1 sqlite3 /data/app.db 'SELECT version FROM schema_migrations'")
    assert "002_add_tags" in schema


def test_compose_only_commit_recreates_the_worker_without_a_build(host):
    before, imgs = container_ids(host), images(host)
    deployed = deploy("compose-only")
    assert deployed.rc == 0, deployed.out
    last = records(host)[-1]
    assert last["services_built"] == [] and last["services_recreated"] == ["worker"]
    after = container_ids(host)
    assert after["worker"] != before["worker"]
    assert after["web"] == before["web"] and after["api"] == before["api"]
    assert images(host) == imgs
    env = host.check_output("docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' sample-worker-1")
    assert "WORKER_INTERVAL=3" in env


def test_docs_only_commit_changes_nothing(host):
    before, current = container_ids(host), current_commit(host)
    deployed = deploy("docs-only")
    assert deployed.rc == 0, deployed.out
    assert deployed.changed == 0, deployed.out
    assert container_ids(host) == before and current_commit(host) == current


def test_env_audit_fails_in_preflight_naming_the_missing_key_never_a_value(host):
    before, current, count = container_ids(host), current_commit(host), len(records(host))
    failed = deploy("env-template")
    assert failed.rc != 0
    assert "APP_COLOR" in failed.out and "Preflight failed" in failed.out
    assert "stopped before cutover, nothing was switched" in failed.out
    assert "hello from the vault" not in failed.out and "s3cr3t" not in failed.out
    assert (container_ids(host), current_commit(host), len(records(host))) == (before, current, count)
    assert not host.file(ROOT + "/releases/" + commit_of(host, "env-template")).exists
