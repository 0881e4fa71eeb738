"""From a rating to the values of the subscription line that carries it.

Odoo invoices a postpaid line at ``delivered quantity x unit price``, and stores both
with a fixed number of decimals (2 by default, the "Product Unit" and "Product Price"
precisions). The rated amount must survive that product exactly, so the pair is
chosen here rather than left to rounding; the line's description carries the real
units and prices.
"""

from datetime import timedelta
from decimal import Decimal

from .charge_models import get_charge_model
from .exceptions import EngineError
from .money import decimal_context, format_decimal, to_decimal
from .phrases import Day, Phrase, Quantity, _lt


def fits(value, digits):
    """True when ``value`` has at most ``digits`` decimals."""
    return value == value.quantize(Decimal(1).scaleb(-digits))


def line_quantity_and_price(amount, billable_quantity, unit_price, price_digits, quantity_digits):
    """Return (quantity, price_unit) whose product is exactly ``amount``.

    The natural pair (billable units at ``unit_price``, None when the charge has no single
    unit price) is kept when it multiplies out to the amount and both fit their
    precisions; otherwise one unit at the amount;
    otherwise a fraction of a unit (0.1, 0.01, ...) at a larger price, for currencies
    with more decimals than the price precision. A zero amount gives quantity 0.
    """
    amount = to_decimal(amount, "Amount")
    billable_quantity = to_decimal(billable_quantity, "Billable quantity")
    unit_price = None if unit_price is None else to_decimal(unit_price, "Unit price")
    natural = unit_price is not None and fits(unit_price, price_digits)
    with decimal_context():
        if amount == 0:
            return Decimal(0), unit_price if natural else Decimal(0)
        if natural and billable_quantity * unit_price == amount and fits(billable_quantity, quantity_digits):
            return billable_quantity, unit_price
        for decimals in range(quantity_digits + 1):
            quantity = Decimal(1).scaleb(-decimals)
            price = amount.scaleb(decimals)
            if fits(price, price_digits):
                return quantity, price
    raise EngineError(
        f"The amount {format_decimal(amount)} cannot be written as a quantity with {quantity_digits} "
        f"decimals times a price with {price_digits} decimals.")


def natural_unit_price(terms, rating):
    """The single per-unit price of ``rating`` when its charge model has one, else None."""
    return get_charge_model(terms.charge_model).unit_price(rating.billable_quantity, terms)


def describe_rating(label, unit_name, terms, rating):
    """The phrases of a usage line (see phrases.py): what was counted, what was free,
    how it was priced."""
    return [Phrase(_lt("%(metric)s: %(quantity)s, %(included)s included, %(billable)s billable"),
                   {'metric': label, **_counts(unit_name, rating)}),
            *_pricing(unit_name, terms, rating.billable_quantity)]


def describe_periods(label, unit_name, terms, period_ratings):
    """Like describe_rating, for a line that bills several billing periods at once:
    ``period_ratings`` lists (first day, day after the last, Rating); each period
    was priced on its own and gets its own line."""
    if len(period_ratings) == 1:
        return describe_rating(label, unit_name, terms, period_ratings[0][2])
    phrases = [Phrase(_lt("%(metric)s:"), {'metric': label})]
    phrases += [Phrase(_lt("%(first_day)s to %(last_day)s: %(quantity)s, %(included)s included, "
                           "%(billable)s billable"),
                       {'first_day': Day(start), 'last_day': Day(end - timedelta(days=1)),
                        **_counts(unit_name, rating)})
                for start, end, rating in period_ratings]
    phrases += _pricing(unit_name, terms, sum(rating.billable_quantity for _start, _end, rating in period_ratings))
    return phrases


def _counts(unit_name, rating):
    return {'quantity': Quantity(rating.aggregated_quantity, unit_name or ''),
            'included': Quantity(rating.included_quantity),
            'billable': Quantity(rating.billable_quantity)}


def _pricing(unit_name, terms, billable_quantity):
    return get_charge_model(terms.charge_model).describe_pricing(billable_quantity, terms, unit_name or '')
