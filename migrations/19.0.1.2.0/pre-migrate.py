"""Usage rows now store their customer (for grouping): the column is filled in SQL here,
so that the update does not recompute it row by row through the ORM."""


def migrate(cr, version):
    if not version:
        return
    cr.execute("ALTER TABLE fusion_billing_usage ADD COLUMN IF NOT EXISTS partner_id integer")
    cr.execute("""
        UPDATE fusion_billing_usage usage
           SET partner_id = so.partner_id
          FROM sale_order so
         WHERE so.id = usage.subscription_id
           AND usage.partner_id IS NULL
    """)
