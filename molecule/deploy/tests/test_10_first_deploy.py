"""Cases 1 and 2: the first deploy on a provisioned VM (converge: web-only over v1)."""
import os

from conftest import ROOT, commit_of, container_ids, current_commit, deploy, https_get, images, records

NOOP_FIGURE = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "tests", "output", "deploy-noop.txt")


def test_current_is_the_web_only_release_and_answers_through_caddy(host):
    web_only = commit_of(host, "web-only")
    assert current_commit(host) == web_only
    assert host.file(ROOT + "/releases/" + web_only + "/.git").exists
    page = https_get(host)
    assert page.rc == 0, page.stderr
    assert "web v2" in page.stdout


def test_only_web_was_built_and_recreated(host):
    before = dict(line.split() for line in host.file("/root/ids-v1.txt").content_string.splitlines())
    now = container_ids(host)
    assert now["api"] == before["api"] and now["worker"] == before["worker"]
    assert now["web"] != before["web"]
    tag = commit_of(host, "web-only")[:12]
    assert "sample-web:" + tag in images(host)
    assert "sample-api:" + tag not in images(host) and "sample-worker:" + tag not in images(host)
    first, last = records(host)[0], records(host)[-1]
    assert (first["to_commit"], first["outcome"]) == (commit_of(host, "v1"), "ok"), "provision records its release"
    assert (last["kind"], last["outcome"], last["services_built"], last["services_recreated"]) == (
        "deploy", "ok", ["web"], ["web"])
    assert last["images"]["api"] == "sample-api:" + commit_of(host, "v1")[:12]


def test_the_boot_unit_runs_the_same_compose_command_and_would_recreate_nothing(host):
    unit = host.check_output("systemctl cat sample.service")
    assert "--project-directory /opt/sample/current" in unit
    assert "-f /opt/sample/current/.berth/images.yml" in unit
    dry = host.run("set -a; . %s/current/.berth/release.env; set +a; docker compose -p sample "
                   "--project-directory %s/current -f %s/current/compose.yaml -f %s/current/.berth/images.yml "
                   "--env-file %s/shared/.env up -d --dry-run web api worker 2>&1" % ((ROOT,) * 5))
    assert dry.rc == 0, dry.stdout
    assert "Recreate" not in dry.stdout, dry.stdout


def test_same_ref_again_changes_and_restarts_nothing(host):
    before = container_ids(host)
    again = deploy("web-only")
    assert again.rc == 0, again.out
    assert again.changed == 0, again.out
    assert "nothing to deploy" in again.out
    assert container_ids(host) == before
    os.makedirs(os.path.dirname(NOOP_FIGURE), exist_ok=True)
    with open(NOOP_FIGURE, "w") as handle:
        handle.write("no-op deploy (same ref again): %.1f s\n" % again.seconds)
