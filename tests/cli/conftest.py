"""What the ``voucher`` tests share: the in-process runner, table helpers and posted March
redemptions in two districts. ``COLUMNS=200`` keeps rich tables on one line per row."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from app.cli import app
from tests.conftest import admin_headers
from tests.factories import API, approved_elder, make_provider, redeem, set_clock

MARCH = "2026-03"
APRIL_2 = "2026-04-02T10:00:00+08:00"
CHAOYANG, HAIDIAN, DONGCHENG = "110105", "110108", "110101"


@pytest.fixture
def voucher():
    runner = CliRunner(env={"COLUMNS": "200", "USER": "tester"})

    def run(*args: str):
        return runner.invoke(app, list(args))

    return run


def short(batch_id: str) -> str:
    """A batch id as tables show it: its first 8 hex digits (unique among a test's few batches)."""
    return batch_id[:8]


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def cells(output: str, key: str) -> list[str]:
    """The cells of the rich table row holding ``key``."""
    line = next(line for line in output.splitlines() if key in line)
    return [cell.strip() for cell in line.split("│")[1:-1]]


@pytest.fixture
def march(client) -> dict:
    """Posted March redemptions in two districts (110105: two elders, one provider; 110108: one
    each); the clock then moves to 2 April, so March has ended. Returns the deductions."""
    chaoyang = make_provider(client, district_code=CHAOYANG, name="朝阳测试驿站")
    haidian = make_provider(client, district_code=HAIDIAN, name="海淀测试驿站")
    deductions = {CHAOYANG: 0, HAIDIAN: 0}
    for provider, district in ((chaoyang, CHAOYANG), (chaoyang, CHAOYANG), (haidian, HAIDIAN)):
        elder = approved_elder(client, district_code=district)
        response = redeem(client, provider, elder["id"])
        assert response.status_code == 201, response.text
        deductions[district] += response.json()["deduction_fen"]
    set_clock(client, APRIL_2)
    return {"providers": {CHAOYANG: chaoyang, HAIDIAN: haidian}, "deductions": deductions}


def batches(client, **params) -> list[dict]:
    response = client.get(f"{API}/settlements", params=params, headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json()
