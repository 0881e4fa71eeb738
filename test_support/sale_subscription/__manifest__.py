{
    'name': 'Subscriptions (test-only stand-in)',
    'summary': "Test support: the subset of Enterprise's sale_subscription that "
               "fusion_billing builds on. Never install it on a real database.",
    'version': '19.0.1.1.0',
    'category': 'Hidden/Tests',
    'author': 'Fusion Billing',
    'license': 'LGPL-3',
    'depends': ['sale_management', 'account', 'payment'],
    'data': [
        'security/ir.model.access.csv',
        'views/sale_subscription_plan_views.xml',
        'views/sale_order_views.xml',
        'views/sale_order_close_reason_views.xml',
        'views/menus.xml',
        'views/sale_subscription_portal_templates.xml',
        'data/sale_subscription_data.xml',
    ],
}
