from . import fusion_billing_api_key_show
