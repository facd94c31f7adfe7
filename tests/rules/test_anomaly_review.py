"""Resolving an anomaly warning (app/rules/anomaly_review.py) as a table, no database."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.rules.anomaly_review import Resolved, decide_resolution
from app.rules.months import BEIJING
from app.rules.refusals import Refusal

NOW = datetime(2026, 4, 2, 10, 0, tzinfo=BEIJING)
ACTOR = "staff:civil-110105"


@pytest.mark.parametrize(
    ("status", "resolution", "outcome"),
    [
        ("open", "confirmed", Resolved("confirmed", NOW, ACTOR, "电话回访属实")),
        ("open", "dismissed", Resolved("dismissed", NOW, ACTOR, "电话回访属实")),
        ("confirmed", "dismissed", Refusal("ANOMALY_ALREADY_RESOLVED", "该异常预警已于此前处理为 confirmed")),
        ("confirmed", "confirmed", Refusal("ANOMALY_ALREADY_RESOLVED", "该异常预警已于此前处理为 confirmed")),
        ("dismissed", "confirmed", Refusal("ANOMALY_ALREADY_RESOLVED", "该异常预警已于此前处理为 dismissed")),
    ],
)
def test_a_warning_is_resolved_once(status, resolution, outcome):
    assert decide_resolution(status, resolution, note="电话回访属实", actor=ACTOR, now=NOW) == outcome


@pytest.mark.parametrize("resolution", ["open", "closed", ""])
def test_a_warning_is_only_confirmed_or_dismissed(resolution):
    with pytest.raises(ValueError):
        decide_resolution("open", resolution, note="x", actor=ACTOR, now=NOW)
