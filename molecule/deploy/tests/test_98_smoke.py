"""Issue 19.7 and 19.8: the smoke gate, the preflight checks and the startup log check, on the VM.

A small login service runs on the VM's loopback (test-only, like test_96's webhook receiver): POST /login
with the right password sets a session cookie, GET /me needs it, POST /logout ends it. A branch off the
serving release changes web only: a new page, and a startup line ``{"event": "startup"}`` in its log.
In order, sharing the VM's state (each deploy of that branch before the passing one switches back):

1. a preflight check whose credentials answer 401 stops the deploy before any build;
2. a log pattern that never appears fails the gate naming the service, and switches back;
3. a smoke login that fails switches back; the message names the step, the password is redacted;
4. login -> call -> logout (one cookie jar), a command in web and a one-off run pass: the branch serves;
5. a rollback whose smoke fails switches back to the branch;
6. the rollback with -e smoke=false passes and the record says the smoke was skipped."""
import json
import secrets
import shlex

from conftest import ROOT, container_ids, current_commit, images, rollback, deploy
from test_90_faults import tolerant_records as records  # test_91 cuts a line of the log on purpose
from test_93_what_serves import commit_on

PORT = 8097
BASE = "http://127.0.0.1:%d" % PORT
SEEN = "/root/smoke-19.log"
PASSWORD = "smoke-" + secrets.token_hex(10)
STATE = {}
SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

PASSWORD, SEEN, SESSIONS = sys.argv[2], sys.argv[3], set()

class Handler(BaseHTTPRequestHandler):
    def sid(self):
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _eq, value = part.strip().partition("=")
            if name == "sid" and value:
                return value
        return None

    def answer(self, status, body, cookie=None):
        with open(SEEN, "a") as handle:
            handle.write("%s %s %s %d\\n" % (self.command, self.path, self.sid() or "-", status))
        data = body.encode()
        self.send_response(status)
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if self.path == "/login":
            if body.endswith("password=" + PASSWORD):
                SESSIONS.add("s19")
                return self.answer(204, "", "sid=s19; Path=/")
            return self.answer(401, "bad credentials for " + body)
        if self.path == "/logout":
            SESSIONS.discard(self.sid())
            return self.answer(204, "", "sid=; Path=/; Max-Age=0")
        return self.answer(404, "no")

    def do_GET(self):
        if self.path == "/me" and self.sid() in SESSIONS:
            return self.answer(200, "hello smoke")
        return self.answer(401, "login required")

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""
# web logs a startup line (seed 003's check) and serves a page the older release does not have.
DOCKERFILE = """FROM berth/app-base:1
COPY www /www
EXPOSE 8080
CMD ["sh", "-c", "echo '{\\"event\\": \\"startup\\"}'; exec httpd -f -p 8080 -h /www"]
"""
PAGE = {"name": "new page", "service": "web", "command": ["cat", "/www/smoke.html"], "timeout": 20}
ONE_OFF = {"name": "one-off", "service": "web", "mode": "run", "timeout": 60,
           "command": ["wget", "-q", "-O", "-", "http://web:8080/smoke.html"]}


def login(password):
    return [{"name": "login", "url": BASE + "/login", "method": "POST", "status": [204],
             "headers": {"Content-Type": "application/x-www-form-urlencoded"},
             "body": "user=smoke&password=" + password},
            {"name": "call", "url": BASE + "/me", "expect": "hello smoke"},
            {"name": "logout", "url": BASE + "/logout", "method": "POST", "status": [204]},
            {"name": "call after logout", "url": BASE + "/me", "status": [401]}]


def extra(**settings):
    return json.dumps(settings)


def seen(host):
    lines = host.run("cat %s" % SEEN).stdout.splitlines()
    host.run("rm -f %s" % SEEN)
    return lines


def no_password_in(host, run):
    assert PASSWORD not in run.out
    assert PASSWORD not in host.file(ROOT + "/releases.jsonl").content_string


def test_a_failing_preflight_check_stops_the_deploy_before_any_build(host):
    host.check_output("cat > /usr/local/bin/berth-login-19 <<'EOF'\n%s\nEOF" % SERVER)
    host.run("systemctl stop berth-login-19 2>/dev/null; rm -f %s" % SEEN)
    host.check_output("systemd-run --unit berth-login-19 /usr/bin/python3 /usr/local/bin/berth-login-19 %d %s %s"
                      % (PORT, PASSWORD, SEEN))
    host.check_output("bash -c %s" % shlex.quote(
        "for i in $(seq 50); do (echo > /dev/tcp/127.0.0.1/%d) 2>/dev/null && exit 0; sleep 0.2; done; exit 1"
        % PORT))
    STATE["serving"] = current_commit(host)
    edits = "printf %s | base64 -d > web/Dockerfile && echo smoke-19 > web/www/smoke.html" % shlex.quote(
        __import__("base64").b64encode(DOCKERFILE.encode()).decode())
    STATE["commit"] = commit_on(host, "smoke-19", STATE["serving"], edits)
    images_before, containers_before = images(host), container_ids(host)

    run = deploy("smoke-19", "-e", extra(berth_preflight_checks=login("expired-" + PASSWORD)))
    assert run.rc != 0, run.out[-3000:]
    assert "preflight check step 'login' failed: HTTP 401, expected 204" in run.out, run.out[-3000:]
    assert "nothing was built or changed" in run.out
    # Nothing built (no image of the branch), nothing recreated, the same release serves.
    assert images(host) == images_before
    assert container_ids(host) == containers_before
    assert current_commit(host) == STATE["serving"]
    assert seen(host) == ["POST /login - 401"]
    no_password_in(host, run)


def test_a_log_pattern_that_never_appears_fails_the_gate_naming_the_service(host):
    run = deploy("smoke-19", "-e", extra(berth_log_expect=[
        {"service": "web", "pattern": "never printed", "within": 3}]))
    assert run.rc != 0, run.out[-3000:]
    assert "Startup log check failed for web: no log line matched 'never printed' within 3 s" in run.out, \
        run.out[-3000:]
    assert current_commit(host) == STATE["serving"]
    last = records(host)[-1]
    assert last["outcome"] == "rolled_back" and last["gate"]["log_expect"] == "failed", last
    assert '"event": "startup"' in last["message"], last["message"]  # its last lines are shown


def test_a_failing_smoke_step_switches_the_deploy_back_with_the_secret_redacted(host):
    run = deploy("smoke-19", "-e", extra(berth_smoke=login("wrong-" + PASSWORD)))
    assert run.rc != 0, run.out[-3000:]
    assert "smoke step 'login' failed: HTTP 401, expected 204" in run.out, run.out[-3000:]
    assert "automatic rollback done" in run.out
    assert current_commit(host) == STATE["serving"]
    last = records(host)[-1]
    assert last["outcome"] == "rolled_back" and last["gate"]["smoke"] == "failed", last
    # The end of the step's output (the server's answer) is shown, the password it echoed is not.
    assert "bad credentials for <redacted>" in last["message"], last["message"]
    no_password_in(host, run)
    assert seen(host) == ["POST /login - 401"]


def test_login_call_logout_and_commands_pass_and_the_release_serves(host):
    run = deploy("smoke-19", "-e", extra(
        berth_preflight_checks=login(PASSWORD)[:2], berth_smoke=login(PASSWORD) + [PAGE, ONE_OFF],
        berth_log_expect=[{"service": "web", "pattern": '"event": "startup"', "within": 30}]))
    assert run.rc == 0, run.out[-3000:]
    assert current_commit(host) == STATE["commit"]
    last = records(host)[-1]
    assert last["outcome"] == "ok" and last["gate"]["smoke"] == "passed" and last["gate"]["log_expect"] == "passed"
    assert "smoke:      6 step(s) passed" in run.out, run.out[-3000:]
    # The preflight login and call, then the smoke (a jar of its own): the call and the logout carried the
    # login's cookie, the call after the logout none.
    assert seen(host) == ["POST /login - 204", "GET /me s19 200",
                          "POST /login - 204", "GET /me s19 200", "POST /logout s19 204", "GET /me - 401"]
    no_password_in(host, run)


def test_a_rollback_whose_smoke_fails_switches_back(host):
    run = rollback(STATE["serving"], "-e", extra(berth_smoke=[PAGE]))
    assert run.rc != 0, run.out[-3000:]
    assert "smoke step 'new page' failed: exit 1 in service web" in run.out, run.out[-3000:]
    assert current_commit(host) == STATE["commit"]
    last = records(host)[-1]
    assert last["kind"] == "rollback" and last["outcome"] == "rolled_back" and last["gate"]["smoke"] == "failed"


def test_smoke_false_skips_the_smoke_and_the_record_says_so(host):
    try:
        run = rollback(STATE["serving"], "-e", "smoke=false", "-e", extra(berth_smoke=[PAGE]))
        assert run.rc == 0, run.out[-3000:]
        assert current_commit(host) == STATE["serving"]
        last = records(host)[-1]
        assert last["outcome"] == "ok" and last["gate"]["smoke"] == "skipped", last
        assert "smoke:      skipped (-e smoke=false)" in run.out
    finally:
        host.run("systemctl stop berth-login-19; rm -f %s" % SEEN)
