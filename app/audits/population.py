"""The population a sample is drawn from, each elder in its stratum (app/rules/sampling.py):
gathered when the sample is drawn and again when it is verified, to tell whether it changed."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.assessments import service as assessments
from app.models.redemptions import Redemption
from app.models.vouchers import Voucher
from app.rules import sampling
from app.rules.months import Month


def redemption_population(session: Session, district_code: str, month: Month) -> list[sampling.Unit]:
    """The distinct elders with a posted redemption that month, each in the stratum of the
    provider that redeemed the most for them (ties: the smaller provider id)."""
    rows = session.execute(
        select(Redemption.elder_id, Redemption.provider_id, func.sum(Redemption.deduction_fen))
        .where(
            Redemption.district_code == district_code,
            Redemption.month == month.first_day,
            Redemption.status == "posted",
        )
        .group_by(Redemption.elder_id, Redemption.provider_id)
    ).all()
    main_provider: dict[str, tuple[int, str]] = {}
    for elder_id, provider_id, fen in rows:
        elder, provider = str(elder_id), str(provider_id)
        best = main_provider.get(elder)
        if best is None or (-int(fen), provider) < (-best[0], best[1]):
            main_provider[elder] = (int(fen), provider)
    return [sampling.Unit(elder, "provider:" + provider) for elder, (_fen, provider) in main_provider.items()]


def assessment_population(session: Session, district_code: str, month: Month) -> list[sampling.Unit]:
    """The district's elders holding a monthly voucher that month, each in the stratum of the
    assessment agency whose approved record their subsidy rested on at the end of the month
    (``agency:<provider id>``; each agency's results checked in proportion). Elders with no
    approved record in the ledger (exempt from a new assessment under 二(二), or registered with
    an assessment made outside it) are in the stratum ``exempt``."""
    holders = (
        select(Voucher.elder_id)
        .where(
            Voucher.district_code == district_code,
            Voucher.month == month.first_day,
            Voucher.kind == "monthly",
        )
        .distinct()
    )
    agency_of = {
        elder_id: agency_id
        for elder_id, _assessment_id, agency_id in session.execute(
            assessments.in_force(holders, month.ends_at())
        )
    }
    return [
        sampling.Unit(str(elder_id), f"agency:{agency_of[elder_id]}" if elder_id in agency_of else "exempt")
        for elder_id in session.scalars(holders)
    ]


def population_of(session: Session, district_code: str, month: Month, kind: str) -> list[sampling.Unit]:
    if kind == "redemption":
        return redemption_population(session, district_code, month)
    return assessment_population(session, district_code, month)
