"""Tier tables: conversion to decimals and validation messages."""

from decimal import Decimal

import pytest

from engine import EngineError, TermsError, Tier, TierError, validate_tiers

D = Decimal


def test_a_valid_table_is_returned_as_a_tuple():
    tiers = [Tier(D(100), D('1.00'), D(10)), Tier(None, D('0.50'), D(5))]
    assert validate_tiers(tiers) == tuple(tiers)


def test_a_single_open_tier_is_valid():
    assert validate_tiers([Tier(None, D('0.10'))]) == (Tier(None, D('0.10'), D(0)),)


def test_fractional_bounds_are_valid():
    validate_tiers([Tier(D('0.5'), D(1)), Tier(D('1.5'), D(1)), Tier(None, D(1))])


def test_floats_are_converted_through_their_repr():
    tier = Tier(100.0, 0.1, 2)
    assert tier.up_to == D('100.0')
    assert tier.unit_price == D('0.1')
    assert tier.flat_fee == D(2)
    assert isinstance(tier.flat_fee, Decimal)


def test_an_empty_table_is_refused():
    with pytest.raises(TierError, match="at least one tier"):
        validate_tiers([])


def test_equal_bounds_are_refused_with_the_previous_bound_in_the_message():
    tiers = [Tier(D(100), D(1)), Tier(D(100), D(1)), Tier(None, D(1))]
    with pytest.raises(TierError) as error:
        validate_tiers(tiers)
    assert str(error.value) == "Tier 2 must end above tier 1 (100)."


def test_decreasing_bounds_are_refused():
    tiers = [Tier(D('100.0'), D(1)), Tier(D(50), D(1)), Tier(None, D(1))]
    with pytest.raises(TierError, match=r"^Tier 2 must end above tier 1 \(100\)\.$"):
        validate_tiers(tiers)


@pytest.mark.parametrize('up_to', [D(0), D(-5)])
def test_a_bound_at_or_below_zero_is_refused(up_to):
    with pytest.raises(TierError, match="Tier 1 must end above 0"):
        validate_tiers([Tier(up_to, D(1)), Tier(None, D(1))])


def test_an_open_tier_before_the_last_is_refused():
    with pytest.raises(TierError, match="tier 1 has no upper bound"):
        validate_tiers([Tier(None, D(1)), Tier(D(100), D(1))])


def test_two_open_tiers_are_refused():
    with pytest.raises(TierError, match="Only the last tier can be open-ended"):
        validate_tiers([Tier(None, D(1)), Tier(None, D(1))])


def test_a_closed_last_tier_is_refused():
    with pytest.raises(TierError, match="last tier must be open-ended"):
        validate_tiers([Tier(D(100), D(1)), Tier(D(200), D(1))])


def test_a_negative_unit_price_is_refused():
    with pytest.raises(TierError, match="Tier 2 unit price must not be negative"):
        validate_tiers([Tier(D(100), D(1)), Tier(None, D('-0.01'))])


def test_a_negative_flat_fee_is_refused():
    with pytest.raises(TierError, match="Tier 1 flat fee must not be negative"):
        validate_tiers([Tier(D(100), D(1), D(-1)), Tier(None, D(1))])


def test_something_else_than_a_tier_is_refused():
    with pytest.raises(TierError, match="Tier 1 is not a Tier"):
        validate_tiers([(None, D(1), D(0))])


@pytest.mark.parametrize('bad_value', ['10', None, True, float('nan'), D('Infinity')])
def test_a_tier_price_must_be_a_finite_number(bad_value):
    with pytest.raises(TierError, match="Tier unit price must be"):
        Tier(D(10), bad_value)


def test_tier_errors_are_engine_errors_and_value_errors():
    assert issubclass(TierError, TermsError)
    assert issubclass(TierError, EngineError)
    assert issubclass(TierError, ValueError)
