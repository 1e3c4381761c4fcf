from __future__ import annotations

import pytest

from applications.usage import counters


@pytest.fixture(autouse=True)
def usage_buffer_empty():
    """Counts left by earlier tests in this process (which never flush) are not this test's."""
    counters.discard()
    yield
    counters.discard()
