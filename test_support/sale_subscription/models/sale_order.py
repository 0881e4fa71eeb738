import logging

from dateutil.relativedelta import relativedelta
from psycopg2.extensions import TransactionRollbackError

from odoo import api, fields, models, modules
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain

_logger = logging.getLogger(__name__)

SUBSCRIPTION_DRAFT_STATE = ['1_draft', '2_renewal']
SUBSCRIPTION_PROGRESS_STATE = ['3_progress', '4_paused']
SUBSCRIPTION_CLOSED_STATE = ['6_churn', '5_renewed']

SUBSCRIPTION_STATES = [
    ('1_draft', 'Quotation'),
    ('2_renewal', 'Renewal Quotation'),
    ('3_progress', 'In Progress'),
    ('4_paused', 'Paused'),
    ('5_renewed', 'Renewed'),
    ('6_churn', 'Churned'),
    ('7_upsell', 'Upsell'),
]


class SaleOrder(models.Model):
    _inherit = 'sale.order'

    is_subscription = fields.Boolean("Recurring", compute='_compute_is_subscription', store=True, index=True)
    plan_id = fields.Many2one('sale.subscription.plan', string="Recurring Plan", compute='_compute_plan_id',
                              store=True, readonly=False, ondelete='restrict', index='btree_not_null', tracking=True)
    subscription_state = fields.Selection(SUBSCRIPTION_STATES, string="Subscription Status",
                                          compute='_compute_subscription_state', store=True, readonly=False,
                                          index='btree_not_null', tracking=True)
    subscription_id = fields.Many2one('sale.order', string="Parent Contract", ondelete='restrict', copy=False,
                                      index='btree_not_null')
    origin_order_id = fields.Many2one('sale.order', string="First contract", compute='_compute_origin_order_id',
                                      store=True, ondelete='restrict', copy=False, index='btree_not_null')
    subscription_child_ids = fields.One2many('sale.order', 'subscription_id')

    start_date = fields.Date(compute='_compute_start_date', store=True, readonly=False, tracking=True)
    last_invoice_date = fields.Date(compute='_compute_last_invoice_date')
    next_invoice_date = fields.Date(compute='_compute_next_invoice_date', store=True, readonly=False, copy=False,
                                    tracking=True)
    end_date = fields.Date(tracking=True)
    first_contract_date = fields.Date(compute='_compute_first_contract_date', store=True)
    close_reason_id = fields.Many2one('sale.order.close.reason', copy=False, tracking=True)

    payment_token_id = fields.Many2one('payment.token', check_company=True, copy=False,
                                       domain="[('partner_id', 'child_of', commercial_partner_id),"
                                              " ('company_id', '=', company_id)]")
    payment_exception = fields.Boolean("Contract in exception", copy=False)
    pending_transaction = fields.Boolean(copy=False)
    is_batch = fields.Boolean(default=False, copy=False)
    is_invoice_cron = fields.Boolean(default=False, copy=False)
    last_reminder_date = fields.Date()
    user_pause_start = fields.Date()
    commercial_partner_id = fields.Many2one('res.partner', related='partner_id.commercial_partner_id')

    recurring_total = fields.Monetary(string="Recurring Amount", compute='_compute_recurring_total', store=True)
    recurring_monthly = fields.Monetary(string="MRR", compute='_compute_recurring_monthly', store=True,
                                        tracking=True)
    non_recurring_total = fields.Monetary(compute='_compute_non_recurring_total')
    order_log_ids = fields.One2many('sale.order.log', 'order_id', string="Subscription Logs", readonly=True,
                                    copy=False)
    has_recurring_line = fields.Boolean(compute='_compute_has_recurring_line')
    display_late = fields.Boolean(compute='_compute_display_late')

    _sale_subscription_state_coherence = models.Constraint(
        "CHECK(NOT (is_subscription=TRUE AND state = 'sale' AND subscription_state='1_draft'))",
        "You cannot set to draft a confirmed subscription. Please create a new quotation.",
    )
    _sale_subscription_state_coherence_2 = models.Constraint(
        "CHECK(NOT (is_subscription=TRUE AND state in ('draft', 'sent')"
        " AND subscription_state in ('3_progress', '4_paused')))",
        "You cannot have a draft SO be a confirmed subscription.",
    )
    _check_start_date_lower_next_invoice_date = models.Constraint(
        "CHECK((next_invoice_date IS NULL OR start_date IS NULL) OR (next_invoice_date >= start_date))",
        "The next invoice date of a sale order should be after its start date.",
    )

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains('plan_id', 'state', 'order_line')
    def _constraint_subscription_plan(self):
        for order in self:
            if order.state in ('draft', 'cancel') or order.subscription_state == '7_upsell':
                continue
            one_time = all(line._subscription_is_one_time_sale()
                           for line in order.order_line if line.recurring_invoice)
            if not order.plan_id and order.has_recurring_line and not one_time:
                raise UserError(self.env._(
                    "Please add a recurring plan on the subscription or remove the recurring product."))
            if order.plan_id and not order.has_recurring_line:
                raise UserError(self.env._(
                    "Please add a recurring product in the subscription or remove the recurring plan."))

    @api.constrains('subscription_state', 'state')
    def _constraint_canceled_subscription(self):
        for order in self:
            if order.state == 'cancel' and order.subscription_state in SUBSCRIPTION_PROGRESS_STATE + ['5_renewed']:
                raise ValidationError(self.env._(
                    "A cancelled SO cannot be in progress. You should close %s before cancelling it.", order.name))

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------

    @api.depends('plan_id')
    def _compute_is_subscription(self):
        for order in self:
            order.is_subscription = bool(order.plan_id) and order.subscription_state != '7_upsell'
        self.env.add_to_compute(self._fields['subscription_state'], self)

    @api.depends('is_subscription')
    def _compute_subscription_state(self):
        for order in self:
            if order.state not in ('draft', 'sent') or order.subscription_state in ('2_renewal', '7_upsell'):
                continue
            if order.is_subscription:
                order.subscription_state = '2_renewal' if order.subscription_id else '1_draft'
            else:
                order.subscription_state = False

    @api.depends('sale_order_template_id')
    def _compute_plan_id(self):
        for order in self:
            order.plan_id = order.sale_order_template_id.plan_id or None

    @api.depends('is_subscription', 'subscription_state')
    def _compute_origin_order_id(self):
        for order in self:
            if (order.is_subscription or order.subscription_state == '7_upsell') and not order.origin_order_id:
                order.origin_order_id = order.subscription_id.origin_order_id or order.subscription_id

    def _compute_start_date(self):
        for order in self:
            if not order.is_subscription:
                order.start_date = False
            elif not order.start_date:
                order.start_date = fields.Date.today()

    @api.depends('origin_order_id.start_date', 'origin_order_id', 'start_date')
    def _compute_first_contract_date(self):
        for order in self:
            order.first_contract_date = order.origin_order_id.start_date or order.start_date

    @api.depends('is_subscription', 'state', 'start_date', 'subscription_state')
    def _compute_next_invoice_date(self):
        for order in self:
            if not order.is_subscription and order.subscription_state != '7_upsell':
                order.next_invoice_date = False
            elif not order.next_invoice_date and order.state == 'sale':
                order.next_invoice_date = order.start_date or fields.Date.today()

    @api.depends('start_date', 'state', 'next_invoice_date')
    def _compute_last_invoice_date(self):
        for order in self:
            period = order.plan_id.billing_period
            last_date = order.next_invoice_date and period and order.next_invoice_date - period
            start_date = order.start_date or fields.Date.today()
            order.last_invoice_date = last_date if order.state == 'sale' and last_date and last_date >= start_date \
                else False

    @api.depends('order_line', 'order_line.recurring_invoice')
    def _compute_has_recurring_line(self):
        for order in self:
            order.has_recurring_line = any(line.product_id.recurring_invoice for line in order.order_line)

    @api.depends('subscription_state', 'state', 'is_subscription', 'order_line.price_subtotal')
    def _compute_recurring_total(self):
        for order in self:
            if order.is_subscription or order.subscription_state == '7_upsell':
                order.recurring_total = sum(
                    order.order_line.filtered(lambda l: l.recurring_invoice and not l.display_type)
                    .mapped('price_subtotal'))
            else:
                order.recurring_total = 0

    @api.depends('subscription_state', 'state', 'is_subscription', 'amount_untaxed')
    def _compute_recurring_monthly(self):
        for order in self:
            if order.is_subscription or order.subscription_state == '7_upsell':
                order.recurring_monthly = sum(order.order_line.mapped('recurring_monthly'))
            else:
                order.recurring_monthly = 0

    @api.depends('amount_untaxed', 'recurring_total')
    def _compute_non_recurring_total(self):
        for order in self:
            order.non_recurring_total = order.amount_untaxed - order.recurring_total

    def _compute_display_late(self):
        today = fields.Date.today()
        for order in self:
            order.display_late = bool(order.subscription_state in SUBSCRIPTION_PROGRESS_STATE
                                      and order.next_invoice_date and order.next_invoice_date < today)

    def _mail_track(self, tracked_fields, initial_values):
        result = super()._mail_track(tracked_fields, initial_values)
        if self.is_subscription:
            self.env['sale.order.log']._create_log(self, dict(initial_values))
        return result

    # ------------------------------------------------------------------
    # CRUD and confirmation
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        orders = super().create(vals_list)
        for order, vals in zip(orders, vals_list):
            if order.is_subscription and not order.subscription_state:
                order.subscription_state = vals.get('subscription_state', '1_draft')
        return orders

    @api.ondelete(at_uninstall=False)
    def _unlink_except_confirmed_subscription(self):
        for order in self:
            if (order.state not in ('draft', 'sent') and order.subscription_state
                    and order.subscription_state not in SUBSCRIPTION_DRAFT_STATE + SUBSCRIPTION_CLOSED_STATE):
                raise UserError(self.env._(
                    "Before you can delete a confirmed subscription, you need to close and cancel it."))

    def _prepare_confirmation_values(self):
        values = super()._prepare_confirmation_values()
        if all(self.mapped('is_subscription')):
            values['subscription_state'] = '3_progress'
        return values

    def action_confirm(self):
        upsells = self.filtered(lambda order: order.subscription_state == '7_upsell' and order.state in ('draft', 'sent'))
        renewals = self.filtered(lambda order: order.subscription_state == '2_renewal')
        recurring_orders = self.filtered('is_subscription')
        postpaid_orders = self.filtered(lambda order: all(line._is_postpaid_line() for line in order.order_line))
        for order in recurring_orders.filtered(lambda o: not o.subscription_state):
            order.subscription_state = '1_draft'
        (self - recurring_orders).filtered(lambda o: o.subscription_state != '7_upsell').subscription_state = False
        result_subscriptions = super(SaleOrder, recurring_orders).action_confirm() if recurring_orders else True
        result_others = super(SaleOrder, self - recurring_orders).action_confirm() if self - recurring_orders \
            else True
        recurring_orders._confirm_subscription()
        renewals._confirm_renewal()
        upsells._confirm_upsell()
        (postpaid_orders & recurring_orders)._update_next_invoice_date()
        return result_subscriptions and result_others

    # ------------------------------------------------------------------
    # Renewals and upsells
    # ------------------------------------------------------------------

    def prepare_renewal_order(self):
        self.ensure_one()
        return self._prepare_renew_upsell_order('2_renewal', self.env._("This renewal order has been created."))

    def prepare_upsell_order(self):
        self.ensure_one()
        return self._prepare_renew_upsell_order('7_upsell', self.env._("This upsell order has been created."))

    def _prepare_renew_upsell_order(self, subscription_state, message_body):
        order = self._create_renew_upsell_order(subscription_state, message_body)
        return {'type': 'ir.actions.act_window', 'res_model': 'sale.order', 'res_id': order.id,
                'views': [(False, 'form')]}

    def _create_renew_upsell_order(self, subscription_state, message_body):
        self.ensure_one()
        if self.start_date == self.next_invoice_date:
            raise ValidationError(self.env._(
                "You can not upsell or renew a subscription that has not been invoiced yet. "
                "Please, update directly the %s contract or invoice it first.", self.name))
        order = self.env['sale.order'].create(self._prepare_upsell_renew_order_values(subscription_state))
        self.subscription_child_ids = [(4, order.id)]
        order.message_post(body=message_body)
        order.order_line._compute_tax_ids()
        return order

    def _prepare_upsell_renew_order_values(self, subscription_state):
        self.ensure_one()
        today = fields.Date.today()
        if subscription_state == '7_upsell' and self.next_invoice_date and \
                self.next_invoice_date <= max(self.first_contract_date or today, today):
            raise UserError(self.env._(
                "You cannot create an upsell for this subscription because it has not started yet "
                "or has no invoiced period in the future."))
        order_lines = self.order_line._get_renew_upsell_values(subscription_state)
        start_date = today if subscription_state == '7_upsell' else self.next_invoice_date
        return {
            'is_subscription': subscription_state == '2_renewal',
            'subscription_id': self.id,
            'pricelist_id': self.pricelist_id.id,
            'partner_id': self.partner_id.id,
            'partner_invoice_id': self.partner_invoice_id.id,
            'partner_shipping_id': self.partner_shipping_id.id,
            'order_line': order_lines,
            'subscription_state': subscription_state,
            'origin': self.client_order_ref,
            'client_order_ref': self.client_order_ref,
            'origin_order_id': self.origin_order_id.id,
            'note': self.note,
            'user_id': self.user_id.id,
            'payment_term_id': self.payment_term_id.id,
            'company_id': self.company_id.id,
            'sale_order_template_id': self.sale_order_template_id.id,
            'payment_token_id': False,
            'start_date': start_date,
            'next_invoice_date': self.next_invoice_date,
            'plan_id': self.plan_id.id,
            'require_payment': self.require_payment,
        }

    def _confirm_renewal(self):
        today = fields.Date.today()
        for renew in self:
            parent = renew.subscription_id
            if renew.start_date < parent.next_invoice_date:
                raise ValidationError(self.env._(
                    "You cannot validate a renewal quotation starting before the next invoice date of the parent "
                    "contract. Please update the start date after the %s.", parent.next_invoice_date))
            if parent.start_date == parent.next_invoice_date:
                raise ValidationError(self.env._(
                    "You can not upsell or renew a subscription that has not been invoiced yet."))
            if parent.subscription_state == '5_renewed':
                raise ValidationError(self.env._("You cannot renew a subscription that has been renewed."))
            if self.search_count([('origin_order_id', '=', renew.origin_order_id.id),
                                  ('subscription_state', 'in', SUBSCRIPTION_PROGRESS_STATE),
                                  ('id', 'not in', [parent.id, renew.id])], limit=1):
                raise ValidationError(self.env._(
                    "You cannot renew a contract that already has an active subscription."))
            other_renewals = parent.subscription_child_ids.filtered(
                lambda so: so.subscription_state == '2_renewal' and so.state != 'cancel') - renew
            if other_renewals:
                other_renewals._action_cancel()
            parent.message_post(body=self.env._("This subscription is renewed in %s.", renew.name))
            close_reason = self.env.ref('sale_subscription.close_reason_renew') \
                if parent.subscription_state != '6_churn' \
                else self.env.ref('sale_subscription.close_reason_end_of_contract')
            parent.set_close(close_reason_id=close_reason.id, renew=True)
            renew.write({'date_order': today, 'start_date': renew.start_date or parent.next_invoice_date})

    def _confirm_upsell(self):
        today = fields.Date.today()
        for upsell in self:
            if (upsell.start_date or today) >= upsell.subscription_id.next_invoice_date:
                raise ValidationError(self.env._(
                    "You cannot upsell a subscription whose next invoice date is in the past."))
        existing_lines = self.subscription_id.order_line
        _created, update_values = self.update_existing_subscriptions()
        updated_lines = self.env['sale.order.line'].browse({values[1] for values in update_values})
        new_lines = self.subscription_id.order_line - existing_lines
        for upsell in self:
            upsell.subscription_id.message_post(body=self.env._("The upsell %s has been confirmed.", upsell.name))
        for line in (updated_lines | new_lines).with_context(skip_line_status_compute=True):
            line.qty_to_invoice = 0
            line.qty_invoiced = line.product_uom_qty
            line.invoice_status = 'no'

    def update_existing_subscriptions(self):
        create_values, update_values = [], []
        for order in self:
            create_values, update_values = order.order_line.filtered(
                lambda line: not line.display_type)._subscription_update_line_data(order.subscription_id)
            order.subscription_id.with_context(skip_next_invoice_update=True).write(
                {'order_line': create_values + update_values})
        return create_values, update_values

    def _confirm_subscription(self):
        today = fields.Date.today()
        for subscription in self:
            if not subscription.start_date:
                subscription.start_date = today
            if subscription.plan_id.billing_period_value <= 0:
                raise UserError(self.env._("Recurring period must be a positive number."))
            subscription._set_deferred_end_date_from_template()
            subscription.order_line._reset_subscription_qty_to_invoice()

    def _set_deferred_end_date_from_template(self):
        self.ensure_one()
        template = self.sale_order_template_id
        if template and not template.is_unlimited and not self.end_date:
            self.end_date = self.start_date + template.duration - relativedelta(days=1)

    def _get_invoiced(self):
        # Enterprise also counts the moves whose lines name the subscription, even
        # without a link to one of its order lines.
        result = super()._get_invoiced()
        subscriptions = self.filtered(lambda order: order.is_subscription and order.id)
        if subscriptions:
            lines = self.env['account.move.line'].search([('subscription_id', 'in', subscriptions.ids)])
            for subscription in subscriptions:
                moves = subscription.invoice_ids | lines.filtered(
                    lambda line: line.subscription_id == subscription).move_id
                subscription.invoice_ids = moves
                subscription.invoice_count = len(moves)
        return result

    def _get_subscription_invoices(self):
        return self.env['account.move.line'].search([('subscription_id', 'in', self.ids)]).move_id.filtered(
            lambda move: move.move_type in ('out_invoice', 'out_refund'))

    def _action_cancel(self):
        for order in self:
            invoiced = any(state in ('draft', 'posted') for state in order._get_subscription_invoices().mapped('state'))
            if order.subscription_state in SUBSCRIPTION_PROGRESS_STATE + ['5_renewed'] and invoiced:
                raise ValidationError(self.env._(
                    "Cancelling an invoiced subscription is not possible: close it instead."))
            if order.subscription_id and order.subscription_state == '6_churn':
                raise ValidationError(self.env._("You cannot cancel a churned renewed subscription."))
            if order.is_subscription or order.subscription_state in SUBSCRIPTION_PROGRESS_STATE:
                order.subscription_state = False
        return super()._action_cancel()

    # ------------------------------------------------------------------
    # Close, reopen, pause
    # ------------------------------------------------------------------

    def _get_closing_end_date(self, renew=False):
        self.ensure_one()
        end_date = fields.Date.context_today(self)
        if self.end_date and self.end_date <= end_date:
            end_date = self.end_date
        elif (self.plan_id.user_closable and self.plan_id.user_closable_options == 'end_of_period'
              and self.env.context.get('allow_future_end_date')):
            end_date = self.next_invoice_date - relativedelta(days=1)
        elif renew:
            end_date = self.next_invoice_date
        return end_date

    def _set_closed_state(self, renew=False):
        running_renewal = self.subscription_child_ids.filtered(
            lambda child: child.subscription_state in SUBSCRIPTION_PROGRESS_STATE)
        if renew and running_renewal and self.state == 'sale':
            self.subscription_state = '5_renewed'
            self.locked = True
        else:
            self.subscription_state = '6_churn'

    def set_close(self, close_reason_id=None, renew=False):
        today = fields.Date.context_today(self)
        for subscription in self:
            end_date = subscription._get_closing_end_date(renew=renew)
            if renew or end_date <= today:
                subscription._set_closed_state(renew)
            reason_id = close_reason_id or subscription.close_reason_id.id
            if not reason_id:
                if renew:
                    reason_id = self.env.ref('sale_subscription.close_reason_renew').id
                elif subscription.end_date and subscription.end_date <= end_date:
                    reason_id = self.env.ref('sale_subscription.close_reason_end_of_contract').id
                else:
                    reason_id = self.env.ref('sale_subscription.close_reason_unknown').id
            subscription.update({'end_date': end_date, 'close_reason_id': reason_id})
        return True

    def set_open(self):
        origin_ids = self.origin_order_id.ids + self.ids
        busy_origins = self.env['sale.order'].search([
            ('origin_order_id', 'in', origin_ids),
            ('subscription_state', 'in', SUBSCRIPTION_PROGRESS_STATE),
        ]).origin_order_id
        to_open = self.env['sale.order']
        for order in self:
            if order.subscription_state == '6_churn' and order.end_date:
                order.end_date = False
                order.activity_schedule(
                    'mail.mail_activity_data_todo',
                    summary=self.env._("Check reopened subscription"),
                    note=self.env._("Subscription %s has been reopened. The end date has been removed",
                                    order.name),
                    user_id=order.user_id.id or self.env.uid,
                )
            if order.is_subscription and order not in busy_origins and order.origin_order_id not in busy_origins:
                to_open |= order
        to_open.update({'state': 'sale', 'subscription_state': '3_progress', 'close_reason_id': False,
                        'locked': False})

    def reopen_order(self):
        if self and set(self.mapped('subscription_state')) != {'6_churn'}:
            raise UserError(self.env._("You cannot reopen a subscription that isn't closed."))
        self.set_open()

    def pause_subscription(self):
        self.filtered(lambda order: order.subscription_state == '3_progress').write(
            {'subscription_state': '4_paused'})

    def resume_subscription(self):
        self.filtered(lambda order: order.subscription_state == '4_paused').write(
            {'subscription_state': '3_progress'})

    # ------------------------------------------------------------------
    # Recurring invoicing
    # ------------------------------------------------------------------

    @api.model
    def _cron_recurring_create_invoice(self):
        company = self.env.company
        if not company.deferred_revenue_account_id or not company.deferred_revenue_journal_id:
            raise ValidationError(self.env._(
                "The deferred settings are not properly set. "
                "Please complete them to generate subscription deferred revenues"))
        return self._create_recurring_invoice()

    def _get_invoiceable_lines(self, final=False):
        standard_lines = super()._get_invoiceable_lines(final=final)
        standard_lines = standard_lines.filtered(
            lambda line: not line.recurring_invoice
            or line.order_id.subscription_state == '7_upsell'
            or line._subscription_is_one_time_sale())
        invoiceable = []
        downpayments = []
        pending_section = None
        for line in self.order_line:
            if line.display_type in ('line_section', 'line_subsection'):
                # A section is invoiced only above one of its invoiceable lines.
                pending_section = line
                continue
            if line.state != 'sale':
                continue
            if line in standard_lines or line._is_subscription_line_to_invoice():
                if line.is_downpayment:
                    downpayments.append(line.id)
                    continue
                if pending_section:
                    invoiceable.append(pending_section.id)
                    pending_section = None
                invoiceable.append(line.id)
            if line.display_type == 'subscription_discount':
                invoiceable.append(line.id)
        return self.env['sale.order.line'].browse(invoiceable + downpayments)

    def _next_billing_details(self):
        """The next invoice as the portal, payment links and reminder mails show it: a read
        path that collects the invoiceable lines, as Enterprise does."""
        self.ensure_one()
        AccountTax = self.env['account.tax']

        def tax_totals(lines):
            base_lines = [line._prepare_base_line_for_taxes_computation() for line in lines]
            AccountTax._add_tax_details_in_base_lines(base_lines, self.company_id)
            AccountTax._round_base_lines_tax_details(base_lines, self.company_id)
            return AccountTax._get_tax_totals_summary(base_lines, self.currency_id, self.company_id)

        display_lines = self._get_invoiceable_lines()
        amount_to_pay = tax_totals(display_lines) if display_lines else {}
        display_lines |= self.order_line.filtered(
            lambda line: line.product_id.invoice_policy == 'delivery' and line not in display_lines
            and line.recurring_invoice)
        if not display_lines:
            display_lines = self.order_line.filtered('recurring_invoice')
        if self.subscription_state == '5_renewed':
            display_lines = self.order_line
        return {
            'sale_order': self,
            'display_lines': display_lines,
            'next_invoice_amount': amount_to_pay.get('total_amount_currency') or 0.0,
            'tax_totals': tax_totals(display_lines),
        }

    def _recurring_invoice_domain(self, extra_domain=None):
        today = fields.Date.today()
        domain = Domain([
            ('is_batch', '=', False),
            ('is_subscription', '=', True),
            ('subscription_state', '=', '3_progress'),
            ('payment_exception', '=', False),
            ('pending_transaction', '=', False),
            ('company_id.active', '=', True),
            '|', ('next_invoice_date', '<=', today), ('end_date', '<=', today),
        ])
        if extra_domain:
            domain = Domain.AND([domain, extra_domain])
        return domain

    def _get_invoiced_subscriptions(self):
        return set(self.env['account.move.line'].search([
            ('subscription_id', 'in', self.ids),
            ('move_type', '=', 'out_invoice'),
            ('move_id.state', 'in', ['draft', 'posted']),
        ]).subscription_id.ids)

    def _get_subscriptions_to_invoice(self, limit=False):
        invoiced_ids = self._get_invoiced_subscriptions()
        to_invoice_ids = []
        for subscription in self:
            if (subscription.payment_token_id or not subscription.require_payment
                    or (subscription.id not in invoiced_ids and subscription.prepayment_percent != 1)
                    or subscription._invoice_is_considered_free(
                        subscription.with_context(recurring_automatic=True)._get_invoiceable_lines())[0]):
                to_invoice_ids.append(subscription.id)
            if limit and len(to_invoice_ids) >= limit:
                break
        return self.browse(to_invoice_ids)

    def _get_auto_invoice_grouping_keys(self):
        keys = set(self._get_invoice_grouping_keys()) | {'payment_token_id', 'partner_invoice_id'}
        keys.discard('partner_id')
        return sorted(keys)

    def _recurring_invoice_get_subscriptions(self, grouped=False, batch_size=30):
        """The cron's batch: a recordset, or with invoice consolidation a list of
        recordsets, each invoiced at once."""
        limit = False
        if self:
            domain = [('id', 'in', self.ids), ('subscription_state', 'in', SUBSCRIPTION_PROGRESS_STATE),
                      ('company_id.active', '=', True)]
            batch_size = False
        else:
            domain = self._recurring_invoice_domain()
            limit = batch_size and batch_size + 1
        if grouped:
            groups = self._read_group(domain, self._get_auto_invoice_grouping_keys(), ['id:recordset'], limit=limit)
            subscriptions = [group[-1]._get_subscriptions_to_invoice() for group in groups]
            subscriptions = [group for group in subscriptions if group]
        else:
            subscriptions = self.search(domain)._get_subscriptions_to_invoice(limit)
        need_cron_trigger = bool(batch_size and len(subscriptions) > batch_size)
        if batch_size:
            subscriptions = subscriptions[:batch_size]
        return subscriptions, need_cron_trigger

    def _subscription_commit_cursor(self, auto_commit, remaining=None):
        if auto_commit:
            if remaining is not None:
                self.env['ir.cron']._commit_progress(processed=1, remaining=remaining)
            else:
                self.env.cr.commit()  # pylint: disable=invalid-commit  # only outside tests, as Enterprise
        else:
            self.env.flush_all()
            self.env.cr.flush()

    def _subscription_rollback_cursor(self, auto_commit):
        if auto_commit:
            self.env.cr.rollback()

    def _subscription_launch_cron_parallel(self, batch_size):
        self.env.ref('sale_subscription.account_analytic_cron_for_invoice')._trigger()

    def _get_subscription_payment_exception_condition(self):
        return False

    def _create_recurring_invoice(self, batch_size=30):
        today = fields.Date.today()
        auto_commit = not (modules.module.current_test or self.env.context.get('install_mode'))
        grouped = self.env['ir.config_parameter'].sudo().get_param('sale_subscription.invoice_consolidation', False)
        subscriptions, need_cron_trigger = self._recurring_invoice_get_subscriptions(
            grouped=grouped, batch_size=batch_size)
        if not subscriptions:
            return self.env['account.move']

        # Like Enterprise: the invoiceable lines of the whole batch are collected before
        # any subscription (or group, with consolidation) of the batch is processed.
        all_invoiceable_lines = self.env['sale.order.line']
        remaining = []
        for subscription in subscriptions:
            subscription = subscription.with_context(mail_auto_subscribe_no_notify=True)
            ended = subscription.filtered_domain([('end_date', '!=', False)])._subscription_auto_close()
            subscription -= ended
            all_invoiceable_lines |= subscription.with_context(recurring_automatic=True)._get_invoiceable_lines()
            if subscription:
                remaining.append(subscription)
        subscriptions = remaining
        all_invoiceable_lines._reset_subscription_qty_to_invoice()
        if auto_commit:
            self.env['ir.cron']._commit_progress(remaining=len(subscriptions))
        self._subscription_commit_cursor(auto_commit)

        account_moves = self.env['account.move']
        for done, subscription in enumerate(subscriptions, start=1):
            if auto_commit:
                subscription = subscription.with_prefetch()
            subscription.is_invoice_cron = True
            subscription = subscription.filtered(
                lambda sub: sub.subscription_state == '3_progress' and not sub.payment_exception)
            if not subscription:
                continue
            try:
                self._subscription_commit_cursor(auto_commit)
                draft_invoices = subscription.invoice_ids.filtered(lambda move: move.state == 'draft')
                if subscription.payment_token_id and draft_invoices:
                    draft_invoices.button_cancel()
                elif draft_invoices:
                    continue
                invoiceable_lines = all_invoiceable_lines.filtered(lambda line: line.order_id in subscription)
                is_free, is_exception = subscription._invoice_is_considered_free(invoiceable_lines)
                if not invoiceable_lines or is_free:
                    due = subscription.filtered(lambda sub: sub.next_invoice_date and sub.next_invoice_date <= today)
                    if is_exception:
                        subscription.message_post(body=self.env._(
                            "Mix of negative recurring lines and non-recurring lines. "
                            "The contract should be fixed manually."))
                        subscription.payment_exception = True
                    elif due:
                        due.with_context(force_postpaid_next_invoice=True)._update_next_invoice_date()
                        if is_free:
                            for line in invoiceable_lines:
                                line.qty_invoiced = line.product_uom_qty
                            due._subscription_post_success_free_renewal()
                            subscription.is_invoice_cron = False
                    continue
                try:
                    invoice = subscription.with_context(recurring_automatic=True)._create_invoices(final=True)
                except Exception as error:  # pylint: disable=broad-exception-caught  # as Enterprise: one contract never stops the batch
                    if not auto_commit and isinstance(error, TransactionRollbackError):
                        raise
                    self._subscription_rollback_cursor(auto_commit)
                    _logger.exception("Error during renewal of contract %s", subscription.name)
                    continue
                self._subscription_commit_cursor(auto_commit)
                invoices = subscription.with_context(recurring_automatic=True)._handle_automatic_invoices(
                    invoice, auto_commit) or self.env['account.move']
                account_moves |= invoices
                if (subscription._get_subscription_payment_exception_condition()
                        or all(move.state != 'draft' for move in invoices)):
                    subscription.with_context(mail_notrack=True).payment_exception = False
                if not subscription.payment_token_id:
                    self._process_invoices_to_send(invoices)
                self._subscription_commit_cursor(auto_commit)
                try:
                    subscription._post_invoice_hook()
                    self._subscription_commit_cursor(auto_commit)
                except Exception:  # pylint: disable=broad-exception-caught
                    self._subscription_rollback_cursor(auto_commit)
                    _logger.exception("Error during post invoice action")
                    subscription._handle_post_invoice_hook_exception()
                subscription.is_invoice_cron = False
                self._subscription_commit_cursor(auto_commit, remaining=len(subscriptions) - done)
            except Exception:  # pylint: disable=broad-exception-caught
                _logger.exception("Error during renewal of contract %s", subscription.mapped('name'))
                self._subscription_rollback_cursor(auto_commit)
        self._subscription_commit_cursor(auto_commit, remaining=0)
        if need_cron_trigger:
            self._subscription_launch_cron_parallel(batch_size)
        else:
            self.search(['|', ('is_batch', '=', True), ('is_invoice_cron', '=', True)]).write({
                'is_invoice_cron': False, 'is_batch': False, 'user_pause_start': False})
            self._subscription_commit_cursor(auto_commit)
        return account_moves

    def _create_invoices(self, grouped=False, final=False, date=None):
        with_draft = self.filtered(lambda order: order.is_subscription and order.order_line.invoice_lines.move_id
                                   .filtered(lambda move: move.move_type in ('out_invoice', 'out_refund')
                                             and move.state == 'draft'))
        if with_draft:
            raise ValidationError(self.env._(
                "The following recurring orders have draft invoices. Please confirm or cancel them "
                "before creating new invoices. %s.", ", ".join(with_draft.mapped('name'))))
        return super()._create_invoices(grouped=grouped, final=final, date=date)

    def _subscription_auto_close(self):
        today = fields.Date.context_today(self)
        ending = self.filtered(lambda sub: sub.end_date and sub.end_date <= today)
        ending.set_close()
        return ending

    def _invoice_is_considered_free(self, invoiceable_lines):
        currency = self.currency_id[:1]
        amount_total = sum(invoiceable_lines.mapped('price_total'))
        non_recurring = invoiceable_lines.filtered(lambda line: not line.recurring_invoice)
        delivered_postpaid = invoiceable_lines.filtered(lambda line: line._is_postpaid_line() and line.qty_delivered)
        mrr = sum(self.mapped('recurring_monthly'))
        if currency.compare_amounts(mrr, 0) < 0 and non_recurring:
            return True, True
        if currency.compare_amounts(amount_total, 0) < 1 and not delivered_postpaid:
            return True, False
        if currency.compare_amounts(mrr, 0) < 1 and not non_recurring and not delivered_postpaid:
            return True, False
        return False, False

    def _should_post_invoice(self):
        return not self.payment_token_id or len(self.payment_token_id) > 1

    def _process_auto_invoice(self, invoice):
        invoice.action_post()

    def _handle_automatic_invoices(self, invoice, auto_commit):
        self.with_context(mail_notrack=True).write({'payment_exception': True})
        token = self.payment_token_id
        if self._should_post_invoice():
            self._process_auto_invoice(invoice)
            return invoice
        if not token.partner_id.country_id:
            self.message_post(body=self.env._(
                "Automatic payment failed. No country specified on payment_token's partner"))
            invoice.unlink()
            self._subscription_commit_cursor(auto_commit)
            return None
        existing_transactions = self.transaction_ids
        try:
            self.pending_transaction = True
            if invoice.currency_id.compare_amounts(invoice.amount_total_signed, 0) < 0:
                self.pending_transaction = False
                self.message_post(body=self.env._(
                    "Automatic payment failed. We can't automatically process negative payment."))
                self._subscription_commit_cursor(auto_commit)
                return invoice
            transaction = self._do_payment(token, invoice, auto_commit=auto_commit)
            if not transaction or transaction.renewal_state == 'cancel':
                self._handle_subscription_payment_failure(invoice, transaction)
                self._subscription_commit_cursor(auto_commit)
                return None
            if transaction.renewal_state == 'pending':
                self.payment_exception = False
                self._subscription_commit_cursor(auto_commit)
            elif transaction.renewal_state == 'authorized':
                self.payment_exception = False
                self._subscription_commit_cursor(auto_commit)
                invoice._post()
                self._subscription_commit_cursor(auto_commit)
        except Exception:  # pylint: disable=broad-exception-caught  # as Enterprise: the contract stays in exception
            new_transactions = (self.transaction_ids - existing_transactions).sudo()
            _logger.exception("Error during renewal of contract %s", self.ids)
            self._subscription_rollback_cursor(auto_commit)
            if invoice.state == 'draft' and (
                    not new_transactions or new_transactions.renewal_state in ('pending', 'authorized')):
                invoice.unlink()
                return None
        return invoice

    def _do_payment(self, payment_token, invoice, auto_commit=False):
        transactions = self.env['payment.transaction'].sudo().create([{
            'provider_id': payment_token.provider_id.id,
            'payment_method_id': payment_token.payment_method_id.id,
            'sale_order_ids': self.ids,
            'amount': invoice.amount_total,
            'currency_id': invoice.currency_id.id,
            'partner_id': invoice.partner_id.id,
            'token_id': payment_token.id,
            'operation': 'offline',
            'invoice_ids': [(6, 0, [invoice.id])],
            'subscription_action': 'automatic_send_mail',
        }])
        self._subscription_commit_cursor(auto_commit)
        for transaction in transactions:
            self.env.cr.execute("SELECT 1 FROM payment_transaction WHERE id = %s FOR NO KEY UPDATE",
                                [transaction.id])
            transaction._charge_with_token()
        return transactions

    def _update_subscription_payment_failure_values(self):
        return {}

    def _handle_subscription_payment_failure(self, invoice, transaction):
        today = fields.Date.today()
        invoice.unlink()
        self.pending_transaction = False
        auto_close_days = self.plan_id.auto_close_limit or 15
        for order in self:
            date_close = order.next_invoice_date + relativedelta(days=auto_close_days)
            if today >= date_close:
                order.message_post(body=self.env._(
                    "Automatic payment failed after multiple attempts. Contract closed automatically."))
                values = {'payment_exception': False}
                order.set_close(close_reason_id=self.env.ref(
                    'sale_subscription.close_reason_auto_close_limit_reached').id)
            else:
                order.message_post(body=self.env._(
                    "Automatic payment failed. Error: %s",
                    transaction and transaction.state_message or self.env._("No valid Payment Method")))
                values = {'payment_exception': False, 'is_batch': True}
            values.update(order._update_subscription_payment_failure_values())
            order.write(values)

    def _update_next_invoice_date(self):
        for order in self:
            if not order.is_subscription:
                continue
            next_dates = [line._get_invoice_line_parameters()[1] + relativedelta(days=1)
                          for line in order.order_line]
            order.next_invoice_date = next_dates and min(next_dates)
            order.last_reminder_date = False

    def _post_invoice_hook(self):
        self.order_line._reset_subscription_quantity_post_invoice()

    def _handle_post_invoice_hook_exception(self):
        return

    @api.model
    def _process_invoices_to_send(self, account_moves):
        for invoice in account_moves:
            subscriptions = invoice.line_ids.subscription_id
            if subscriptions:
                invoice.message_subscribe(subscriptions.user_id.partner_id.ids)

    def _subscription_post_success_free_renewal(self):
        for order in self:
            order.message_post(body=self.env._(
                "Automatic renewal succeeded. Free subscription. Next Invoice: %(inv)s. No email sent.",
                inv=order.next_invoice_date))

    def _subscription_post_success_payment(self, transaction, invoices, automatic=True):
        self.ensure_one()
        for invoice in invoices:
            invoice.write({'payment_reference': transaction.reference, 'ref': transaction.reference})
            self.message_post(body=self.env._(
                "Payment succeeded. Payment reference: %(ref)s. Amount: %(amount)s. Next Invoice: %(inv)s.",
                ref=transaction.reference, amount=transaction.amount, inv=self.next_invoice_date))
            if invoice.state != 'posted':
                invoice._post()

    @api.model
    def _cron_subscription_expiration(self):
        today = fields.Date.today()
        to_close = self.search([
            ('is_subscription', '=', True),
            ('end_date', '<', today),
            ('state', '=', 'sale'),
            ('subscription_state', 'in', SUBSCRIPTION_PROGRESS_STATE),
        ])
        expired = self.search([
            ('is_subscription', '=', True),
            ('state', '=', 'sale'),
            ('subscription_state', '=', '3_progress'),
            ('next_invoice_date', '!=', False),
        ]).filtered(lambda sub: sub.next_invoice_date + relativedelta(days=sub.plan_id.auto_close_limit or 15)
                    < today)
        expired.set_close(close_reason_id=self.env.ref(
            'sale_subscription.close_reason_auto_close_limit_reached').id)
        (to_close - expired).set_close()
        return {'closed': (to_close | expired).ids}
