from datetime import timedelta
from decimal import Decimal

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import float_compare, float_is_zero, format_amount, format_date
from odoo.tools.misc import get_lang

from odoo.addons.sale_subscription.models.sale_order import SUBSCRIPTION_CLOSED_STATE

from ..const import MANAGER_GROUP
from .fusion_billing_rating import UsageWindow

# Quantities are stored with 4 decimals; smaller differences are noise.
QUANTITY_DIGITS = 4



class FusionBillingReconciliation(models.Model):
    """The billing ledger: what was billed for one charge of one subscription over one
    billing period, on which invoice line, and how much usage arrived for that period
    after it was billed."""

    _name = 'fusion.billing.reconciliation'
    _description = 'Fusion Billing Reconciliation'
    _order = 'period_start desc, id desc'

    subscription_id = fields.Many2one('sale.order', required=True, ondelete='cascade',
                                      index=True, readonly=True)
    charge_id = fields.Many2one('fusion.billing.charge', required=True, ondelete='restrict',
                                index=True, readonly=True)
    metric_id = fields.Many2one('fusion.billing.metric', required=True, ondelete='restrict',
                                readonly=True)
    period_start = fields.Date(required=True, readonly=True)
    period_end = fields.Date(required=True, readonly=True, help="Last day of the billing period.")
    aggregated_quantity = fields.Float(digits=(16, 4), readonly=True,
                                       help="The period's aggregated quantity when it was billed.")
    included_quantity = fields.Float(digits=(16, 4), readonly=True)
    billable_quantity = fields.Float(digits=(16, 4), readonly=True)
    amount = fields.Monetary(readonly=True, help="What the posted invoice line billed for this period.")
    rated_amount = fields.Monetary(readonly=True,
                                   help="What the rating priced for this period; differs from the amount when "
                                        "the invoice line was changed before posting.")
    currency_id = fields.Many2one('res.currency', required=True, readonly=True)
    invoice_id = fields.Many2one('account.move', ondelete='set null', index='btree_not_null',
                                 readonly=True)
    invoice_line_id = fields.Many2one('account.move.line', ondelete='set null', readonly=True,
                                      help="The invoice line that billed this period; empty when the invoice "
                                           "billed nothing for it.")
    sale_line_id = fields.Many2one('sale.order.line', string="Subscription Line", ondelete='set null',
                                   readonly=True)
    state = fields.Selection([('billed', "Billed"), ('late_usage', "Late usage"), ('credited', "Credited")],
                             required=True, default='billed', readonly=True)
    late_quantity = fields.Float(digits=(16, 4), readonly=True,
                                 help="The period's aggregated quantity now minus the quantity billed and the late "
                                      "quantity already settled.")
    late_amount = fields.Monetary(compute='_compute_late_amount',
                                  help="What the late quantity costs on top of the units already billed.")
    late_settled_quantity = fields.Float(
        digits=(16, 4), readonly=True,
        help="Late quantity already billed on a later invoice or marked reviewed: not late any more.")
    late_billed_amount = fields.Monetary(readonly=True, help="Late usage put on later invoices.")
    late_sale_line_ids = fields.Many2many('sale.order.line', string="Late Usage Lines", readonly=True,
                                          help="The one-off subscription lines that bill this period's late usage.")
    company_id = fields.Many2one(related='subscription_id.company_id', store=True, index=True)
    partner_id = fields.Many2one(related='subscription_id.partner_id', string="Customer")

    _one_row_per_period = models.Constraint(
        'UNIQUE(subscription_id, charge_id, period_start)',
        "A charge is reconciled once per billing period of a subscription.")
    _period_ordered = models.Constraint('CHECK(period_start <= period_end)',
                                        "A reconciled period must start before it ends.")

    # ------------------------------------------------------------------
    # Posted invoices and credit notes
    # ------------------------------------------------------------------

    def _rows_to_post(self, moves):
        """The ledger rows that posting the draft customer invoices ``moves`` will write,
        {invoice id: [row values]}, read before Enterprise's posting moves the next invoice
        date on. An invoice already in the ledger (posted, reset to draft, posted again)
        writes nothing; one whose periods were handed back (cancelled) bills them again."""
        invoices = moves.filtered(lambda move: move.move_type == 'out_invoice' and move.state == 'draft'
                                  and move.invoice_line_ids.subscription_id)
        if not invoices:
            return {}
        already = set(self.search([('invoice_id', 'in', invoices.ids), ('state', '!=', 'credited')]).invoice_id.ids)
        return {invoice.id: self._invoice_rows(invoice) for invoice in invoices if invoice.id not in already}

    def _record_posted(self, moves, rows_to_post):
        """Write the rows (see _rows_to_post) of the invoices of ``moves`` that were
        posted and mark the periods their credit notes take back; then check late usage and
        start each usage line over on its new window."""
        posted = moves.filtered(lambda move: move.state == 'posted')
        touched = self._write_rows([row for invoice in posted.filtered(lambda move: move.move_type == 'out_invoice')
                                       for row in rows_to_post.get(invoice.id, ())])
        touched |= self._credit(posted.filtered(lambda move: move.move_type == 'out_refund'))
        if touched:
            touched._update_late_usage_of_charges()
            self.env['fusion.billing.rating']._rate_subscriptions(touched.subscription_id)

    def _forget_cancelled(self, moves):
        """Undo what cancelled invoices and credit notes did to the ledger: the periods of
        an invoice are handed back (credited: billed again with the next invoice), those of
        a credit note are billed again; then the subscriptions are rated again."""
        rows = self.search([('invoice_id', 'in', moves.filtered(lambda move: move.move_type == 'out_invoice').ids),
                            ('state', '!=', 'credited')])
        rows.write({'state': 'credited', 'late_quantity': 0.0})
        rows._compensate_late_billing()
        uncredited = self.browse()
        for aml, sale_line in self._usage_lines_of(moves.filtered(lambda move: move.move_type == 'out_refund')):
            uncredited |= self._rows_in(sale_line, aml).filtered(lambda row: row.state == 'credited')
        uncredited.write({'state': 'billed'})
        uncredited._withdraw_late_compensation()
        uncredited._update_late_usage_of_charges()
        subscriptions = rows.subscription_id | uncredited.subscription_id
        if subscriptions:
            self.env['fusion.billing.rating']._rate_subscriptions(subscriptions)

    def _usage_lines_of(self, moves):
        """(invoice line, usage line) of each dated usage line of ``moves``."""
        for aml in moves.invoice_line_ids:
            sale_line = aml.sale_line_ids.filtered('fusion_charge_id')[:1]
            if sale_line and aml.deferred_start_date and aml.deferred_end_date:
                yield aml, sale_line

    def _rows_in(self, sale_line, aml):
        """The rows of ``sale_line``'s charge for the periods starting in ``aml``'s dates."""
        return self.search([
            ('subscription_id', '=', sale_line.order_id.id), ('charge_id', '=', sale_line.fusion_charge_id.id),
            ('period_start', '>=', aml.deferred_start_date), ('period_start', '<=', aml.deferred_end_date)])

    def _invoice_rows(self, invoice):
        """The ledger rows of one posted invoice: one per billing period of each usage line
        it carries (the amount read from the invoice line), and, for every other charge of
        its subscriptions, one per period the invoice closes (what was rated, nothing
        billed: 0 for a quiet period)."""
        rows, billed = [], set()
        for aml, sale_line in self._usage_lines_of(invoice):
            billed.add((sale_line.order_id.id, sale_line.fusion_charge_id.id))
            rows += self._rows_of_invoice_line(aml, sale_line)
        rows += self._rows_of_unbilled_charges(invoice, billed)
        return rows

    def _rows_of_invoice_line(self, aml, sale_line):
        subscription, charge = sale_line.order_id, sale_line.fusion_charge_id
        first_day, last_day = aml.deferred_start_date, aml.deferred_end_date
        periods = aml.fusion_rated_periods or self._rerate(subscription, charge, first_day,
                                                              last_day + timedelta(days=1))
        if not periods:
            # Billed without a breakdown that can be priced again: one row for the whole
            # line, so the days it billed are never billed twice.
            periods = [{'start': fields.Date.to_string(first_day), 'end': fields.Date.to_string(last_day),
                        'aggregated_quantity': 0.0, 'included_quantity': 0.0, 'billable_quantity': 0.0,
                        'amount': '0'}]
        currency = aml.currency_id
        billed_total = Decimal(repr(currency.round(aml.price_subtotal)))
        rated = [Decimal(period['amount']) for period in periods]
        allocated = self._allocate(billed_total, rated, Decimal(repr(currency.rounding)))
        return [{
            **self._row_values(subscription, charge, period),
            'amount': float(amount),
            'invoice_id': aml.move_id.id,
            'invoice_line_id': aml.id,
            'sale_line_id': sale_line.id,
        } for period, amount in zip(periods, allocated)]

    def _rows_of_unbilled_charges(self, invoice, billed):
        """Rows at 0 for the charges an invoice did not bill, over the whole usage periods
        the invoice closes (up to the end of its postpaid lines' periods, or the start of
        its prepaid ones, billed in advance once the previous period is over). A period
        with nothing billable is recorded as rated; one with something billable (usage that
        came after the invoice was made, or a usage line taken off the invoice) is recorded
        as billing nothing, so that its usage shows as late usage for an admin."""
        Rating = self.env['fusion.billing.rating']
        closes = {}
        for aml in invoice.invoice_line_ids.filtered(lambda line: line.subscription_id and line.deferred_start_date
                                                      and line.deferred_end_date):
            sale_line = aml.sale_line_ids[:1]
            # An upsell's lines bill part of a period that goes on: they close nothing.
            if not sale_line.recurring_invoice or sale_line.order_id != aml.subscription_id:
                continue
            end = aml.deferred_end_date + timedelta(days=1) if sale_line._is_postpaid_line() \
                else aml.deferred_start_date
            closes[aml.subscription_id] = min(end, closes.get(aml.subscription_id, end))
        windows = Rating._usage_windows(self.env['sale.order'].concat(*closes))
        closed_windows = {key: UsageWindow(*key, window.start, window.end, tuple(
            period for period in window.periods if period[1] <= closes[self.env['sale.order'].browse(key[0])]))
            for key, window in windows.items() if key not in billed}
        ratings, _problems = Rating._rate_windows(closed_windows)
        rows = []
        for (subscription_id, charge_id), rating in ratings.items():
            subscription = self.env['sale.order'].browse(subscription_id)
            charge = self.env['fusion.billing.charge'].browse(charge_id)
            sale_line = subscription.order_line.filtered(lambda line, charge=charge: line.fusion_charge_id == charge)
            for period in rating.periods_for_invoice():
                if Decimal(period['amount']):
                    period = {**period, 'aggregated_quantity': 0.0, 'billable_quantity': 0.0}
                rows.append({**self._row_values(subscription, charge, period), 'amount': 0.0,
                             'invoice_id': invoice.id, 'sale_line_id': sale_line[:1].id})
        return rows

    def _rerate(self, subscription, charge, start, end):
        """The periods of [start, end) priced now, as an invoice line would carry them."""
        Rating = self.env['fusion.billing.rating']
        window = Rating._given_window(subscription, charge, start, end)
        ratings, problems = Rating._rate_windows({(subscription.id, charge.id): window})
        if problems:
            return []
        return ratings[subscription.id, charge.id].periods_for_invoice()

    def _row_values(self, subscription, charge, period):
        return {
            'subscription_id': subscription.id,
            'charge_id': charge.id,
            'metric_id': charge.metric_id.id,
            'period_start': period['start'],
            'period_end': period['end'],
            'aggregated_quantity': period['aggregated_quantity'],
            'included_quantity': period['included_quantity'],
            'billable_quantity': period['billable_quantity'],
            'rated_amount': float(period['amount']),
            'currency_id': charge.currency_id.id,
            'state': 'billed',
            'late_quantity': 0.0,
            # Billed again as a whole: what was settled late is in the new amount.
            'late_settled_quantity': 0.0,
            'late_billed_amount': 0.0,
        }

    @staticmethod
    def _allocate(total, weights, rounding):
        """Split ``total`` over periods in proportion to their rated amounts, to the
        currency's rounding; the last period takes what rounding leaves."""
        if not weights:
            return []
        weight_total = sum(weights)
        if weight_total == total:
            return weights
        shares = []
        for weight in weights[:-1]:
            share = total * weight / weight_total if weight_total else Decimal(0)
            shares.append((share / rounding).quantize(Decimal(1)) * rounding)
        shares.append(total - sum(shares))
        return shares

    def _write_rows(self, rows):
        """Create the rows of periods not in the ledger yet; a credited period billed again
        takes the new invoice. A period already billed is never rewritten."""
        if not rows:
            return self.browse()
        existing = {(row.subscription_id.id, row.charge_id.id, row.period_start): row for row in self.search([
            ('subscription_id', 'in', list({row['subscription_id'] for row in rows})),
            ('charge_id', 'in', list({row['charge_id'] for row in rows})),
        ])}
        written, to_create = self.browse(), []
        for values in rows:
            previous = existing.get((values['subscription_id'], values['charge_id'],
                                     fields.Date.to_date(values['period_start'])))
            if not previous:
                to_create.append(values)
            elif previous.state == 'credited':
                previous.write(values)
                written |= previous
        return written | self.create(to_create)

    def _credit(self, credit_notes):
        """A posted credit note that takes back the whole amount of a usage line's periods
        marks them credited: they are billed again with the next invoice. A partial
        credit note leaves the periods billed."""
        credited = self.browse()
        for aml, sale_line in self._usage_lines_of(credit_notes):
            rows = self._rows_in(sale_line, aml).filtered(lambda row: row.state != 'credited')
            billed = sum(rows.mapped('amount'))
            if rows and aml.currency_id.compare_amounts(aml.price_subtotal, billed) >= 0:
                rows.write({'state': 'credited', 'late_quantity': 0.0})
                credited |= rows
        credited._compensate_late_billing()
        return credited

    # ------------------------------------------------------------------
    # Late usage
    # ------------------------------------------------------------------

    def _update_late_usage_of(self, subscriptions):
        """Check the ledger rows of ``subscriptions`` (their state changed what is late)."""
        if subscriptions:
            self.search([('subscription_id', 'in', subscriptions.ids)])._update_late_usage()

    def _update_late_usage_of_charges(self):
        """Check every ledger row of the (subscription, charge) pairs of these rows: a row
        written for a later period changes what counts as late for the earlier ones."""
        pairs = {(row.subscription_id.id, row.charge_id.id) for row in self}
        if not pairs:
            return
        domain = ['|'] * (len(pairs) - 1)
        for subscription_id, charge_id in pairs:
            domain += ['&', ('subscription_id', '=', subscription_id), ('charge_id', '=', charge_id)]
        self.search(domain)._update_late_usage()

    def _update_late_usage(self):
        """Compare each billed row's quantity (and the late quantity already settled) with
        the period's aggregated quantity now: more usage puts the row in ``late_usage`` with
        the difference."""
        rows = self.filtered(lambda row: row.state != 'credited')
        if not rows:
            return
        horizons = rows._late_usage_horizons()
        quantities = self.env['fusion.billing.rating']._aggregate_periods(
            [(row.subscription_id.id, row.metric_id, row.period_start, horizons[row]) for row in rows])
        for row, aggregated_now in zip(rows, quantities):
            late_quantity = aggregated_now - row.aggregated_quantity - row.late_settled_quantity
            if float_compare(late_quantity, 0, precision_digits=QUANTITY_DIGITS) > 0:
                if row.state != 'late_usage' or float_compare(row.late_quantity, late_quantity,
                                                              precision_digits=QUANTITY_DIGITS):
                    row.write({'state': 'late_usage', 'late_quantity': late_quantity})
            elif row.state != 'billed' or not float_is_zero(row.late_quantity, precision_digits=QUANTITY_DIGITS):
                row.write({'state': 'billed', 'late_quantity': 0.0})

    def _late_usage_horizons(self):
        """{row: the day after the last day whose usage belongs to it}: the day after its
        period, except for the last billed period of a closed subscription that was billed
        up to its end date: everything after it is late there."""
        last_rows = {}
        for row in self.search([('subscription_id', 'in', self.subscription_id.ids), ('state', '!=', 'credited')],
                               order='period_start'):
            last_rows[row.subscription_id, row.charge_id] = row
        horizons = {}
        for row in self:
            horizon = row.period_end + timedelta(days=1)
            subscription = row.subscription_id
            if (subscription.subscription_state in SUBSCRIPTION_CLOSED_STATE
                    and last_rows.get((subscription, row.charge_id)) == row
                    and (not subscription.end_date or horizon >= subscription.end_date)):
                horizon = fields.Date.to_date('9999-12-31')
            horizons[row] = horizon
        return horizons

    # ------------------------------------------------------------------
    # Late usage: bill it or mark it reviewed
    # ------------------------------------------------------------------

    @api.depends('state', 'late_quantity', 'aggregated_quantity', 'late_settled_quantity')
    def _compute_late_amount(self):
        for row in self:
            row.late_amount = row.state == 'late_usage' and row._late_amount()

    def _late_amount(self):
        """The price of the late units on top of every unit already settled for the
        period (tiers and included units as the period's own rating has them)."""
        self.ensure_one()
        settled = self.aggregated_quantity + self.late_settled_quantity
        charge = self.charge_id
        return float(charge._rate(settled + self.late_quantity).amount - charge._rate(settled).amount)

    def action_bill_late_usage(self):
        """Put each late amount on the subscription's next invoice, once: a one-off line at
        that amount (taxed like the usage line), and the row records it as settled."""
        self._ensure_late(self.env._("Only rows with late usage can be billed."))
        product = self.env.ref('fusion_billing.product_late_usage')
        Rating = self.env['fusion.billing.rating']
        for row in self.sudo():
            if row.subscription_id.subscription_state not in ('3_progress', '4_paused'):
                raise UserError(self.env._(
                    "%s is not running: its late usage can only be billed on an invoice made by hand.",
                    row.subscription_id.display_name))
            amount = row._late_amount()
            usage_line = row.sale_line_id or row.subscription_id.order_line.filtered(
                lambda line, row=row: line.fusion_charge_id == row.charge_id)[:1]
            lang = get_lang(self.env, row.subscription_id.partner_id.lang).code
            line = self.env['sale.order.line'].sudo().with_context(lang=lang).create({
                'order_id': row.subscription_id.id,
                'product_id': product.id,
                'product_uom_qty': 1.0,
                'price_unit': amount,
                'tax_ids': [Command.set(row._usage_taxes(usage_line).ids)],
                'name': self.with_context(lang=lang).env._(
                    "Late usage: %(charge)s, %(start)s to %(end)s: %(quantity)s %(unit)s",
                    charge=row.charge_id.metric_id.with_context(lang=lang).name,
                    start=format_date(self.env, row.period_start, lang_code=lang),
                    end=format_date(self.env, row.period_end, lang_code=lang),
                    quantity=self.env['fusion.billing.rating']._format_quantity(row.late_quantity),
                    unit=row.charge_id.metric_id.with_context(lang=lang).unit_name or ''),
            })
            if amount:
                quantity, price = Rating._price_before_taxes(line, Decimal(repr(amount)), Decimal(1),
                                                             Decimal(repr(amount)))
                line.write({'product_uom_qty': float(quantity), 'price_unit': float(price)})
            row.write({
                'late_settled_quantity': row.late_settled_quantity + row.late_quantity,
                'late_billed_amount': row.late_billed_amount + amount,
                'late_sale_line_ids': [Command.link(line.id)],
                'late_quantity': 0.0,
                'state': 'billed',
            })
            row.subscription_id.message_post(body=self.env._(
                "Late usage of %(charge)s for %(start)s to %(end)s (%(amount)s) goes on the next invoice.",
                charge=row.charge_id.display_name, start=row.period_start, end=row.period_end,
                amount=format_amount(self.env, amount, row.currency_id)))
        return True

    def action_mark_late_usage_reviewed(self):
        """Accept the late usage without billing it: the row is settled and the chatter of
        the subscription says who decided."""
        self._ensure_late(self.env._("Only rows with late usage can be marked reviewed."))
        for row in self.sudo():
            row.subscription_id.message_post(body=self.env._(
                "Late usage of %(charge)s for %(start)s to %(end)s (%(quantity)s) reviewed by %(user)s: not billed.",
                charge=row.charge_id.display_name, start=row.period_start, end=row.period_end,
                quantity=self.env['fusion.billing.rating']._format_quantity(row.late_quantity),
                user=self.env.user.display_name))
            row.write({'late_settled_quantity': row.late_settled_quantity + row.late_quantity,
                       'late_quantity': 0.0, 'state': 'billed'})
        return True

    def _compensate_late_billing(self):
        """Credited periods are billed again as a whole, late units included: the late
        usage already billed on a separate line is taken off the next invoice by a
        one-off line of the opposite amount, so that no unit is billed twice."""
        product = self.env.ref('fusion_billing.product_late_usage')
        for row in self.sudo().filtered(lambda row: row.late_billed_amount and not row._pending_compensation()):
            late_lines = row.late_sale_line_ids.filtered(lambda line: line.price_unit > 0)
            lang = get_lang(self.env, row.subscription_id.partner_id.lang).code
            line = self.env['sale.order.line'].sudo().create({
                'order_id': row.subscription_id.id,
                'product_id': product.id,
                'product_uom_qty': 1.0,
                'price_unit': -sum(line.price_unit * line.product_uom_qty for line in late_lines),
                'tax_ids': [Command.set(late_lines.tax_ids.ids)],
                'name': self.with_context(lang=lang).env._(
                    "Late usage of %(charge)s for %(start)s to %(end)s already billed: the period is billed "
                    "again as a whole", charge=row.charge_id.metric_id.with_context(lang=lang).name,
                    start=format_date(self.env, row.period_start, lang_code=lang),
                    end=format_date(self.env, row.period_end, lang_code=lang)),
            })
            row.late_sale_line_ids = [Command.link(line.id)]
            row.subscription_id.message_post(body=self.env._(
                "%(charge)s for %(start)s to %(end)s was credited and will be billed again as a whole: the late "
                "usage already billed (%(amount)s) is taken off the next invoice.",
                charge=row.charge_id.display_name, start=row.period_start, end=row.period_end,
                amount=format_amount(self.env, row.late_billed_amount, row.currency_id)))

    def _withdraw_late_compensation(self):
        """The credit was undone: the compensation lines not invoiced yet are removed."""
        for row in self.sudo():
            row._pending_compensation().unlink()

    def _pending_compensation(self):
        return self.late_sale_line_ids.filtered(lambda line: line.price_unit < 0 and not line.invoice_lines)

    def _usage_taxes(self, usage_line):
        """The taxes of the usage line, or those it would get (the charge product's, mapped
        by the subscription's fiscal position)."""
        if usage_line:
            return usage_line.tax_ids
        subscription = self.subscription_id
        taxes = self.charge_id.product_id.taxes_id._filter_taxes_by_company(subscription.company_id)
        return subscription.fiscal_position_id.map_tax(taxes)

    def _ensure_late(self, message):
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(self.env._("Only Fusion Billing managers can settle late usage."))
        if any(row.state != 'late_usage' for row in self):
            raise UserError(message)
