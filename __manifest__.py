{
    'name': 'Fusion Billing',
    'summary': 'Usage-based billing on Odoo subscriptions: metered usage API, '
               'tiered pricing, rating onto subscription lines, signed webhooks.',
    'version': '19.0.1.0.0',
    'category': 'Sales/Subscriptions',
    'author': 'Fusion Billing',
    'license': 'LGPL-3',
    'depends': ['sale_subscription'],
    'demo': [
        'demo/fusion_billing_demo.xml',
    ],
    'external_dependencies': {'python': ['requests']},
}
