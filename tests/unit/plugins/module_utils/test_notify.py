# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""notify against a real HTTP server on the loopback (no mocked sockets)."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ansible_collections.berth.compose.plugins.module_utils import notify as nt

RECORD = dict(id="20261123T180000.000000Z-abcdef", kind="deploy", outcome="rolled_back", ref="main",
              from_commit="1" * 40, to_commit="2" * 40, serving_commit="1" * 40, services_built=["api"],
              services_recreated=["api"], started="2026-11-23T18:00:00Z", duration_s=12.5, operator="alice",
              message="api unhealthy", images={"api": "shop-api:222222222222"}, steps={"build": 3.0})


class Receiver:
    """A loopback HTTP server answering with the next status of ``statuses`` (the last one repeats)."""

    def __init__(self, statuses=(204,), delay=0.0):
        self.bodies = []
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                receiver.bodies.append((self.path, self.headers.get("Content-Type"), self.rfile.read(length)))
                if delay:
                    threading.Event().wait(delay)
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path="/hook/s3cr3t-token"):
        return "http://127.0.0.1:%d%s" % (self.server.server_port, path)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def no_sleep(seconds):
    no_sleep.slept.append(seconds)


no_sleep.slept = []


def test_payload_carries_the_documented_keys_only():
    payload = nt.build_payload(RECORD, app="shop", host="vm1")
    assert payload["schema"] == nt.SCHEMA and payload["event"] == "deploy.rolled_back"
    assert payload["app"] == "shop" and payload["host"] == "vm1"
    assert set(payload) == {"schema", "event", "app", "host"} | set(nt.RECORD_FIELDS)
    assert "images" not in payload and "steps" not in payload


def test_payload_fills_missing_fields_and_refuses_unknown_kind_or_outcome():
    payload = nt.build_payload({"kind": "task", "outcome": "ok"})
    assert payload["services_built"] == [] and payload["ref"] is None and payload["event"] == "task.ok"
    with pytest.raises(nt.NotifyError, match="kind"):
        nt.build_payload({"kind": "deploys", "outcome": "ok"})
    with pytest.raises(nt.NotifyError, match="outcome"):
        nt.build_payload({"kind": "deploy", "outcome": "good"})
    with pytest.raises(nt.NotifyError):
        nt.build_payload(["deploy"])


@pytest.mark.parametrize("patterns, event, expected", [
    (["*"], "deploy.ok", True),
    ([], "task.failed", True),
    (["deploy.*"], "rollback.ok", False),
    (["*.rolled_back", "*.failed"], "deploy.rolled_back", True),
    (["*.failed"], "deploy.hook_failed", False),
    (["*failed"], "deploy.hook_failed", True),
])
def test_events_are_shell_patterns_over_kind_dot_outcome(patterns, event, expected):
    assert nt.wants(patterns, event) is expected


def test_patterns_that_match_no_event_are_found():
    assert nt.dead_patterns(["deploy.*", "deploy.rollback", "deploy"]) == ["deploy.rollback", "deploy"]


def test_scrub_removes_url_host_path_and_query():
    url = "https://hooks.example.invalid:8443/services/T0/B0/s3cr3t?token=abc"
    text = "cannot reach hooks.example.invalid:8443 for /services/T0/B0/s3cr3t (token=abc) at " + url
    clean = nt.scrub(text, url)
    for secret in ("hooks.example.invalid", "s3cr3t", "token=abc", "8443"):
        assert secret not in clean


@pytest.mark.parametrize("webhook, problem", [
    ({"events": ["*"]}, "has no url"),
    ({"url": "ftp://x/y"}, "http:// or https://"),
    ({"url": "http://x/", "timeout": 0}, "timeout"),
    ({"url": "http://x/", "timeout": 1000}, "timeout"),
    ({"url": "http://x/", "events": [1]}, "events"),
    ("http://x/", "not a mapping"),
])
def test_unusable_entries_are_named_problems(webhook, problem):
    assert problem in nt.check_webhook(webhook)[3]


def test_delivers_the_json_payload():
    with Receiver([204]) as receiver:
        payload = nt.build_payload(RECORD, app="shop", host="vm1")
        results, warnings = nt.notify([{"url": receiver.url(), "events": ["*.rolled_back"]}], payload)
    assert warnings == []
    assert results == [{"name": "webhook 1", "sent": True, "skipped": False, "status": 204, "attempts": 1, "error": None}]
    path, ctype, body = receiver.bodies[0]
    assert path == "/hook/s3cr3t-token" and ctype == "application/json"
    assert json.loads(body.decode("utf-8")) == payload


def test_a_webhook_whose_events_do_not_match_is_skipped_without_a_request():
    with Receiver([204]) as receiver:
        payload = nt.build_payload(dict(RECORD, outcome="ok"))
        results, warnings = nt.notify([{"url": receiver.url(), "events": ["*.failed"], "name": "pager"}], payload)
    assert receiver.bodies == [] and warnings == []
    assert results[0]["skipped"] and not results[0]["sent"] and results[0]["name"] == "pager"


def test_server_errors_are_retried_a_bounded_number_of_times_then_warned_without_the_url():
    no_sleep.slept[:] = []
    with Receiver([503]) as receiver:
        url = receiver.url()
        results, warnings = nt.notify([{"url": url}], nt.build_payload(RECORD), retries=2, delay=0.5, sleep=no_sleep)
    assert len(receiver.bodies) == 3 and results[0]["attempts"] == 3 and results[0]["status"] == 503
    assert no_sleep.slept == [0.5, 1.0]
    assert len(warnings) == 1 and "webhook 1 was not told of deploy.rolled_back after 3 attempt(s)" in warnings[0]
    assert "s3cr3t" not in warnings[0] and "127.0.0.1" not in warnings[0]


def test_a_retry_that_passes_counts_as_sent():
    with Receiver([500, 200]) as receiver:
        results, warnings = nt.notify([{"url": receiver.url()}], nt.build_payload(RECORD), sleep=no_sleep)
    assert results[0]["sent"] and results[0]["attempts"] == 2 and warnings == []
    assert len(receiver.bodies) == 2


def test_client_errors_are_not_retried():
    with Receiver([404]) as receiver:
        results, warnings = nt.notify([{"url": receiver.url()}], nt.build_payload(RECORD), retries=5, sleep=no_sleep)
    assert len(receiver.bodies) == 1 and results[0]["status"] == 404 and len(warnings) == 1


def test_retries_are_capped():
    with Receiver([500]) as receiver:
        results = nt.notify([{"url": receiver.url()}], nt.build_payload(RECORD), retries=50, sleep=no_sleep)[0]
    assert results[0]["attempts"] == nt.MAX_RETRIES + 1 == len(receiver.bodies)


def test_nobody_listening_is_a_warning_not_an_exception():
    url = "http://127.0.0.1:%d/hook/s3cr3t" % closed_port()
    results, warnings = nt.notify([{"url": url, "name": "chat"}], nt.build_payload(RECORD), retries=1, sleep=no_sleep)
    assert results[0]["status"] is None and results[0]["attempts"] == 2 and not results[0]["sent"]
    assert warnings[0].startswith("chat was not told") and "s3cr3t" not in warnings[0]


def test_a_slow_webhook_is_cut_at_its_timeout():
    with Receiver([200], delay=2.0) as receiver:
        results, warnings = nt.notify([{"url": receiver.url(), "timeout": 0.3}], nt.build_payload(RECORD),
                                      retries=0, sleep=no_sleep)
    assert results[0]["error"] and not results[0]["sent"] and len(warnings) == 1


def test_one_bad_entry_does_not_stop_the_others():
    with Receiver([200]) as receiver:
        results, warnings = nt.notify([{"events": ["*"]}, {"url": receiver.url(), "events": ["deploy.rollback", "*"]}],
                                      nt.build_payload(RECORD))
    assert [r["sent"] for r in results] == [False, True]
    assert "berth_notify entry webhook 1 has no url" in warnings[0]
    assert "deploy.rollback match no event" in warnings[1]


# ------------------------------------------------------------------ issue 20.6: slack, discord, the test event

OK_RECORD = dict(RECORD, outcome="ok", serving_commit="2" * 40, ref="v1.4.2", services_recreated=["web", "api"],
                 note="INC-42 fix", job_url="https://github.com/acme/shop/actions/runs/42")


def test_the_readable_line_names_app_environment_event_ref_sha_services_outcome():
    line = nt.summary_line(nt.build_payload(OK_RECORD, app="shop", host="vm1"), environment="production")
    assert line == ("shop (production, vm1): deploy.ok of v1.4.2 @ 2222222 - services web, api - outcome ok"
                    " - by alice - note: INC-42 fix")
    assert "\n" not in line


def test_slack_gets_one_text_line_with_the_job_link_and_nothing_else():
    body = nt.shaped(nt.build_payload(OK_RECORD, app="shop", host="vm1"), "slack", "production")
    assert set(body) == {"text"}
    assert body["text"].startswith("shop (production, vm1): deploy.ok of v1.4.2 @ 2222222 - services web, api")
    assert body["text"].endswith(" - <https://github.com/acme/shop/actions/runs/42|job>")


def test_slack_text_escapes_its_control_characters():
    body = nt.shaped(nt.build_payload(dict(OK_RECORD, note="a <b> & c", job_url=None), app="shop"), "slack")
    assert "note: a &lt;b&gt; &amp; c" in body["text"] and "<" not in body["text"]


def test_discord_gets_one_content_line_and_no_mentions():
    body = nt.shaped(nt.build_payload(dict(OK_RECORD, note="@everyone look"), app="shop", host="vm1"), "discord")
    assert set(body) == {"content", "allowed_mentions"} and body["allowed_mentions"] == {"parse": []}
    assert body["content"].startswith("shop (vm1): deploy.ok of v1.4.2 @ 2222222")
    assert body["content"].endswith(" - https://github.com/acme/shop/actions/runs/42") and "\n" not in body["content"]


def test_generic_is_todays_document():
    payload = nt.build_payload(OK_RECORD, app="shop", host="vm1")
    assert nt.shaped(payload, "generic") is payload
    assert payload["note"] == "INC-42 fix" and payload["job_url"].endswith("/runs/42")


def test_an_unknown_format_is_a_named_problem():
    assert "format must be one of generic, slack, discord" in nt.check_webhook({"url": "http://x/", "format": "teams"})[3]


def test_each_webhook_gets_its_own_format():
    with Receiver([200]) as receiver:
        payload = nt.build_payload(OK_RECORD, app="shop", host="vm1")
        results, warnings = nt.notify([{"url": receiver.url("/slack"), "format": "slack"},
                                       {"url": receiver.url("/discord"), "format": "discord"},
                                       {"url": receiver.url("/plain")}], payload, environment="staging")
    assert warnings == [] and [r["sent"] for r in results] == [True, True, True]
    bodies = {path: json.loads(body.decode("utf-8")) for path, _ctype, body in receiver.bodies}
    assert set(bodies["/slack"]) == {"text"} and "(staging, vm1)" in bodies["/slack"]["text"]
    assert "deploy.ok of v1.4.2" in bodies["/discord"]["content"]
    assert bodies["/plain"] == payload


def test_the_test_event_reaches_every_webhook_whatever_its_events():
    with Receiver([204]) as receiver:
        payload = nt.test_payload(app="shop", host="vm1", operator="alice")
        results, warnings = nt.notify([{"url": receiver.url("/a"), "events": ["*.failed"], "format": "slack"},
                                       {"url": receiver.url("/b"), "events": ["deploy.ok"]}], payload)
    assert warnings == [] and [r["sent"] for r in results] == [True, True]
    bodies = {path: json.loads(body.decode("utf-8")) for path, _ctype, body in receiver.bodies}
    assert bodies["/a"] == {"text": "shop (vm1): test - test message from berth.compose: this webhook is reachable"}
    assert bodies["/b"]["event"] == "test" and bodies["/b"]["schema"] == nt.SCHEMA
    assert set(bodies["/b"]) == {"schema", "event", "app", "host"} | set(nt.RECORD_FIELDS)
