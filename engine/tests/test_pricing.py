"""Rating under each charge model, with the worked examples of the spec."""

from decimal import Decimal

import pytest

from engine import (
    CHARGE_MODEL_REGISTRY,
    CHARGE_MODELS,
    ChargeModel,
    ChargeTerms,
    EngineError,
    TermsError,
    Tier,
    TierError,
    rate,
    register_charge_model,
    validate_terms,
)
from engine.line_values import describe_rating, natural_unit_price
from engine.phrases import Phrase, Price, english
from engine.money import round_amount
from engine.pricing import billable_quantity

D = Decimal
CENT = D('0.01')
TIERS = (Tier(D(100), D('1.00'), D(10)), Tier(None, D('0.50'), D(5)))


def graduated(**values):
    return ChargeTerms('graduated', tiers=TIERS, **values)


def volume(**values):
    return ChargeTerms('volume', tiers=TIERS, **values)


# Standard

def test_standard_prices_every_unit_at_the_unit_price():
    rating = rate(1500, ChargeTerms('standard', price=D('0.0125')), CENT)
    assert rating.amount == D('18.75')
    assert str(rating.amount) == '18.75'
    assert rating.billable_quantity == D(1500)


def test_float_inputs_are_read_as_their_decimal_repr():
    # 3 x 0.1 in binary floating point is 0.30000000000000004.
    rating = rate(3.0, ChargeTerms('standard', price=0.1), CENT)
    assert rating.unrounded_amount == D('0.3')


# Package

@pytest.mark.parametrize('quantity, expected', [
    (250, D(15)),
    (200, D(10)),
    (201, D(15)),
    (D('0.5'), D(5)),
    (1, D(5)),
    (0, D(0)),
])
def test_package_charges_every_started_package(quantity, expected):
    terms = ChargeTerms('package', price=D(5), unit_batch=100)
    assert rate(quantity, terms, CENT).amount == expected


def test_package_counts_packages_after_the_included_quantity():
    terms = ChargeTerms('package', price=D(5), unit_batch=100, included_quantity=D(100))
    assert rate(250, terms, CENT).amount == D(10)
    assert rate(100, terms, CENT).amount == D(0)


# Graduated

@pytest.mark.parametrize('quantity, expected', [
    (150, D(140)),         # 100 x 1.00 + 50 x 0.50 + 10 + 5
    (100, D(110)),         # the second tier is not entered at its lower bound
    (D('100.5'), D('115.25')),
    (50, D(60)),
    (1, D(11)),
])
def test_graduated_prices_each_slice_at_its_tier_rate(quantity, expected):
    assert rate(quantity, graduated(), CENT).amount == expected


def test_graduated_with_three_tiers():
    tiers = (Tier(D(10), D(2)), Tier(D(20), D(1), D(3)), Tier(None, D('0.25'), D(1)))
    terms = ChargeTerms('graduated', tiers=tiers)
    # 10 x 2 + 10 x 1 + 3 + 5 x 0.25 + 1
    assert rate(25, terms, CENT).amount == D('35.25')


# Volume

@pytest.mark.parametrize('quantity, expected', [
    (150, D(80)),          # 150 x 0.50 + 5
    (100, D(110)),         # exactly at the bound: still the first tier
    (101, D('55.50')),     # one more unit: all units at the second tier
    (1, D(11)),
])
def test_volume_prices_all_units_at_the_tier_holding_the_total(quantity, expected):
    assert rate(quantity, volume(), CENT).amount == expected


# Included quantity and zero

def test_included_quantity_reduces_the_billable_quantity():
    rating = rate(1500, ChargeTerms('standard', price=D('0.0125'), included_quantity=D(1000)), CENT)
    assert rating.billable_quantity == D(500)
    assert rating.included_quantity == D(1000)
    assert rating.amount == D('6.25')


def test_graduated_tiers_start_after_the_included_quantity():
    assert rate(250, graduated(included_quantity=D(100)), CENT).amount == D(140)


def test_an_included_quantity_above_usage_bills_nothing():
    rating = rate(40, ChargeTerms('standard', price=D(1), included_quantity=D(100)), CENT)
    assert rating.billable_quantity == D(0)
    assert rating.amount == D(0)


@pytest.mark.parametrize('terms', [graduated(), volume(), graduated(included_quantity=D(10))])
def test_zero_billable_units_cost_nothing_even_with_flat_fees(terms):
    rating = rate(0, terms, CENT)
    assert rating.amount == D(0)
    assert rating.unrounded_amount == D(0)


def test_billable_quantity_is_never_negative():
    assert billable_quantity(D(5), D(8)) == D(0)
    assert billable_quantity(D(8), D(5)) == D(3)


# Rounding

def test_the_amount_is_rounded_half_up_once_at_the_end():
    rating = rate(3, ChargeTerms('standard', price=D('0.3333')), CENT)
    assert rating.unrounded_amount == D('0.9999')
    assert rating.amount == D('1.00')


def test_tier_slices_are_not_rounded_one_by_one():
    # Each slice costs 0.005: rounding per slice would give 0.02, not 0.01.
    tiers = (Tier(D(1), D('0.005')), Tier(None, D('0.005')))
    rating = rate(2, ChargeTerms('graduated', tiers=tiers), CENT)
    assert rating.amount == D('0.01')


@pytest.mark.parametrize('quantity, expected', [
    (40, D('1.00')),       # 1.000
    (41, D('1.05')),       # 1.025 is half way between 1.00 and 1.05: up
    (42, D('1.05')),       # 1.050
    (43, D('1.10')),       # 1.075 is half way between 1.05 and 1.10: up
    (D('40.9'), D('1.00')),  # 1.0225
])
def test_a_five_cent_rounding_increment(quantity, expected):
    rating = rate(quantity, ChargeTerms('standard', price=D('0.025')), D('0.05'))
    assert rating.amount == expected


def test_a_rounded_amount_carries_the_increment_exponent():
    assert str(round_amount(D(750), CENT)) == '750.00'
    assert str(round_amount(D('12.5'), D(1))) == '13'


@pytest.mark.parametrize('rounding', [0, D(-1), -0.01])
def test_rounding_must_be_positive(rounding):
    with pytest.raises(EngineError, match="Rounding must be greater than 0"):
        round_amount(D(1), rounding)


# Terms validation

def test_an_unknown_charge_model_is_refused():
    with pytest.raises(EngineError, match="Unknown charge model 'percentage'"):
        rate(1, ChargeTerms('percentage', price=D(1)), CENT)


@pytest.mark.parametrize('unit_batch', [0, -1, True, 1.5, D(100), None])
def test_the_package_size_must_be_a_positive_integer(unit_batch):
    with pytest.raises(TermsError, match="Package size must be a whole number greater than 0"):
        rate(1, ChargeTerms('package', price=D(1), unit_batch=unit_batch), CENT)


def test_a_negative_price_is_refused():
    with pytest.raises(TermsError, match="Price must not be negative"):
        rate(1, ChargeTerms('standard', price=D('-0.01')), CENT)


def test_a_negative_included_quantity_is_refused():
    with pytest.raises(TermsError, match="Included quantity must not be negative"):
        rate(1, ChargeTerms('standard', price=D(1), included_quantity=D(-1)), CENT)


def test_a_tiered_charge_needs_valid_tiers():
    with pytest.raises(TierError, match="at least one tier"):
        rate(1, ChargeTerms('volume'), CENT)
    with pytest.raises(TierError, match="last tier must be open-ended"):
        rate(1, ChargeTerms('graduated', tiers=[Tier(D(10), D(1))]), CENT)


def test_a_standard_charge_ignores_the_tier_table():
    assert rate(2, ChargeTerms('standard', price=D(3)), CENT).amount == D(6)


def test_terms_must_hold_numbers():
    with pytest.raises(TermsError, match="Price must be a number"):
        ChargeTerms('standard', price='1.00')
    with pytest.raises(TermsError, match="Included quantity must be a finite number"):
        ChargeTerms('standard', included_quantity=float('inf'))


@pytest.mark.parametrize('quantity', [-1, D('-0.5'), float('nan'), True, '12', None])
def test_the_aggregated_quantity_must_be_a_number_not_below_zero(quantity):
    with pytest.raises(EngineError):
        rate(quantity, ChargeTerms('standard', price=D(1)), CENT)


def test_terms_are_immutable_and_compare_by_value():
    terms = ChargeTerms('graduated', price=1.5, tiers=list(TIERS))
    assert terms == ChargeTerms('graduated', price=D('1.5'), tiers=TIERS)
    with pytest.raises(AttributeError):
        terms.price = D(2)


def test_every_charge_model_name_has_one_registered_model():
    assert sorted(CHARGE_MODEL_REGISTRY) == sorted(CHARGE_MODELS)
    for name, model in CHARGE_MODEL_REGISTRY.items():
        assert model.name == name


@pytest.mark.parametrize('name', CHARGE_MODELS)
def test_every_charge_model_prices_zero_units_at_zero(name):
    terms = ChargeTerms(name, price=D(5), unit_batch=10, tiers=TIERS)
    assert CHARGE_MODEL_REGISTRY[name].compute_amount(D(0), terms) == D(0)


@pytest.mark.parametrize('charge_model', sorted(CHARGE_MODELS))
def test_a_quantity_too_large_to_price_is_an_engine_error(charge_model):
    tiers = (Tier(up_to=D(10), unit_price=D('0.5')), Tier(up_to=None, unit_price=D('0.25')))
    terms = ChargeTerms(charge_model=charge_model, price=D('0.0125'), unit_batch=7, tiers=tiers)
    with pytest.raises(EngineError, match="too large to be priced"):
        rate(1e120, terms, D('0.01'))


class FlatPerPeriodChargeModel(ChargeModel):
    """A charge model added as an exercise: a flat price for any period with usage."""

    name = 'flat_per_period'
    label = "Flat per period"
    uses_price = True

    def compute_amount(self, billable_quantity, terms):
        return terms.price if billable_quantity > 0 else D(0)

    def describe_pricing(self, billable_quantity, terms, unit):
        return [Phrase("%(price)s for the period", {"price": Price(terms.price)})]


def test_a_new_charge_model_is_one_class_and_one_registry_entry():
    register_charge_model(FlatPerPeriodChargeModel())
    try:
        terms = ChargeTerms(charge_model='flat_per_period', price=D('25'), included_quantity=D(10))
        validate_terms(terms)
        assert rate(11, terms, D('0.01')).amount == D('25')
        assert rate(10, terms, D('0.01')).amount == 0
        rating = rate(11, terms, D('0.01'))
        assert natural_unit_price(terms, rating) is None
        assert english(describe_rating('Workspaces', 'seats', terms, rating)).splitlines() == [
            'Workspaces: 11 seats, 10 included, 1 billable', '25 for the period']
    finally:
        del CHARGE_MODEL_REGISTRY['flat_per_period']
    with pytest.raises(TermsError, match="Unknown charge model"):
        rate(11, terms, D('0.01'))


@pytest.mark.parametrize('name', sorted(CHARGE_MODELS))
def test_every_model_tells_its_label_and_the_terms_it_uses(name):
    model = CHARGE_MODEL_REGISTRY[name]
    assert model.label
    assert model.uses_price or model.uses_tiers
