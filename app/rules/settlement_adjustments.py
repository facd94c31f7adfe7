"""What lowers a settlement batch's money (二(五)): rejections (核减) of single redemptions, and
clawbacks of fake service already paid, netted from a provider's next lines.

Pure: the redemptions a batch holds, the clawbacks booked and the open lines are arguments.
Whether a rejection is refused is the decision's (app.rules.settlement); here is only the arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from app.rules.ledger import Line

# The rejection reason of a redemption an audit found to be fake service before it was settled.
FAKE_SERVICE_REASON = "抽查认定虚假服务"


@dataclass(frozen=True)
class HeldItem:
    """A redemption held by the batch, as a rejection sees it."""

    provider_id: UUID
    deduction_fen: int
    rejected: bool


@dataclass(frozen=True)
class Rejection:
    """The redemptions newly rejected with their reasons, and the fen taken off each provider.
    A redemption rejected before keeps its first reason and is not counted again; ``unknown``
    lists (as text) the wanted ones the batch does not hold."""

    reasons: dict[UUID, str] = field(default_factory=dict)
    by_provider: dict[UUID, int] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)

    @property
    def total_fen(self) -> int:
        return sum(self.by_provider.values())

    def journal_lines(self) -> list[Line]:
        """Out of each provider's payable, back to the program."""
        providers = sorted(self.by_provider.items())
        return [Line("provider_payable", -fen, provider_id=pid) for pid, fen in providers] + [
            Line("program_rejected", self.total_fen)
        ]


def rejection_of(wanted: Mapping[UUID, str], held: Mapping[UUID, HeldItem]) -> Rejection:
    """Reject ``wanted`` (redemption -> reason) among the ``held`` ones."""
    reasons = {rid: reason for rid, reason in wanted.items() if rid in held and not held[rid].rejected}
    by_provider: dict[UUID, int] = {}
    for redemption_id in reasons:
        item = held[redemption_id]
        by_provider[item.provider_id] = by_provider.get(item.provider_id, 0) + item.deduction_fen
    unknown = [str(redemption_id) for redemption_id in wanted if redemption_id not in held]
    return Rejection(reasons, by_provider, unknown)


def exclusion_reasons(findings: Mapping[UUID, object]) -> dict[UUID, str]:
    """The rejection reason of each redemption an audit excluded (redemption -> finding id)."""
    return {rid: f"{FAKE_SERVICE_REASON}(抽查结论 {finding_id})" for rid, finding_id in findings.items()}


@dataclass(frozen=True)
class OpenLine:
    """A provider's line in a batch still under civil review, where clawbacks are netted."""

    batch_id: UUID
    provider_id: UUID
    payable_fen: int


def clawbacks_netted(
    booked: Mapping[UUID, int], netted_before: Mapping[UUID, int], open_lines: Sequence[OpenLine]
) -> dict[tuple[UUID, UUID], int]:
    """Each open line's netted clawback, (batch, provider) -> fen. A provider's outstanding
    clawback (``booked`` less what batches past civil review ``netted_before``) is netted from its
    open lines in the order given (oldest month first), never more than a line's payable."""
    outstanding = {pid: fen - netted_before.get(pid, 0) for pid, fen in booked.items()}
    netted: dict[tuple[UUID, UUID], int] = {}
    for line in open_lines:
        amount = max(0, min(outstanding.get(line.provider_id, 0), line.payable_fen))
        netted[(line.batch_id, line.provider_id)] = amount
        if amount:
            outstanding[line.provider_id] -= amount
    return netted
