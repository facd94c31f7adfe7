"""The March 2026 scenario of tests/api/audits/scenario.py as fixtures, and its sample."""

from __future__ import annotations

import pytest

from tests.api.audits.scenario import APRIL, DISTRICT, OTHER, March, draw, redeemed, reverse
from tests.factories import approved_elder, make_provider, set_clock, staff


@pytest.fixture
def march(client) -> March:
    a = make_provider(client, district_code=DISTRICT, name="朝阳站A")
    b = make_provider(client, district_code=DISTRICT, name="朝阳站B")
    levels = {
        "e1": "severe",
        "e2": "severe",
        "e3": "moderate",
        "e4": "severe",
        "e5": "severe",
        "e6": "complete",
    }
    elders = {
        key: approved_elder(client, district_code=OTHER if key == "e4" else DISTRICT, disability_level=level)
        for key, level in levels.items()
    }
    for elder in elders.values():
        assert elder["voucher"]["month"] == "2026-03"
    amounts = {"e1": (30000, 20000), "e2": (30000, 20000), "e3": (10000, 30000), "e6": (20000, 20000)}
    r: dict[str, dict[str, dict]] = {}
    for key, (for_a, for_b) in amounts.items():
        r[key] = {
            "A": redeemed(client, a, elders[key], for_a),
            "B": redeemed(client, b, elders[key], for_b),
            "rev": redeemed(client, a, elders[key], 10000),
        }
        reverse(client, a, r[key]["rev"])
    r["e4"] = {"A": redeemed(client, a, elders["e4"], 30000)}
    r["e5"] = {"rev": redeemed(client, a, elders["e5"], 30000)}
    reverse(client, a, r["e5"]["rev"])
    assert [r[k]["A"]["deduction_fen"] for k in ("e1", "e3", "e6")] == [15000, 5000, 10000]
    return March(
        civil=staff(client, "district_civil", DISTRICT),
        finance=staff(client, "district_finance", DISTRICT),
        other_civil=staff(client, "district_civil", OTHER),
        auditor=staff(client, "auditor"),
        a=a,
        b=b,
        elders=elders,
        r=r,
    )


@pytest.fixture
def sample(client, march) -> dict:
    """110105's March redemption sample, drawn on 2026-04-02 by the district's civil officer."""
    set_clock(client, APRIL)
    response = draw(client, march.civil)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def drawn(march, sample) -> str:
    """The key (e1, e2, e3 or e6) of the elder the sample drew."""
    assert len(sample["elder_ids"]) == 1, sample
    return march.key_of(sample["elder_ids"][0])
