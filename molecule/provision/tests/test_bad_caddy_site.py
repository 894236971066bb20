"""A site Caddy rejects fails the play and never reaches the live Caddyfile."""
import json

from conftest import https_get

BAD_SITES = json.dumps({"caddy_sites": [
    {"domain": "sample.test", "upstream": "127.0.0.1:8080", "tls_internal": True},
    {"domain": "broken.test", "respond": "x", "extra": ["no_such_directive on"]},
]})


def test_bad_site_fails_the_play_and_old_caddyfile_keeps_serving(host, provision):
    before = host.file("/etc/caddy/Caddyfile").sha256sum
    run = provision("-e", BAD_SITES)
    assert run.rc != 0, run.out
    assert "no_such_directive" in run.out
    assert host.file("/etc/caddy/Caddyfile").sha256sum == before
    assert host.service("caddy").is_running
    page = https_get(host)
    assert page.rc == 0 and "sample web" in page.stdout
