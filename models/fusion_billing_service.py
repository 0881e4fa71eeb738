import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

from .. import engine
from ..const import API_KEY_BYTES, API_KEY_DISPLAY_LENGTH, API_KEY_PREFIX, MANAGER_GROUP
from ..engine.const import EVENT_WEBHOOK_TEST



def hash_api_key(plaintext):
    """Return the stored form of an API key: its SHA-256, hex.

    The keys carry 256 random bits, so a fast hash is enough: there is nothing to
    brute-force, and a lookup by hash never has to scan or decode anything.
    """
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_webhook_secret():
    """Return a new random webhook signing secret (256 bits, hex)."""
    return secrets.token_hex(32)


class FusionBillingService(models.Model):
    """A source app: it reports usage for its customers and receives their events."""

    _name = 'fusion.billing.service'
    _description = 'Fusion Billing Service'
    _inherit = ['mail.thread']
    _order = 'name, id'
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    code = fields.Char(required=True, copy=False, tracking=True,
                       help="Short unique identifier used in logs and webhook payloads.")
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one('res.company', required=True, index=True, default=lambda self: self.env.company,
                                 tracking=True)
    partner_ids = fields.Many2many(
        'res.partner', 'fusion_billing_service_partner_rel', 'service_id', 'partner_id', string="Customers",
        tracking=True,
        help="Customers this service may report usage for and receives events about. A subscription belongs "
             "to the service when its customer, or the customer's company, is listed here.")

    api_key_hash = fields.Char(copy=False, readonly=True, groups=MANAGER_GROUP)
    api_key_prefix = fields.Char(string="API Key", copy=False, readonly=True,
                                 help="Beginning of the current API key, to recognise it. The key itself is "
                                      "shown once, when it is generated, and never stored.")
    api_key_generated_at = fields.Datetime(string="API Key Generated On", copy=False, readonly=True)
    api_requests_24h = fields.Integer(string="Requests Accepted (24 h)", compute='_compute_api_activity')
    api_events_24h = fields.Integer(string="Events Accepted (24 h)", compute='_compute_api_activity')
    api_refused_24h = fields.Integer(string="Requests Refused (24 h)", compute='_compute_api_activity')

    webhook_url = fields.Char(string="Webhook URL", tracking=True)
    webhook_secret = fields.Char(copy=False, groups=MANAGER_GROUP, required=True,
                                 default=lambda self: generate_webhook_secret())
    webhook_event_types = fields.Many2many(
        'fusion.billing.event.type', 'fusion_billing_service_event_type_rel', 'service_id', 'event_type_id',
        string="Webhook Events", default=lambda self: self.env['fusion.billing.event.type'].search([]),
        help="Event types sent to the webhook URL (all by default).")
    webhook_ids = fields.One2many('fusion.billing.webhook', 'service_id', string="Webhook Events Queued")

    _code_unique = models.Constraint('UNIQUE(code)', "Another service already uses this code.")

    @api.constrains('webhook_url')
    def _check_webhook_url(self):
        allow_private = self.env['fusion.billing.webhook']._allow_private_urls()
        for service in self.filtered('webhook_url'):
            try:
                engine.check_webhook_url(service.webhook_url, resolver=self._resolver(),
                                         allow_private=allow_private)
            except engine.UnsafeWebhookUrl as refusal:
                raise ValidationError(str(refusal)) from None

    @api.model
    def _resolver(self):
        """The host name resolver of the SSRF guard: None for the system's DNS."""
        return None

    @api.model_create_multi
    def create(self, vals_list):
        services = super().create(vals_list)
        services._grant_api_user_companies()
        return services

    def write(self, vals):
        result = super().write(vals)
        if 'company_id' in vals:
            self._grant_api_user_companies()
        return result

    def _grant_api_user_companies(self):
        """The technical API user writes usage in the service's company: let it in."""
        api_user = self.env.ref('fusion_billing.user_fusion_billing_api', raise_if_not_found=False)
        if api_user:
            missing = self.company_id - api_user.sudo().company_ids
            if missing:
                api_user.sudo().company_ids = [fields.Command.link(company.id) for company in missing]

    def _generate_api_key(self):
        """Create a new API key for the service, revoking the previous one.

        Only the key's hash and a short display prefix are stored; the plaintext is
        returned once, to be shown to the manager who asked for it.
        """
        self.ensure_one()
        self._ensure_manager(self.env._("Only Fusion Billing managers can generate API keys."))
        plaintext = API_KEY_PREFIX + secrets.token_urlsafe(API_KEY_BYTES)
        self.sudo().write({
            'api_key_hash': hash_api_key(plaintext),
            'api_key_prefix': plaintext[:API_KEY_DISPLAY_LENGTH],
            'api_key_generated_at': fields.Datetime.now(),
        })
        self.message_post(body=self.env._("A new API key was generated; the previous one no longer works."))
        return plaintext

    @api.model
    def _find_by_api_key(self, plaintext):
        """Return the active service whose key is ``plaintext``, or an empty recordset."""
        if not isinstance(plaintext, str) or not plaintext.startswith(API_KEY_PREFIX):
            return self.browse()
        candidate_hash = hash_api_key(plaintext)
        service = self.sudo().search([('api_key_hash', '=', candidate_hash)], limit=1)
        if service and hmac.compare_digest(service.api_key_hash, candidate_hash):
            return service
        return self.browse()

    def _compute_api_activity(self):
        since = fields.Datetime.now() - timedelta(hours=24)
        Activity = self.env['fusion.billing.api.activity'].sudo()
        domain = [('service_id', 'in', self.ids), ('last_at', '>=', since)]
        accepted = {service.id: (count, events) for service, count, events in Activity._read_group(
            domain + [('status', '<', 400)], ['service_id'], ['count:sum', 'events:sum'])}
        refused = {service.id: count for service, count in Activity._read_group(
            domain + [('status', '>=', 400)], ['service_id'], ['count:sum'])}
        for service in self:
            service.api_requests_24h, service.api_events_24h = accepted.get(service.id, (0, 0))
            service.api_refused_24h = refused.get(service.id, 0)

    def action_view_api_refused(self):
        """Smart button: this service's refused requests of the last 24 hours."""
        return self._api_activity_action({'search_default_refused': 1, 'search_default_last_day': 1})

    def action_view_api_accepted(self):
        """Smart button: this service's accepted requests of the last 24 hours."""
        return self._api_activity_action({'search_default_accepted': 1, 'search_default_last_day': 1})

    def _api_activity_action(self, context):
        self.ensure_one()
        action = self.env['ir.actions.act_window']._for_xml_id('fusion_billing.fusion_billing_api_activity_action')
        action['domain'] = [('service_id', '=', self.id)]
        action['context'] = context
        return action

    def action_generate_api_key(self):
        """Button: generate a key and show it once, in a dialog that is never saved."""
        self.ensure_one()
        plaintext = self._generate_api_key()
        return {
            'type': 'ir.actions.act_window',
            'name': self.env._("New API key for %s", self.name),
            'res_model': 'fusion.billing.api.key.show',
            'view_mode': 'form',
            'target': 'new',
            'context': {'default_service_id': self.id, 'default_key': plaintext},
        }

    def action_regenerate_webhook_secret(self):
        """Button: replace the webhook secret and show the new one (receivers must be
        given it)."""
        self.ensure_one()
        self._ensure_manager(self.env._("Only Fusion Billing managers can replace a webhook secret."))
        self.sudo().webhook_secret = generate_webhook_secret()
        self.message_post(body=self.env._("The webhook secret was replaced."))
        return self._show_webhook_secret(replaced=True)

    def action_show_webhook_secret(self):
        """Button: show the webhook secret in a dialog, to copy into the receiver."""
        self.ensure_one()
        self._ensure_manager(self.env._("Only Fusion Billing managers can read a webhook secret."))
        return self._show_webhook_secret(replaced=False)

    def _show_webhook_secret(self, replaced):
        return {
            'type': 'ir.actions.act_window',
            'name': self.env._("Webhook secret of %s", self.name),
            'res_model': 'fusion.billing.webhook.secret.show',
            'view_mode': 'form',
            'target': 'new',
            'context': {'default_service_id': self.id, 'default_secret': self.sudo().webhook_secret,
                        'default_replaced': replaced},
        }

    def action_send_test_webhook(self):
        """Button: send a test event now and tell how it went."""
        self.ensure_one()
        self._ensure_manager(self.env._("Only Fusion Billing managers can send test events."))
        event = self.env['fusion.billing.webhook']._enqueue(
            self, EVENT_WEBHOOK_TEST, {'service': self.code, 'message': "Test event from Fusion Billing."},
            f'test:{uuid.uuid4()}')
        event._deliver()
        if event.state == 'sent':
            message, kind = self.env._("The test event was delivered (HTTP %s).", event.response_status), 'success'
        else:
            message, kind = self.env._("The test event was not delivered: %s", event.last_error), 'warning'
        return {'type': 'ir.actions.client', 'tag': 'display_notification',
                'params': {'message': message, 'type': kind, 'sticky': kind != 'success'}}

    def _ensure_manager(self, message):
        """Buttons are also reachable over RPC: the server checks the group, not the view."""
        if not self.env.su and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(message)

    def _is_customer(self, partner):
        """True when ``partner`` (or its commercial partner) is one of the service's customers."""
        self.ensure_one()
        return bool((partner | partner.commercial_partner_id) & self.partner_ids)
