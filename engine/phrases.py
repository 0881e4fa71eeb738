"""The words of a usage line, as phrases the addon translates and formats.

The engine says what was counted and how it was priced; the words, the separators of
numbers, the currency's symbol and the format of dates belong to the customer's
language, so the addon renders phrases with Odoo's translations and formats.
``english`` renders them plainly, for the engine's own tests and messages.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from .money import format_decimal


def _lt(text):
    """Mark ``text`` for translation and return it unchanged.

    Odoo's term export collects the first argument of every ``_lt(...)`` call in the
    addon's Python files, this engine's included: the addon translates the text when
    it renders the phrase.
    """
    return text


@dataclass(frozen=True)
class Quantity:
    """A number of units, followed by ``unit`` (the metric's unit, or empty)."""

    value: Decimal
    unit: str = ''


@dataclass(frozen=True)
class Price:
    """An amount of money in the charge's currency, shown with all its decimals."""

    value: Decimal


@dataclass(frozen=True)
class Day:
    """A calendar day (datetime.date)."""

    value: object


@dataclass(frozen=True)
class Phrase:
    """One line of text: ``text`` has ``%(name)s`` placeholders filled from ``values``
    (Quantity, Price, Day, or plain text such as a metric's name)."""

    text: str
    values: dict = field(default_factory=dict)


def english(phrases):
    """The phrases in English, one per line: 1500 reads 1,500, prices keep their decimals."""
    return "\n".join(phrase.text % {name: _english_value(value) for name, value in phrase.values.items()}
                     for phrase in phrases)


def _english_value(value):
    if isinstance(value, Quantity):
        return f"{english_number(value.value)} {value.unit}" if value.unit else english_number(value.value)
    if isinstance(value, Price):
        return format_decimal(value.value)
    if isinstance(value, Day):
        return value.value.isoformat()
    return value


def english_number(value):
    """A quantity with thousands separators: 1500 reads 1,500, 2.5 reads 2.5."""
    text = format_decimal(value)
    whole, _, fraction = text.partition('.')
    sign = '-' if whole.startswith('-') else ''
    whole = f"{int(whole.lstrip('-')):,}"
    return sign + whole + (f".{fraction}" if fraction else '')
