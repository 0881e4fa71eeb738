"""Threshold crossings are now noted in their own table: those already told by a
usage.threshold_reached event are noted from it, so that none is told a second time.
Webhook events now name the subscription they are about: filled from their payload."""


def migrate(cr, version):
    if not version:
        return
    cr.execute("""
        INSERT INTO fusion_billing_threshold_crossing
               (subscription_id, charge_id, period_start, quantity, threshold, company_id,
                create_uid, create_date, write_uid, write_date)
        SELECT DISTINCT ON (so.id, charge.id, (event.payload -> 'period' ->> 'start')::date)
               so.id, charge.id, (event.payload -> 'period' ->> 'start')::date,
               (event.payload ->> 'quantity')::float8, (event.payload ->> 'threshold')::float8, so.company_id,
               event.create_uid, event.create_date, event.create_uid, event.create_date
          FROM fusion_billing_webhook event
          JOIN sale_order so ON so.id = (event.payload ->> 'subscription_id')::int
          JOIN fusion_billing_charge charge ON charge.id = (event.payload ->> 'charge_id')::int
         WHERE event.event_type = 'usage.threshold_reached'
           AND event.payload ->> 'subscription_id' ~ '^[0-9]{1,9}$'
           AND event.payload ->> 'charge_id' ~ '^[0-9]{1,9}$'
           AND event.payload -> 'period' ->> 'start' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'
      ORDER BY so.id, charge.id, (event.payload -> 'period' ->> 'start')::date, event.id
            ON CONFLICT (subscription_id, charge_id, period_start) DO NOTHING
    """)
    cr.execute("""
        UPDATE fusion_billing_webhook event
           SET subscription_id = so.id
          FROM sale_order so
         WHERE event.subscription_id IS NULL
           AND event.payload ->> 'subscription_id' ~ '^[0-9]{1,9}$'
           AND so.id = (event.payload ->> 'subscription_id')::int
    """)
