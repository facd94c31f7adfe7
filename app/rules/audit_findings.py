"""Audit findings (四(二) 抽查; attachment 5 五(四)): whether a finding may be recorded, and what a
fake-service verdict does to the money of each redemption it names.

A fake service not yet past civil review is excluded from settlement (never paid); one whose
batch has passed civil review (its money approved or paid) is clawed back from the provider's
next payment. A redemption is acted on once: an earlier finding that acted on it, or a reviewer
who rejected it, leaves nothing more to do.

Pure: the facts are arguments; a refusal is returned as the API's error code, never raised.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from app.rules.refusals import Refusal

FAKE_SERVICE = "fake_service"
# Batches in these statuses have passed civil review: their money is approved (or paid).
PAST_CIVIL_REVIEW = frozenset({"finance_review", "payment", "settled"})
# How many of the ids that are not the elder's redemptions a refusal lists.
UNKNOWN_SHOWN = 5


@dataclass(frozen=True)
class NamedRedemption:
    """A redemption the finding names that is one of the elder's posted redemptions of the
    sample's district and month, with where settlement has taken it."""

    id: uuid.UUID
    provider_id: uuid.UUID
    deduction_fen: int
    acted_on: bool = False  # an earlier finding already excluded or clawed it back
    batch_status: str | None = None  # the status of the batch holding it; None: in none yet
    rejected: bool = False  # the civil reviewer rejected it in that batch


@dataclass(frozen=True)
class FindingFacts:
    elder: str  # the elder id as given
    elder_drawn: bool  # the elder is one of the sample's drawn elders
    outcome: str
    requested: Sequence[tuple[str, uuid.UUID | None]]  # each id as given, and parsed (None: malformed)
    found: Sequence[NamedRedemption]  # the requested ids that are the elder's posted redemptions


@dataclass(frozen=True)
class Effect:
    redemption: NamedRedemption
    effect: str  # none | excluded | clawback


@dataclass(frozen=True)
class Recorded:
    """The finding to write: the provider it is about and its effect on each redemption."""

    provider_id: uuid.UUID | None
    effects: tuple[Effect, ...]

    def has(self, effect: str) -> bool:
        return any(e.effect == effect for e in self.effects)

    def total_fen(self, effect: str) -> int:
        return sum(e.redemption.deduction_fen for e in self.effects if e.effect == effect)

    @property
    def excluded_fen(self) -> int:
        return self.total_fen("excluded")

    @property
    def clawback_fen(self) -> int:
        return self.total_fen("clawback")


def money_effect(redemption: NamedRedemption) -> str:
    """What a fake-service verdict does to one redemption (see the module docstring)."""
    if redemption.acted_on or redemption.rejected:
        return "none"
    if redemption.batch_status in PAST_CIVIL_REVIEW:
        return "clawback"
    return "excluded"


def decide_finding(facts: FindingFacts) -> Refusal | Recorded:
    """ELDER_NOT_SAMPLED for an elder the sample did not draw; INVALID_FINDING for ids that are
    malformed, repeated, not the elder's posted redemptions of the month or of two providers, and
    for a fake-service verdict naming none. Otherwise the finding and its money effects."""
    if not facts.elder_drawn:
        return Refusal("ELDER_NOT_SAMPLED", f"老年人 {facts.elder} 不在本次抽查样本中")
    wanted: list[uuid.UUID] = []
    for text, parsed in facts.requested:
        if parsed is None or parsed in wanted:
            return Refusal("INVALID_FINDING", f"核销记录 {text} 无效或重复")
        wanted.append(parsed)
    if facts.outcome == FAKE_SERVICE and not wanted:
        return Refusal("INVALID_FINDING", "认定虚假服务须列明涉及的核销记录")
    unknown = sorted({str(r) for r in wanted} - {str(r.id) for r in facts.found})
    if unknown:
        shown = ", ".join(unknown[:UNKNOWN_SHOWN])
        return Refusal("INVALID_FINDING", f"以下核销记录不属于该老年人本月的有效核销: {shown}")
    providers = {r.provider_id for r in facts.found}
    if len(providers) > 1:
        return Refusal("INVALID_FINDING", "一条抽查结论只能涉及一家服务机构的核销记录")
    fake = facts.outcome == FAKE_SERVICE
    return Recorded(
        provider_id=next(iter(providers), None),
        effects=tuple(Effect(r, money_effect(r) if fake else "none") for r in facts.found),
    )
