"""Loads the demo data through the same services the API uses."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from app import clock
from app.auth import service as staff_service
from app.auth.models import StaffMember
from app.auth.principal import Principal, Role
from app.demo.data import (
    DEMO_DISTRICTS,
    DEMO_PROVIDERS,
    DEMO_STAFF,
    GIVEN_CHARS,
    OTHER_PROVINCE_REGIONS,
    SURNAMES,
)
from app.elders import service as elder_service
from app.elders.models import Elder
from app.elders.schemas import ElderCreate, ElderSuspend, SuspensionReason
from app.errors import AppError
from app.providers import service as provider_service
from app.providers.schemas import ProviderKind

DEMO_ACTOR = Principal(role=Role.CITY_ADMIN, subject_id="demo-loader")
DEMO_MARKER_TOKEN = "demo-city-admin"


@dataclass
class DemoSummary:
    loaded: bool
    staff_tokens: list[tuple[str, str, str]] = field(default_factory=list)
    provider_keys: list[tuple[str, str, str]] = field(default_factory=list)
    elders: dict[str, int] = field(default_factory=dict)
    redemptions: int = 0


def demo_loaded(session: Session) -> bool:
    return bool(
        session.scalar(select(func.count()).select_from(StaffMember).where(StaffMember.name.like("%(演示)")))
    )


def _credit_code(rng: random.Random, district_code: str) -> str:
    body = f"52{district_code}MJ{rng.randrange(10**7):07d}"
    return body + uscc.calc_check_digit(body)


def _id_number(rng: random.Random, region: str, birth: date) -> str:
    body = f"{region}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0")


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))


def _weighted(rng: random.Random, table: list[tuple[object, int]]):
    return rng.choices([value for value, _ in table], weights=[weight for _, weight in table])[0]


def load_demo(session: Session, *, elders_per_district: int = 150, seed: int = 2026) -> DemoSummary:
    """Create demo staff, providers and elders unless they exist already (safe to repeat)."""
    if demo_loaded(session):
        return DemoSummary(loaded=False)
    rng = random.Random(seed)
    summary = DemoSummary(loaded=True)
    for role, district_code, name, token in DEMO_STAFF:
        staff_service.create_staff(
            session,
            name=name,
            role=Role(role),
            district_code=district_code,
            created_by=DEMO_ACTOR,
            token=token,
        )
        summary.staff_tokens.append((name, role, token))
    for district_code, slug in DEMO_DISTRICTS.items():
        created = []
        for index, row in enumerate(DEMO_PROVIDERS[district_code]):
            kind, name = row[0], row[1]
            parent_id = str(created[row[2]].id) if kind == "partner" else None
            api_key = f"demo-{slug}-provider-{index + 1}"
            provider, _ = provider_service.create_provider(
                session,
                DEMO_ACTOR,
                name=name,
                kind=ProviderKind(kind),
                district_code=district_code,
                credit_code=_credit_code(rng, district_code),
                parent_id=parent_id,
                api_key=api_key,
            )
            created.append(provider)
            summary.provider_keys.append((name, kind, api_key))
        summary.elders[district_code] = _load_elders(session, rng, district_code, elders_per_district)
        summary.redemptions += _load_redemptions(session, rng, district_code, created)
    return summary


def _load_elders(session: Session, rng: random.Random, district_code: str, count: int) -> int:
    today = clock.today()
    created = 0
    for _ in range(count):
        residency = _weighted(
            rng,
            [
                ("beijing_hukou", 80),
                ("residence_permit", 12),
                ("institution_resident", 8),
            ],
        )
        region = district_code if residency == "beijing_hukou" else rng.choice(OTHER_PROVINCE_REGIONS)
        age_years = _weighted(
            rng,
            [
                (rng.randint(60, 79), 45),
                (rng.randint(80, 99), 53),
                (rng.randint(55, 59), 2),
            ],
        )
        birth = today - timedelta(days=age_years * 365 + rng.randrange(365))
        level = _weighted(
            rng,
            [
                ("moderate", 35),
                ("severe", 30),
                ("complete", 15),
                ("mild", 15),
                ("intact", 5),
            ],
        )
        benefits = [
            benefit
            for benefit, share in [
                ("ltci", 15),
                ("disability_care_allowance", 7),
                ("destitute_support", 3),
                ("basic_service_upgrade", 2),
                ("hardship_institution_subsidy", 2),
            ]
            if rng.randrange(100) < share
        ]
        stale = rng.randrange(100) < 4  # a result past its validity
        assessed_on = today - timedelta(days=rng.randint(380, 500) if stale else rng.randint(0, 330))
        data = ElderCreate(
            name=_name(rng),
            id_number=_id_number(rng, region, birth),
            district_code=district_code,
            residency=residency,
            disability_level=level,
            assessed_on=max(assessed_on, birth + timedelta(days=60 * 365)),
            benefits=benefits,
        )
        try:
            elder = elder_service.create_elder(session, DEMO_ACTOR, data)
        except AppError:
            continue  # a rare duplicate ID number from the generator
        created += 1
        if not elder.eligible or rng.randrange(100) < 10:
            continue  # stays pending: ineligible, or not reviewed yet
        elder_service.approve_elder(session, DEMO_ACTOR, elder)
        if rng.randrange(100) < 5:
            reason = rng.choice(
                [
                    SuspensionReason.MOVED_OUT,
                    SuspensionReason.DECEASED,
                    SuspensionReason.NO_LONGER_ELIGIBLE,
                ]
            )
            elder_service.suspend_elder(session, DEMO_ACTOR, elder, ElderSuspend(reason=reason))
    return created


# Items a demo provider of each kind sells, with a typical price in fen.
DEMO_SALES = {
    "institution": [(2, 650000), (3, 18000), (4, 9000)],
    "regional_center": [(4, 8000), (11, 30000), (29, 9000)],
    "partner": [(11, 30000), (10, 12000), (33, 10000)],
    "station": [(7, 600), (17, 1500), (22, 4500), (38, 1200), (46, 1200)],
    "home_care_company": [(5, 20000), (6, 50000), (22, 4500), (29, 8500)],
}


def _load_redemptions(session: Session, rng: random.Random, district_code: str, providers: list) -> int:
    """A few redemptions this month for some approved elders, served earlier in the month."""
    from app.redemptions import service as redemptions
    from app.redemptions.schemas import RedemptionCreate

    now = clock.now()
    month_start = clock.current_month().starts_at()
    elapsed = (now - month_start).total_seconds()
    sellers = [p for p in providers if p.kind in DEMO_SALES]
    if elapsed < 3600 or not sellers:
        return 0
    elders = session.scalars(
        select(Elder.id)
        .where(Elder.district_code == district_code, Elder.status == "approved")
        .order_by(Elder.id)
    ).all()
    posted = 0
    for index, elder_id in enumerate(elders):
        for visit in range(rng.choice((0, 1, 2, 3))):
            provider = rng.choice(sellers)
            item, price = rng.choice(DEMO_SALES[provider.kind])
            body = RedemptionCreate(
                elder_id=str(elder_id),
                item=item,
                amount_fen=max(100, price + rng.randint(-price // 5, price // 5)),
                ltci_paid_fen=0,
                served_at=month_start + timedelta(seconds=rng.uniform(0, elapsed - 60)),
                id_checked=True,
            )
            caller = Principal(
                role=Role.PROVIDER, subject_id=str(provider.id), district_code=provider.district_code
            )
            outcome = redemptions.redeem(session, caller, key=f"demo-{index}-{visit}", body=body)
            posted += outcome.status == 201
    return posted
