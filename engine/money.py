"""Exact decimal conversion and the one rounding step of the engine."""

import decimal
from decimal import ROUND_HALF_UP, Decimal

from .const import DECIMAL_PRECISION
from .exceptions import EngineError


def decimal_context():
    """Return a context manager for exact money arithmetic.

    Inside it, additions and products of realistic amounts are never rounded,
    so the only rounding is the explicit one done by ``round_amount``.
    """
    return decimal.localcontext(prec=DECIMAL_PRECISION, rounding=ROUND_HALF_UP)


def to_decimal(value, label='Value'):
    """Return ``value`` (int, float or Decimal) as an exact, finite Decimal.

    A float is converted through its shortest repr, so 0.1 becomes
    Decimal('0.1') and not its binary expansion. ``label`` names the value in
    the error raised for booleans, non-numbers, NaN and infinities.
    """
    # bool is a subclass of int: True must not silently mean 1.
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise EngineError(f"{label} must be a number.")
    if isinstance(value, float):
        value = Decimal(repr(value))
    else:
        value = Decimal(value)
    if not value.is_finite():
        raise EngineError(f"{label} must be a finite number.")
    return value


def round_amount(amount, rounding):
    """Return ``amount`` rounded half up to a multiple of ``rounding``.

    ``rounding`` is the currency's rounding increment (0.01, 0.05, 1, ...).
    Half up means away from zero, as Odoo's ``float_round`` does.
    """
    amount = to_decimal(amount, 'Amount')
    rounding = to_decimal(rounding, 'Rounding')
    if rounding <= 0:
        raise EngineError("Rounding must be greater than 0.")
    with decimal_context():
        # Quantizing to a whole number (exponent 0) makes the product carry
        # the increment's exponent: 750 rounded to 0.01 reads 750.00.
        increments = (amount / rounding).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return increments * rounding


def format_decimal(value):
    """Return ``value`` as plain text without exponent or trailing zeros.

    Used in messages and descriptions: Decimal('100.0') reads "100".
    """
    text = f"{Decimal(value).normalize():f}"
    return '0' if text == '-0' else text


def decimal_places(value):
    """How many decimals ``value`` needs to be shown exactly: 1500 none, 0.0125 four."""
    return max(0, -to_decimal(value).normalize().as_tuple().exponent)
