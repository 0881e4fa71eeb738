"""Graduated pricing: each unit at the rate of the tier it falls into."""

from decimal import Decimal

from ..const import CHARGE_MODEL_GRADUATED
from ..phrases import Phrase, _lt
from .base import ChargeModel
from .tiered import describe_tiers


class GraduatedChargeModel(ChargeModel):
    """Amount = sum over the tiers entered of (units in tier x rate + flat fee)."""

    name = CHARGE_MODEL_GRADUATED
    label = "Graduated tiers"
    uses_tiers = True

    def compute_amount(self, billable_quantity, terms):
        """Return the graduated amount for ``billable_quantity`` units.

        Tier i covers (previous up_to, up_to]; a tier is entered when the
        quantity goes strictly above its lower bound, and then its flat fee
        is charged once. Quantities may be fractional: each tier's slice is
        priced at once rather than unit by unit.
        """
        amount = Decimal(0)
        lower_bound = Decimal(0)
        for tier in terms.tiers:
            if billable_quantity <= lower_bound:
                break
            if tier.is_open_ended:
                units_in_tier = billable_quantity - lower_bound
            else:
                units_in_tier = min(billable_quantity, tier.up_to) - lower_bound
            amount += units_in_tier * tier.unit_price + tier.flat_fee
            if tier.is_open_ended:
                break
            lower_bound = tier.up_to
        return amount

    def describe_pricing(self, billable_quantity, terms, unit):
        return [Phrase(_lt("Graduated tiers:")), *describe_tiers(terms.tiers, unit)]
