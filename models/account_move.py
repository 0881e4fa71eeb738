from collections import defaultdict

from odoo import fields, models


class AccountMove(models.Model):
    _inherit = 'account.move'

    def _post(self, soft=True):
        # At posting, not at creation: a failed automatic payment deletes the draft invoice
        # and a pending token payment leaves it draft; only a posted invoice has billed.
        billed = self._fc_billed_usage()
        posted = super()._post(soft=soft)
        if billed:
            posted_billed = [entry for entry in billed if entry['invoice'] in posted]
            self.env['fusion.billing.reconciliation'].sudo()._fc_record_billed_usage(posted_billed)
        return posted

    def _fc_billed_usage(self):
        """List, per subscription and usage charge billed by these customer invoices, the
        period, the invoice line and the quantity rated onto the line. A charge of the
        plan with nothing billable gets an entry too, over the period of the invoice's
        other postpaid lines, so that usage arriving later for it can be seen."""
        invoices = self.filtered(lambda move: move.move_type == 'out_invoice' and move.state == 'draft')
        entries = []
        for invoice in invoices:
            usage_lines = invoice.invoice_line_ids.filtered(
                lambda aml: aml.sale_line_ids.fusion_charge_id and aml.deferred_start_date and aml.deferred_end_date)
            postpaid_periods = {}
            for aml in invoice.invoice_line_ids:
                sale_line = aml.sale_line_ids[:1]
                if sale_line.recurring_invoice and sale_line._is_postpaid_line() and aml.deferred_start_date:
                    postpaid_periods.setdefault(sale_line.order_id, (aml.deferred_start_date, aml.deferred_end_date))
            billed_charges = defaultdict(set)
            for aml in usage_lines:
                sale_line = aml.sale_line_ids[:1]
                billed_charges[sale_line.order_id].add(sale_line.fusion_charge_id)
                entries.append({
                    'invoice': invoice, 'subscription': sale_line.order_id, 'charge': sale_line.fusion_charge_id,
                    'sale_line': sale_line, 'invoice_line': aml, 'quantity': sale_line.fusion_rated_quantity,
                    'period': (aml.deferred_start_date, aml.deferred_end_date),
                })
            for subscription, period in postpaid_periods.items():
                charges = self.env['fusion.billing.charge'].sudo().search([
                    ('plan_id', '=', subscription.plan_id.id), ('company_id', '=', subscription.company_id.id),
                    ('currency_id', '=', subscription.currency_id.id)])
                for charge in charges - self.env['fusion.billing.charge'].concat(*billed_charges[subscription]):
                    sale_line = subscription.order_line.filtered(lambda line: line.fusion_charge_id == charge)
                    entries.append({
                        'invoice': invoice, 'subscription': subscription, 'charge': charge, 'sale_line': sale_line,
                        'invoice_line': self.env['account.move.line'], 'quantity': sale_line.fusion_rated_quantity,
                        'period': period,
                    })
        return entries

    def _compute_payment_state(self):
        # The payment state is computed, never written: compare what is stored with what
        # the computation gives, whatever marked the invoice paid (a payment transaction,
        # a manual reconciliation, a bank statement).
        stored = {}
        if self.ids:
            self.env.cr.execute("SELECT id, payment_state FROM account_move WHERE id IN %s", [tuple(self.ids)])
            stored = dict(self.env.cr.fetchall())
        result = super()._compute_payment_state()
        paid = self.filtered(lambda move: move.id and move.move_type == 'out_invoice'
                             and move.payment_state in ('paid', 'in_payment')
                             and stored.get(move.id) not in ('paid', 'in_payment'))
        for invoice in paid:
            for subscription in invoice.invoice_line_ids.subscription_id:
                subscription._fc_notify('invoice.payment_succeeded', {
                    **subscription._fc_event_subject(), **invoice._fc_event_invoice(),
                }, event_key=f'invoice.payment_succeeded:account.move:{invoice.id}')
        return result

    def _fc_event_invoice(self):
        """The facts of this invoice that payment events carry."""
        self.ensure_one()
        return {
            'invoice_id': self.id,
            'invoice_number': self.name,
            'amount_total': f"{self.amount_total:.{self.currency_id.decimal_places}f}",
            'amount_residual': f"{self.amount_residual:.{self.currency_id.decimal_places}f}",
            'currency': self.currency_id.name,
            'invoice_date': fields.Date.to_string(self.invoice_date) if self.invoice_date else None,
        }
