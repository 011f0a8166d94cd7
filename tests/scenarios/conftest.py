"""Fixtures of the citizen-view stories: a town over the twins, the engine started on demand."""

from __future__ import annotations

import pytest

from tests.scenarios.town import Town
from tests.twins.base import intercept


@pytest.fixture
def http():
    with intercept() as routes:
        yield routes


@pytest.fixture
def make_town(tmp_path, redis_server, http, monkeypatch):
    """``make_town(platforms, git=True, **options)``: a Town, stopped after the test."""
    towns: list[Town] = []
    monkeypatch.delenv("PREGONERO_TRANSPORT", raising=False)

    def make(platforms, **options) -> Town:
        town = Town(tmp_path / f"town{len(towns)}", redis_server.url, http, tuple(platforms),
                    setenv=monkeypatch.setenv, **options)
        towns.append(town)
        return town

    yield make
    for town in towns:
        town.stop()
