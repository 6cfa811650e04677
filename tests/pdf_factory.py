"""Moved to tests/support/pdf_factory.py; tests import `from tests.support import pdf_factory`.

This name stays for benchmarks/ (`from tests import pdf_factory`) until they import the new one.
"""

from tests.support.pdf_factory import *  # noqa: F403
