from odoo import api, models


class FusionBillingRating(models.AbstractModel):
    _inherit = 'fusion.billing.rating'

    @api.model
    def _upcoming_invoice(self, subscription, preview=None):
        """The next invoice of ``subscription`` as Enterprise's invoicing cron would create it
        on the next invoice date, with the usage priced as it stands now; nothing is written.

        Returns {'date', 'currency' (res.currency), 'lines': [{'name', 'product_id',
        'quantity', 'price_unit', 'discount', 'price_subtotal'}],
        'amount_untaxed', 'amount_tax', 'amount_total'}, or None when the cron will not
        invoice it (paused, closed, ending before its next invoice date): its usage is then
        invoiced by hand, if at all. ``preview`` is _preview's answer for the subscription
        when the caller already has it.
        """
        subscription.ensure_one()
        # A read for whoever may see the subscription's usage (a billing user, the API on
        # behalf of the subscription's service): taxes and lines are read as superuser.
        self, subscription = self.sudo(), subscription.sudo()
        # Enterprise's cron invoices running subscriptions only, and closes, without an
        # invoice, one whose end date comes before its next invoice date.
        if subscription.subscription_state != '3_progress' or not subscription.next_invoice_date:
            return None
        invoice_date = subscription.next_invoice_date
        if subscription.end_date and subscription.end_date < invoice_date:
            return None
        # The cron's view of the lines: automatic invoicing on the invoice date.
        subscription = subscription.with_context(recurring_automatic=True, invoiceable_date_from=invoice_date)
        if preview is None:
            preview = self._preview(subscription)
        ratings = {rating.window.charge_id: rating for rating in preview}
        charges = self.env['fusion.billing.charge'].sudo().browse(list(ratings))
        usage_lines = {line.fusion_charge_id.id: line for line in subscription.order_line if line.fusion_charge_id}
        entries = []
        for line in subscription._get_invoiceable_lines():
            if line.fusion_charge_id or line.display_type:
                continue
            values = line._prepare_invoice_line()
            entries.append((line, values['name'], values['quantity'], values['price_unit'], values['discount']))
        for charge in charges:
            rating = ratings[charge.id]
            if not rating.amount:
                continue
            line = usage_lines.get(charge.id) or self.env['sale.order.line'].sudo().new({
                'order_id': subscription.id, 'product_id': charge.product_id.id, 'product_uom_qty': 0.0,
                'fusion_charge_id': charge.id})
            values = self._line_values(rating, charge, subscription, line)
            entries.append((line, values['name'], values['qty_delivered'], values['price_unit'], 0.0))
        return self._invoice_totals(subscription, invoice_date, entries)

    @api.model
    def _invoice_totals(self, subscription, invoice_date, entries):
        """Taxes and totals of the invoice lines ``entries`` (sale line, name, quantity,
        price unit, discount), computed as Odoo computes an invoice's."""
        AccountTax = self.env['account.tax']
        currency = subscription.currency_id
        base_lines = [AccountTax._prepare_base_line_for_taxes_computation(
            line, price_unit=price_unit, quantity=quantity, discount=discount, tax_ids=line.tax_ids,
            currency_id=currency, partner_id=subscription.partner_invoice_id, product_id=line.product_id,
            rate=1.0) for line, _name, quantity, price_unit, discount in entries]
        AccountTax._add_tax_details_in_base_lines(base_lines, subscription.company_id)
        AccountTax._round_base_lines_tax_details(base_lines, subscription.company_id)
        totals = AccountTax._get_tax_totals_summary(base_lines, currency, subscription.company_id)
        lines = []
        for base_line, (line, name, quantity, price_unit, discount) in zip(base_lines, entries):
            details = base_line['tax_details']
            lines.append({
                'name': name, 'product_id': line.product_id.id, 'quantity': quantity, 'price_unit': price_unit,
                'discount': discount, 'price_subtotal': details['total_excluded_currency'],
            })
        return {
            'date': invoice_date,
            'currency': currency,
            'lines': lines,
            'amount_untaxed': totals['base_amount_currency'],
            'amount_tax': totals['tax_amount_currency'],
            'amount_total': totals['total_amount_currency'],
        }
