"""webhookd.verify against the shared vectors in testdata/webhook_signatures.json."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

import webhookd
from support import REPO_ROOT

VECTORS = json.loads((REPO_ROOT / "testdata" / "webhook_signatures.json").read_text())
TOLERANCE = VECTORS["tolerance_seconds"]


def headers(vector, signature=None, timestamp=None):
    return {
        "webhook-id": vector["msg_id"],
        "webhook-timestamp": str(vector["timestamp"] if timestamp is None else timestamp),
        "webhook-signature": vector["signature"] if signature is None else signature,
    }


def test_default_tolerance_matches_the_vectors():
    assert webhookd.DEFAULT_TOLERANCE == timedelta(seconds=TOLERANCE)


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["msg_id"])
def test_valid_vectors_verify(vector):
    body = vector["body"].encode("utf-8")
    webhookd.verify(vector["secret"], headers(vector), body, now=vector["timestamp"])
    # A str body is the same UTF-8 bytes.
    webhookd.verify(vector["secret"], headers(vector), vector["body"], now=vector["timestamp"])


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["msg_id"])
def test_sign_reproduces_valid_vectors(vector):
    assert webhookd.sign(vector["secret"], vector["msg_id"], vector["timestamp"],
                         vector["body"]) == vector["signature"]


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["why"])
def test_invalid_vectors_fail(vector):
    with pytest.raises(webhookd.WebhookVerificationError, match="signature"):
        webhookd.verify(vector["secret"], headers(vector), vector["body"].encode(),
                        now=vector["timestamp"])


@pytest.mark.parametrize("which", ["new_secret", "old_secret"])
def test_rotation_header_verifies_with_either_secret(which):
    rotation = VECTORS["rotation"]
    webhookd.verify(rotation[which], headers(rotation), rotation["body"].encode(),
                    now=rotation["timestamp"])


def test_rotation_header_rejects_a_third_secret():
    rotation = VECTORS["rotation"]
    other = VECTORS["valid"][2]["secret"]
    with pytest.raises(webhookd.WebhookVerificationError):
        webhookd.verify(other, headers(rotation), rotation["body"].encode(),
                        now=rotation["timestamp"])


def test_timestamp_tolerance_both_ways():
    vector = VECTORS["valid"][0]
    ts = vector["timestamp"]
    body = vector["body"].encode()
    # At the edge of the tolerance: still fine.
    webhookd.verify(vector["secret"], headers(vector), body, now=ts + TOLERANCE)
    webhookd.verify(vector["secret"], headers(vector), body, now=ts - TOLERANCE)
    with pytest.raises(webhookd.WebhookVerificationError, match="too old"):
        webhookd.verify(vector["secret"], headers(vector), body, now=ts + TOLERANCE + 1)
    with pytest.raises(webhookd.WebhookVerificationError, match="future"):
        webhookd.verify(vector["secret"], headers(vector), body, now=ts - TOLERANCE - 1)


def test_stale_timestamp_rejected_against_the_clock():
    # The vectors are years old: checked against the real clock they fail.
    vector = VECTORS["valid"][0]
    with pytest.raises(webhookd.WebhookVerificationError, match="too old"):
        webhookd.verify(vector["secret"], headers(vector), vector["body"].encode())


def test_custom_tolerance_and_datetime_now():
    vector = VECTORS["valid"][1]
    ts = vector["timestamp"]
    later = datetime.fromtimestamp(ts + 3600, tz=timezone.utc)
    with pytest.raises(webhookd.WebhookVerificationError):
        webhookd.verify(vector["secret"], headers(vector), vector["body"], now=later)
    webhookd.verify(vector["secret"], headers(vector), vector["body"], now=later,
                    tolerance=timedelta(hours=1))
    webhookd.verify(vector["secret"], headers(vector), vector["body"], now=later,
                    tolerance=3600)


def test_fresh_signature_verifies_with_the_default_now():
    secret = VECTORS["valid"][1]["secret"]
    now = int(datetime.now(timezone.utc).timestamp())
    signature = webhookd.sign(secret, "msg_1", now, b"{}")
    webhookd.verify(secret, {"webhook-id": "msg_1", "webhook-timestamp": str(now),
                             "webhook-signature": signature}, b"{}")


def test_header_names_are_case_insensitive_and_pairs_work():
    vector = VECTORS["valid"][0]
    mixed = {"Webhook-Id": vector["msg_id"], "WEBHOOK-TIMESTAMP": str(vector["timestamp"]),
             "Webhook-Signature": vector["signature"]}
    webhookd.verify(vector["secret"], mixed, vector["body"], now=vector["timestamp"])
    webhookd.verify(vector["secret"], list(mixed.items()), vector["body"],
                    now=vector["timestamp"])


def test_raw_key_bytes_are_accepted():
    import base64
    vector = VECTORS["valid"][1]
    key = base64.b64decode(vector["secret"][len("whsec_"):])
    webhookd.verify(key, headers(vector), vector["body"], now=vector["timestamp"])


def test_signature_among_unknown_versions_and_junk():
    vector = VECTORS["valid"][0]
    signature = f"v2,abc junk v1a,zzz {vector['signature']} v1,"
    webhookd.verify(vector["secret"], headers(vector, signature=signature),
                    vector["body"], now=vector["timestamp"])


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(missing):
    vector = VECTORS["valid"][0]
    h = headers(vector)
    del h[missing]
    with pytest.raises(webhookd.WebhookVerificationError, match=missing):
        webhookd.verify(vector["secret"], h, vector["body"], now=vector["timestamp"])


@pytest.mark.parametrize("timestamp", ["", "abc", "-1", "1e9", "١٢٣"])
def test_malformed_timestamp(timestamp):
    vector = VECTORS["valid"][0]
    with pytest.raises(webhookd.WebhookVerificationError):
        webhookd.verify(vector["secret"], headers(vector, timestamp=timestamp),
                        vector["body"], now=vector["timestamp"])


def test_bad_secret_is_a_value_error():
    vector = VECTORS["valid"][0]
    with pytest.raises(ValueError):
        webhookd.verify("whsec_not base64!", headers(vector), vector["body"],
                        now=vector["timestamp"])
