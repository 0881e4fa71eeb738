from decimal import Decimal

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .. import engine
from ..engine.const import EVENT_USAGE_THRESHOLD_REACHED


class FusionBillingCharge(models.Model):
    """How a subscription plan prices one metric."""

    _name = 'fusion.billing.charge'
    _description = 'Fusion Billing Charge'
    _inherit = ['mail.thread']
    _order = 'plan_id, sequence, id'
    _check_company_auto = True

    name = fields.Char(compute='_compute_name', store=True, readonly=False, tracking=True)
    sequence = fields.Integer(default=10)
    plan_id = fields.Many2one('sale.subscription.plan', required=True, ondelete='cascade',
                              index=True, tracking=True, check_company=True)
    metric_id = fields.Many2one('fusion.billing.metric', required=True, ondelete='restrict',
                                tracking=True, check_company=True)
    product_id = fields.Many2one(
        'product.product', required=True, ondelete='restrict', tracking=True,
        check_company=True,
        domain="[('recurring_invoice', '=', True), ('invoice_policy', '=', 'delivery')]",
        help="Put on the subscription line that carries this charge: a recurring product invoiced on "
             "delivered quantities.")
    charge_model = fields.Selection([(model.name, model.label) for model in engine.CHARGE_MODEL_REGISTRY.values()],
                                    required=True, default=engine.CHARGE_MODELS[0], tracking=True)
    # Which terms the charge model reads, for the form.
    uses_price = fields.Boolean(compute='_compute_terms_used')
    uses_unit_batch = fields.Boolean(compute='_compute_terms_used')
    uses_tiers = fields.Boolean(compute='_compute_terms_used')
    price = fields.Float(digits=(16, 6), default=0.0, tracking=True,
                         help="Price per unit (standard) or per package (package).")
    price_display = fields.Char(string="Pricing", compute='_compute_price_display',
                                help="The price in the charge's currency with the decimals it has, or the "
                                     "number of tiers.")
    unit_batch = fields.Integer(string="Package Size", default=1, tracking=True)
    included_quantity = fields.Float(string="Included Units", digits=(16, 4), default=0.0, tracking=True,
                                     help="Free units per billing period.")
    tier_ids = fields.One2many('fusion.billing.charge.tier', 'charge_id', string="Tiers", copy=True)
    currency_id = fields.Many2one('res.currency', required=True, tracking=True,
                                  default=lambda self: self.env.company.currency_id)
    active = fields.Boolean(default=True, tracking=True)
    alert_threshold = fields.Float(digits=(16, 4), tracking=True,
                                   help="Aggregated quantity in a period that sends usage.threshold_reached. "
                                        "Leave empty for no alert.")
    company_id = fields.Many2one('res.company', required=True, index=True, default=lambda self: self.env.company)
    unit_name = fields.Char(related='metric_id.unit_name')

    _price_not_negative = models.Constraint('CHECK(price >= 0)', "A charge's price cannot be negative.")
    _unit_batch_positive = models.Constraint('CHECK(unit_batch > 0)', "A package holds at least one unit.")
    _included_quantity_not_negative = models.Constraint(
        'CHECK(included_quantity >= 0)', "The included units cannot be negative.")
    # In the database: two concurrent saves cannot both pass, as a search in Python would.
    _one_active_charge_per_metric = models.UniqueIndex(
        '(plan_id, metric_id) WHERE active',
        "A plan has at most one active charge per metric: archive the other charge first.")
    _alert_threshold_not_negative = models.Constraint(
        'CHECK(alert_threshold >= 0)', "The alert threshold cannot be negative.")

    @api.depends('plan_id.name', 'metric_id.name')
    def _compute_name(self):
        for charge in self:
            if charge.plan_id and charge.metric_id:
                charge.name = f"{charge.metric_id.name} ({charge.plan_id.name})"

    @api.depends('charge_model')
    def _compute_terms_used(self):
        for charge in self:
            model = engine.CHARGE_MODEL_REGISTRY.get(charge.charge_model)
            charge.uses_price = bool(model and model.uses_price)
            charge.uses_unit_batch = bool(model and model.uses_unit_batch)
            charge.uses_tiers = bool(model and model.uses_tiers)

    @api.constrains('charge_model', 'tier_ids', 'price', 'unit_batch', 'included_quantity')
    def _check_pricing(self):
        for charge in self:
            try:
                engine.validate_terms(charge._get_charge_terms())
            except engine.EngineError as error:
                raise ValidationError(self.env._("Charge %(charge)s: %(problem)s",
                                                 charge=charge.display_name, problem=error)) from None

    @api.constrains('product_id')
    def _check_product(self):
        for charge in self:
            product = charge.product_id
            if not product.recurring_invoice or product.invoice_policy != 'delivery':
                raise ValidationError(self.env._(
                    "The product %s of a usage charge must be a subscription product invoiced on delivered "
                    "quantities.", product.display_name))

    def _tier_tables(self):
        """{charge id: its tiers as text, one line per tier} for the chatter."""
        return {charge.id: self.env['fusion.billing.rating']._render_phrases(
                    engine.describe_tiers(charge._engine_tiers(), charge.metric_id.unit_name or ''),
                    self.env.lang, charge.currency_id)
                for charge in self.exists()}

    def _post_tier_changes(self, before):
        """Post on each charge whose tiers changed since ``before`` (see _tier_tables) the
        table before and after: tiers are edited in the charge's form, where field
        tracking does not see them."""
        after = self._tier_tables()
        for charge in self.exists():
            if before.get(charge.id, '') != after[charge.id]:
                none = self.env._("(none)")
                lines = [self.env._("Tiers changed from:"), *(before.get(charge.id) or none).split("\n"),
                         self.env._("to:"), *(after[charge.id] or none).split("\n")]
                charge.message_post(body=Markup("<br/>").join(lines))

    @api.depends('price', 'currency_id', 'charge_model', 'unit_batch', 'tier_ids')
    def _compute_price_display(self):
        Rating = self.env['fusion.billing.rating']
        for charge in self:
            if charge.uses_tiers:
                charge.price_display = self.env._("%s tiers", len(charge.tier_ids))
            elif charge.currency_id:
                charge.price_display = Rating._format_price(charge.price, charge.currency_id)
            else:
                charge.price_display = False

    def _engine_tiers(self):
        """The tiers as engine Tiers, in table order (the open-ended one last)."""
        self.ensure_one()
        return tuple(engine.Tier(up_to=None if tier.is_open_ended else tier.up_to, unit_price=tier.unit_price,
                                 flat_fee=tier.flat_fee)
                     for tier in self.tier_ids.sorted(lambda t: (t.is_open_ended, t.up_to, t.id)))

    def _get_charge_terms(self):
        """Return the engine's view of this charge's pricing."""
        self.ensure_one()
        tiers = self._engine_tiers() if self.uses_tiers else ()
        return engine.ChargeTerms(
            charge_model=self.charge_model,
            price=self.price,
            unit_batch=self.unit_batch,
            included_quantity=self.included_quantity,
            tiers=tiers,
        )

    def _rate(self, aggregated_quantity):
        """Price ``aggregated_quantity`` units with this charge; return an engine Rating."""
        self.ensure_one()
        return engine.rate(aggregated_quantity, self._get_charge_terms(), Decimal(repr(self.currency_id.rounding)))

    def _notify_thresholds_crossed(self, open_periods):
        """Note the subscriptions whose open period of this charge ({subscription id:
        (first day, day after the last, engine Rating)}) reached the alert threshold, and
        tell it once per subscription, charge and period, whether the API or the cron sees
        it first: on the subscription's chatter, as an activity of its salesperson, and
        as usage.threshold_reached to the services that want it."""
        self.ensure_one()
        if not self.alert_threshold:
            return
        reached = {subscription_id: period for subscription_id, period in open_periods.items()
                   if period[2].aggregated_quantity >= Decimal(repr(self.alert_threshold))}
        new = self.env['fusion.billing.threshold.crossing'].sudo()._note_crossings(self, {
            subscription_id: (start, float(rating.aggregated_quantity))
            for subscription_id, (start, _end, rating) in reached.items()})
        for subscription in self.env['sale.order'].sudo().browse(sorted(new)):
            start, end, rating = reached[subscription.id]
            subscription._fc_alert_threshold_crossed(self, rating.aggregated_quantity)
            key = (f'{EVENT_USAGE_THRESHOLD_REACHED}:{subscription.id}:{self.id}:'
                   f'{engine.midnight_utc(start).isoformat()}')
            subscription._fc_notify(EVENT_USAGE_THRESHOLD_REACHED, {
                **subscription._fc_event_subject(),
                'metric': self.metric_id.code,
                'charge_id': self.id,
                'quantity': float(rating.aggregated_quantity),
                'threshold': self.alert_threshold,
                'period': {'start': engine.midnight_utc(start).isoformat() + 'Z',
                           'end': engine.midnight_utc(end).isoformat() + 'Z'},
            }, event_key=key)
