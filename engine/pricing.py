"""Rating: from an aggregated quantity and a charge's terms to an amount."""

from dataclasses import dataclass
from decimal import Decimal, DecimalException

from .charge_models import get_charge_model
from .exceptions import EngineError
from .money import decimal_context, round_amount, to_decimal
from .terms import validate_terms


@dataclass(frozen=True)
class Rating:
    """The result of rating one charge over one period.

    ``amount`` is rounded to the currency; ``unrounded_amount`` is the exact
    value it was rounded from, kept for descriptions and checks.
    """

    aggregated_quantity: Decimal
    included_quantity: Decimal
    billable_quantity: Decimal
    amount: Decimal
    unrounded_amount: Decimal


def billable_quantity(aggregated_quantity, included_quantity):
    """Return the units left to bill once the free ones are taken off (>= 0)."""
    return max(Decimal(0), aggregated_quantity - included_quantity)


def rate(aggregated_quantity, terms, rounding):
    """Price ``aggregated_quantity`` units under ``terms``; return a Rating.

    The amount is computed exactly and rounded once, at the end, half up to
    the currency's ``rounding`` increment. Raises TermsError for unusable
    terms and EngineError for a negative, non-numeric or unpriceably large
    quantity.
    """
    validate_terms(terms)
    aggregated_quantity = to_decimal(aggregated_quantity, "Aggregated quantity")
    if aggregated_quantity < 0:
        # Usage quantities are never negative: a negative total means bad data
        # that must not be turned into a credit silently.
        raise EngineError("Aggregated quantity must not be negative.")
    try:
        with decimal_context():
            billable = billable_quantity(aggregated_quantity, terms.included_quantity)
            unrounded_amount = get_charge_model(terms.charge_model).compute_amount(billable, terms)
        amount = round_amount(unrounded_amount, rounding)
    except DecimalException:
        # An absurd quantity (1e120 units) overflows exact money arithmetic: a clear
        # error for that subscription, never an arithmetic exception for the caller.
        raise EngineError(f"The quantity {aggregated_quantity:E} is too large to be priced.") from None
    return Rating(
        aggregated_quantity=aggregated_quantity,
        included_quantity=terms.included_quantity,
        billable_quantity=billable,
        amount=amount,
        unrounded_amount=unrounded_amount,
    )
