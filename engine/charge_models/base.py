"""The interface every charge model implements."""


class ChargeModel:
    """Turns a billable quantity into an amount under one pricing rule.

    Subclasses set ``name`` (the selection value stored on the charge) and
    implement ``compute_amount``. They receive validated terms and a billable
    quantity that is a finite Decimal >= 0, and return the exact, unrounded
    amount as a Decimal. Zero units must cost 0: no flat fee is due for a
    tier no unit entered.
    """

    name = None

    def compute_amount(self, billable_quantity, terms):
        """Return the unrounded amount for ``billable_quantity`` units."""
        raise NotImplementedError
