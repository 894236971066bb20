"""Drift repair: a re-run puts every drifted piece back, and the run after is changed=0.

The app root also loses its marker, as on a host provisioned before the marker existed: the
layout without it is still accepted, and the repair writes it.
"""
from conftest import APP, ROOT, https_get


def test_provision_repairs_drift_then_changes_nothing(host, provision):
    host.run("systemctl stop docker.socket docker")
    host.run("chmod 0644 %s/shared/.env" % ROOT)
    host.run("echo 'drifted.test {\n\trespond hi\n}' >> /etc/caddy/Caddyfile && systemctl reload caddy")
    host.run("rm /etc/systemd/system/%s-backup.timer && systemctl daemon-reload" % APP)
    host.run("rm %s/.berth/app" % ROOT)
    assert not host.service("docker").is_running
    assert host.file("/etc/systemd/system/%s-backup.timer" % APP).exists is False

    repair = provision()
    assert repair.rc == 0, repair.out
    assert repair.changed and repair.changed > 0

    assert host.service("docker").is_running
    assert host.file(ROOT + "/shared/.env").mode == 0o600
    assert "drifted.test" not in host.file("/etc/caddy/Caddyfile").content_string
    assert host.service(APP + "-backup.timer").is_enabled
    assert host.file(ROOT + "/.berth/app").content_string == APP + "\n"
    assert host.run("curl -sS --max-time 5 http://127.0.0.1:8081/value").stdout.strip() == "hello from the vault"
    assert "sample web" in https_get(host).stdout

    again = provision()
    assert again.rc == 0, again.out
    assert again.changed == 0, again.out
