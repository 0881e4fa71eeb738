from . import fusion_billing_api_key_show
from . import fusion_billing_usage_adjust
from . import fusion_billing_webhook_secret_show
from . import fusion_billing_usage_import
