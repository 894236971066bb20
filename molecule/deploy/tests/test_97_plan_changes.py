"""What a deploy plans (issue 20 part 7), on the VM as the other tests left it (the cache service runs a
registry image, test_70's): an env-only change recreates the services that read the env file and says why;
`-e service=all` leaves an image-only service whose config is unchanged alone; a registry image goes with
the release that ran it when retention prunes that release."""
from conftest import ROOT, commit_of, container_ids, current_commit, deploy, images, serving_ref
from test_70_registry import PASSWORD, REGISTRY, USER, push
from test_90_faults import tolerant_records as records  # test_90 leaves a truncated line in the log
from test_93_what_serves import commit_on

ENV = ROOT + "/shared/.env"


def test_an_env_only_change_recreates_the_services_that_read_the_env_file_and_says_why(host):
    serving, before = current_commit(host), container_ids(host)
    assert {"api", "web", "cache"} <= set(before), before
    # What provision does with a rotated vault value (`>>` keeps the file's owner and mode).
    host.check_output("printf 'PLAN_97_ROTATED=yes\\n' >> %s" % ENV)
    run = deploy(serving_ref(host))
    assert run.rc == 0, run.out[-3000:]
    assert current_commit(host) == serving
    assert "env file changed since %s was deployed" % serving[:12] in run.out, run.out[-3000:]
    after = container_ids(host)
    assert after["api"] != before["api"], "api reads the env file (env_file: .env): it is recreated"
    assert after["web"] == before["web"] and after["cache"] == before["cache"]
    # the app image is busybox without printenv: its sh reads the variable
    assert host.check_output("docker exec %s sh -c 'echo $PLAN_97_ROTATED'" % after["api"]) == "yes"
    assert len(host.file(ROOT + "/current/.berth/env.sha256").content_string.strip()) == 64
    assert records(host)[-1]["services_recreated"] == ["api"]
    # The same ref once more: the fingerprint was kept, nothing is planned.
    again = deploy(serving_ref(host))
    assert again.rc == 0 and not again.changed, again.out[-3000:]
    assert container_ids(host) == after


def test_service_all_rebuilds_but_never_recreates_an_unchanged_image_only_service(host):
    before = container_ids(host)
    run = deploy(serving_ref(host), "-e", "service=all")
    assert run.rc == 0, run.out[-3000:]
    last = records(host)[-1]
    assert set(last["services_built"]) >= {"api", "web", "worker"}, last
    assert "cache" not in last["services_recreated"], last
    after = container_ids(host)
    assert after["cache"] == before["cache"], "the registry image's service was recreated"
    # Rebuilt from the same commit, the images are the ones that run: nothing needed recreating.
    assert after["web"] == before["web"] and after["api"] == before["api"], (before, after)


def test_a_registry_image_is_pruned_with_its_release(host):
    host.check_output("echo %s | docker login -u %s --password-stdin 127.0.0.1:5000" % (PASSWORD, USER))
    try:
        for tag in ("plan-97a", "plan-97b"):
            push(host, tag)
    finally:
        host.check_output("docker logout 127.0.0.1:5000")
    base = current_commit(host)
    first = commit_on(host, "plan-97a", base, "sed -i 's/sample-cache:[^\"]*\"/sample-cache:plan-97a\"/' compose.yaml")
    run = deploy("plan-97a")
    assert run.rc == 0, run.out[-3000:]
    assert "%s:plan-97a" % REGISTRY in images(host)
    assert "plan-97a" in host.file("%s/releases/%s/.berth/registry-images.json" % (ROOT, first)).content_string
    second = commit_on(host, "plan-97b", first, "sed -i 's/sample-cache:[^\"]*\"/sample-cache:plan-97b\"/' compose.yaml")
    # Keep one release: plan-97a's release goes, and with it the registry image only it ran.
    run = deploy("plan-97b", "-e", "berth_keep_releases=1")
    assert run.rc == 0, run.out[-3000:]
    assert current_commit(host) == second == commit_of(host, "plan-97b")
    assert not host.file("%s/releases/%s" % (ROOT, first)).exists
    present = images(host)
    assert "%s:plan-97a" % REGISTRY not in present, "the pruned release's registry image stayed"
    assert "%s:plan-97b" % REGISTRY in present
