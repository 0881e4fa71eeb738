import pytest

from fusion_billing_client import WebhookVerificationError, verify_webhook

# Signatures made by the server's signing code for secret "s3cr3t", event "evt_1",
# timestamp 1700000000 and this body.
BODY = b'{"type":"x"}'
SECRET = "s3cr3t"
FUSION_SIGNATURE = "sha256=9b1a12eaaa8d3ef0f237f0943dde759581e8df941d710a37e69d6e118ac1cf75"
STANDARD_SIGNATURE = "v1,VoNIAqh6LEEhmnJsFZDDr8dLUVuYgSaclhiHBkQVk+4="
STANDARD = {"webhook-id": "evt_1", "webhook-timestamp": "1700000000", "webhook-signature": STANDARD_SIGNATURE}


def test_standard_webhooks_headers_are_verified_with_the_secret_or_its_whsec_form():
    assert verify_webhook(BODY, STANDARD, SECRET, now=1700000100) == {"type": "x"}
    assert verify_webhook(BODY.decode(), STANDARD, "whsec_czNjcjN0", now=1700000100) == {"type": "x"}


def test_header_names_are_matched_whatever_their_case():
    headers = {name.title(): value for name, value in STANDARD.items()}
    assert verify_webhook(BODY, headers, SECRET, now=1700000000) == {"type": "x"}


LEGACY_BODY = b'{"created_at":"2023-11-14T22:13:20Z","type":"x"}'


def _legacy_signature(body):
    import hashlib
    import hmac
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_x_fusion_signature_alone_is_refused_unless_asked_for():
    with pytest.raises(WebhookVerificationError, match="Standard Webhooks headers are missing"):
        verify_webhook(BODY, {"X-Fusion-Signature": FUSION_SIGNATURE}, SECRET)


def test_with_legacy_x_fusion_signature_is_verified_and_created_at_must_be_recent():
    headers = {"X-Fusion-Signature": _legacy_signature(LEGACY_BODY)}
    assert verify_webhook(LEGACY_BODY, headers, SECRET, legacy=True, now=1700000000 + 60)["type"] == "x"
    with pytest.raises(WebhookVerificationError, match="replay"):
        verify_webhook(LEGACY_BODY, headers, SECRET, legacy=True, now=1700000000 + 3600)
    with pytest.raises(WebhookVerificationError, match="created_at"):
        verify_webhook(BODY, {"X-Fusion-Signature": FUSION_SIGNATURE}, SECRET, legacy=True)


def test_a_captured_delivery_cannot_be_replayed_by_dropping_the_standard_signature():
    replay = {"X-Fusion-Signature": FUSION_SIGNATURE, "webhook-timestamp": "1800000000", "webhook-id": "evt_1"}
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, replay, SECRET, now=1800000000)


def test_a_non_ascii_signature_is_refused_not_a_crash():
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, dict(STANDARD, **{"webhook-signature": "v1,été"}), SECRET, now=1700000000)


def test_a_malformed_whsec_secret_is_an_error():
    with pytest.raises(ValueError):
        verify_webhook(BODY, STANDARD, "whsec_!!!", now=1700000000)


def test_one_of_several_standard_signatures_may_match():
    headers = dict(STANDARD, **{"webhook-signature": "v1,bm9wZQ== " + STANDARD_SIGNATURE})
    assert verify_webhook(BODY, headers, SECRET, now=1700000000)


@pytest.mark.parametrize("body, headers, secret", [
    (BODY + b" ", STANDARD, SECRET),
    (BODY, STANDARD, "other"),
    (BODY, dict(STANDARD, **{"webhook-id": "evt_2"}), SECRET),
    (BODY, {"X-Fusion-Signature": FUSION_SIGNATURE}, SECRET),
    (BODY, {}, SECRET),
])
def test_anything_altered_or_unsigned_is_refused(body, headers, secret):
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, secret, now=1700000000)


def test_stale_and_future_timestamps_are_refused():
    with pytest.raises(WebhookVerificationError, match="replay"):
        verify_webhook(BODY, STANDARD, SECRET, now=1700000000 + 301)
    with pytest.raises(WebhookVerificationError, match="replay"):
        verify_webhook(BODY, STANDARD, SECRET, now=1700000000 - 301)
    assert verify_webhook(BODY, STANDARD, SECRET, tolerance=600, now=1700000000 + 500)
