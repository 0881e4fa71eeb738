"""subscription.renewed is new: services that wanted every event type get it too.
Payment events are now one per invoice and subscription: the keys of those already
queued name their subscription, so that none is sent a second time."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    cr.execute(r"""
        UPDATE fusion_billing_webhook
           SET event_key = event_key || ':sale.order:' || (payload ->> 'subscription_id')
         WHERE event_type IN ('invoice.payment_succeeded', 'invoice.payment_failed')
           AND event_key ~ '^invoice\.payment_(succeeded|failed):account\.move:[0-9]+$'
           AND payload ->> 'subscription_id' IS NOT NULL
    """)
    env = api.Environment(cr, SUPERUSER_ID, {})
    renewed = env.ref('fusion_billing.event_type_subscription_renewed')
    earlier = env['fusion.billing.event.type'].search([('id', '!=', renewed.id)])
    for service in env['fusion.billing.service'].with_context(active_test=False).search([]):
        if earlier <= service.webhook_event_types:
            service.webhook_event_types |= renewed
