"""The settlement tests' fixtures: the January scenario (tests/api/settlements/scenario.py) and
110105's January batch built on 2026-02-03."""

from __future__ import annotations

import pytest

from tests.api.settlements.scenario import January, built, january_scenario
from tests.factories import set_clock


@pytest.fixture
def january(client) -> January:
    return january_scenario(client)


@pytest.fixture
def batch(client, january) -> dict:
    set_clock(client, "2026-02-03T10:00:00+08:00")
    return built(client, january.civil)
