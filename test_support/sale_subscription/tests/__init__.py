from . import test_invoicing
from . import test_lifecycle
