import io
import json
import random
from unittest.mock import patch

from psycopg2 import errors as pg_errors

from odoo import Command
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .. import engine
from ..controllers.main import read_body
from ..engine.const import MAX_REQUEST_BYTES
from .common import FusionBillingCase, UsageApiCase, utc

URL = '/fusion_billing/v1/usage'


@tagged('post_install', '-at_install')
class TestUsageApi(UsageApiCase):
    """POST /fusion_billing/v1/usage with real HTTP requests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_customer = cls.env['res.partner'].create({'name': 'Globex'})
        cls.other_subscription = cls._create_subscription(cls.other_customer)
        cls.plain_order = cls.env['sale.order'].create({'partner_id': cls.customer.id})
        cls.api_user = cls.env.ref('fusion_billing.user_fusion_billing_api')

    def assertJsonError(self, response, status, code):
        self.assertEqual(response.status_code, status, response.text)
        self.assertTrue(response.headers['Content-Type'].startswith('application/json'), response.headers)
        body = response.json()
        self.assertEqual((body['status'], body['error']['code']), ('error', code))
        self.assertTrue(body['error']['message'])
        return body['error']

    def _stored(self):
        return self.env['fusion.billing.usage'].search([('service_id', '=', self.service.id)])

    # -- success -----------------------------------------------------------------

    def test_created_then_unchanged_then_updated(self):
        response = self._post({'events': [self._event()]})
        self.assertEqual(response.status_code, 200, response.text)
        [result] = response.json()['results']
        usage = self.env['fusion.billing.usage'].browse(result['id'])
        self.assertEqual(result, {'index': 0, 'id': usage.id, 'result': 'created',
                                  'subscription_id': self.subscription.id})
        self.assertRecordValues(usage, [{'subscription_id': self.subscription.id, 'metric_id': self.api_calls.id,
                                         'quantity': 1200, 'service_id': self.service.id, 'source': 'push',
                                         'create_uid': self.api_user.id, 'company_id': self.company.id}])
        again = self._post({'events': [self._event()]}).json()['results']
        self.assertEqual(again, [{'index': 0, 'id': usage.id, 'result': 'unchanged',
                                  'subscription_id': self.subscription.id}])
        changed = self._post({'events': [self._event(quantity=1500)]}).json()['results']
        self.assertEqual(changed, [{'index': 0, 'id': usage.id, 'result': 'updated',
                                    'subscription_id': self.subscription.id}])
        self.assertEqual(usage.quantity, 1500)
        self.assertEqual(len(self._stored()), 1)

    def test_thousand_event_batch_twice(self):
        events = [self._event(idempotency_key=f'k-{i}', quantity=i) for i in range(1000)]
        first = self._post({'events': events})
        self.assertEqual(first.status_code, 200, first.text[:500])
        self.assertEqual([r['result'] for r in first.json()['results']], ['created'] * 1000)
        self.assertEqual([r['index'] for r in first.json()['results']], list(range(1000)))
        second = self._post({'events': events}).json()['results']
        self.assertEqual([r['result'] for r in second], ['unchanged'] * 1000)
        self.assertEqual([r['id'] for r in second], [r['id'] for r in first.json()['results']])
        self.assertEqual(len(self._stored()), 1000)
        self.assertEqual(sum(self._stored().mapped('quantity')), sum(range(1000)))

    def test_statement_count_does_not_grow_with_the_batch(self):
        def statements(size, prefix):
            events = [self._event(idempotency_key=f'{prefix}-{i}') for i in range(size)]
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.assertEqual(self._post({'events': events}).status_code, 200)
            return self.env.cr.sql_log_count - before

        self._post({'events': [self._event(idempotency_key='warm-up')]})
        ten, thousand = statements(10, 'ten'), statements(1000, 'thousand')
        self.assertEqual(ten, thousand, "one batch, the same statements whatever its size")

    def test_events_without_key_are_plain_inserts(self):
        events = [self._event(idempotency_key=..., quantity=q) for q in (1, 2, 3)]
        results = self._post({'events': events}).json()['results']
        self.assertEqual([r['result'] for r in results], ['created'] * 3)
        usages = self.env['fusion.billing.usage'].browse([r['id'] for r in results])
        self.assertEqual(usages.mapped('quantity'), [1, 2, 3])

    def test_keys_and_values_are_stored_exactly_as_sent(self):
        keys = ['a "quoted", {braced} key', 'back\\slash\\', ' spaced ', 'NULL', 'ключ-日本', '\\"', '']
        events = [self._event(idempotency_key=key or ..., quantity=0.5 + number,
                              period_start=f'2026-11-01T00:00:00.{number:06d}Z')
                  for number, key in enumerate(keys)]
        results = self._post({'events': events}).json()['results']
        usages = self.env['fusion.billing.usage'].browse([r['id'] for r in results])
        self.assertEqual(usages.mapped('idempotency_key'), [key or False for key in keys])
        self.assertEqual(usages.mapped('quantity'), [0.5 + number for number in range(len(keys))])
        self.assertEqual(usages.mapped('period_start'),
                         [utc(2026, 11, 1, 0, 0, 0, number) for number in range(len(keys))])
        again = self._post({'events': events}).json()['results']
        self.assertEqual([r['result'] for r in again], ['unchanged'] * (len(keys) - 1) + ['created'],
                         "each key found again; the event without one is a new row")

    def test_offsets_are_stored_as_naive_utc(self):
        results = self._post({'events': [self._event(period_start='2026-11-01T02:00:00+02:00',
                                                     period_end='2026-11-01T01:30:00')]}).json()['results']
        usage = self.env['fusion.billing.usage'].browse(results[0]['id'])
        self.assertEqual((usage.period_start, usage.period_end), (utc(2026, 11, 1), utc(2026, 11, 1, 1, 30)))

    def test_subscription_of_a_child_contact_of_the_customer(self):
        contact = self.env['res.partner'].create({'name': 'Jane', 'parent_id': self.customer.id})
        subscription = self._create_subscription(contact)
        response = self._post({'events': [self._event(subscription_id=subscription.id)]})
        self.assertEqual(response.status_code, 200, response.text)

    # -- refusals ----------------------------------------------------------------

    def test_wrong_method_is_405_in_json(self):
        for method in ('GET', 'PUT', 'DELETE'):
            response = self.url_open(URL, method=method, headers={'Authorization': f'Bearer {self.key}'})
            self.assertJsonError(response, 405, 'method_not_allowed')
            self.assertEqual(response.headers['Allow'], 'POST')

    def test_missing_or_bad_key_is_401(self):
        for key in (None, '', 'nope', 'fbk_not-a-real-key', self.key + 'x'):
            with self.subTest(key=key):
                self.assertJsonError(self._post({'events': [self._event()]}, key=key), 401, 'unauthorized')
        revoked = self.key
        self.service._generate_api_key()
        self.assertJsonError(self._post({'events': [self._event()]}, key=revoked), 401, 'unauthorized')
        self.assertFalse(self._stored())

    def test_wrong_content_type_is_415_after_authentication(self):
        for content_type in ('text/plain', 'application/x-www-form-urlencoded', None):
            with self.subTest(content_type=content_type):
                self.assertJsonError(self._post({'events': []}, content_type=content_type), 415,
                                     'unsupported_media_type')
        self.assertJsonError(self._post({'events': []}, key=None, content_type='text/plain'), 401, 'unauthorized')

    def test_oversized_requests_are_413(self):
        events = [self._event(idempotency_key=f'k-{i}') for i in range(1001)]
        self.assertJsonError(self._post({'events': events}), 413, 'payload_too_large')
        padded = json.dumps({'events': [self._event(idempotency_key='x' * 200)] * 6000}).encode()
        self.assertGreater(len(padded), 1024 * 1024)
        self.assertJsonError(self._post(raw=padded), 413, 'payload_too_large')
        self.assertFalse(self._stored())

    def test_malformed_bodies_are_400(self):
        for raw in (b'', b'{', b'[]', b'"events"', b'{"events": {}}', b'{"event": []}', b'{"events": [1200]}',
                    b'{"events": [{"quantity": NaN}]}', b'\xff\xfe'):
            with self.subTest(raw=raw):
                self.assertJsonError(self._post(raw=raw), 400, 'validation_error')

    def test_every_problem_is_listed_and_nothing_is_stored(self):
        events = [
            self._event(idempotency_key='ok'),
            self._event(idempotency_key='bad-quantity', quantity='12'),
            self._event(idempotency_key='bad-period', period_end='2026-10-01T00:00:00Z'),
            self._event(idempotency_key='bad-metric', metric='nope'),
        ]
        error = self.assertJsonError(self._post({'events': events}), 400, 'validation_error')
        self.assertEqual([(d['index'], d['field']) for d in error['details']],
                         [(1, 'quantity'), (2, 'period_end'), (3, 'metric')],
                         "field problems and those the database finds, in one answer")
        self.assertEqual(error['count'], 3)
        error = self.assertJsonError(self._post({'events': [events[0], events[3]]}), 400, 'validation_error')
        self.assertEqual([(d['index'], d['field']) for d in error['details']], [(1, 'metric')])
        self.assertFalse(self._stored())

    def test_key_already_stored_for_another_period_is_400(self):
        self.assertEqual(self._post({'events': [self._event()]}).status_code, 200)
        moved = self._event(period_start='2026-11-02T00:00:00Z', period_end='2026-11-02T01:00:00Z')
        error = self.assertJsonError(self._post({'events': [self._event(idempotency_key='new'), moved]}), 400,
                                     'validation_error')
        self.assertEqual([(d['index'], d['field']) for d in error['details']], [(1, 'idempotency_key')])
        self.assertEqual(len(self._stored()), 1)

    def test_foreign_missing_or_non_subscription_ids_are_403_alike(self):
        bodies = []
        for subscription_id in (self.other_subscription.id, 999999, self.plain_order.id):
            response = self._post({'events': [self._event(), self._event(subscription_id=subscription_id,
                                                                          idempotency_key='x')]})
            error = self.assertJsonError(response, 403, 'forbidden')
            bodies.append(error)
        self.assertEqual(bodies[0], bodies[1])
        self.assertEqual(bodies[0], bodies[2])
        self.assertEqual(bodies[0]['details'], [{'index': 1, 'field': 'subscription_id',
                                                 'message': bodies[0]['details'][0]['message']}])
        self.assertFalse(self._stored())

    def test_a_service_cannot_report_for_another_service_customer(self):
        other_service = self.env['fusion.billing.service'].create({
            'name': 'Other app', 'code': 'other', 'partner_ids': [Command.link(self.other_customer.id)]})
        other_key = other_service._generate_api_key()
        self.assertJsonError(self._post({'events': [self._event()]}, key=other_key), 403, 'forbidden')
        response = self._post({'events': [self._event(subscription_id=self.other_subscription.id)]}, key=other_key)
        self.assertEqual(response.status_code, 200, response.text)

    def test_a_huge_error_is_counted_and_its_details_capped(self):
        raw = json.dumps({'events': [{'subscription_id': 'x', 'metric': 1, 'quantity': 'y', 'period_start': 2,
                                      'period_end': 3, 'idempotency_key': 4, 'extra': 5}] * 1000}).encode()
        error = self.assertJsonError(self._post(raw=raw), 400, 'validation_error')
        self.assertEqual((error['count'], len(error['details'])), (7000, 100))
        self.assertEqual(error['message'], "7000 problems in the request.")

    def test_quantities_beyond_ten_to_the_fifteen_are_refused(self):
        for quantity in (1e120, 1.7976931348623157e308, 10 ** 15 + 1):
            error = self.assertJsonError(self._post({'events': [self._event(quantity=quantity)]}), 400,
                                         'validation_error')
            self.assertEqual([(d['index'], d['field']) for d in error['details']], [(0, 'quantity')])
        self.assertEqual(self._post({'events': [self._event(quantity=10 ** 15)]}).status_code, 200)
        response = self.url_open(f'/fusion_billing/v1/subscriptions/{self.subscription.id}/usage',
                                 headers={'Authorization': f'Bearer {self.key}'})
        self.assertEqual(response.status_code, 200, response.text)

    def test_usage_that_could_never_be_billed_is_400(self):
        quotation = self._create_subscription(self.customer, confirm=False)
        cases = [
            (self._event(subscription_id=quotation.id), 'subscription_id'),
            (self._event(period_start='2026-10-31T23:00:00Z', period_end='2026-11-01T01:00:00Z'), 'period_start'),
            (self._event(period_start='2099-01-01T00:00:00Z', period_end='2099-01-01T01:00:00Z'), 'period_start'),
        ]
        for event, field in cases:
            error = self.assertJsonError(self._post({'events': [event]}), 400, 'validation_error')
            self.assertEqual([(d['index'], d['field']) for d in error['details']], [(0, field)], event)
        self.assertFalse(self._stored())

    def test_a_service_never_changes_a_row_another_service_reported(self):
        other_service = self.env['fusion.billing.service'].create({
            'name': 'Other app', 'code': 'other', 'partner_ids': [Command.link(self.customer.id)]})
        other_key = other_service._generate_api_key()
        self.assertEqual(self._post({'events': [self._event()]}).status_code, 200)
        error = self.assertJsonError(self._post({'events': [self._event(quantity=0)]}, key=other_key), 400,
                                     'validation_error')
        self.assertEqual([(d['index'], d['field']) for d in error['details']], [(0, 'idempotency_key')])
        self.assertRecordValues(self._stored(), [{'quantity': 1200, 'service_id': self.service.id}])

    def test_a_chunked_body_over_the_limit_is_413_without_reading_it_all(self):
        def chunks():
            yield b'{"events": ['
            for _chunk in range(2048):
                yield b' ' * 1024
            yield b']}'

        self.assertJsonError(self._post(raw=chunks()), 413, 'payload_too_large')
        small = json.dumps({'events': [self._event()]}).encode()
        response = self._post(raw=(part for part in (small[:10], small[10:])))
        self.assertEqual(response.status_code, 200, response.text)

        class EndlessBody(io.RawIOBase):
            served = 0

            def readable(self):
                return True

            def readinto(self, buffer):
                EndlessBody.served += len(buffer)
                buffer[:] = b' ' * len(buffer)
                return len(buffer)

        class ChunkedRequest:
            content_length = None
            stream = io.BufferedReader(EndlessBody())

        with self.assertRaises(engine.RequestRefused):
            read_body(ChunkedRequest())
        self.assertLess(EndlessBody.served, 2 * MAX_REQUEST_BYTES, "the body is read up to the limit, no further")

    def test_unknown_api_paths_and_odd_ids_answer_json(self):
        response = self.url_open('/fusion_billing/v1/subscriptions', headers={'Authorization': f'Bearer {self.key}'})
        self.assertJsonError(response, 404, 'not_found')
        for odd in ('%C2%B2', '%E2%91%A0', '%F0%9F%98%80'):
            response = self.url_open(f'/fusion_billing/v1/subscriptions/{odd}/usage',
                                     headers={'Authorization': f'Bearer {self.key}'})
            self.assertJsonError(response, 403, 'forbidden')

    def test_a_database_that_keeps_refusing_the_batch_is_a_json_503(self):
        def refuse(*_args, **_kwargs):
            raise pg_errors.SerializationFailure("could not serialize access due to concurrent update")

        with patch.object(type(self.env['fusion.billing.usage']), '_record_usage_batch', refuse), \
                patch('odoo.service.model.MAX_TRIES_ON_CONCURRENCY_FAILURE', 1), \
                patch('odoo.service.model.errorcodes.lookup', return_value='serialization_failure'), \
                mute_logger('odoo.http', 'odoo.service.model'):
            response = self._post({'events': [self._event()]})
        self.assertJsonError(response, 503, 'service_unavailable')
        self.assertEqual(response.headers['Retry-After'], '2')
        self.assertFalse(self._stored())

    def test_five_hundred_fuzzed_bodies_never_get_a_500_or_html_and_write_nothing(self):
        statuses = set()
        for raw in malformed_bodies(self._event(), count=520):
            response = self._post(raw=raw)
            self.assertIn(response.status_code, (400, 403, 413), raw[:200])
            self.assertTrue(response.headers['Content-Type'].startswith('application/json'))
            self.assertEqual(response.json()['status'], 'error')
            statuses.add(response.status_code)
        self.assertFalse(self._stored())
        self.assertIn(400, statuses)


def malformed_bodies(valid_event, count, seed=7):
    """Bodies that are wrong in every way a client can get them wrong, reproducibly.
    Each generated event has at least one field that no server may accept."""
    rng = random.Random(seed)
    wrong_anywhere = [None, True, False, [], {}, [1], {'a': 1}, '', 1e400, -1]
    wrong_for = {
        'subscription_id': ['12', 2**70, 0, 1.5],
        'metric': [' ', '\u0000', 'no-such-metric'],
        'quantity': ['12', 'NaN', -0.5, '1e3'],
        'period_start': ['2026-13-01T00:00:00Z', 'yesterday', '2026-11-01T00:00:00+25:00', '2026-11-01T25:00:00',
                         '2026-11-01T02:00:00Z'],
        'period_end': ['2026-13-01T00:00:00Z', 'tomorrow', '1999-01-01T00:00:00Z', '2026-11-01T00:00:00Z'],
        'idempotency_key': ['x' * 300, ' ', '\u0000'],
    }
    fixed = [b'', b' ', b'null', b'0', b'[]', b'{}', b'{"events": null}', b'{"events": "x"}', b'{"events": [[]]}',
             b'{"events": [null]}', b'{"events": [{}]}', b'{"events": [1, 2]}', b'{"events": []}',
             b'{"events": [{"quantity": Infinity}]}', b'{"events": [{"quantity": -Infinity}]}', b'\x80\x81',
             b'{"events": [], "events": []}', b'{"events": [{"metric": "a\\ud800"}]}', b'{' * 100000,
             b'{"events": [' + b'1,' * 1001 + b'1]}']
    yield from fixed
    for _ in range(count - len(fixed)):
        event = dict(valid_event)
        for field in rng.sample(sorted(wrong_for), rng.randint(1, 3)):
            if field != 'idempotency_key' and rng.random() < 0.2:
                del event[field]
            else:
                # A null key is no key, which is fine.
                anywhere = wrong_anywhere[1:] if field == 'idempotency_key' else wrong_anywhere
                event[field] = rng.choice(anywhere + wrong_for[field])
        if rng.random() < 0.2:
            event[rng.choice(['extra', 'Quantity', 'idempotencyKey'])] = 1
        text = json.dumps({'events': [event]}, allow_nan=True)
        if rng.random() < 0.1:
            text = text[:rng.randint(1, len(text) - 1)]
        yield text.encode('utf-8', 'surrogatepass')


@tagged('post_install', '-at_install')
class TestUsageReadApi(FusionBillingCase, HttpCase):
    """GET /fusion_billing/v1/subscriptions/<id>/usage with real HTTP requests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = cls.service._generate_api_key()
        cls.other_subscription = cls._create_subscription(cls.env['res.partner'].create({'name': 'Globex'}))
        cls.plain_order = cls.env['sale.order'].create({'partner_id': cls.customer.id})

    def _get(self, subscription_id, key=..., method='GET'):
        headers = {} if key is None else {'Authorization': f'Bearer {self.key if key is ... else key}'}
        return self.url_open(f'/fusion_billing/v1/subscriptions/{subscription_id}/usage', headers=headers,
                             method=method)

    def test_open_period_usage_per_charge(self):
        self.charge.included_quantity = 100
        self._record(1600, utc(2026, 11, 3), utc(2026, 11, 4))
        self._record(9, utc(2026, 12, 1), utc(2026, 12, 2))
        response = self._get(self.subscription.id)
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertEqual(body['status'], 'ok')
        self.assertEqual(body['subscription'], {'id': self.subscription.id, 'reference': self.subscription.name,
                                                'state': '3_progress'})
        self.assertEqual(body['period'], {'start': '2026-11-01T00:00:00Z', 'end': '2026-12-01T00:00:00Z'})
        self.assertEqual(body['charges'], [{
            'charge_id': self.charge.id, 'metric': 'api_calls', 'unit': 'calls', 'aggregated_quantity': 1600.0,
            'included_quantity': 100.0, 'billable_quantity': 1500.0, 'amount': '18.75',
            'currency': self.currency.name}])
        upcoming = body['upcoming_invoice']
        self.assertEqual(upcoming['date'], str(self.subscription.next_invoice_date))
        self.assertEqual(upcoming['lines'], [{
            'name': "API calls: 1,600 calls, 100 included, 1,500 billable\n1,500 calls × $\N{NO-BREAK SPACE}0.0125",
            'quantity': 1.0, 'price_unit': 18.75, 'discount': 0.0, 'price_subtotal': '18.75'}])
        taxes = self.usage_product.taxes_id.compute_all(18.75, self.currency)
        self.assertEqual((upcoming['currency'], upcoming['amount_untaxed'], upcoming['amount_total']),
                         (self.currency.name, '18.75', f"{taxes['total_included']:.2f}"))

    def test_errors_are_json(self):
        response = self._get(self.subscription.id, key=None)
        self.assertEqual((response.status_code, response.json()['error']['code']), (401, 'unauthorized'))
        response = self._get(self.subscription.id, key='fbk_wrong')
        self.assertEqual(response.status_code, 401)
        response = self._get(self.subscription.id, method='POST')
        self.assertEqual((response.status_code, response.json()['error']['code']), (405, 'method_not_allowed'))
        bodies = []
        for subscription_id in (self.other_subscription.id, 999999, self.plain_order.id, 'abc', '1e3',
                                '99999999999999999999'):
            response = self._get(subscription_id)
            self.assertEqual(response.status_code, 403, subscription_id)
            self.assertTrue(response.headers['Content-Type'].startswith('application/json'))
            bodies.append(response.json())
        self.assertTrue(all(body == bodies[0] for body in bodies), "the same answer whatever the reason")


@tagged('post_install', '-at_install')
class TestApiActivity(UsageApiCase):
    """Refused requests leave a trace an admin can read; accepted ones are counted."""

    def test_refused_and_accepted_requests_are_counted_per_service(self):
        Activity = self.env['fusion.billing.api.activity']
        self.assertEqual(self._post({'events': [self._event()]}).status_code, 200)
        self.assertEqual(self._post({'events': [self._event(idempotency_key='k2')]}).status_code, 200)
        self.assertEqual(self._post({'events': [self._event(metric='nope')]}).status_code, 400)
        self.assertEqual(self._post({'events': [self._event(metric='nope')]}).status_code, 400)
        self.assertEqual(self._post({'events': [self._event()]}, key='fbk_stale0123456789').status_code, 401)
        refused = Activity.search([('service_id', '=', self.service.id), ('refused', '=', True)])
        self.assertRecordValues(refused, [{'status': 400, 'code': 'validation_error', 'count': 2}])
        self.assertIn("nope", refused.last_problems)
        [anonymous] = Activity.search([('service_id', '=', False)])
        self.assertRecordValues(anonymous, [{'status': 401, 'count': 1, 'key_hint': 'fbk_stale012'}])
        self.assertRecordValues(self.service, [{'api_requests_24h': 2, 'api_events_24h': 2, 'api_refused_24h': 2}])
        self.env.cr.execute("UPDATE fusion_billing_api_activity SET hour = hour - interval '31 days' WHERE id = %s",
                            [anonymous.id])
        Activity._cron_vacuum()
        self.assertFalse(anonymous.exists(), "older than the retention")
        self.assertTrue(refused.exists(), "recent activity is kept")

    def test_bad_keys_share_one_row_an_hour(self):
        for number in range(5):
            self.assertEqual(self._post({'events': [self._event()]}, key=f'fbk_guess{number:04d}xyz').status_code, 401)
        [anonymous] = self.env['fusion.billing.api.activity'].search([('service_id', '=', False)])
        self.assertRecordValues(anonymous, [{'count': 5, 'key_hint': 'fbk_guess000'}])
