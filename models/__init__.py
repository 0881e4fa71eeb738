from . import fusion_billing_event_type
from . import fusion_billing_service
from . import fusion_billing_metric
from . import fusion_billing_charge_tier
from . import fusion_billing_charge
from . import fusion_billing_usage
from . import fusion_billing_usage_ingestion
from . import fusion_billing_reconciliation
from . import fusion_billing_threshold_crossing
from . import fusion_billing_rating
from . import fusion_billing_upcoming_invoice
from . import fusion_billing_webhook
from . import fusion_billing_api_activity
from . import sale_subscription_plan
# sale.order is extended in three files, one concern each: the Usage tab and read API
# (sale_order), Enterprise's invoicing hooks (sale_order_invoicing), the webhook events
# of the contract's life (sale_order_events); pylint-odoo's R8180 is silenced on those
# two classes only.
from . import sale_order
from . import sale_order_invoicing
from . import sale_order_events
from . import account_move
from . import sale_order_line
from . import account_move_line
from . import payment_transaction
from . import ir_http
