"""Verifying the webhooks Fusion Billing sends."""

import base64
import hashlib
import hmac
import json
import time

from .errors import WebhookVerificationError

STANDARD_SECRET_PREFIX = "whsec_"


def verify_webhook(body, headers, secret, tolerance=300, now=None):
    """Check a webhook and return its event (the parsed JSON body).

    ``body`` is the raw request body (bytes or text, exactly as received), ``headers``
    the request's headers (any mapping; names are matched case-insensitively),
    ``secret`` the service's webhook secret as the Odoo form shows it (its
    ``whsec_`` form is accepted too). The Standard Webhooks headers (``webhook-id``,
    ``webhook-timestamp``, ``webhook-signature``) are checked when present, and their
    timestamp must be within ``tolerance`` seconds of ``now``; otherwise
    ``X-Fusion-Signature`` is checked, along with the timestamp when one is sent.
    Signatures are compared in constant time. Raises WebhookVerificationError.
    """
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    key = _key(secret)
    found = {name.lower(): value for name, value in headers.items()}
    now = time.time() if now is None else now
    timestamp = found.get("webhook-timestamp")
    if timestamp is not None:
        try:
            seconds = int(timestamp)
        except ValueError:
            raise WebhookVerificationError("webhook-timestamp is not a number of seconds") from None
        if abs(now - seconds) > tolerance:
            raise WebhookVerificationError("the webhook's timestamp is too old or in the future: refused as a replay")
    if found.get("webhook-signature") and found.get("webhook-id") and timestamp is not None:
        signed = f"{found['webhook-id']}.{timestamp}.".encode("utf-8") + raw
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")
        candidates = [part.split(",", 1)[1] for part in found["webhook-signature"].split()
                      if part.startswith("v1,")]
        if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            raise WebhookVerificationError("the webhook-signature does not match")
    elif found.get("x-fusion-signature"):
        expected = "sha256=" + hmac.new(key, raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, found["x-fusion-signature"]):
            raise WebhookVerificationError("X-Fusion-Signature does not match")
    else:
        raise WebhookVerificationError("the webhook is not signed")
    try:
        return json.loads(raw)
    except ValueError:
        raise WebhookVerificationError("the webhook's body is not JSON") from None


def _key(secret):
    """The HMAC key: the secret's own bytes (a ``whsec_`` secret is base64 of them)."""
    if not secret:
        raise ValueError("the webhook secret is required")
    if secret.startswith(STANDARD_SECRET_PREFIX):
        return base64.b64decode(secret[len(STANDARD_SECRET_PREFIX):])
    return secret.encode("utf-8")
