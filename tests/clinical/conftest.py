"""Fixtures of the clinical tests (helpers live in ``clinical_layouts``, importable by the tests)."""
from __future__ import annotations

import numpy as np
import pytest
from clinical_layouts import skull


@pytest.fixture
def layout() -> dict[str, np.ndarray]:
    return skull()
