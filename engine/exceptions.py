"""Errors raised by the billing engine.

Every error carries a sentence meant for a person (a billing admin or an API
client), so callers can show ``str(error)`` as it is.
"""


class EngineError(ValueError):
    """Bad configuration or bad input given to the engine."""


class TermsError(EngineError):
    """The pricing terms of a charge are not usable."""


class TierError(TermsError):
    """The tier table of a graduated or volume charge is not usable."""


class InputError(EngineError):
    """A value received from outside (an API request) is not acceptable.

    ``field`` names the offending field (e.g. ``'quantity'``), or is None when
    the problem is the request body as a whole.
    """

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field
