# -*- coding: utf-8 -*-
# Copyright (c) 2026 berth.compose contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one redaction rule (issue 18.11, 18.15): what counts as a secret and how it is found in a text."""
import json

from ansible_collections.berth.compose.plugins.module_utils.redact import (
    MARK, Redactor, env_values, forms, probe_secrets, scrub_urls)


def test_a_value_is_replaced_wherever_it_stands():
    r = Redactor(["s3cret-value"])
    assert r.text("a s3cret-value b s3cret-value") == "a %s b %s" % (MARK, MARK)


def test_short_or_plain_values_are_not_secrets_and_leave_the_text_alone():
    r = Redactor(["1", "true", "8080", "abc", "12345678", "False"])
    assert r.needles == []
    assert r.text("port 8080 true 1 12345678") == "port 8080 true 1 12345678"


def test_a_value_inside_another_never_leaves_part_of_the_longer_one_behind():
    r = Redactor(["abc123", "abc123-suffix-xyz"])
    assert r.text("x abc123-suffix-xyz y abc123 z") == "x %s y %s z" % (MARK, MARK)
    r = Redactor(["abc123-suffix-xyz", "abc123"])  # order given does not matter
    assert r.text("abc123-suffix-xyz") == MARK


def test_a_multi_line_value_is_hidden_whole_and_line_by_line():
    pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nAQEFAASCBKcwggSjAgEAAoIB\n-----END KEY-----"
    r = Redactor([pem])
    assert r.text("key:\n" + pem + "\nend") == "key:\n%s\nend" % MARK
    tail = "AQEFAASCBKcwggSjAgEAAoIB\n-----END KEY-----"  # an output tail cut inside the key
    assert "AQEFAASCBKcwggSjAgEAAoIB" not in r.text(tail)


def test_url_encoded_and_json_escaped_forms_are_hidden_too():
    value = "p@ss word/+&=\"x"
    r = Redactor([value])
    assert forms(value) >= {value, "p%40ss%20word%2F%2B%26%3D%22x", "p%40ss+word%2F%2B%26%3D%22x", 'p@ss word/+&=\\"x'}
    assert r.text("dsn=postgres://u:p%40ss%20word%2F%2B%26%3D%22x@db") .count("p%40ss") == 0
    assert value not in r.text(json.dumps({"v": value}))


def test_the_password_of_a_url_value_is_hidden_alone_as_well():
    r = Redactor(["postgres://app:Zq9-pass-77@db:5432/app"])
    assert r.text("connecting as app with Zq9-pass-77 failed") == "connecting as app with %s failed" % MARK
    assert r.text("postgres://app:Zq9-pass-77@db:5432/app") == MARK


def test_every_url_loses_its_password_and_query_values_but_keeps_the_rest():
    text = "GET https://bob:hunter22@api.example/v1/health?token=t0k3n&x=&full=1#frag failed"
    assert scrub_urls(text) == ("GET https://bob:%s@api.example/v1/health?token=%s&x=&full=%s#frag failed"
                                % (MARK, MARK, MARK))
    assert scrub_urls("http://127.0.0.1:8081/health ok") == "http://127.0.0.1:8081/health ok"
    assert Redactor().text("see https://h/p?k=v") == "see https://h/p?k=%s" % MARK


def test_data_redacts_strings_at_any_depth_and_leaves_keys_and_other_types():
    r = Redactor(["s3cret-value"])
    data = {"msg": "x s3cret-value", "n": 3, "list": ["s3cret-value", {"s3cret-value": "s3cret-value"}], "ok": True}
    assert r.data(data) == {"msg": "x " + MARK, "n": 3, "list": [MARK, {"s3cret-value": MARK}], "ok": True}


def test_fields_touches_only_the_free_text_named():
    r = Redactor(["sample-app"])
    result = {"msg": "sample-app down", "images": {"web": "sample-app-web:1"}}
    r.fields(result, ("msg", "summary"))
    assert result == {"msg": MARK + " down", "images": {"web": "sample-app-web:1"}}


def test_the_secrets_of_a_run_come_from_the_env_file_the_passwords_and_the_probes(tmp_path):
    env = tmp_path / ".env"
    env.write_text("export DB_PASSWORD='pw with space'\nDSN=\"postgres://a:b-long-pw@h/d\"\nPORT=5432\n# C=commented\n")
    assert env_values(env.read_text()) == ["pw with space", "postgres://a:b-long-pw@h/d", "5432"]
    headers = {"Authorization": "Basic Zm9vOmJhcg==", "Host": "shop.example"}
    probes = [{"url": "https://u:probe-pw-1@h/x?key=qk-123456", "headers": headers}]
    assert set(probe_secrets(probes)) == {"probe-pw-1", "qk-123456", "Basic Zm9vOmJhcg=="}
    r = Redactor.for_run(str(env), passwords=["registry-pw", None], probes=probes)
    text = r.text("pw with space b-long-pw registry-pw Basic Zm9vOmJhcg== shop.example qk-123456 probe-pw-1")
    assert text == " ".join([MARK] * 4 + ["shop.example"] + [MARK] * 2)
    assert Redactor.for_run(str(tmp_path / "missing")).needles == []
