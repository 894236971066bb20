# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smoke gate's logic (issue 19.7, 19.8): steps validated naming the variable, a cookie jar per session
against a real HTTP server on the loopback, commands judged by their exit, secrets found, the startup log
check with a fake clock."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.berth.compose.plugins.module_utils import smoke
from ansible_collections.berth.compose.plugins.module_utils.redact import MARK, Redactor

PASSWORD = "s3cret-smoke-password"


class App(BaseHTTPRequestHandler):
    """login (POST, form body) sets a session cookie; /me needs it; /logout ends it; /echo answers its body."""

    sessions: set = set()
    seen: list = []

    def _answer(self, status, body, cookie=None):
        data = body.encode()
        self.send_response(status)
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sid(self):
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _eq, value = part.strip().partition("=")
            if name == "sid":
                return value
        return None

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.seen.append((self.path, self._sid(), body))
        if self.path == "/login":
            if "password=%s" % PASSWORD in body:
                self.sessions.add("abc123")
                return self._answer(204, "", "sid=abc123; Path=/; HttpOnly")
            return self._answer(401, "bad credentials for %s" % body)
        if self.path == "/logout":
            self.sessions.discard(self._sid())
            return self._answer(204, "", "sid=; Path=/; Max-Age=0")
        return self._answer(404, "no")

    def do_GET(self):
        self.seen.append((self.path, self._sid(), None))
        if self.path == "/me":
            if self._sid() in self.sessions:
                return self._answer(200, "hello smoke")
            return self._answer(401, "login required")
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/me")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if self.path == "/auth":
            ok = self.headers.get("Authorization") == "Bearer " + PASSWORD
            return self._answer(200 if ok else 403, "token %s" % self.headers.get("Authorization"))
        return self._answer(404, "no")

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    App.sessions, App.seen = set(), []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), App)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def no_commands(step):
    raise AssertionError("no command expected, got %r" % (step,))


def login_sequence(base, password=PASSWORD):
    return [dict(name="login", url=base + "/login", method="POST", body="user=smoke&password=" + password,
                 headers={"Content-Type": "application/x-www-form-urlencoded"}, status=[204]),
            dict(name="me", url=base + "/me", expect="hello smoke"),
            dict(name="logout", url=base + "/logout", method="POST", status=[204]),
            dict(name="me after logout", url=base + "/me", status=[401])]


# ------------------------------------------------------------------ HTTP steps, cookies


def test_login_call_logout_share_one_cookie_jar(server):
    result = smoke.run_steps(smoke.parse_steps(login_sequence(server)), no_commands)
    assert result.passed, result.failed
    assert [r.name for r in result.results] == ["login", "me", "logout", "me after logout"]
    # The call carried the cookie the login set; after the logout the server saw none (the jar dropped it).
    assert [(path, sid) for path, sid, _body in App.seen] == [
        ("/login", None), ("/me", "abc123"), ("/logout", "abc123"), ("/me", None)]


def test_a_call_without_the_login_fails_and_names_its_step(server):
    steps = smoke.parse_steps([dict(name="me", url=server + "/me", expect="hello")])
    result = smoke.run_steps(steps, no_commands)
    assert not result.passed
    message = smoke.failure_message("smoke", result)
    assert message.startswith("smoke step 'me' failed: HTTP 401, expected any 2xx"), message
    assert "login required" in message


def test_sessions_keep_their_own_cookies(server):
    steps = login_sequence(server)[:1] + [dict(name="other session", url=server + "/me", session="anonymous",
                                               status=[401])]
    result = smoke.run_steps(smoke.parse_steps(steps), no_commands)
    assert result.passed, result.failed
    assert App.seen[-1][:2] == ("/me", None)


def test_the_first_failing_step_stops_the_sequence(server):
    result = smoke.run_steps(smoke.parse_steps(login_sequence(server, password="wrong-password")), no_commands)
    assert result.failed.name == "login"
    assert len(result.results) == 1 and len(App.seen) == 1


def test_a_failing_login_shows_its_answer_with_the_secret_body_redacted(server):
    steps = login_sequence(server, password="wrong-" + PASSWORD)
    result = smoke.run_steps(smoke.parse_steps(steps), no_commands)
    redactor = Redactor(smoke.step_secrets(steps))
    message = redactor.text(smoke.failure_message("smoke", result))
    assert "bad credentials for" in message, message  # the server's answer is shown...
    assert "wrong-" + PASSWORD not in message and PASSWORD not in message  # ...the password is not
    assert MARK in message


def test_an_expected_substring_missing_fails(server):
    steps = login_sequence(server)[:1] + [dict(name="me", url=server + "/me", expect="hello admin")]
    result = smoke.run_steps(smoke.parse_steps(steps), no_commands)
    assert result.failed.name == "me"
    assert "does not hold 'hello admin'" in result.failed.detail


def test_a_redirect_is_judged_by_its_status_not_followed(server):
    assert smoke.run_steps(smoke.parse_steps([dict(url=server + "/redirect", status=[302])]), no_commands).passed
    assert App.seen == [("/redirect", None, None)]
    assert not smoke.run_steps(smoke.parse_steps([dict(url=server + "/redirect")]), no_commands).passed


def test_a_secret_header_is_sent_and_redacted(server):
    steps = [dict(name="auth", url=server + "/auth", headers={"Authorization": "Bearer " + PASSWORD})]
    assert smoke.run_steps(smoke.parse_steps(steps), no_commands).passed
    wrong = [dict(name="auth", url=server + "/auth", headers={"Authorization": "Bearer not-" + PASSWORD})]
    result = smoke.run_steps(smoke.parse_steps(wrong), no_commands)
    assert not result.passed
    text = Redactor(smoke.step_secrets(wrong)).text(smoke.failure_message("smoke", result))
    assert "not-" + PASSWORD not in text and "token " + MARK in text, text


def test_a_server_that_does_not_answer_fails_the_step():
    port = _free_port()
    result = smoke.run_steps(smoke.parse_steps([dict(name="down", url="http://127.0.0.1:%d/" % port,
                                                     timeout=2)]), no_commands)
    assert result.failed.name == "down" and "request failed" in result.failed.detail


def _free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------ command steps


def test_command_steps_are_judged_by_their_exit_and_show_the_end_of_their_output():
    ran = []

    def runner(step):
        ran.append((step.kind, step.service, step.command, step.timeout))
        if step.name == "slow":
            return None, "started\n"
        return (0, "ok\n") if step.command[0] == "true" else (3, "\n".join("line %d" % i for i in range(50)))

    steps = smoke.parse_steps([dict(service="api", command=["true"]),
                               dict(service="smoke", command=["check"], mode="run", timeout=5)])
    assert smoke.run_steps(steps, runner).failed.name == "run smoke"
    assert ran == [("exec", "api", ("true",), 30.0), ("run", "smoke", ("check",), 5.0)]
    message = smoke.failure_message("smoke", smoke.run_steps(steps[1:], runner), lines=3)
    assert message == "smoke step 'run smoke' failed: exit 3 in service smoke; the end of its output:\n" \
                      "line 47\nline 48\nline 49"
    slow = smoke.run_steps(smoke.parse_steps([dict(name="slow", service="api", command=["sleep", "9"],
                                                   timeout=1)]), runner)
    assert slow.failed.detail == "did not finish within 1 s"


def test_a_runner_that_cannot_start_the_command_fails_the_step():
    def runner(step):
        raise OSError("docker: not found")

    result = smoke.run_steps(smoke.parse_steps([dict(service="api", command=["true"])]), runner)
    assert result.failed.detail == "could not run: docker: not found"


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize("value, words", [
    ("GET /", "berth_smoke must be a list"),
    ([{"url": "ftp://x/"}], "berth_smoke[0]: url must be an http:// or https:// URL"),
    ([{"name": "login", "url": "http://x/", "method": "FETCH"}], "berth_smoke[0] (login): method 'FETCH'"),
    ([{"url": "http://x/", "status": [700]}], "status must be a list of HTTP status codes"),
    ([{"url": "http://x/", "status": "ok"}], "status must be a list of HTTP status codes"),
    ([{"url": "http://x/", "service": "api", "command": ["true"]}], "not both"),
    ([{"name": "x"}], "not neither"),
    ([{"service": "api", "command": "true"}], "command must be a non-empty list of strings"),
    ([{"service": "api", "command": ["true"], "mode": "shell"}], "mode 'shell': allowed are exec, run"),
    ([{"service": "api", "command": ["true"], "expect": "x"}], "expect is for HTTP steps"),
    ([{"url": "http://x/", "command": ["true"]}], "command and mode are for command steps"),
    ([{"url": "http://x/", "timeout": 0}], "timeout must be positive"),
    ([{"url": "http://x/", "headers": {"X-A": "a\nb"}}], "header 'X-A'"),
    ([{"url": "http://x/", "bodyy": "x"}], "unknown key(s) bodyy"),
    ([{"url": "http://x/a"}, {"url": "http://x/a"}], "step names must differ"),
])
def test_a_wrong_step_is_refused_naming_the_variable(value, words):
    with pytest.raises(ValueError) as caught:
        smoke.parse_steps(value)
    assert words in str(caught.value), str(caught.value)


def test_problems_name_each_variable():
    found = smoke.problems([{"url": "x"}], [{"service": "api"}], [{"service": "web", "pattern": "("}])
    variables = [p.split(":")[0].split("[")[0] for p in found]
    assert variables == ["berth_smoke", "berth_preflight_checks", "berth_log_expect"]
    assert "pattern is not a valid regular expression" in found[2]
    assert smoke.problems([], None, []) == []


def test_a_step_as_the_engine_module_fills_it_in_is_accepted():
    """Ansible fills every suboption's default in (an HTTP step gets mode exec, a command step method GET)."""
    filled = dict((k, v.get("default")) for k, v in smoke.STEP_OPTIONS.items())
    http_step = dict(filled, url="http://127.0.0.1:8080/health")
    command = dict(filled, service="api", command=["true"])
    steps = smoke.parse_steps([http_step, command])
    assert [s.kind for s in steps] == ["http", "exec"]
    assert steps[0].name == "GET http://127.0.0.1:8080/health"


def test_the_default_name_never_shows_a_url_password_or_query():
    step = smoke.parse_step({"url": "http://u:pw-secret@127.0.0.1:8080/a?token=t0ken-secret"})
    assert step.name == "GET http://127.0.0.1:8080/a"


def test_log_expect_is_validated():
    assert smoke.parse_log_expect([{"service": "web", "pattern": '"event": "startup"'}]) == [
        smoke.LogExpect("web", '"event": "startup"', 60.0)]
    for value, words in ((["web"], "berth_log_expect[0] must be a mapping"),
                         ([{"service": "web"}], "pattern must be a non-empty"),
                         ([{"service": "web", "pattern": "x", "within": -1}], "within must be positive"),
                         ([{"service": "web", "pattern": "x", "lines": 3}], "unknown key(s) lines")):
        with pytest.raises(ValueError) as caught:
            smoke.parse_log_expect(value)
        assert words in str(caught.value)


# ------------------------------------------------------------------ secrets


def test_step_secrets_are_header_values_and_bodies_whole_and_by_value():
    found = smoke.step_secrets([
        {"url": "http://x/", "headers": {"Authorization": "Bearer tok-123456", "Content-Type": "application/json"},
         "body": json.dumps({"user": "smoke", "password": "pw-654321"})},
        {"url": "http://x/", "body": "user=smoke&password=form-secret"},
        {"service": "api", "command": ["true"]}])
    assert "Bearer tok-123456" in found and "application/json" not in found
    assert "pw-654321" in found and "form-secret" in found
    text = Redactor(found).text('sent {"password": "pw-654321"} and password=form-secret')
    assert "pw-654321" not in text and "form-secret" not in text


# ------------------------------------------------------------------ startup logs


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_the_log_check_waits_until_the_pattern_appears():
    clock = Clock()
    lines = {"c1": []}

    def logs(container, count):
        if clock.now >= 2:
            lines["c1"] = ["booting", '{"event": "startup"}']
        return lines["c1"]

    problems = smoke.wait_for_logs([smoke.LogExpect("web", '"event": "startup"', 10)], ["web"],
                                   lambda service: [("app-web-1", "c1")], logs, clock=clock, sleep=clock.sleep)
    assert problems == []
    assert 2 <= clock.now < 3


def test_a_pattern_that_never_appears_fails_naming_the_service_and_its_last_lines():
    clock = Clock()
    problems = smoke.wait_for_logs(
        [smoke.LogExpect("web", "ready", 3), smoke.LogExpect("api", "up", 3)], ["web"],
        lambda service: [("app-web-1", "c1")], lambda c, n: ["one", "two", "three"], clock=clock,
        sleep=clock.sleep, show=2)
    assert problems == ["web: no log line matched 'ready' within 3 s (last lines: app-web-1: two | three)"]
    assert 3 <= clock.now < 3.6  # waited its `within`, not longer; api was not recreated: not checked


def test_every_container_of_the_service_must_match():
    clock = Clock()
    logs = {"c1": ["ready"], "c2": ["booting"]}
    problems = smoke.wait_for_logs([smoke.LogExpect("web", "ready", 1)], ["web"],
                                   lambda s: [("app-web-1", "c1"), ("app-web-2", "c2")],
                                   lambda c, n: logs[c], clock=clock, sleep=clock.sleep)
    assert len(problems) == 1 and "app-web-2: booting" in problems[0]


def test_no_container_for_the_service_fails():
    clock = Clock()
    problems = smoke.wait_for_logs([smoke.LogExpect("web", "ready", 1)], ["web"], lambda s: [],
                                   lambda c, n: [], clock=clock, sleep=clock.sleep)
    assert problems and "no container" in problems[0]
