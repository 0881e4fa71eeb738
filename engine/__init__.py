"""Fusion Billing's pure-Python engine: pricing, aggregation, windows, parsing.

Nothing here imports Odoo, so it runs (and is tested) with plain pytest; the
models read records, call these functions and write the results back.
"""

from .aggregation import UsageRow, aggregate, rows_in_window
from .charge_models.tiered import describe_tiers
from .charge_models import (
    CHARGE_MODEL_REGISTRY,
    CHARGE_MODELS,
    ChargeModel,
    get_charge_model,
    register_charge_model,
)
from .const import (
    AGGREGATIONS,
    EVENT_TYPES,
    IDEMPOTENCY_KEY_MAX_LENGTH,
)
from .exceptions import EngineError, InputError, TermsError, TierError
from .line_values import describe_periods, describe_rating, line_quantity_and_price, natural_unit_price
from .money import decimal_places, format_decimal, round_amount, to_decimal
from .phrases import Day, Phrase, Price, Quantity, english
from .parsing import (
    load_json_object,
    parse_idempotency_key,
    parse_metric_code,
    parse_period,
    parse_quantity,
    parse_record_id,
    parse_timestamp,
)
from .pricing import Rating, billable_quantity, rate
from .terms import ChargeTerms, validate_terms
from .tiers import Tier, validate_tiers
from .usage_request import (
    Problem,
    RequestRefused,
    UsageBatch,
    UsageEvent,
    check_body_size,
    parse_usage_batch,
    parse_usage_events,
    parse_usage_request,
    refusal,
)
from .windows import BillingWindow, billing_periods, midnight_utc
from .ssrf import CheckedUrl, UnsafeWebhookUrl, check_webhook_url, is_public_address
from .webhooks import (
    CONNECT_TIMEOUT,
    MAX_BACKOFF_EXPONENT,
    MAX_DELIVERY_ATTEMPTS,
    READ_TIMEOUT,
    RESPONSE_READ_LIMIT,
    build_event_body,
    canonical_json,
    delivery_headers,
    delivery_outcome,
    legacy_signature,
    parse_retry_after,
    retry_delay,
    sign_body,
    standard_webhooks_secret,
    standard_webhooks_signature,
)

__all__ = [
    'Problem',
    'RequestRefused',
    'UsageBatch',
    'UsageEvent',
    'parse_usage_batch',
    'parse_usage_events',
    'refusal',
    'check_body_size',
    'parse_usage_request',
    'AGGREGATIONS',
    'CHARGE_MODELS',
    'CHARGE_MODEL_REGISTRY',
    'EVENT_TYPES',
    'IDEMPOTENCY_KEY_MAX_LENGTH',
    'BillingWindow',
    'ChargeModel',
    'ChargeTerms',
    'EngineError',
    'InputError',
    'Rating',
    'TermsError',
    'Tier',
    'TierError',
    'UsageRow',
    'aggregate',
    'Day',
    'Phrase',
    'Price',
    'Quantity',
    'english',
    'describe_periods',
    'describe_tiers',
    'describe_rating',
    'line_quantity_and_price',
    'natural_unit_price',
    'billable_quantity',
    'billing_periods',
    'decimal_places',
    'format_decimal',
    'get_charge_model',
    'register_charge_model',
    'load_json_object',
    'midnight_utc',
    'parse_idempotency_key',
    'parse_metric_code',
    'parse_period',
    'parse_quantity',
    'parse_record_id',
    'parse_timestamp',
    'rate',
    'round_amount',
    'rows_in_window',
    'to_decimal',
    'validate_terms',
    'validate_tiers',
    'CONNECT_TIMEOUT',
    'MAX_BACKOFF_EXPONENT',
    'MAX_DELIVERY_ATTEMPTS',
    'READ_TIMEOUT',
    'RESPONSE_READ_LIMIT',
    'CheckedUrl',
    'UnsafeWebhookUrl',
    'build_event_body',
    'canonical_json',
    'check_webhook_url',
    'delivery_headers',
    'delivery_outcome',
    'is_public_address',
    'legacy_signature',
    'parse_retry_after',
    'retry_delay',
    'sign_body',
    'standard_webhooks_secret',
    'standard_webhooks_signature',
]
