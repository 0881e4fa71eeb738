"""Invariants of pricing and rounding, checked on generated terms."""

from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from engine import ChargeTerms, Tier, rate, round_amount

D = Decimal
CENT = D('0.01')

prices = st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False)
fees = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=0, max_value=100_000, places=3, allow_nan=False, allow_infinity=False)
# Smaller than usage most of the time, so most generated cases bill something.
included_quantities = st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False, allow_infinity=False)
integer_bounds = st.integers(min_value=1, max_value=10_000).map(D)
fractional_bounds = st.decimals(
    min_value=D('0.01'), max_value=10_000, places=2, allow_nan=False, allow_infinity=False
)


@st.composite
def tier_tables(draw, bounds=fractional_bounds):
    """Valid tier tables: strictly increasing bounds, the last tier open."""
    upper_bounds = sorted(set(draw(st.lists(bounds, max_size=5))))
    tier_count = len(upper_bounds) + 1
    unit_prices = draw(st.lists(prices, min_size=tier_count, max_size=tier_count))
    flat_fees = draw(st.lists(fees, min_size=tier_count, max_size=tier_count))
    return tuple(
        Tier(up_to, unit_price, flat_fee)
        for up_to, unit_price, flat_fee in zip(upper_bounds + [None], unit_prices, flat_fees)
    )


@st.composite
def charge_terms(draw, charge_model, included_quantity=included_quantities):
    """Valid terms of ``charge_model`` (a name or a strategy of names)."""
    if not isinstance(charge_model, str):
        charge_model = draw(charge_model)
    return ChargeTerms(
        charge_model,
        price=draw(prices),
        unit_batch=draw(st.integers(min_value=1, max_value=1000)),
        included_quantity=draw(included_quantity),
        tiers=draw(tier_tables()),
    )


def unrounded(quantity, terms):
    """Return the exact amount ``rate`` computes before rounding."""
    return rate(quantity, terms, CENT).unrounded_amount


@given(
    terms=charge_terms(st.sampled_from(['standard', 'package', 'graduated'])),
    first=quantities,
    second=quantities,
)
def test_more_usage_never_costs_less_outside_volume_pricing(terms, first, second):
    smaller, larger = sorted((first, second))
    assert unrounded(smaller, terms) <= unrounded(larger, terms)


@given(terms=charge_terms('standard', included_quantity=st.just(D(0))), first=quantities, second=quantities)
def test_standard_pricing_is_additive(terms, first, second):
    assert unrounded(first + second, terms) == unrounded(first, terms) + unrounded(second, terms)


@given(terms=charge_terms('package'), quantity=quantities)
def test_package_pricing_charges_the_fewest_whole_packages_that_cover_the_usage(terms, quantity):
    rating = rate(quantity, terms, CENT)
    assume(terms.price > 0)
    package_count = rating.unrounded_amount / terms.price
    assert package_count == package_count.to_integral_value()
    assert package_count * terms.unit_batch >= rating.billable_quantity
    assert (package_count - 1) * terms.unit_batch < rating.billable_quantity or package_count == 0


@given(price=prices, included=quantities, quantity=quantities)
def test_graduated_with_one_plain_open_tier_is_standard(price, included, quantity):
    standard = ChargeTerms('standard', price=price, included_quantity=included)
    graduated = ChargeTerms('graduated', included_quantity=included, tiers=[Tier(None, price)])
    assert rate(quantity, graduated, CENT) == rate(quantity, standard, CENT)


@given(tiers=tier_tables(integer_bounds), data=st.data())
def test_graduated_units_inside_a_tier_cost_that_tier_rate(tiers, data):
    index = data.draw(st.integers(min_value=0, max_value=len(tiers) - 1))
    lower_bound = tiers[index - 1].up_to if index else D(0)
    upper_bound = lower_bound + 1000 if tiers[index].is_open_ended else tiers[index].up_to
    inside = st.decimals(min_value=lower_bound, max_value=upper_bound, places=3)
    first, second = sorted((data.draw(inside), data.draw(inside)))
    assume(first > lower_bound)
    terms = ChargeTerms('graduated', tiers=tiers)
    assert unrounded(second, terms) - unrounded(first, terms) == (second - first) * tiers[index].unit_price


@given(tiers=tier_tables(integer_bounds), data=st.data())
def test_graduated_entering_a_tier_adds_its_flat_fee_once(tiers, data):
    assume(len(tiers) > 1)
    index = data.draw(st.integers(min_value=0, max_value=len(tiers) - 2))
    boundary = tiers[index].up_to
    step = data.draw(st.decimals(min_value=D('0.001'), max_value=1, places=3))
    next_tier = tiers[index + 1]
    terms = ChargeTerms('graduated', tiers=tiers)
    assert unrounded(boundary + step, terms) - unrounded(boundary, terms) == (
        step * next_tier.unit_price + next_tier.flat_fee
    )


@given(tiers=tier_tables(integer_bounds), data=st.data())
def test_volume_bound_belongs_to_its_tier_and_one_unit_more_to_the_next(tiers, data):
    assume(len(tiers) > 1)
    index = data.draw(st.integers(min_value=0, max_value=len(tiers) - 2))
    tier, next_tier = tiers[index], tiers[index + 1]
    terms = ChargeTerms('volume', tiers=tiers)
    # Integer bounds at least 1 apart: up_to + 1 is inside the next tier.
    assert unrounded(tier.up_to, terms) == tier.up_to * tier.unit_price + tier.flat_fee
    assert unrounded(tier.up_to + 1, terms) == (
        (tier.up_to + 1) * next_tier.unit_price + next_tier.flat_fee
    )


@given(terms=charge_terms(st.sampled_from(['standard', 'package', 'graduated', 'volume'])))
def test_no_usage_costs_nothing(terms):
    rating = rate(0, terms, CENT)
    assert rating.billable_quantity == 0
    assert rating.amount == 0


@given(
    terms=charge_terms(st.sampled_from(['standard', 'package', 'graduated', 'volume'])),
    data=st.data(),
)
def test_usage_within_the_included_quantity_costs_nothing(terms, data):
    quantity = data.draw(st.decimals(min_value=0, max_value=terms.included_quantity, places=3))
    rating = rate(quantity, terms, CENT)
    assert rating.billable_quantity == 0
    assert rating.unrounded_amount == 0
    assert rating.amount == 0


@given(
    amount=st.decimals(min_value=-10**9, max_value=10**9, places=6, allow_nan=False, allow_infinity=False),
    increment=st.sampled_from([D('0.01'), D('0.05'), D('0.1'), D('0.25'), D(1), D(5), D('0.001')]),
)
def test_rounding_gives_the_nearest_multiple_of_the_increment(amount, increment):
    rounded = round_amount(amount, increment)
    assert rounded % increment == 0
    assert abs(rounded - amount) <= increment / 2


@given(
    terms=charge_terms(st.sampled_from(['standard', 'package', 'graduated', 'volume'])),
    quantity=quantities,
)
def test_the_rated_amount_is_the_rounded_unrounded_amount(terms, quantity):
    rating = rate(quantity, terms, D('0.05'))
    assert rating.amount % D('0.05') == 0
    assert abs(rating.amount - rating.unrounded_amount) <= D('0.025')
