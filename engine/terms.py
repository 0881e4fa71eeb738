"""The pricing terms of a charge, as the charge models read them."""

from dataclasses import dataclass
from decimal import Decimal

from .charge_models import get_charge_model
from .exceptions import EngineError, TermsError
from .money import to_decimal
from .tiers import validate_tiers


@dataclass(frozen=True)
class ChargeTerms:
    """How a charge prices its billable quantity.

    ``price`` is the unit price (standard) or the price of one package of
    ``unit_batch`` units (package); ``tiers`` is the tier table of graduated
    and volume charges; ``included_quantity`` units per period are free.
    """

    charge_model: str
    price: Decimal = Decimal(0)
    unit_batch: int = 1
    included_quantity: Decimal = Decimal(0)
    tiers: tuple = ()

    def __post_init__(self):
        # Odoo hands over floats and lists: store exact decimals and a tuple
        # so the terms stay immutable and compare by value.
        try:
            object.__setattr__(self, 'price', to_decimal(self.price, "Price"))
            object.__setattr__(
                self, 'included_quantity', to_decimal(self.included_quantity, "Included quantity")
            )
        except EngineError as error:
            raise TermsError(str(error)) from None
        object.__setattr__(self, 'tiers', tuple(self.tiers))


def validate_terms(terms):
    """Check that ``terms`` can be used for rating; raise TermsError if not.

    Tier tables are only checked (and only required) for the models that use tiers.
    """
    model = get_charge_model(terms.charge_model)
    if terms.price < 0:
        raise TermsError("Price must not be negative.")
    # bool is a subclass of int: True must not pass as a package of 1.
    if isinstance(terms.unit_batch, bool) or not isinstance(terms.unit_batch, int) or terms.unit_batch <= 0:
        raise TermsError("Package size must be a whole number greater than 0.")
    if terms.included_quantity < 0:
        raise TermsError("Included quantity must not be negative.")
    if model.uses_tiers:
        validate_tiers(terms.tiers)
