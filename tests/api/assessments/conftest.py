"""Fixtures of the assessment tests: an assessment agency and a civil officer of the district."""

from __future__ import annotations

import pytest

from tests.api.assessments.helpers import DISTRICT
from tests.factories import bearer, make_provider, make_staff


@pytest.fixture
def agency(client) -> dict:
    return make_provider(client, kind="assessment_agency", district_code=DISTRICT, name="朝阳评估中心")


@pytest.fixture
def civil(client) -> dict[str, str]:
    return bearer(make_staff(client, role="district_civil", district_code=DISTRICT))
