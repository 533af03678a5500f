"""Receiver side: Standard Webhooks signature verification.

webhookd signs each delivery with the subscription's ``whsec_`` secret:

    webhook-signature: v1,<base64(HMAC-SHA256(key, id + "." + timestamp + "." + body))>

where ``key`` is the base64-decoded part of the secret after ``whsec_``.
After a secret rotation the header carries one ``v1,...`` entry per secret,
space-separated; any one that matches is enough.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from datetime import datetime, timedelta
from typing import Iterable, Mapping, Optional, Tuple, Union

from .errors import WebhookVerificationError

__all__ = ["verify", "sign", "DEFAULT_TOLERANCE"]

DEFAULT_TOLERANCE = timedelta(minutes=5)
_SECRET_PREFIX = "whsec_"

Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]]]


def _key(secret: Union[str, bytes]) -> bytes:
    """The HMAC key: raw bytes as given, or a ``whsec_`` secret decoded."""
    if isinstance(secret, (bytes, bytearray)):
        return bytes(secret)
    if not isinstance(secret, str):
        raise TypeError("secret must be a whsec_ string or the key's bytes")
    encoded = secret[len(_SECRET_PREFIX):] if secret.startswith(_SECRET_PREFIX) else secret
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("secret is not a whsec_ signing secret (base64 after "
                         "the prefix)") from error


def _lower_headers(headers: Headers) -> dict:
    items = headers.items() if hasattr(headers, "items") else headers
    lowered: dict = {}
    for name, value in items:
        # The first of repeated headers wins, as most frameworks report it.
        lowered.setdefault(str(name).lower(), value)
    return lowered


def _seconds(value: Union[timedelta, int, float]) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _epoch(now: Union[None, datetime, int, float]) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        return now.timestamp()
    return float(now)


def sign(secret: Union[str, bytes], msg_id: str, timestamp: int,
         body: Union[bytes, str]) -> str:
    """The ``v1,<base64>`` signature webhookd sends for these inputs."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    signed = f"{msg_id}.{int(timestamp)}.".encode("utf-8") + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(secret: Union[str, bytes], headers: Headers, body: Union[bytes, str],
           tolerance: Union[timedelta, int, float] = DEFAULT_TOLERANCE,
           now: Union[None, datetime, int, float] = None) -> None:
    """Checks a webhook request's Standard Webhooks signature and timestamp.

    Args:
      secret: the subscription's ``whsec_...`` secret (from
        CreateSubscription or RotateSubscriptionSecret), or the raw key bytes.
      headers: the request headers: a mapping (names in any case) or pairs.
      body: the raw request body, exactly as received.
      tolerance: how far ``webhook-timestamp`` may be from ``now`` either
        way (a :class:`~datetime.timedelta` or seconds; default 5 minutes).
      now: the time to check against (datetime or Unix seconds); default
        the current time.

    Returns None when the request is authentic.

    Raises:
      WebhookVerificationError: a header is missing or malformed, the
        timestamp is outside the tolerance, or no signature matches.
      ValueError: ``secret`` is not a valid secret.
    """
    key = _key(secret)
    lowered = _lower_headers(headers)
    msg_id = lowered.get("webhook-id")
    timestamp_text = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    for name, value in (("webhook-id", msg_id), ("webhook-timestamp", timestamp_text),
                        ("webhook-signature", signatures)):
        if not value:
            raise WebhookVerificationError(f"missing {name} header")

    timestamp_text = timestamp_text.strip()
    if not timestamp_text.isascii() or not timestamp_text.isdigit():
        raise WebhookVerificationError("webhook-timestamp is not a Unix time in seconds")
    timestamp = int(timestamp_text)
    current = _epoch(now)
    limit = _seconds(tolerance)
    if timestamp < current - limit:
        raise WebhookVerificationError("webhook-timestamp is too old")
    if timestamp > current + limit:
        raise WebhookVerificationError("webhook-timestamp is too far in the future")

    expected = sign(key, msg_id, timestamp, body).encode("ascii")
    matched = False
    for entry in signatures.split():
        version, sep, _ = entry.partition(",")
        if not sep or version != "v1":
            continue
        # Every entry is compared, in constant time each.
        if hmac.compare_digest(expected, entry.encode("utf-8", "replace")):
            matched = True
    if not matched:
        raise WebhookVerificationError("no matching webhook-signature")
