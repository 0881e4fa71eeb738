"""Price tiers of graduated and volume charges, and their validation."""

from dataclasses import dataclass
from decimal import Decimal

from .exceptions import EngineError, TierError
from .money import format_decimal, to_decimal


@dataclass(frozen=True)
class Tier:
    """One row of a tier table.

    ``up_to`` is the inclusive upper bound of the tier, None for the last,
    open-ended tier. The lower bound is the previous tier's ``up_to`` (0 for
    the first tier), exclusive.
    """

    up_to: Decimal | None
    unit_price: Decimal
    flat_fee: Decimal = Decimal(0)

    def __post_init__(self):
        # Odoo hands over floats: store exact decimals so tiers compare and
        # price exactly.
        try:
            if self.up_to is not None:
                object.__setattr__(self, 'up_to', to_decimal(self.up_to, "Tier upper bound"))
            object.__setattr__(self, 'unit_price', to_decimal(self.unit_price, "Tier unit price"))
            object.__setattr__(self, 'flat_fee', to_decimal(self.flat_fee, "Tier flat fee"))
        except EngineError as error:
            raise TierError(str(error)) from None

    @property
    def is_open_ended(self):
        """Return True when the tier has no upper bound."""
        return self.up_to is None


def validate_tiers(tiers):
    """Check that ``tiers`` form a usable tier table; return them as a tuple.

    A usable table has at least one tier, strictly increasing positive upper
    bounds, a single open-ended tier in last position, and no negative price
    or fee. Raises TierError naming the first tier at fault (numbered from 1).
    """
    tiers = tuple(tiers)
    if not tiers:
        raise TierError("A tiered charge needs at least one tier.")
    previous_up_to = None
    for number, tier in enumerate(tiers, start=1):
        if not isinstance(tier, Tier):
            raise TierError(f"Tier {number} is not a Tier.")
        if tier.unit_price < 0:
            raise TierError(f"Tier {number} unit price must not be negative.")
        if tier.flat_fee < 0:
            raise TierError(f"Tier {number} flat fee must not be negative.")
        is_last = number == len(tiers)
        if tier.is_open_ended:
            if not is_last:
                raise TierError(
                    f"Only the last tier can be open-ended, but tier {number} has no upper bound."
                )
            continue
        if is_last:
            raise TierError("The last tier must be open-ended (no upper bound).")
        if tier.up_to <= 0:
            raise TierError(f"Tier {number} must end above 0.")
        if previous_up_to is not None and tier.up_to <= previous_up_to:
            raise TierError(
                f"Tier {number} must end above tier {number - 1} ({format_decimal(previous_up_to)})."
            )
        previous_up_to = tier.up_to
    return tiers
