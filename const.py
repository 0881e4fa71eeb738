"""Names the addon's Odoo layer shares: XML ids, context keys, parameters and the API's
prefix. The engine's own names and limits are in engine/const.py."""

# Groups (XML ids).
BILLING_USER_GROUP = 'fusion_billing.group_fusion_billing_user'
MANAGER_GROUP = 'fusion_billing.group_fusion_billing_manager'

# The technical user the usage API runs as.
API_USER = 'fusion_billing.user_fusion_billing_api'
# Every route of the API starts with it; errors under it are answered in JSON.
API_PREFIX = '/fusion_billing/v1/'

# API keys: a recognisable prefix, random bytes, and what a list may show of them.
API_KEY_PREFIX = 'fbk_'
API_KEY_BYTES = 32
# Enough of the key to recognise it in a list, far too little to guess the rest.
API_KEY_DISPLAY_LENGTH = len(API_KEY_PREFIX) + 8

# System parameter: allow webhook URLs on private addresses (development only).
ALLOW_PRIVATE_PARAMETER = 'fusion_billing.allow_private_webhook_urls'

# Context keys.
# Set while the rating writes usage lines: the only writer they accept.
RATING_CONTEXT = 'fusion_billing_rating'
# Set while Enterprise closes or reopens a contract: it writes the state first and the
# close reason and end date after, so the events wait for the whole change.
DEFER_STATE_EVENTS = 'fusion_billing_defer_state_events'
