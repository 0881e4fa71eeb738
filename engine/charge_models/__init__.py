"""One module per charge model, all behind the ``ChargeModel`` interface.

Each model owns its amount, its single unit price when it has one, the text that tells
how its amount was made, its label and which terms it uses. Adding a charge model is
adding a module here and listing it in ``CHARGE_MODEL_REGISTRY``: nothing else in the
engine or the addon names a charge model (the selection, the form and the validation
read the registry).
"""

from ..exceptions import TermsError
from .base import ChargeModel
from .graduated import GraduatedChargeModel
from .package import PackageChargeModel
from .standard import StandardChargeModel
from .volume import VolumeChargeModel

__all__ = [
    'CHARGE_MODEL_REGISTRY',
    'ChargeModel',
    'GraduatedChargeModel',
    'PackageChargeModel',
    'StandardChargeModel',
    'VolumeChargeModel',
    'CHARGE_MODELS',
    'get_charge_model',
    'register_charge_model',
]

CHARGE_MODEL_REGISTRY = {
    model.name: model
    for model in (
        StandardChargeModel(),
        PackageChargeModel(),
        GraduatedChargeModel(),
        VolumeChargeModel(),
    )
}


# The charge models, in the order the UI lists them.
CHARGE_MODELS = tuple(CHARGE_MODEL_REGISTRY)


def register_charge_model(model):
    """Add ``model`` (a ChargeModel) to the registry; return it."""
    CHARGE_MODEL_REGISTRY[model.name] = model
    return model


def get_charge_model(name):
    """Return the charge model registered as ``name``; raise TermsError if none."""
    try:
        return CHARGE_MODEL_REGISTRY[name]
    except (KeyError, TypeError):
        raise TermsError(f"Unknown charge model {name!r}.") from None
