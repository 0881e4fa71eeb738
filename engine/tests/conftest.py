"""Pytest setup for the engine tests.

Puts the repository root on sys.path so ``import engine`` works however
pytest is started, and keeps hypothesis fast and its files (example
database, caches) out of the repository, whose root is the Odoo addon.
"""

import sys
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

REPOSITORY_ROOT = str(Path(__file__).resolve().parents[2])
if REPOSITORY_ROOT not in sys.path:
    sys.path.insert(0, REPOSITORY_ROOT)

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / 'fusion-billing-engine-hypothesis')
settings.register_profile('engine', max_examples=150, deadline=None, database=None)
settings.load_profile('engine')
