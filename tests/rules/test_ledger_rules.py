"""Table tests for app.rules.ledger: every entry balances, every helper builds a balanced entry."""

from __future__ import annotations

import uuid

import pytest

from app.rules.ledger import (
    Line,
    UnbalancedEntry,
    check_balanced,
    issue_lines,
    redeem_lines,
    release_lines,
    reverse_lines,
)

VOUCHER = uuid.UUID("00000000-0000-4000-8000-000000000001")
PROVIDER = uuid.UUID("00000000-0000-4000-8000-000000000002")


def test_two_opposite_lines_balance() -> None:
    check_balanced([Line("voucher", 100, voucher_id=VOUCHER), Line("program_issued", -100)])


def test_several_lines_balance() -> None:
    check_balanced(
        [
            Line("voucher", -300, voucher_id=VOUCHER),
            Line("provider_payable", 100, provider_id=PROVIDER),
            Line("provider_payable", 200, provider_id=PROVIDER),
        ]
    )


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(
            [Line("voucher", 100, voucher_id=VOUCHER), Line("program_issued", -99)], id="off-by-one"
        ),
        pytest.param([Line("voucher", 100, voucher_id=VOUCHER), Line("program_issued", 100)], id="same-sign"),
        pytest.param(
            [
                Line("voucher", 100, voucher_id=VOUCHER),
                Line("program_issued", -100),
                Line("program_released", 1),
            ],
            id="three-lines-off",
        ),
    ],
)
def test_unbalanced_entry_raises(lines) -> None:
    with pytest.raises(UnbalancedEntry):
        check_balanced(lines)


def test_zero_line_raises_even_when_the_sum_is_zero() -> None:
    with pytest.raises(UnbalancedEntry):
        check_balanced(
            [
                Line("voucher", 100, voucher_id=VOUCHER),
                Line("program_issued", -100),
                Line("program_released", 0),
            ]
        )
    with pytest.raises(UnbalancedEntry):
        check_balanced([Line("voucher", 0, voucher_id=VOUCHER), Line("program_issued", 0)])


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param([], id="no-lines"),
        pytest.param([Line("voucher", 100, voucher_id=VOUCHER)], id="one-line"),
        pytest.param([Line("voucher", 0, voucher_id=VOUCHER)], id="one-zero-line"),
    ],
)
def test_fewer_than_two_lines_raise(lines) -> None:
    with pytest.raises(UnbalancedEntry):
        check_balanced(lines)


def test_non_integer_amount_raises() -> None:
    with pytest.raises(UnbalancedEntry):
        check_balanced([Line("voucher", 0.5, voucher_id=VOUCHER), Line("program_issued", -0.5)])  # type: ignore[arg-type]


def test_unbalanced_entry_is_a_value_error() -> None:
    assert issubclass(UnbalancedEntry, ValueError)


@pytest.mark.parametrize(
    ("lines", "voucher_delta", "accounts"),
    [
        pytest.param(issue_lines(VOUCHER, 80_000), 80_000, {"voucher", "program_issued"}, id="issue"),
        pytest.param(
            redeem_lines(VOUCHER, PROVIDER, 15_000), -15_000, {"voucher", "provider_payable"}, id="redeem"
        ),
        pytest.param(
            reverse_lines(VOUCHER, PROVIDER, 15_000), 15_000, {"voucher", "provider_payable"}, id="reverse"
        ),
        pytest.param(release_lines(VOUCHER, 65_000), -65_000, {"voucher", "program_released"}, id="release"),
        pytest.param(
            redeem_lines(VOUCHER, PROVIDER, 1), -1, {"voucher", "provider_payable"}, id="redeem-1-fen"
        ),
    ],
)
def test_helpers_build_balanced_entries(lines, voucher_delta, accounts) -> None:
    check_balanced(lines)
    assert sum(line.amount_fen for line in lines) == 0
    assert {line.account for line in lines} == accounts
    assert sum(line.amount_fen for line in lines if line.account == "voucher") == voucher_delta
    for line in lines:
        assert (line.voucher_id is not None) == (line.account == "voucher")
        assert (line.provider_id is not None) == (line.account == "provider_payable")
        if line.voucher_id is not None:
            assert line.voucher_id == VOUCHER
        if line.provider_id is not None:
            assert line.provider_id == PROVIDER


def test_redeem_then_reverse_nets_to_nothing_per_account() -> None:
    lines = redeem_lines(VOUCHER, PROVIDER, 15_000) + reverse_lines(VOUCHER, PROVIDER, 15_000)
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.account] = totals.get(line.account, 0) + line.amount_fen
    assert totals == {"voucher": 0, "provider_payable": 0}


def test_issue_redeem_release_leave_the_voucher_at_zero() -> None:
    lines = (
        issue_lines(VOUCHER, 80_000)
        + redeem_lines(VOUCHER, PROVIDER, 15_000)
        + redeem_lines(VOUCHER, PROVIDER, 5_000)
        + reverse_lines(VOUCHER, PROVIDER, 5_000)
        + release_lines(VOUCHER, 65_000)
    )
    voucher = sum(line.amount_fen for line in lines if line.account == "voucher")
    assert voucher == 0
    payable = sum(line.amount_fen for line in lines if line.account == "provider_payable")
    assert payable == 15_000


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: issue_lines(VOUCHER, 0), id="issue-0"),
        pytest.param(lambda: redeem_lines(VOUCHER, PROVIDER, 0), id="redeem-0"),
        pytest.param(lambda: release_lines(VOUCHER, 0), id="release-0"),
    ],
)
def test_zero_movements_are_not_entries(build) -> None:
    with pytest.raises(UnbalancedEntry):
        check_balanced(build())
