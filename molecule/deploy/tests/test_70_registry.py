"""Case 13: an image-only service deployed by tag from the local registry (the compose file
says image: ...:${BERTH_REF}), then rolled back to the older tag without a build or a pull."""
from conftest import commit_of, current_commit, deploy, images, records, rollback

REGISTRY = "127.0.0.1:5000/sample-cache"
# Test fixture credentials of the VM's own registry (inventory/host_vars).
USER, PASSWORD = "berth", "registry-test-only"


def push(host, tag):
    """CI's part: build the image, push it, and leave no copy behind (the deploy must pull it)."""
    host.check_output(
        "printf 'FROM berth/app-base:1\\nRUN mkdir -p /www && echo cache %s > /www/index.html\\n' "
        "| docker build -q -t %s:%s - && docker push -q %s:%s && docker rmi %s:%s"
        % (tag, REGISTRY, tag, REGISTRY, tag, REGISTRY, tag))


def cache_page(host):
    return host.check_output("curl -s --max-time 5 http://127.0.0.1:8082/")


def test_image_only_service_follows_the_deployed_tag_and_rolls_back(host):
    host.check_output("echo %s | docker login -u %s --password-stdin 127.0.0.1:5000" % (PASSWORD, USER))
    try:
        for tag in ("rel-1", "rel-2"):
            push(host, tag)
    finally:
        host.check_output("docker logout 127.0.0.1:5000")
    first = deploy("rel-1")
    assert first.rc == 0, first.out
    assert PASSWORD not in first.out
    assert cache_page(host) == "cache rel-1"
    second = deploy("rel-2")
    assert second.rc == 0, second.out
    assert cache_page(host) == "cache rel-2"
    last = records(host)[-1]
    assert last["services_built"] == [] and last["services_recreated"] == ["cache"]

    pulled = images(host)
    back = rollback("rel-1")
    assert back.rc == 0, back.out
    assert current_commit(host) == commit_of(host, "rel-1")
    assert cache_page(host) == "cache rel-1"
    assert images(host) == pulled
    last = records(host)[-1]
    assert last["kind"] == "rollback" and last["services_built"] == [] and last["services_recreated"] == ["cache"]
