"""The interface every charge model implements."""


class ChargeModel:
    """Turns a billable quantity into an amount under one pricing rule, and says how.

    Subclasses set ``name`` (the selection value stored on the charge), ``label`` (what
    the UI shows) and which of the charge's terms they use (``uses_price``,
    ``uses_unit_batch``, ``uses_tiers``), and implement ``compute_amount``. They receive
    validated terms and a billable quantity that is a finite Decimal >= 0, and return the
    exact, unrounded amount as a Decimal. Zero units must cost 0: no flat fee is due for
    a tier no unit entered.
    """

    name = None
    label = None
    uses_price = False
    uses_unit_batch = False
    uses_tiers = False

    def compute_amount(self, billable_quantity, terms):
        """Return the unrounded amount for ``billable_quantity`` units."""
        raise NotImplementedError

    def unit_price(self, billable_quantity, terms):
        """The one price every billable unit was charged at, or None when the amount
        is not a quantity times a single price (packages, tiers, flat fees)."""
        return None

    def describe_pricing(self, billable_quantity, terms, unit):
        """The lines telling how the amount was made, as a list of phrases.Phrase whose
        text is marked with phrases._lt (the addon translates it); ``unit`` is the
        metric's unit (or empty)."""
        raise NotImplementedError
