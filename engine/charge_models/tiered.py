"""What the tiered charge models share: how their tier table reads."""

from decimal import Decimal

from ..phrases import Phrase, Price, Quantity, _lt


def describe_tiers(tiers, unit):
    """One phrase per tier: "0 to 10,000 calls at 0.01", "above 10,000 calls at 0.005 + 10"."""
    phrases = []
    lower = Decimal(0)
    for tier in tiers:
        values = {'lower': Quantity(lower), 'upper': Quantity(tier.up_to, unit), 'price': Price(tier.unit_price),
                  'fee': Price(tier.flat_fee), 'above': Quantity(lower, unit)}
        if tier.up_to is None:
            text = (_lt("above %(above)s at %(price)s + %(fee)s") if tier.flat_fee
                    else _lt("above %(above)s at %(price)s"))
        else:
            text = (_lt("%(lower)s to %(upper)s at %(price)s + %(fee)s") if tier.flat_fee
                    else _lt("%(lower)s to %(upper)s at %(price)s"))
            lower = tier.up_to
        phrases.append(Phrase(text, {name: value for name, value in values.items() if f"%({name})s" in text}))
    return phrases
