"""Audit findings (app/rules/audit_findings.py) as tables, no database: which findings are refused
and why, and what a fake-service verdict does to the money of each redemption it names."""

from __future__ import annotations

import uuid

import pytest

from app.rules.audit_findings import (
    Effect,
    FindingFacts,
    NamedRedemption,
    Recorded,
    decide_finding,
    money_effect,
)
from app.rules.refusals import Refusal

A, B = uuid.UUID(int=0xA), uuid.UUID(int=0xB)
R1, R2, R3 = (uuid.UUID(int=n) for n in (1, 2, 3))
UNKNOWN = uuid.UUID(int=99)
ELDER = "6f1c9a52-0000-4000-8000-000000000001"


def named(rid: uuid.UUID, provider: uuid.UUID = A, fen: int = 1000, **state) -> NamedRedemption:
    return NamedRedemption(rid, provider, fen, **state)


def facts(outcome: str, requested=(), found=(), *, drawn: bool = True) -> FindingFacts:
    """``requested``: uuids (typed as their text) or raw texts (malformed ones)."""
    pairs = [(str(r), r) if isinstance(r, uuid.UUID) else (r, None) for r in requested]
    return FindingFacts(ELDER, drawn, outcome, pairs, list(found))


# --- refusals ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("case", "given", "code", "detail"),
    [
        (
            "elder not drawn",
            facts("genuine", drawn=False),
            "ELDER_NOT_SAMPLED",
            f"老年人 {ELDER} 不在本次抽查样本中",
        ),
        (
            "elder not drawn, with redemptions",
            facts("fake_service", [R1], [named(R1)], drawn=False),
            "ELDER_NOT_SAMPLED",
            f"老年人 {ELDER} 不在本次抽查样本中",
        ),
        (
            "malformed id",
            facts("fake_service", ["not-an-id"]),
            "INVALID_FINDING",
            "核销记录 not-an-id 无效或重复",
        ),
        (
            "duplicated id",
            facts("genuine", [R1, R1], [named(R1)]),
            "INVALID_FINDING",
            f"核销记录 {R1} 无效或重复",
        ),
        (
            "fake service naming none",
            facts("fake_service"),
            "INVALID_FINDING",
            "认定虚假服务须列明涉及的核销记录",
        ),
        (
            "not the elder's posted redemption",
            facts("poor_quality", [R1, UNKNOWN], [named(R1)]),
            "INVALID_FINDING",
            f"以下核销记录不属于该老年人本月的有效核销: {UNKNOWN}",
        ),
        (
            "two providers",
            facts("genuine", [R1, R2], [named(R1, A), named(R2, B)]),
            "INVALID_FINDING",
            "一条抽查结论只能涉及一家服务机构的核销记录",
        ),
    ],
)
def test_refused_findings(case, given, code, detail):
    assert decide_finding(given) == Refusal(code, detail), case


def test_at_most_five_unknown_redemptions_are_listed_in_order():
    unknown = [uuid.UUID(int=n) for n in range(100, 108)]
    refusal = decide_finding(facts("genuine", unknown))
    assert refusal.detail.endswith(", ".join(str(u) for u in sorted(unknown, key=str)[:5]))


# --- what a fake-service verdict does to one redemption ---------------------------------------------
@pytest.mark.parametrize(
    ("redemption", "effect"),
    [
        (named(R1), "excluded"),  # in no batch yet: the batch built later rejects it
        (named(R1, batch_status="civil_review"), "excluded"),  # rejected there and then
        (named(R1, batch_status="finance_review"), "clawback"),  # past civil review: approved money
        (named(R1, batch_status="payment"), "clawback"),
        (named(R1, batch_status="settled"), "clawback"),  # paid
        (named(R1, acted_on=True), "none"),  # an earlier finding excluded it already
        (named(R1, batch_status="settled", acted_on=True), "none"),  # or clawed it back
        (named(R1, batch_status="civil_review", rejected=True), "none"),  # the reviewer rejected it
        (named(R1, batch_status="finance_review", rejected=True), "none"),
    ],
)
def test_money_effect_of_a_fake_service(redemption, effect):
    assert money_effect(redemption) == effect


# --- recorded findings -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("outcome", "found", "provider", "effects", "excluded_fen", "clawback_fen"),
    [
        ("low_satisfaction", [], None, [], 0, 0),
        ("genuine", [named(R1, fen=1500)], A, ["none"], 0, 0),
        ("poor_quality", [named(R1, B, batch_status="settled")], B, ["none"], 0, 0),
        ("fake_service", [named(R1, fen=1500)], A, ["excluded"], 1500, 0),
        (
            "fake_service",
            [
                named(R1, fen=1500),
                named(R2, fen=700, batch_status="settled"),
                named(R3, fen=300, acted_on=True),
            ],
            A,
            ["excluded", "clawback", "none"],
            1500,
            700,
        ),
    ],
)
def test_recorded_findings_and_their_money(outcome, found, provider, effects, excluded_fen, clawback_fen):
    decision = decide_finding(facts(outcome, [r.id for r in found], found))
    assert decision == Recorded(provider, tuple(Effect(r, e) for r, e in zip(found, effects, strict=True)))
    assert (decision.excluded_fen, decision.clawback_fen) == (excluded_fen, clawback_fen)
    assert decision.has("excluded") is ("excluded" in effects)
    assert decision.has("clawback") is ("clawback" in effects)


def test_the_same_redemption_spelled_twice_is_a_duplicate():
    """Ids are compared parsed: upper and lower case are the same redemption."""
    given = FindingFacts(ELDER, True, "genuine", [(str(R1), R1), (str(R1).upper(), R1)], [named(R1)])
    assert decide_finding(given) == Refusal("INVALID_FINDING", f"核销记录 {str(R1).upper()} 无效或重复")
