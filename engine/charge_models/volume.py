"""Volume pricing: all units at the rate of the tier that holds the total."""

from decimal import Decimal

from ..const import CHARGE_MODEL_VOLUME
from ..exceptions import TierError
from ..phrases import Phrase, _lt
from .base import ChargeModel
from .tiered import describe_tiers


class VolumeChargeModel(ChargeModel):
    """Amount = billable quantity x rate of its tier + that tier's flat fee."""

    name = CHARGE_MODEL_VOLUME
    label = "Volume tiers"
    uses_tiers = True

    def compute_amount(self, billable_quantity, terms):
        """Return the volume amount for ``billable_quantity`` units.

        A quantity equal to a tier's ``up_to`` belongs to that tier; anything
        above it belongs to a later tier. No units cost nothing, not even a
        flat fee.
        """
        if billable_quantity <= 0:
            return Decimal(0)
        tier = self.tier_for(billable_quantity, terms.tiers)
        return billable_quantity * tier.unit_price + tier.flat_fee

    def unit_price(self, billable_quantity, terms):
        # Every unit is at its tier's rate, unless the tier adds a flat fee.
        if billable_quantity <= 0:
            return None
        tier = self.tier_for(billable_quantity, terms.tiers)
        return None if tier.flat_fee else tier.unit_price

    def describe_pricing(self, billable_quantity, terms, unit):
        return [Phrase(_lt("Volume tiers:")), *describe_tiers(terms.tiers, unit)]

    @staticmethod
    def tier_for(quantity, tiers):
        """Return the first tier whose upper bound holds ``quantity``."""
        for tier in tiers:
            if tier.is_open_ended or quantity <= tier.up_to:
                return tier
        raise TierError("The last tier must be open-ended (no upper bound).")
