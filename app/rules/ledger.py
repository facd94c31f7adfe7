"""Double-entry bookkeeping rules, without storage."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Line:
    account: str  # one of app.models.ledger.ACCOUNTS
    amount_fen: int
    voucher_id: UUID | None = None
    provider_id: UUID | None = None

    def __neg__(self) -> Line:
        """The same line with the opposite sign: a reversing entry is its lines negated."""
        return Line(self.account, -self.amount_fen, self.voucher_id, self.provider_id)


class UnbalancedEntry(ValueError):
    """An entry whose lines do not sum to zero (or are empty or zero): never written."""


def check_balanced(lines: list[Line]) -> None:
    """An entry must have lines, none of them zero, summing to exactly zero."""
    if len(lines) < 2:
        raise UnbalancedEntry("an entry needs at least two lines")
    if any(line.amount_fen == 0 or not isinstance(line.amount_fen, int) for line in lines):
        raise UnbalancedEntry("every line moves a non-zero whole number of fen")
    total = sum(line.amount_fen for line in lines)
    if total != 0:
        raise UnbalancedEntry(f"lines sum to {total} fen, not 0")


def issue_lines(voucher_id: UUID, face_value_fen: int) -> list[Line]:
    return [
        Line("voucher", face_value_fen, voucher_id=voucher_id),
        Line("program_issued", -face_value_fen),
    ]


def redeem_lines(voucher_id: UUID, provider_id: UUID, deduction_fen: int) -> list[Line]:
    return [
        Line("voucher", -deduction_fen, voucher_id=voucher_id),
        Line("provider_payable", deduction_fen, provider_id=provider_id),
    ]


def reverse_lines(voucher_id: UUID, provider_id: UUID, deduction_fen: int) -> list[Line]:
    return [
        Line("provider_payable", -deduction_fen, provider_id=provider_id),
        Line("voucher", deduction_fen, voucher_id=voucher_id),
    ]


def release_lines(voucher_id: UUID, remaining_fen: int) -> list[Line]:
    """Expiry or revocation: the unused balance goes back to the program."""
    return [
        Line("voucher", -remaining_fen, voucher_id=voucher_id),
        Line("program_released", remaining_fen),
    ]
