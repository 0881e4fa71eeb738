from . import test_api_key
from . import test_constraints
from . import test_foundation
from . import test_invoicing_cycle
from . import test_rating
from . import test_security
from . import test_usage
from . import test_usage_api
