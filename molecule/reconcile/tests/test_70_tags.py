"""provision.yml's tags: --tags berth_caddy re-applies Caddy alone, --skip-tags leaves a role out, and the
settings check runs with any tag."""
import re

from conftest import ROOT, run_playbook

CADDYFILE = "/etc/caddy/Caddyfile"
ENV = ROOT + "/shared/.env"


def roles_listed(*args):
    listed = run_playbook("provision", "--list-tasks", *args)
    assert listed.rc == 0, listed.out
    # Task lines "berth.compose.<role> : <name>  TAGS: [...]", arg spec validation aside.
    return set(re.findall(r"^\s+berth\.compose\.(\w+) : (?!Validating arguments)", listed.out, re.M))


def test_the_tags_select_the_roles():
    assert roles_listed("--tags", "berth_caddy") == {"app", "caddy"}
    skipped = roles_listed("--skip-tags", "berth_caddy")
    assert "caddy" not in skipped and {"app", "docker", "secrets", "firewall", "systemd", "agent"} <= skipped


def test_tags_berth_caddy_repairs_caddy_alone(host):
    host.check_output("echo '# drift' >> %s && chmod 0644 %s" % (CADDYFILE, ENV))
    caddy = run_playbook("provision", "--tags", "berth_caddy")
    assert caddy.rc == 0 and caddy.changed > 0, caddy.out
    assert "# drift" not in host.file(CADDYFILE).content_string
    assert host.file(ENV).mode == 0o644
    secrets = run_playbook("provision", "--tags", "berth_secrets")
    assert secrets.rc == 0 and secrets.changed > 0, secrets.out
    assert host.file(ENV).mode == 0o600
