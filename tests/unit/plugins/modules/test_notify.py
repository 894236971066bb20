# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import json

from ansible_collections.berth.compose.plugins.modules import notify as module
from ansible_collections.berth.compose.tests.unit.plugins.module_utils.test_notify import RECORD, Receiver, closed_port
from ansible_collections.berth.compose.tests.unit.plugins.modules.utils import run_module


def test_sends_and_never_changes_anything(module_exit_raises):
    with Receiver([200]) as receiver:
        result, warned = run_module(module, webhooks=[{"url": receiver.url(), "events": ["deploy.*"]}],
                                    record=RECORD, app="shop", host="vm1")
    assert not result["failed"] and result["changed"] is False and warned == []
    assert result["delivered"] == 1 and result["undelivered"] == 0 and result["event"] == "deploy.rolled_back"
    assert json.loads(receiver.bodies[0][2].decode("utf-8"))["host"] == "vm1"


def test_a_dead_webhook_is_a_warning_and_the_task_passes(module_exit_raises):
    url = "http://127.0.0.1:%d/s3cr3t" % closed_port()
    result, warned = run_module(module, webhooks=[{"url": url}], record=RECORD, retries=0)
    assert not result["failed"] and result["undelivered"] == 1 and len(warned) == 1
    assert "s3cr3t" not in json.dumps(result) and "s3cr3t" not in warned[0]


def test_check_mode_sends_nothing(module_exit_raises):
    with Receiver([200]) as receiver:
        result, _w = run_module(module, check_mode=True, webhooks=[{"url": receiver.url(), "events": ["task.*"]}],
                                record=RECORD)
    assert receiver.bodies == [] and not result["failed"]
    assert result["webhooks"][0]["skipped"] is True and result["undelivered"] == 0


def test_a_record_without_kind_fails(module_exit_raises):
    result, _w = run_module(module, webhooks=[], record={"outcome": "ok"})
    assert result["failed"] and "kind" in result["msg"]


def test_a_slack_webhook_gets_its_text_line_through_the_module(module_exit_raises):
    with Receiver([200]) as receiver:
        result, warned = run_module(module, webhooks=[{"url": receiver.url(), "format": "slack"}], record=RECORD,
                                    app="shop", host="vm1", environment="production")
    assert result["delivered"] == 1 and warned == []
    body = json.loads(receiver.bodies[0][2].decode("utf-8"))
    assert list(body) == ["text"] and body["text"].startswith("shop (production, vm1): deploy.rolled_back of main @ 2222222")


def test_an_unknown_format_is_refused_naming_it(module_exit_raises):
    result, _w = run_module(module, webhooks=[{"url": "http://127.0.0.1:9/", "format": "teams"}], record=RECORD)
    assert result["failed"] and "format" in result["msg"] and "slack" in result["msg"]


def test_the_test_message_needs_no_record_and_goes_to_every_webhook(module_exit_raises):
    with Receiver([204]) as receiver:
        result, _w = run_module(module, webhooks=[{"url": receiver.url(), "events": ["*.failed"], "format": "discord"}],
                                test=True, app="shop", host="vm1")
    assert result["event"] == "test" and result["delivered"] == 1
    assert "shop (vm1): test" in json.loads(receiver.bodies[0][2].decode("utf-8"))["content"]
    result, _w = run_module(module, webhooks=[])
    assert result["failed"] and "record" in result["msg"]
