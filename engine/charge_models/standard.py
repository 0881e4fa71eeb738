"""Standard pricing: every billable unit at the same price."""

from ..const import CHARGE_MODEL_STANDARD
from ..phrases import Phrase, Price, Quantity, _lt
from .base import ChargeModel


class StandardChargeModel(ChargeModel):
    """Amount = billable quantity x unit price."""

    name = CHARGE_MODEL_STANDARD
    label = "Standard (per unit)"
    uses_price = True

    def compute_amount(self, billable_quantity, terms):
        """Return billable quantity times ``terms.price``, unrounded."""
        return billable_quantity * terms.price

    def unit_price(self, billable_quantity, terms):
        return terms.price

    def describe_pricing(self, billable_quantity, terms, unit):
        return [Phrase(_lt("%(quantity)s × %(price)s"),
                       {'quantity': Quantity(billable_quantity, unit), 'price': Price(terms.price)})]
