"""Verifying the webhooks Fusion Billing sends."""

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timezone

from .errors import WebhookVerificationError

STANDARD_SECRET_PREFIX = "whsec_"


def verify_webhook(body, headers, secret, tolerance=300, now=None, legacy=False):
    """Check a webhook and return its event (the parsed JSON body).

    ``body`` is the raw request body (bytes or text, exactly as received), ``headers``
    the request's headers (any mapping; names are matched case-insensitively),
    ``secret`` the service's webhook secret as the Odoo form shows it (its ``whsec_``
    form is accepted too). The Standard Webhooks headers (``webhook-id``,
    ``webhook-timestamp``, ``webhook-signature``) are required, and the signed
    timestamp must be within ``tolerance`` seconds of ``now``. With ``legacy=True``, a
    delivery carrying only ``X-Fusion-Signature`` (which signs the body alone) is
    accepted too, and then the event's own ``created_at`` must be within ``tolerance``.
    Signatures are compared in constant time. Raises WebhookVerificationError.
    """
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    key = _key(secret)
    found = {str(name).lower(): value for name, value in headers.items()}
    now = time.time() if now is None else now
    if found.get("webhook-signature") or not legacy:
        _check_standard(raw, found, key, now, tolerance)
        return _event(raw)
    if not found.get("x-fusion-signature"):
        raise WebhookVerificationError("the webhook is not signed")
    expected = "sha256=" + hmac.new(key, raw, hashlib.sha256).hexdigest()
    if not _same(expected, found["x-fusion-signature"]):
        raise WebhookVerificationError("X-Fusion-Signature does not match")
    event = _event(raw)
    created_at = event.get("created_at") if isinstance(event, dict) else None
    try:
        created = datetime.fromisoformat(str(created_at).replace("Z", "+00:00"))
    except ValueError:
        raise WebhookVerificationError("the event has no readable created_at") from None
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    _check_age(created.timestamp(), now, tolerance)
    return event


def _check_standard(raw, found, key, now, tolerance):
    webhook_id, timestamp, signatures = (found.get("webhook-id"), found.get("webhook-timestamp"),
                                         found.get("webhook-signature"))
    if not (webhook_id and timestamp and signatures):
        raise WebhookVerificationError("the Standard Webhooks headers are missing")
    try:
        seconds = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number of seconds") from None
    _check_age(seconds, now, tolerance)
    signed = f"{webhook_id}.{timestamp}.".encode("utf-8") + raw
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")
    candidates = [part.split(",", 1)[1] for part in signatures.split() if part.startswith("v1,")]
    if not any(_same(expected, candidate) for candidate in candidates):
        raise WebhookVerificationError("the webhook-signature does not match")


def _check_age(seconds, now, tolerance):
    if abs(now - seconds) > tolerance:
        raise WebhookVerificationError("the webhook's timestamp is too old or in the future: refused as a replay")


def _same(expected, given):
    """Constant-time comparison that refuses, rather than fails on, non-ASCII input."""
    return hmac.compare_digest(expected.encode("ascii"), str(given).encode("utf-8"))


def _event(raw):
    try:
        return json.loads(raw)
    except ValueError:
        raise WebhookVerificationError("the webhook's body is not JSON") from None


def _key(secret):
    """The HMAC key: the secret's own bytes (a ``whsec_`` secret is base64 of them)."""
    if not secret:
        raise ValueError("the webhook secret is required")
    if secret.startswith(STANDARD_SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(STANDARD_SECRET_PREFIX):], validate=True)
        except ValueError:
            raise ValueError("the whsec_ secret is not valid base64") from None
        if not key:
            raise ValueError("the webhook secret is empty")
        return key
    return secret.encode("utf-8")
