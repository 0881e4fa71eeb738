"""Benchmark of the hourly rating cron (run by `tools/bench rating`, not a test).

Seeds N in-progress subscriptions on one plan with three usage charges (standard,
graduated, package) and a few usage rows per subscription and metric, then times
`fusion.billing.usage._cron_rate_open_periods()`:

- run 1: every subscription gets its three usage lines (lines created);
- run 2: every quantity changed (lines updated);
- run 3: nothing changed (lines read, nothing written).

For each run it prints subscriptions/s and the SQL statements executed, in total and
per charge, so one can see that the count grows with the number of batches, not with
the number of subscriptions.

Usage: bench_rating.py DATABASE ADDONS_PATH N [N ...]   (the database must have
sale_subscription and fusion_billing installed; each N seeds its own subscriptions)
"""
import sys
import time
from collections import Counter

from odoo import api, sql_db
from odoo.modules.registry import Registry
from odoo.tools import config

CHARGES = (
    # metric code, aggregation, charge values
    ('bench_calls', 'sum', {'charge_model': 'standard', 'price': 0.0125, 'included_quantity': 1000}),
    ('bench_events', 'sum', {'charge_model': 'graduated', 'tier_ids': [
        (0, 0, {'up_to': 10000, 'unit_price': 0.01}),
        (0, 0, {'up_to': 0, 'unit_price': 0.004, 'flat_fee': 5})]}),
    ('bench_storage', 'max', {'charge_model': 'package', 'unit_batch': 50, 'price': 5}),
)
ROWS_PER_METRIC = 4
SEED_BATCH = 500


def setup_charges(env):
    """Create (once) a plan with the three benchmark charges; return (plan, charges)."""
    plan = env['sale.subscription.plan'].search([('name', '=', 'Benchmark monthly')], limit=1)
    if plan:
        return plan, env['fusion.billing.charge'].search([('plan_id', '=', plan.id)])
    plan = env['sale.subscription.plan'].create({'name': 'Benchmark monthly'})
    charges = env['fusion.billing.charge']
    for code, aggregation, values in CHARGES:
        metric = env['fusion.billing.metric'].create({'name': code, 'code': code, 'aggregation': aggregation})
        product = env['product.product'].create({
            'name': f'Usage {code}', 'type': 'service', 'recurring_invoice': True, 'invoice_policy': 'delivery'})
        charges |= env['fusion.billing.charge'].create({
            'plan_id': plan.id, 'metric_id': metric.id, 'product_id': product.id, **values})
    return plan, charges


def create_subscriptions(env, plan, count):
    """Create and confirm ``count`` subscriptions on ``plan`` from November 1st, 2026;
    return their ids."""
    partner = env['res.partner'].create({'name': 'Benchmark customer'})
    # Usage-only subscriptions: every recurring line is postpaid, so the open period is
    # the month of November (next invoice on December 1st).
    base_product = env['product.product'].search([('name', '=', 'Benchmark seat usage')], limit=1) or \
        env['product.product'].create({'name': 'Benchmark seat usage', 'type': 'service',
                                       'recurring_invoice': True, 'invoice_policy': 'delivery'})
    subscription_ids = []
    for start in range(0, count, SEED_BATCH):
        orders = env['sale.order'].with_context(tracking_disable=True, mail_create_nolog=True).create([{
            'partner_id': partner.id, 'plan_id': plan.id, 'require_payment': False, 'start_date': '2026-11-01',
            'order_line': [(0, 0, {'product_id': base_product.id, 'product_uom_qty': 0})],
        } for _ in range(min(SEED_BATCH, count - start))])
        orders.action_confirm()
        subscription_ids += orders.ids
        env.cr.commit()
    return subscription_ids


def seed(env, plan, charges, count):
    """Create ``count`` running subscriptions on ``plan`` with usage for every charge."""
    subscription_ids = create_subscriptions(env, plan, count)
    env.cr.execute("""
        INSERT INTO fusion_billing_usage (subscription_id, metric_id, period_start, period_end, quantity,
                                          source, idempotency_key, company_id, partner_id, create_uid,
                                          write_uid, create_date, write_date)
        SELECT so.id, charge.metric_id,
               TIMESTAMP '2026-11-01' + (hour.n || ' hours')::interval,
               TIMESTAMP '2026-11-01' + (hour.n + 1 || ' hours')::interval,
               (so.id * 7 + hour.n * 13) %% 5000, 'push', 'bench-' || so.id || '-' || charge.id || '-' || hour.n,
               so.company_id, so.partner_id, 1, 1, now() at time zone 'UTC', now() at time zone 'UTC'
          FROM sale_order so
          CROSS JOIN fusion_billing_charge charge
          CROSS JOIN generate_series(1, %s) AS hour(n)
         WHERE so.id IN %s AND charge.id IN %s
    """, [ROWS_PER_METRIC, tuple(subscription_ids), tuple(charges.ids)])
    env.cr.commit()
    return subscription_ids


def count_usage_lines(env, subscription_ids):
    env.cr.execute("SELECT count(*) FROM sale_order_line WHERE order_id IN %s AND fusion_charge_id IS NOT NULL",
                   [tuple(subscription_ids)])
    return env.cr.fetchone()[0]


def measure(env, label, subscription_count, charges):
    """Run the cron once; print time, throughput and statements (total, of the aggregation)."""
    Rating = type(env['fusion.billing.rating'])
    statements = Counter()
    original_aggregate = Rating._aggregate_periods

    def counted_aggregate(rating, *args, **kwargs):
        before = sql_db.sql_counter
        try:
            return original_aggregate(rating, *args, **kwargs)
        finally:
            statements['aggregation'] += sql_db.sql_counter - before
            statements['calls'] += 1

    Rating._aggregate_periods = counted_aggregate
    try:
        env.invalidate_all()
        before, started = sql_db.sql_counter, time.perf_counter()
        env['fusion.billing.usage']._cron_rate_open_periods()
        elapsed = time.perf_counter() - started
        total = sql_db.sql_counter - before
    finally:
        Rating._aggregate_periods = original_aggregate
    print(f"  {label:<28} {elapsed:7.2f} s  {subscription_count / elapsed:8.0f} subscriptions/s  "
          f"{total:6d} SQL statements in all, {statements['aggregation']} of them aggregating usage "
          f"({statements['calls']} batches); "
          f"{subscription_count * len(charges) / total:.0f} lines rated per statement")


def main(database, addons_path, sizes):
    config.parse_config(['-d', database, f'--addons-path={addons_path}', '--log-level=warn',
                         '--http-interface=127.0.0.1'])
    registry = Registry(database)
    for size in sizes:
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            # Only the benchmark's subscriptions are rated: earlier sizes are closed.
            env['sale.order'].search([('plan_id.name', '=', 'Benchmark monthly'),
                                      ('subscription_state', '=', '3_progress')]).write(
                {'subscription_state': '6_churn'})
            plan, charges = setup_charges(env)
            cr.commit()
            started = time.perf_counter()
            subscription_ids = seed(env, plan, charges, size)
            print(f"N = {size}: seeded {size} subscriptions x {len(charges)} charges x {ROWS_PER_METRIC} usage rows "
                  f"in {time.perf_counter() - started:.0f} s")
            measure(env, "run 1 (lines created)", size, charges)
            print(f"  usage lines on the subscriptions: {count_usage_lines(env, subscription_ids)}")
            cr.execute("UPDATE fusion_billing_usage SET quantity = quantity + 1 WHERE subscription_id IN %s",
                       [tuple(subscription_ids)])
            cr.commit()
            measure(env, "run 2 (quantities changed)", size, charges)
            measure(env, "run 3 (nothing changed)", size, charges)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], [int(size) for size in sys.argv[3:]])
