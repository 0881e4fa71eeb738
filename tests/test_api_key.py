import hashlib

from odoo.tests import tagged

from .common import FusionBillingCase


@tagged('post_install', '-at_install')
class TestApiKey(FusionBillingCase):

    def _stored_values(self, service):
        self.env.flush_all()
        self.env.cr.execute("SELECT * FROM fusion_billing_service WHERE id = %s", [service.id])
        return [str(value) for value in self.env.cr.fetchone()]

    def test_only_the_hash_and_a_display_prefix_are_stored(self):
        plaintext = self.service._generate_api_key()
        self.assertTrue(plaintext.startswith('fbk_'))
        self.assertGreaterEqual(len(plaintext) - len('fbk_'), 43, "32 random bytes, base64url")
        self.assertEqual(self.service.api_key_hash, hashlib.sha256(plaintext.encode()).hexdigest())
        self.assertEqual(self.service.api_key_prefix, plaintext[:12])
        self.assertNotIn(plaintext, self._stored_values(self.service))
        self.assertNotIn(plaintext, self.service.message_ids.mapped('body'))
        self.assertEqual(self.env['fusion.billing.service']._find_by_api_key(plaintext), self.service)

    def test_regenerating_revokes_the_previous_key(self):
        old_key = self.service._generate_api_key()
        new_key = self.service._generate_api_key()
        self.assertNotEqual(old_key, new_key)
        Service = self.env['fusion.billing.service']
        self.assertFalse(Service._find_by_api_key(old_key))
        self.assertEqual(Service._find_by_api_key(new_key), self.service)

    def test_unknown_or_malformed_keys_find_nothing(self):
        self.service._generate_api_key()
        Service = self.env['fusion.billing.service']
        for candidate in ('', 'fbk_', 'fbk_unknown', 'Bearer x', None, 42):
            self.assertFalse(Service._find_by_api_key(candidate), candidate)

    def test_archived_service_key_finds_nothing(self):
        plaintext = self.service._generate_api_key()
        self.service.action_archive()
        self.assertFalse(self.env['fusion.billing.service']._find_by_api_key(plaintext))

    def test_button_shows_the_key_once_without_storing_it(self):
        action = self.service.with_user(self.billing_manager).action_generate_api_key()
        self.assertEqual(action['res_model'], 'fusion.billing.api.key.show')
        plaintext = action['context']['default_key']
        self.assertEqual(self.env['fusion.billing.service']._find_by_api_key(plaintext), self.service)
        self.assertFalse(self.env['fusion.billing.api.key.show'].search([]))
