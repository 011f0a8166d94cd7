"""Fixtures of the twins' own tests: both HTTP interceptors and the twins' clock."""

import pytest

from tests.twins.base import TwinClock, intercept


@pytest.fixture
def http():
    with intercept() as routes:
        yield routes


@pytest.fixture
def clock():
    return TwinClock()
