"""Standard pricing: every billable unit at the same price."""

from ..const import CHARGE_MODEL_STANDARD
from .base import ChargeModel


class StandardChargeModel(ChargeModel):
    """Amount = billable quantity x unit price."""

    name = CHARGE_MODEL_STANDARD

    def compute_amount(self, billable_quantity, terms):
        """Return billable quantity times ``terms.price``, unrounded."""
        return billable_quantity * terms.price
