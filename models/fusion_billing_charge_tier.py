from odoo import api, fields, models


class FusionBillingChargeTier(models.Model):
    """One band of a graduated or volume price table."""

    _name = 'fusion.billing.charge.tier'
    _description = 'Fusion Billing Charge Tier'
    _order = 'charge_id, is_open_ended, up_to, id'

    charge_id = fields.Many2one('fusion.billing.charge', required=True, ondelete='cascade', index=True)
    up_to = fields.Float(digits=(16, 4),
                         help="Last unit of the tier. 0 (empty) makes it the open-ended last tier.")
    is_open_ended = fields.Boolean(compute='_compute_is_open_ended', store=True)
    unit_price = fields.Float(digits=(16, 6), required=True, default=0.0)
    flat_fee = fields.Float(digits=(16, 6), default=0.0,
                            help="Charged once per period when at least one unit enters the tier.")
    currency_id = fields.Many2one(related='charge_id.currency_id')
    range_label = fields.Char(compute='_compute_range_label', help="The units the tier covers.")

    _up_to_not_negative = models.Constraint('CHECK(up_to >= 0)', "A tier cannot end below zero.")
    _unit_price_not_negative = models.Constraint('CHECK(unit_price >= 0)', "A tier's unit price cannot be negative.")
    _flat_fee_not_negative = models.Constraint('CHECK(flat_fee >= 0)', "A tier's flat fee cannot be negative.")

    @api.model_create_multi
    def create(self, vals_list):
        charges = self.env['fusion.billing.charge'].browse({vals['charge_id'] for vals in vals_list
                                                            if vals.get('charge_id')})
        before = charges._tier_tables()
        tiers = super().create(vals_list)
        charges._post_tier_changes(before)
        return tiers

    def write(self, vals):
        charges = self.charge_id
        before = charges._tier_tables()
        result = super().write(vals)
        charges._post_tier_changes(before)
        return result

    def unlink(self):
        charges = self.charge_id
        before = charges._tier_tables()
        result = super().unlink()
        charges._post_tier_changes(before)
        return result

    @api.depends('up_to', 'charge_id.tier_ids.up_to')
    def _compute_range_label(self):
        for tier in self:
            lower = max((other.up_to for other in tier.charge_id.tier_ids
                         if other.up_to and (tier.is_open_ended or other.up_to < tier.up_to)), default=0.0)
            Rating = self.env['fusion.billing.rating']
            lower_text = Rating._format_quantity(lower)
            if tier.is_open_ended:
                tier.range_label = self.env._("%s and above", lower_text)
            else:
                tier.range_label = self.env._("%(lower)s to %(upper)s", lower=lower_text,
                                              upper=Rating._format_quantity(tier.up_to))

    @api.depends('up_to')
    def _compute_is_open_ended(self):
        for tier in self:
            tier.is_open_ended = not tier.up_to

    @api.constrains('up_to', 'unit_price', 'flat_fee')
    def _check_table(self):
        self.charge_id._check_pricing()
