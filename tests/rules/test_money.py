"""Table tests for app.rules.money: integer fen, one rounding rule (half up, away from zero)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.rules.money import round_half_up, yuan_text

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(D("0"), 0, id="0"),
        pytest.param(D("0.4"), 0, id="0.4"),
        pytest.param(D("0.49999999"), 0, id="0.49999999"),
        pytest.param(D("0.5"), 1, id="0.5-up"),
        pytest.param(D("0.5000001"), 1, id="0.5000001"),
        pytest.param(D("0.6"), 1, id="0.6"),
        pytest.param(D("1.5"), 2, id="1.5"),
        pytest.param(D("2.5"), 3, id="2.5-not-bankers-2"),
        pytest.param(D("3.5"), 4, id="3.5"),
        pytest.param(D("4.5"), 5, id="4.5-not-bankers-4"),
        pytest.param(D("2.4999"), 2, id="2.4999"),
        pytest.param(D("-0.4"), 0, id="-0.4"),
        pytest.param(D("-0.5"), -1, id="-0.5-away-from-zero"),
        pytest.param(D("-1.5"), -2, id="-1.5"),
        pytest.param(D("-2.5"), -3, id="-2.5"),
        pytest.param(D("-2.4"), -2, id="-2.4"),
        pytest.param(D("0.50"), 1, id="0.50-trailing-zero"),
        pytest.param(D("12345.5"), 12346, id="12345.5"),
        # 50% of an odd amount of fen: 80001 fen * 0.5 = 40000.5 -> 40001.
        pytest.param(D(80001) * D("0.5"), 40001, id="half-of-odd-fen"),
        # 40% of 333 fen = 133.2 -> 133; of 3333 = 1333.2; of 1 fen = 0.4 -> 0.
        pytest.param(D(333) * D("0.4"), 133, id="40pct-of-333"),
        pytest.param(D(1) * D("0.4"), 0, id="40pct-of-1"),
        pytest.param(D("999999999999999.5"), 1000000000000000, id="large-half"),
        pytest.param(D("123456789012345678.4"), 123456789012345678, id="large-below-half"),
        pytest.param(D("-999999999999999.5"), -1000000000000000, id="large-negative-half"),
        pytest.param(D("1E+3"), 1000, id="exponent-form"),
        pytest.param(0, 0, id="int-0"),
        pytest.param(80000, 80000, id="int-80000"),
        pytest.param(-7, -7, id="int-negative"),
        pytest.param(10**20, 10**20, id="int-large"),
    ],
)
def test_round_half_up(value: Decimal | int, expected: int) -> None:
    result = round_half_up(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(0.5, id="float-0.5"),
        pytest.param(2.5, id="float-2.5"),
        pytest.param(1.0, id="float-1.0"),
        pytest.param(0.0, id="float-0.0"),
        pytest.param("2.5", id="str"),
        pytest.param(None, id="none"),
    ],
)
def test_round_half_up_refuses_non_decimal(value: object) -> None:
    with pytest.raises(TypeError):
        round_half_up(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        pytest.param(0, "0.00", id="0"),
        pytest.param(5, "0.05", id="5"),
        pytest.param(50, "0.50", id="50"),
        pytest.param(99, "0.99", id="99"),
        pytest.param(100, "1.00", id="100"),
        pytest.param(12345, "123.45", id="12345"),
        pytest.param(123450, "1234.50", id="123450"),
        pytest.param(80000, "800.00", id="cap-800-yuan"),
        pytest.param(-150, "-1.50", id="-150"),
        pytest.param(-5, "-0.05", id="-5"),
        pytest.param(-100, "-1.00", id="-100"),
        pytest.param(10**12 + 1, "10000000000.01", id="large"),
    ],
)
def test_yuan_text(fen: int, text: str) -> None:
    assert yuan_text(fen) == text
