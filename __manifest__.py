{
    'name': 'Fusion Billing',
    'summary': 'Usage-based billing on Odoo subscriptions: metered usage API, '
               'tiered pricing, rating onto subscription lines, signed webhooks.',
    'version': '19.0.1.2.0',
    'category': 'Sales/Subscriptions',
    'author': 'Fusion Billing',
    'license': 'LGPL-3',
    'depends': ['sale_subscription'],
    'data': [
        'security/fusion_billing_security.xml',
        'security/ir.model.access.csv',
        'data/fusion_billing_event_type_data.xml',
        'data/ir_cron_data.xml',
        'views/fusion_billing_service_views.xml',
        'views/fusion_billing_metric_views.xml',
        'views/fusion_billing_charge_views.xml',
        'views/fusion_billing_usage_views.xml',
        'views/fusion_billing_reconciliation_views.xml',
        'views/fusion_billing_webhook_views.xml',
        'views/fusion_billing_usage_summary_templates.xml',
        'views/sale_subscription_views.xml',
        'views/menus.xml',
    ],
    'demo': [
        'demo/fusion_billing_demo.xml',
    ],
    'external_dependencies': {'python': ['requests']},
}
