"""One module per charge model, all behind ``ChargeModel.compute_amount``.

Adding a charge model means adding a module here and listing it in
``CHARGE_MODEL_REGISTRY`` (and its name in ``const.CHARGE_MODELS``).
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
    'get_charge_model',
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


def get_charge_model(name):
    """Return the charge model registered as ``name``; raise TermsError if none."""
    try:
        return CHARGE_MODEL_REGISTRY[name]
    except (KeyError, TypeError):
        raise TermsError(f"Unknown charge model {name!r}.") from None
