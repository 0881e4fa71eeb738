"""Package pricing: units are sold in whole packages of ``unit_batch``."""

from decimal import Decimal

from ..const import CHARGE_MODEL_PACKAGE
from ..phrases import Phrase, Price, Quantity, _lt
from .base import ChargeModel


class PackageChargeModel(ChargeModel):
    """Amount = number of packages started x package price."""

    name = CHARGE_MODEL_PACKAGE
    label = "Package"
    uses_price = True
    uses_unit_batch = True

    def compute_amount(self, billable_quantity, terms):
        """Return the price of the packages needed for the billable units.

        A started package is a whole package: 0.5 units with a package size
        of 100 cost one package, 0 units cost none.
        """
        return self.package_count(billable_quantity, terms.unit_batch) * terms.price

    @staticmethod
    def package_count(billable_quantity, unit_batch):
        """Return how many packages of ``unit_batch`` units the quantity starts."""
        # divmod is exact for Decimals, where ceil(a / b) could be fooled by
        # a quotient rounded to the context precision.
        whole_packages, remainder = divmod(billable_quantity, Decimal(unit_batch))
        return whole_packages + (1 if remainder else 0)

    def describe_pricing(self, billable_quantity, terms, unit):
        return [Phrase(_lt("Packages of %(size)s at %(price)s each"),
                       {'size': Quantity(Decimal(terms.unit_batch), unit), 'price': Price(terms.price)})]
