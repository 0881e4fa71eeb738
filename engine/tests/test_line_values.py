import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import CHARGE_MODELS, ChargeTerms, EngineError, Tier, rate
from engine.line_values import describe_periods, describe_rating, line_quantity_and_price, natural_unit_price
from engine.money import decimal_places
from engine.phrases import english

CENT = Decimal('0.01')
D = Decimal


def test_natural_pair_is_kept_when_it_fits():
    assert line_quantity_and_price(Decimal('750'), Decimal(1500), Decimal('0.5'), 2, 2) == (1500, Decimal('0.5'))


def test_sub_cent_price_becomes_one_unit_at_the_amount():
    # 1,500 units at 0.0125 = 18.75: 0.0125 does not fit a 2-decimal price.
    assert line_quantity_and_price(Decimal('18.75'), Decimal(1500), Decimal('0.0125'), 2, 2) == (1, Decimal('18.75'))


def test_more_currency_decimals_than_price_decimals():
    quantity, price = line_quantity_and_price(Decimal('1.234'), Decimal(7), None, 2, 2)
    assert (quantity, price) == (Decimal('0.1'), Decimal('12.34'))
    assert quantity * price == Decimal('1.234')


def test_zero_amount_is_zero_quantity():
    assert line_quantity_and_price(Decimal(0), Decimal(0), Decimal('0.0125'), 2, 2)[0] == 0


def test_an_amount_that_cannot_be_expressed_is_refused():
    with pytest.raises(EngineError):
        line_quantity_and_price(Decimal('0.00001'), Decimal(1), None, 2, 2)


@given(
    cents=st.integers(min_value=0, max_value=10**12),
    billable=st.integers(min_value=0, max_value=10**7),
    price_thousandths=st.none() | st.integers(min_value=0, max_value=10**6),
)
def test_quantity_times_price_is_always_the_amount(cents, billable, price_thousandths):
    amount = Decimal(cents) * CENT
    unit_price = None if price_thousandths is None else Decimal(price_thousandths) / 1000
    quantity, price = line_quantity_and_price(amount, Decimal(billable), unit_price, 2, 2)
    assert quantity * price == amount
    assert quantity == quantity.quantize(CENT) and price == price.quantize(CENT)


def test_natural_unit_price_by_model():
    standard = ChargeTerms('standard', price=Decimal('0.0125'))
    assert natural_unit_price(standard, rate(100, standard, CENT)) == Decimal('0.0125')
    tiers = (Tier(Decimal(100), Decimal(1), Decimal(5)), Tier(None, Decimal('0.5')))
    volume = ChargeTerms('volume', tiers=tiers)
    assert natural_unit_price(volume, rate(150, volume, CENT)) == Decimal('0.5')
    assert natural_unit_price(volume, rate(50, volume, CENT)) is None, "a flat fee breaks the single price"
    graduated = ChargeTerms('graduated', tiers=tiers)
    assert natural_unit_price(graduated, rate(150, graduated, CENT)) is None


def test_description_shows_units_included_and_tiers():
    tiers = (Tier(Decimal(10000), Decimal('0.01')), Tier(None, Decimal('0.005'), Decimal(10)))
    terms = ChargeTerms('graduated', included_quantity=Decimal(1000), tiers=tiers)
    text = english(describe_rating('API calls', 'calls', terms, rate(20700, terms, CENT)))
    assert text.splitlines() == [
        'API calls: 20,700 calls, 1,000 included, 19,700 billable',
        'Graduated tiers:',
        '0 to 10,000 calls at 0.01',
        'above 10,000 calls at 0.005 + 10',
    ]
    standard = ChargeTerms('standard', price=Decimal('0.0125'))
    assert english(describe_rating('API calls', '', standard, rate(1500, standard, CENT))).splitlines()[1] == \
        '1,500 × 0.0125'


def test_a_line_of_several_periods_shows_each_period_on_its_own():
    standard = ChargeTerms(charge_model='standard', price=D('0.0125'), included_quantity=100)
    periods = [(date(2026, 12, 1), date(2027, 1, 1), rate(60, standard, CENT)),
               (date(2027, 1, 1), date(2027, 2, 1), rate(1100, standard, CENT))]
    assert english(describe_periods('API calls', 'calls', standard, periods)).splitlines() == [
        'API calls:',
        '2026-12-01 to 2026-12-31: 60 calls, 100 included, 0 billable',
        '2027-01-01 to 2027-01-31: 1,100 calls, 100 included, 1,000 billable',
        '1,000 calls × 0.0125',
    ]


def test_a_line_of_one_period_reads_as_before():
    standard = ChargeTerms(charge_model='standard', price=D('0.0125'))
    rating = rate(1500, standard, CENT)
    assert describe_periods('API calls', '', standard, [(date(2026, 11, 1), date(2026, 12, 1), rating)]) == \
        describe_rating('API calls', '', standard, rating)


@pytest.mark.parametrize('value, places', [(1500, 0), (D('1500.00'), 0), (D('0.0125'), 4), (2.5, 1), (1e15, 0)])
def test_decimal_places_are_those_needed_to_show_the_value_exactly(value, places):
    assert decimal_places(value) == places


@pytest.mark.parametrize('name', sorted(CHARGE_MODELS))
def test_every_phrase_of_every_model_fills_all_its_placeholders_and_nothing_else(name):
    tiers = (Tier(D(100), D('0.01'), D(5)), Tier(D(1000), D('0.008')), Tier(None, D('0.005'), D(10)))
    terms = ChargeTerms(name, price=D('0.5'), unit_batch=100, tiers=tiers, included_quantity=D(10))
    for quantity in (0, 50, 5000):
        for phrase in describe_rating('API calls', 'calls', terms, rate(quantity, terms, CENT)):
            placeholders = set(re.findall(r'%\((\w+)\)s', phrase.text))
            assert placeholders == set(phrase.values), phrase.text
            assert '%' not in english([phrase]).replace('%%', '')
