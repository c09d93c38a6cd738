"""Reliability: concurrent money paths and Stripe faults, checked against the books."""

import pytest

# books.py holds the shared assertions; rewritten so a failure shows the values.
pytest.register_assert_rewrite("tests.reliability.books")
