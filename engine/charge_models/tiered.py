"""What the tiered charge models share: how their tier table reads."""

from decimal import Decimal

from ..money import format_decimal


def describe_tiers(tiers, number):
    """The tiers as text: "0-10,000 at 0.01; above 10,000 at 0.005 + 10"."""
    parts = []
    lower = Decimal(0)
    for tier in tiers:
        fee = f" + {format_decimal(tier.flat_fee)}" if tier.flat_fee else ""
        if tier.up_to is None:
            parts.append(f"above {number(lower)} at {format_decimal(tier.unit_price)}{fee}")
        else:
            parts.append(f"{number(lower)}-{number(tier.up_to)} at {format_decimal(tier.unit_price)}{fee}")
            lower = tier.up_to
    return "; ".join(parts)
