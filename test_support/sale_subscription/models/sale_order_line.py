from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import float_is_zero, format_date

INTERVAL_FACTOR = {
    'week': 30.437 / 7.0,
    'month': 1.0,
    'year': 1.0 / 12.0,
}


class SaleOrderLine(models.Model):
    _inherit = 'sale.order.line'

    recurring_invoice = fields.Boolean(related='product_template_id.recurring_invoice')
    parent_line_id = fields.Many2one('sale.order.line', index='btree_not_null', copy=False,
                                     help="The line of the parent contract this renewal or upsell line continues.")
    recurring_monthly = fields.Monetary(string="Monthly Recurring Revenue", compute='_compute_recurring_monthly')
    last_invoiced_date = fields.Date(compute='_compute_last_invoiced_date', store=True, index=True)
    subscription_start_date = fields.Date(related='order_id.start_date')
    subscription_end_date = fields.Date(related='order_id.end_date')
    next_invoice_date = fields.Date(related='order_id.next_invoice_date')
    subscription_plan_id = fields.Many2one(related='order_id.plan_id')
    display_type = fields.Selection(selection_add=[('subscription_discount', 'Subscription Discount')],
                                    ondelete={'subscription_discount': 'cascade'})

    @api.depends('recurring_invoice', 'price_subtotal')
    def _compute_recurring_monthly(self):
        for line in self:
            plan = line.order_id.plan_id
            if not line.recurring_invoice or not plan.billing_period:
                line.recurring_monthly = 0
            else:
                line.recurring_monthly = (line.price_subtotal * INTERVAL_FACTOR[plan.billing_period_unit]
                                          / plan.billing_period_value)

    @api.depends('order_id.next_invoice_date', 'recurring_invoice')
    def _compute_invoice_status(self):
        if self.env.context.get('skip_line_status_compute'):
            return None
        result = super()._compute_invoice_status()
        for line in self:
            if not line.order_id.is_subscription or not line.recurring_invoice:
                continue
            currency = line.order_id.currency_id or self.env.company.currency_id
            if currency.compare_amounts(line.order_id.recurring_monthly, 0) < 1:
                line.invoice_status = 'no'
        return result

    @api.depends('recurring_invoice', 'invoice_lines.deferred_start_date', 'invoice_lines.deferred_end_date',
                 'order_id.next_invoice_date', 'order_id.last_invoice_date')
    def _compute_qty_to_invoice(self):
        return super()._compute_qty_to_invoice()

    @api.depends('recurring_invoice', 'invoice_lines', 'invoice_lines.deferred_start_date',
                 'invoice_lines.deferred_end_date')
    def _compute_qty_invoiced(self):
        return super()._compute_qty_invoiced()

    @api.depends('order_id.plan_id', 'order_id.start_date')
    def _compute_discount(self):
        # As Enterprise: recurring lines of a subscription (not an upsell) get the
        # pricelist's discount like any sale line; the upsell prorata is left out here.
        return super()._compute_discount()

    @api.depends('invoice_lines.deferred_end_date', 'invoice_lines.move_id.state', 'invoice_lines.subscription_id')
    def _compute_last_invoiced_date(self):
        posted_lines = [('move_id.state', '=', 'posted'), ('move_id.move_type', 'in', ['out_invoice', 'out_refund']),
                        ('deferred_end_date', '!=', False)]
        by_subscription = {
            order.id: move_lines._get_max_invoiced_date() for order, move_lines in self.env['account.move.line']._read_group(
                [('subscription_id', 'in', self.order_id.ids), *posted_lines],
                groupby=['subscription_id'], aggregates=['id:recordset'])}
        self.last_invoiced_date = False
        for line, move_lines in self.env['account.move.line']._read_group(
                [('sale_line_ids', 'in', self.ids), *posted_lines],
                groupby=['sale_line_ids'], aggregates=['id:recordset']):
            # As Enterprise: when the line's own periods are all refunded, the
            # subscription's latest invoiced day stands in.
            line.last_invoiced_date = move_lines._get_max_invoiced_date() or by_subscription.get(line.order_id.id)

    def _check_line_unlink(self):
        undeletable = super()._check_line_unlink()
        return undeletable.filtered(lambda line: not (line.order_id.is_subscription and line.recurring_invoice))

    def _get_invoice_lines(self):
        self.ensure_one()
        if self._is_not_recurring_invoice():
            return super()._get_invoice_lines()
        last_invoice_date = self.order_id.last_invoice_date or self.order_id.start_date
        return self.invoice_lines.filtered(
            lambda line: line.date and last_invoice_date and line.date > last_invoice_date)

    def _get_deferred_date(self, last_invoiced_date=None, next_invoice_date=None):
        """Return the (start, end) dates of the line's current period."""
        self.ensure_one()
        if last_invoiced_date and next_invoice_date:
            return last_invoiced_date, next_invoice_date
        period = self.order_id.plan_id.billing_period
        start = self.last_invoiced_date and self.last_invoiced_date + relativedelta(days=1) \
            or self.order_id.start_date
        if self._is_postpaid_line():
            return start, start + period - relativedelta(days=1)
        if not self.order_id.next_invoice_date:
            return False, False
        if self.last_invoiced_date:
            return self.last_invoiced_date, self.last_invoiced_date + period - relativedelta(days=1)
        next_invoice_date = self.order_id.next_invoice_date
        return next_invoice_date - period, next_invoice_date - relativedelta(days=1)

    def _get_subscription_qty_invoiced(self, last_invoiced_date=None, next_invoice_date=None):
        """Quantity invoiced for the line's current period, refunds netted."""
        result = {}
        sign = {'out_invoice': 1, 'out_refund': -1}
        for line in self:
            if not line.recurring_invoice or line.order_id.state != 'sale' or line._subscription_is_one_time_sale():
                continue
            if not line.invoice_lines:
                continue
            period_start, period_end = line._get_deferred_date(last_invoiced_date, next_invoice_date)
            if not period_start or not period_end:
                continue
            period_key = period_end if line._is_postpaid_line() else period_start
            quantity = 0.0
            for invoice_line in line.invoice_lines.filtered(
                    lambda l: l.move_id.state != 'cancel' and l.deferred_start_date and l.deferred_end_date
                    and l.deferred_end_date == period_key):
                quantity += sign.get(invoice_line.move_id.move_type, 1) * invoice_line.product_uom_id._compute_quantity(
                    invoice_line.quantity, line.product_uom_id)
            result[line.id] = quantity
        return result

    def _prepare_qty_invoiced(self):
        per_period = self._get_subscription_qty_invoiced()
        recurring = self.filtered(lambda line: not line._is_not_recurring_invoice())
        invoiced = super(SaleOrderLine, self - recurring)._prepare_qty_invoiced()
        for line in recurring:
            invoiced[line] = per_period.get(line.id, 0.0)
        return invoiced

    def _get_invoice_line_parameters(self):
        """Return (period_start, period_end, ratio, number_of_days) of the period to invoice next."""
        self.ensure_one()
        today = fields.Date.today()
        order = self.order_id
        plan = order.plan_id
        start_date = order.start_date or today
        first_contract_date = order.first_contract_date or start_date
        if order.subscription_state == '7_upsell':
            period_start = max(start_date, first_contract_date)
            period_stop = order.next_invoice_date
        elif self._is_postpaid_line() and not self.env.context.get('force_postpaid_next_invoice'):
            period_start = (self.last_invoiced_date and self.last_invoiced_date + relativedelta(days=1)
                            or order.last_invoice_date or start_date)
            theoretical_stop = period_start + plan.billing_period
            period_stop = min(date for date in (theoretical_stop, order.end_date) if date)
        else:
            period_start = order.next_invoice_date or max(start_date, first_contract_date)
            period_stop = period_start + plan.billing_period

        if not plan.billing_first_day or plan.billing_period_unit == 'week':
            return period_start, period_stop - relativedelta(days=1), 1, None
        if plan.billing_period_unit == 'month':
            reference = period_stop if period_stop >= today else period_stop + relativedelta(months=1)
            first_of_next = reference + relativedelta(day=1)
        else:
            reference = period_stop if period_stop >= today else period_stop + relativedelta(years=1)
            first_of_next = reference + relativedelta(day=1, month=1)
        number_of_days = (first_of_next - period_start).days
        ratio = number_of_days / (period_stop - period_start).days
        if self._is_delivery() or not self.product_id.allow_prorated_price:
            ratio = 1
        return period_start, first_of_next - relativedelta(days=1), ratio, number_of_days

    def _prepare_invoice_line(self, **optional_values):
        self.ensure_one()
        values = super()._prepare_invoice_line(**optional_values)
        order = self.order_id
        if self.display_type or self.product_id.type == 'combo':
            if values.get('display_type') == 'subscription_discount':
                values['display_type'] = 'line_note'
            return values
        if order.plan_id and (self.recurring_invoice or order.subscription_state == '7_upsell'):
            period_start, period_stop, ratio, number_of_days = self._get_invoice_line_parameters()
            duration = order.plan_id.billing_period_display
            if ratio != 1:
                duration = self.env._("%s days", number_of_days)
                values['price_unit'] = values['price_unit'] * ratio
            description = values.get('name') or self.name
            if self.recurring_invoice and not self._is_delivery():
                lang = order.partner_id.lang
                description += "\n%s %s" % (duration, self.env._(
                    "%(start)s to %(next)s",
                    start=format_date(self.env, period_start, lang_code=lang),
                    next=format_date(self.env, period_stop, lang_code=lang)))
            if order.subscription_state != '7_upsell':
                if self._is_subscription_line_to_invoice():
                    quantity = self.qty_delivered if self._is_postpaid_line() else self.product_uom_qty
                else:
                    quantity = 0
            else:
                quantity = self.qty_to_invoice if not self.is_downpayment else 1.0
            values.update({
                'name': description,
                'quantity': quantity,
                'deferred_start_date': period_start,
                'deferred_end_date': period_stop,
                'subscription_id': order.subscription_id.id if order.subscription_state == '7_upsell' else order.id,
            })
        elif order.is_subscription and not values.get('subscription_id'):
            values['subscription_id'] = order.id
        return values

    def _reset_subscription_qty_to_invoice(self):
        today = fields.Date.today()
        for line in self:
            if (not line.recurring_invoice or line._is_postpaid_line()
                    or (line.order_id.start_date and line.order_id.start_date > today)):
                continue
            line.qty_to_invoice = line.product_uom_qty

    def _reset_subscription_quantity_post_invoice(self):
        """Hook run after each invoice. Enterprise leaves delivered quantities alone here."""
        return

    def _get_recurring_invoiceable_condition(self, automatic_invoice, date_from):
        self.ensure_one()
        order = self.order_id
        if automatic_invoice:
            return bool(order.next_invoice_date and order.next_invoice_date <= date_from
                        and order.start_date and order.start_date <= date_from)
        if self._is_postpaid_line():
            return bool(order.start_date != order.next_invoice_date)
        return not order.end_date or bool(order.next_invoice_date and order.next_invoice_date < order.end_date)

    def _is_subscription_line_to_invoice(self):
        self.ensure_one()
        date_from = self.env.context.get('invoiceable_date_from', fields.Date.today())
        automatic = self.env.context.get('recurring_automatic')
        if self.order_id.subscription_state == '7_upsell' or self.display_type or not self.recurring_invoice:
            return False
        if not self._get_recurring_invoiceable_condition(automatic, date_from):
            return False
        rounding = self.product_id.uom_id.rounding
        if (self.product_id.invoice_policy == 'order' and self.order_id.subscription_state != '5_renewed'
                and not float_is_zero(self.product_uom_qty, precision_rounding=rounding)):
            return True
        return self._is_postpaid_line() and not float_is_zero(self.qty_delivered, precision_rounding=rounding)

    def _get_renew_upsell_values(self, subscription_state):
        """Lines of a renewal or upsell quotation: the recurring lines (and sections and
        notes) of this contract; an upsell leaves out the postpaid ones and orders 0."""
        order_lines = []
        for line in self:
            if not line.recurring_invoice and line.display_type not in ('line_section', 'line_subsection',
                                                                          'line_note'):
                continue
            if subscription_state == '7_upsell' and line._is_postpaid_line():
                continue
            order_lines.append((0, 0, {
                'parent_line_id': line.id,
                'name': line.name,
                'product_id': line.product_id.id,
                'product_uom_id': line.product_uom_id.id,
                'product_uom_qty': 0 if subscription_state == '7_upsell' else line.product_uom_qty,
                'price_unit': line.price_unit,
                'display_type': line.display_type,
            }))
        return order_lines

    def _subscription_update_line_data(self, subscription):
        """Values that add an upsell's lines to its parent: more of an existing line, or new lines."""
        update_values, create_values, quantities = [], [], {}
        for line in self:
            if line.parent_line_id:
                if line.product_uom_qty:
                    quantities.setdefault(line.parent_line_id.id, line.parent_line_id.product_uom_qty)
                    quantities[line.parent_line_id.id] += line.product_uom_qty
            elif line.recurring_invoice:
                create_values.append((0, 0, {
                    'product_id': line.product_id.id, 'name': line.name, 'product_uom_qty': line.product_uom_qty,
                    'product_uom_id': line.product_uom_id.id, 'price_unit': line.price_unit, 'discount': 0,
                    'order_id': subscription.id,
                }))
        update_values += [(1, line_id, {'product_uom_qty': quantity}) for line_id, quantity in quantities.items()]
        return create_values, update_values

    def _is_postpaid_line(self):
        self.ensure_one()
        return self.product_id.invoice_policy == 'delivery'

    def _is_all_postpaid(self):
        return all(line._is_postpaid_line() for line in self if line.recurring_invoice)

    def _is_not_recurring_invoice(self):
        self.ensure_one()
        return not (self.recurring_invoice and self.order_id.plan_id)

    def _subscription_is_one_time_sale(self):
        self.ensure_one()
        return bool(self.product_id.allow_one_time_sale and self.recurring_invoice and not self.order_id.plan_id)

