"""Issue 18.11: a failing migration that prints its environment leaks no secret.

A canary value is put in the env file (as the password of a DSN, the way a migration reads its
database), then a release whose migration fails and prints its whole environment is deployed at
-vvv with a webhook receiver listening on the VM's loopback. The migration's output reaches the
failure message (the test proves it: the redaction mark stands where the value was), yet the canary
appears in none of: the play output, the release log, the webhook payloads."""
import json
import secrets
import shlex

from conftest import ROOT, current_commit, deploy
from test_90_faults import tolerant_records as records  # a line test_91 cut on purpose is skipped, as the engine does

OPTIONAL_COLOR = '{"berth_env_optional": ["APP_COLOR"]}'
RECEIVER = """
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "ab") as handle:
            handle.write(self.path.encode() + b" " + body.replace(b"\\n", b" ") + b"\\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""
PORT = 8098
HOOKS = "/root/hooks-18-11.jsonl"
ENV = ROOT + "/shared/.env"


def test_a_failing_migration_that_prints_its_env_leaks_no_secret(host):
    canary = "canary" + secrets.token_hex(12)
    serving = current_commit(host)
    host.check_output("cat > /usr/local/bin/berth-hook-receiver-18 <<'EOF'\n%s\nEOF" % RECEIVER)
    host.run("systemctl stop berth-hook-receiver-18 2>/dev/null; rm -f %s" % HOOKS)
    host.check_output("systemd-run --unit berth-hook-receiver-18 /usr/bin/python3 "
                      "/usr/local/bin/berth-hook-receiver-18 %d %s" % (PORT, HOOKS))
    host.check_output("bash -c %s" % shlex.quote(
        "for i in $(seq 50); do (echo > /dev/tcp/127.0.0.1/%d) 2>/dev/null && exit 0; sleep 0.2; done; exit 1"
        % PORT))
    try:
        host.check_output("printf '%%s\\n' %s >> %s" % (
            shlex.quote("CANARY_DSN=postgres://app:%s@db:5432/app" % canary), ENV))
        webhook = json.dumps({"berth_notify": [{"name": "receiver", "timeout": 5,
                                                "url": "http://127.0.0.1:%d/hook/token-18" % PORT}]})
        failed = deploy("bad/migration-leak", "-vvv", "-e", OPTIONAL_COLOR, "-e", webhook)
        assert failed.rc != 0, failed.out[-3000:]
        assert "nothing was switched" in failed.out, failed.out[-3000:]
        assert current_commit(host) == serving
        last = records(host)[-1]
        assert last["outcome"] == "failed"
        hooks = host.file(HOOKS).content_string
        assert "deploy.failed" in hooks, hooks
        outputs = {"play output": failed.out, "release log": host.file(ROOT + "/releases.jsonl").content_string,
                   "webhook payloads": hooks}
        leaks = sorted(name for name, text in outputs.items() if canary in text)
        assert not leaks, "the canary leaked into: %s" % ", ".join(leaks)
        # The migration really printed it (or this test proves nothing): its output is in the message, the
        # value is not.
        assert "DSN: " in last["message"] and "<redacted>" in last["message"], last["message"]
    finally:
        # cat > keeps the file's inode, owner and mode.
        host.run("grep -v '^CANARY_DSN=' {0} > {0}.18 && cat {0}.18 > {0}; rm -f {0}.18".format(ENV))
        host.run("systemctl stop berth-hook-receiver-18")
