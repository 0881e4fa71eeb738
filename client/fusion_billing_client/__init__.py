"""Client of Fusion Billing for source apps: report usage, read it, verify webhooks."""

from .client import Client, idempotency_key
from .errors import (
    AuthenticationError,
    FusionBillingError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
    ValidationError,
    WebhookVerificationError,
)
from .webhooks import verify_webhook

__all__ = [
    'AuthenticationError',
    'Client',
    'FusionBillingError',
    'PayloadTooLargeError',
    'PermissionDeniedError',
    'ServiceUnavailableError',
    'UnsupportedMediaTypeError',
    'ValidationError',
    'WebhookVerificationError',
    'idempotency_key',
    'verify_webhook',
]
