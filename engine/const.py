"""Names and limits shared by the billing engine.

The charge model and aggregation names are stored in the database as selection
values, so they are part of the contract and must not change.
"""

CHARGE_MODEL_STANDARD = 'standard'
CHARGE_MODEL_PACKAGE = 'package'
CHARGE_MODEL_GRADUATED = 'graduated'
CHARGE_MODEL_VOLUME = 'volume'

AGGREGATION_SUM = 'sum'
AGGREGATION_MAX = 'max'
AGGREGATION_LAST = 'last'
AGGREGATION_UNIQUE_COUNT = 'unique_count'
AGGREGATIONS = (
    AGGREGATION_SUM,
    AGGREGATION_MAX,
    AGGREGATION_LAST,
    AGGREGATION_UNIQUE_COUNT,
)

# Matches the size of the idempotency_key column of fusion.billing.usage.
IDEMPOTENCY_KEY_MAX_LENGTH = 255

# Significant digits for money arithmetic. Python's default of 28 can round a
# product of two 17-digit floats; 100 keeps every realistic computation exact.
DECIMAL_PRECISION = 100

# Webhook event types: stored on services and queued events, and sent to receivers.
EVENT_PAYMENT_SUCCEEDED = 'invoice.payment_succeeded'
EVENT_PAYMENT_FAILED = 'invoice.payment_failed'
EVENT_SUBSCRIPTION_TERMINATED = 'subscription.terminated'
EVENT_SUBSCRIPTION_REACTIVATED = 'subscription.reactivated'
EVENT_SUBSCRIPTION_RENEWED = 'subscription.renewed'
EVENT_USAGE_THRESHOLD_REACHED = 'usage.threshold_reached'
# The event a Manager sends to check a receiver; no service subscribes to it.
EVENT_WEBHOOK_TEST = 'webhook.test'
EVENT_TYPES = (
    EVENT_PAYMENT_SUCCEEDED,
    EVENT_PAYMENT_FAILED,
    EVENT_SUBSCRIPTION_TERMINATED,
    EVENT_SUBSCRIPTION_REACTIVATED,
    EVENT_SUBSCRIPTION_RENEWED,
    EVENT_USAGE_THRESHOLD_REACHED,
)

# Usage API limits: a larger request is answered 413.
MAX_EVENTS_PER_REQUEST = 1000
MAX_REQUEST_BYTES = 1024 * 1024
# At most this many problems are detailed in a 400 (their total count is given too).
MAX_PROBLEMS_DETAILED = 100

# The largest usage quantity: every integer up to it is exact in a float, and no sum of
# a period's rows can overflow exact money arithmetic.
MAX_QUANTITY = 10 ** 15
# Usage cannot have happened yet; clocks drift a little.
MAX_FUTURE_SECONDS = 300

# Fields a usage event may carry; anything else is refused (a typo such as
# "idempotencyKey" would otherwise silently turn a re-send into a double count).
USAGE_EVENT_FIELDS = ('subscription_id', 'metric', 'quantity', 'period_start', 'period_end', 'idempotency_key')
