from odoo import api, fields, models
from odoo.tools.date_utils import get_timedelta

PERIOD_UNITS = [('week', 'Weeks'), ('month', 'Months'), ('year', 'Years')]
SINGULAR_UNITS = {'week': 'Week', 'month': 'Month', 'year': 'Year'}


class SaleSubscriptionPlan(models.Model):
    _name = 'sale.subscription.plan'
    _description = 'Subscription Plan'
    _order = 'sequence, id'

    name = fields.Char(translate=True, required=True, default="Monthly")
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one('res.company')
    billing_period_value = fields.Integer(string="Duration", required=True, default=1)
    billing_period_unit = fields.Selection(PERIOD_UNITS, string="Unit", required=True, default='month')
    billing_period_display = fields.Char(compute='_compute_billing_period_display')
    billing_period_display_sentence = fields.Char(compute='_compute_billing_period_display')
    billing_first_day = fields.Boolean(string="Align to the first day of the period")
    auto_close_limit = fields.Integer(string="Automatic Closing", default=15,
                                      help="Days after the next invoice date before an unpaid subscription is closed.")
    invoice_mail_template_id = fields.Many2one(
        'mail.template', string="Invoice Email Template", domain=[('model', '=', 'account.move')],
        default=lambda self: self.env.ref('account.email_template_edi_invoice', raise_if_not_found=False))
    user_closable = fields.Boolean(string="Closable")
    user_closable_options = fields.Selection(
        [('at_date', 'At date'), ('end_of_period', 'At end of period')], default='at_date', required=True)
    user_extend = fields.Boolean(string="Renew")
    user_quantity = fields.Boolean(string="Add Products")
    pausable_by_user = fields.Boolean(string="Pausable")
    related_plan_id = fields.Many2many('sale.subscription.plan', 'sale_subscription_plan_related_rel',
                                       'plan_id', 'related_plan_id', string="Optional Plans")

    _check_for_valid_billing_period_value = models.Constraint(
        'CHECK(billing_period_value > 0)',
        "The recurring period must be a positive number.",
    )

    @property
    def billing_period(self):
        if not self.billing_period_value or not self.billing_period_unit:
            return False
        return get_timedelta(self.billing_period_value, self.billing_period_unit)

    @api.depends('billing_period_value', 'billing_period_unit')
    def _compute_billing_period_display(self):
        labels = dict(PERIOD_UNITS)
        for plan in self:
            label = labels.get(plan.billing_period_unit, '')
            if plan.billing_period_value == 1:
                label = SINGULAR_UNITS.get(plan.billing_period_unit, label)
            plan.billing_period_display = f"{plan.billing_period_value} {label}"
            plan.billing_period_display_sentence = self.env._(
                "Billed every %(value)s %(unit)s", value=plan.billing_period_value, unit=label.lower())
