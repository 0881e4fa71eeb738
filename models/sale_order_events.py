import hashlib

from odoo import fields, models

from ..engine.webhooks import canonical_json

RUNNING_STATES = ('3_progress', '4_paused')


class SaleOrder(models.Model):
    _inherit = 'sale.order'

    def write(self, vals):
        if 'subscription_state' not in vals:
            return super().write(vals)
        before = {order.id: order.subscription_state for order in self}
        result = super().write(vals)
        self._fc_notify_state_changes(before)
        return result

    def _fc_notify_state_changes(self, before):
        """Send the subscription events of the state changes that really happened
        (old state -> new state as stored, not the method that was called)."""
        for order in self.filtered('is_subscription'):
            old, new = before.get(order.id), order.subscription_state
            if old == new:
                continue
            if old in RUNNING_STATES and new == '6_churn':
                event_type = 'subscription.terminated'
            elif old in ('4_paused', '6_churn') and new == '3_progress':
                event_type = 'subscription.reactivated'
            else:
                continue
            order._fc_notify(event_type, {
                **order._fc_event_subject(),
                'previous_state': old,
                'state': new,
                'close_reason': order.close_reason_id.name or None,
                'end_date': fields.Date.to_string(order.end_date) if order.end_date else None,
            }, event_key=f'{event_type}:sale.order:{order.id}:{old}>{new}:{self.env.cr.now().isoformat()}')

    def _handle_subscription_payment_failure(self, invoice, transaction):
        # Enterprise deletes the invoice right after: the payload is built before.
        for order in self:
            order._fc_notify('invoice.payment_failed', {
                **order._fc_event_subject(), **invoice._fc_event_invoice(),
                'payment_reference': transaction.reference if transaction else None,
                'reason': (transaction.state_message if transaction else None) or None,
            }, event_key=f'invoice.payment_failed:account.move:{invoice.id}')
        return super()._handle_subscription_payment_failure(invoice, transaction)

    def _fc_event_subject(self):
        """The facts every subscription event carries."""
        self.ensure_one()
        customer = self.partner_id.commercial_partner_id
        return {
            'subscription_id': self.id,
            'subscription_reference': self.name,
            'customer': {'id': customer.id, 'name': customer.name, 'ref': customer.ref or None},
        }

    def _fc_notify(self, event_type, data, event_key=None):
        """Queue ``event_type`` with ``data`` for every service interested in this
        subscription: active, with a webhook URL, linked to its customer or the
        customer's company, and subscribed to the type. Runs as superuser, so whoever made
        the change can trigger it; queued in the current transaction. ``event_key`` names
        the cause (one cause, one event per service); by default the data themselves.
        Returns the queued events."""
        self.ensure_one()
        order = self.sudo()
        partners = order.partner_id | order.partner_id.commercial_partner_id
        services = self.env['fusion.billing.service'].sudo().search([
            ('company_id', '=', order.company_id.id),
            ('webhook_url', '!=', False),
            ('partner_ids', 'in', partners.ids),
            ('webhook_event_types.code', '=', event_type),
        ])
        if event_key is None:
            event_key = f'{event_type}:{hashlib.sha256(canonical_json(data).encode()).hexdigest()}'
        Webhook = self.env['fusion.billing.webhook'].sudo()
        events = Webhook.browse()
        for service in services:
            events |= Webhook._fc_enqueue(service, event_type, data, event_key)
        return events
