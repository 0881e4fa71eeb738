"""The errors the client raises, one class per answer of the API an app handles differently."""


class FusionBillingError(Exception):
    """An answer of the API that is not a success. ``status`` is the HTTP status (None when
    no answer came), ``code`` and ``message`` the API's error, ``details`` its list of
    problems (each a dict with ``index``, ``field``, ``message``; ``index`` is the
    position in the events given to ``report_usage``), ``count`` how many there were."""

    def __init__(self, message, status=None, code=None, details=None, count=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details or []
        self.count = count if count is not None else len(self.details)


class ValidationError(FusionBillingError):
    """400: some events are invalid; nothing of their batch was stored."""


class AuthenticationError(FusionBillingError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(FusionBillingError):
    """403: a subscription that does not exist or is not one of the service's customers."""


class PayloadTooLargeError(FusionBillingError):
    """413: a request over the API's limits (the client's batching prevents it)."""


class UnsupportedMediaTypeError(FusionBillingError):
    """415: the body was not sent as JSON."""


class ServiceUnavailableError(FusionBillingError):
    """Transport errors, 429 and 502-504 that were still there after every retry."""


class WebhookVerificationError(Exception):
    """A webhook whose signature or timestamp does not check out: answer 400, do not use it."""


ERRORS_BY_STATUS = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
}
