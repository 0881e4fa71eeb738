"""subscription.renewed is new: services that wanted every event type get it too."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    renewed = env.ref('fusion_billing.event_type_subscription_renewed')
    earlier = env['fusion.billing.event.type'].search([('id', '!=', renewed.id)])
    for service in env['fusion.billing.service'].with_context(active_test=False).search([]):
        if earlier <= service.webhook_event_types:
            service.webhook_event_types |= renewed
