"""How the cost of usage grows with the usage table (run by `tools/bench growth`, not a test).

Seeds 10,000 subscriptions a year old on a plan with three usage charges: twelve billed
months in the ledger (360,000 rows) and an open period (November 2026) with 10,000
usage rows. Then, for each size of the usage table (default 10 k, 1 M and 10 M rows),
adds rows for the past twelve months in SQL and measures, at that size:

- ingestion: 1,000-event batches with fresh keys in the open period, through Odoo's
  WSGI application in this process (events/s, median batch); they are deleted once the
  size is measured, so that the open period stays the same;
- hourly rating: every open period's quantities changed, then the rating cron
  (seconds for the 10,000 subscriptions x 3 charges);
- the read API: GET /fusion_billing/v1/subscriptions/<id>/usage for 200 subscriptions
  (median and 95th percentile).

The time should follow the open period's rows, not the table's size: each query looks
rows up through an index that starts with the subscription (see the README).

Usage: bench_growth.py DATABASE ADDONS_PATH [ROWS ...]   (env: FUSION_ODOO_SRC)
"""
import json
import statistics
import sys
import time

from werkzeug.test import Client as WsgiClient

from odoo import api, http
from odoo.modules.registry import Registry
from odoo.tools import config

from bench_rating import create_subscriptions, setup_charges

SUBSCRIPTIONS = 10_000
PAST_MONTHS = 12
INGESTION_BATCHES = 10
READS = 200


def make_them_a_year_old(env, subscription_ids, charges):
    """Start the subscriptions a year earlier, with every past month billed in the ledger
    (so the rating window is the open month), and give each one usage row in the open
    period, on one of the charges' metrics in turn."""
    env.cr.execute("UPDATE sale_order SET start_date = DATE '2026-11-01' - %s * INTERVAL '1 month' WHERE id IN %s",
                   [PAST_MONTHS, tuple(subscription_ids)])
    env.cr.execute("""
        INSERT INTO fusion_billing_reconciliation
               (subscription_id, charge_id, metric_id, period_start, period_end, aggregated_quantity,
                included_quantity, billable_quantity, amount, rated_amount, currency_id, state, company_id,
                create_uid, write_uid, create_date, write_date)
        SELECT so.id, charge.id, charge.metric_id, month.start, (month.start + INTERVAL '1 month')::date - 1,
               0, 0, 0, 0, 0, charge.currency_id, 'billed', so.company_id, 1, 1, now() at time zone 'UTC',
               now() at time zone 'UTC'
          FROM sale_order so
    CROSS JOIN fusion_billing_charge charge
    CROSS JOIN LATERAL (SELECT (DATE '2026-11-01' - n * INTERVAL '1 month')::date AS start
                          FROM generate_series(1, %s) n) month
         WHERE so.id IN %s AND charge.id IN %s""", [PAST_MONTHS, tuple(subscription_ids), tuple(charges.ids)])
    env.cr.execute("""
        INSERT INTO fusion_billing_usage (subscription_id, metric_id, period_start, period_end, quantity, source,
                                          idempotency_key, company_id, partner_id, create_uid, write_uid,
                                          create_date, write_date)
        SELECT so.id, (%s::int[])[so.id %% 3 + 1], TIMESTAMP '2026-11-02', TIMESTAMP '2026-11-02 01:00', so.id %% 5000,
               'push', 'open-' || so.id, so.company_id, so.partner_id, 1, 1, now() at time zone 'UTC',
               now() at time zone 'UTC'
          FROM sale_order so WHERE so.id IN %s""", [charges.metric_id.ids, tuple(subscription_ids)])
    env.cr.commit()


def grow_to(env, subscription_ids, metric_ids, rows):
    """Add usage rows over the past twelve months until the table holds about ``rows``."""
    env.cr.execute("SELECT count(*) FROM fusion_billing_usage")
    missing = rows - env.cr.fetchone()[0]
    per_counter = missing // (len(subscription_ids) * len(metric_ids))
    if per_counter <= 0:
        return
    hours = PAST_MONTHS * 730
    # In slices of subscriptions, each committed: one statement of millions of rows
    # would hold its WAL and locks for minutes.
    for start in range(0, len(subscription_ids), 1000):
        env.cr.execute("""
            INSERT INTO fusion_billing_usage (subscription_id, metric_id, period_start, period_end, quantity, source,
                                              idempotency_key, company_id, partner_id, create_uid, write_uid,
                                              create_date, write_date)
            SELECT so.id, metric.id, past.start, past.start + INTERVAL '1 hour', (so.id + n.n) %% 1000, 'push',
                   'past-' || %s || '-' || n.n, so.company_id, so.partner_id, 1, 1, now() at time zone 'UTC',
                   now() at time zone 'UTC'
              FROM sale_order so
        CROSS JOIN unnest(%s::int[]) metric(id)
        CROSS JOIN generate_series(0, %s - 1) n(n)
        CROSS JOIN LATERAL (SELECT TIMESTAMP '2026-11-01' - (%s - n.n * %s / %s) * INTERVAL '1 hour' AS start) past
             WHERE so.id IN %s""", [rows, metric_ids, per_counter, hours, hours, per_counter,
                                    tuple(subscription_ids[start:start + 1000])])
        env.cr.commit()
    env.cr.execute("ANALYZE fusion_billing_usage")
    env.cr.commit()


def measure_ingestion(client, headers, subscription_ids, metric_codes, tag):
    latencies = []
    for batch in range(INGESTION_BATCHES):
        events = [{'subscription_id': subscription_ids[(batch * 1000 + number) % len(subscription_ids)],
                   'metric': metric_codes[number % len(metric_codes)], 'quantity': number,
                   'period_start': '2026-11-03T00:00:00Z', 'period_end': '2026-11-03T01:00:00Z',
                   'idempotency_key': f'{tag}-{batch}-{number}'} for number in range(1000)]
        body = json.dumps({'events': events})
        started = time.perf_counter()
        response = client.post('/fusion_billing/v1/usage', data=body, headers=headers)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return INGESTION_BATCHES * 1000 / sum(latencies), statistics.median(latencies)


def measure_rating(registry):
    with registry.cursor() as cr:
        cr.execute("""UPDATE fusion_billing_usage SET quantity = quantity + 1
                       WHERE period_start >= TIMESTAMP '2026-11-01'""")
        cr.commit()
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        started = time.perf_counter()
        env['fusion.billing.usage']._cron_rate_open_periods()
        return time.perf_counter() - started


def measure_reads(client, headers, subscription_ids):
    latencies = []
    step = max(1, len(subscription_ids) // READS)
    for subscription_id in subscription_ids[::step][:READS]:
        started = time.perf_counter()
        response = client.get(f'/fusion_billing/v1/subscriptions/{subscription_id}/usage', headers=headers)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    latencies.sort()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.95) - 1]


def main(database, addons_path, sizes):
    config.parse_config(['-d', database, f'--addons-path={addons_path}', '--log-level=warn',
                         '--http-interface=127.0.0.1'])
    registry = Registry(database)
    started = time.perf_counter()
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        plan, charges = setup_charges(env)
        cr.commit()
        subscription_ids = create_subscriptions(env, plan, SUBSCRIPTIONS)
        make_them_a_year_old(env, subscription_ids, charges)
        customer = env['sale.order'].browse(subscription_ids[0]).partner_id
        service = env['fusion.billing.service'].create({'name': 'Growth', 'code': 'growth',
                                                        'partner_ids': [(4, customer.id)]})
        key = service._generate_api_key()
        metric_ids, metric_codes = charges.metric_id.ids, charges.metric_id.mapped('code')
        env['fusion.billing.usage']._cron_rate_open_periods()
        cr.commit()
    print(f"seeded {SUBSCRIPTIONS} subscriptions x {len(metric_ids)} charges, {PAST_MONTHS} billed months in the "
          f"ledger, {SUBSCRIPTIONS} usage rows in the open period, in {time.perf_counter() - started:.0f} s")
    client = WsgiClient(http.root)
    headers = {'Authorization': f'Bearer {key}', 'Content-Type': 'application/json'}
    print(f"{'usage rows':>12} {'table+indexes':>13} {'seeded in':>9} {'ingestion events/s':>19} "
          f"{'median batch':>12} "
          f"{f'rating {SUBSCRIPTIONS:,} x 3':>17} {'read API median':>15} {'read API p95':>12}")
    for size in sizes:
        started = time.perf_counter()
        with registry.cursor() as cr:
            grow_to(api.Environment(cr, api.SUPERUSER_ID, {}), subscription_ids, metric_ids, size)
            seeded = time.perf_counter() - started
            cr.execute("SELECT count(*), pg_total_relation_size('fusion_billing_usage') FROM fusion_billing_usage")
            rows, table_bytes = cr.fetchone()
        rate, batch = measure_ingestion(client, headers, subscription_ids, metric_codes, f'size-{size}')
        rating = measure_rating(registry)
        read_median, read_p95 = measure_reads(client, headers, subscription_ids)
        with registry.cursor() as cr:
            # The open period stays the same size from one table size to the next.
            cr.execute("DELETE FROM fusion_billing_usage WHERE idempotency_key LIKE %s", [f'size-{size}-%'])
        print(f"{rows:>12,} {table_bytes / 2**20:>10.0f} MB {seeded:>8.0f}s {rate:>19.0f} {batch * 1000:>10.0f}ms "
              f"{rating:>16.1f}s "
              f"{read_median * 1000:>13.0f}ms {read_p95 * 1000:>10.0f}ms", flush=True)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], [int(size) for size in sys.argv[3:]])
