"""Fixtures of the point-of-service tests: the ``client`` fixture freezes the clock at
2026-03-16T10:00:00+08:00."""

from __future__ import annotations

import pytest

from tests.factories import approved_elder, make_provider


@pytest.fixture
def elder(client) -> dict:
    """Approved when March began, so that any March service time up to now is after approval."""
    return approved_elder(client, approved_at="2026-03-01T00:00:00+08:00")


@pytest.fixture
def station(client) -> dict:
    return make_provider(client, kind="station")


@pytest.fixture
def institution(client) -> dict:
    return make_provider(client, kind="institution")
