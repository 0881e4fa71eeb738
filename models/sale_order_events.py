import hashlib
import uuid

from odoo import fields, models

from odoo.addons.sale_subscription.models.sale_order import (
    SUBSCRIPTION_CLOSED_STATE,
    SUBSCRIPTION_PROGRESS_STATE,
)

from ..const import DEFER_STATE_EVENTS
from ..engine.const import (
    EVENT_PAYMENT_FAILED,
    EVENT_SUBSCRIPTION_REACTIVATED,
    EVENT_SUBSCRIPTION_RENEWED,
    EVENT_SUBSCRIPTION_TERMINATED,
)
from ..engine.webhooks import canonical_json


class SaleOrder(models.Model):
    _inherit = 'sale.order'  # pylint: disable=consider-merging-classes-inherited

    def write(self, vals):
        if 'subscription_state' not in vals or self.env.context.get(DEFER_STATE_EVENTS):
            return super().write(vals)
        before = {order.id: order.subscription_state for order in self}
        result = super().write(vals)
        self._fc_notify_state_changes(before)
        return result

    def set_close(self, close_reason_id=None, renew=False):
        before = {order.id: order.subscription_state for order in self}
        result = super(SaleOrder, self.with_context(**{DEFER_STATE_EVENTS: True})).set_close(
            close_reason_id=close_reason_id, renew=renew)
        self._fc_notify_state_changes(before)
        return result

    def set_open(self):
        before = {order.id: order.subscription_state for order in self}
        result = super(SaleOrder, self.with_context(**{DEFER_STATE_EVENTS: True})).set_open()
        self._fc_notify_state_changes(before)
        return result

    def _fc_notify_state_changes(self, before):
        """Send the subscription events of the state changes that really happened
        (old state -> new state as stored, not the method that was called), with the
        facts as they stand once the change is complete."""
        for order in self.filtered('is_subscription'):
            old, new = before.get(order.id), order.subscription_state
            if old == new:
                continue
            if old in SUBSCRIPTION_PROGRESS_STATE and new == '6_churn':
                event_type = EVENT_SUBSCRIPTION_TERMINATED
            elif old in ('4_paused', *SUBSCRIPTION_CLOSED_STATE) and new == '3_progress':
                event_type = EVENT_SUBSCRIPTION_REACTIVATED
            else:
                continue
            # Each change is its own cause: the same change twice in a transaction (pause,
            # resume, pause, resume) is two events.
            order._fc_notify(event_type, {
                **order._fc_event_subject(),
                'previous_state': old,
                'state': new,
                'close_reason': order.close_reason_id.name or None,
                'end_date': fields.Date.to_string(order.end_date) if order.end_date else None,
            }, event_key=f'{event_type}:sale.order:{order.id}:{old}>{new}:{uuid.uuid4().hex}')

    def _confirm_renewal(self):
        result = super()._confirm_renewal()
        for renewal in self:
            previous = renewal.subscription_id
            previous._fc_notify(EVENT_SUBSCRIPTION_RENEWED, {
                **previous._fc_event_subject(),
                'renewal_id': renewal.id,
                'renewal_reference': renewal.name,
                'renewal_start_date': fields.Date.to_string(renewal.start_date) if renewal.start_date else None,
            }, event_key=f'{EVENT_SUBSCRIPTION_RENEWED}:sale.order:{previous.id}>{renewal.id}')
        return result

    def _handle_subscription_payment_failure(self, invoice, transaction):
        # Enterprise deletes the invoice right after: the payload is built before.
        self._fc_notify_payment_failed(
            invoice._fc_event_invoice(), transaction.reference if transaction else None,
            (transaction.state_message if transaction else None) or None)
        return super()._handle_subscription_payment_failure(invoice, transaction)

    def _handle_automatic_invoices(self, invoice, auto_commit):
        # Enterprise also gives up without its failure handler: the token's customer has no
        # country, or the payment raised; both delete the draft invoice.
        facts = {move.id: (move._fc_event_invoice(), move.invoice_line_ids.subscription_id) for move in invoice}
        result = super()._handle_automatic_invoices(invoice, auto_commit)
        gone = set(facts) - set(self.env['account.move'].browse(list(facts)).exists().ids)
        for invoice_id in gone:
            invoice_facts, subscriptions = facts[invoice_id]
            subscriptions = subscriptions.exists() or self
            subscriptions._fc_notify_payment_failed(
                invoice_facts, None, self.env._("The automatic payment could not be made."))
        return result

    def _fc_notify_payment_failed(self, invoice_facts, payment_reference, reason):
        """invoice.payment_failed for each of these subscriptions, once per invoice."""
        for order in self:
            order._fc_notify(EVENT_PAYMENT_FAILED, {
                **order._fc_event_subject(), **invoice_facts,
                'payment_reference': payment_reference,
                'reason': reason,
            }, event_key=f"{EVENT_PAYMENT_FAILED}:account.move:{invoice_facts['invoice_id']}:sale.order:{order.id}")

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
            events |= Webhook._enqueue(service, event_type, data, event_key)
        return events
