import gpo  # noqa: F401  (first: the tests compute at the pinned level, as the processes they start)

# isort: split
import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
