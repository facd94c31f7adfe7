"""The demo registry: staff with the published tokens, each district's providers (one of every
kind) and elders, applied for, approved (which issues their first voucher) and a few suspended,
all through the registry's own services."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from app import clock
from app.auth.principal import Principal, Role
from app.demo.data import (
    DEMO_DISTRICT_NAMES,
    DEMO_DISTRICTS,
    DEMO_PROVIDERS,
    DEMO_STAFF,
    ELDER_BENEFITS,
    ELDER_LEVELS,
    ELDER_RESIDENCIES,
    GIVEN_CHARS,
    OTHER_PROVINCE_REGIONS,
    SURNAMES,
)
from app.demo.plan import DEMO_ACTOR, DemoPlan, DemoRegistry, DemoSummary
from app.demo.progress import Progress
from app.elders import service as elder_service
from app.elders import status as elder_status
from app.elders.schemas import ElderCreate, SuspensionReason
from app.errors import AppError
from app.models.elders import Elder
from app.models.providers import Provider
from app.providers import service as provider_service
from app.providers.schemas import ProviderKind
from app.staff import service as staff_service

# The reasons a few approved demo elders are suspended for, drawn uniformly.
SUSPENSIONS = [SuspensionReason.MOVED_OUT, SuspensionReason.DECEASED, SuspensionReason.NO_LONGER_ELIGIBLE]


def load_registry(session: Session, plan: DemoPlan, tracker: Progress, summary: DemoSummary) -> DemoRegistry:
    """Staff, then per district its providers and elders, at the instant the registry is made
    (the clock pinned to ``plan.registered_at``). Each district draws from its own generator."""
    registry = DemoRegistry(staff={}, providers={}, approved={})
    with clock.pinned(plan.registered_at):
        registry.staff = _load_staff(session, summary)
        tracker.step("创建演示工作人员账号")
        for district_code in plan.districts:
            name, slug = DEMO_DISTRICT_NAMES[district_code], DEMO_DISTRICTS[district_code]
            rng = random.Random(f"{plan.seed}:registry:{district_code}")
            registry.providers[district_code] = _load_providers(session, rng, district_code, slug, summary)
            tracker.step(f"登记{name}服务机构")
            n = plan.elders_per_district
            summary.elders[district_code] = _load_elders(
                session, rng, district_code, tracker.over(f"登记{name}老年人", n, range(n))
            )
            registry.approved[district_code] = _approved_elders(session, district_code)
    return registry


def _load_staff(session: Session, summary: DemoSummary) -> dict[str, Principal]:
    """The demo staff; returns each one's principal by token."""
    staff = {}
    for role, district_code, name, token in DEMO_STAFF:
        member, _ = staff_service.create_staff(
            session,
            name=name,
            role=Role(role),
            district_code=district_code,
            created_by=DEMO_ACTOR,
            token=token,
        )
        staff[token] = Principal(role=Role(role), subject_id=str(member.id), district_code=district_code)
        summary.staff_tokens.append((name, role, token))
    return staff


def _load_providers(
    session: Session, rng: random.Random, district_code: str, slug: str, summary: DemoSummary
) -> list[Provider]:
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
    return created


def _load_elders(session: Session, rng: random.Random, district_code: str, slots: Iterable) -> int:
    """One application per slot; most eligible applicants approved, a few of them suspended.
    Returns how many applications were registered."""
    today = clock.today()
    created = 0
    for _ in slots:
        try:
            elder = elder_service.create_elder(session, DEMO_ACTOR, _application(rng, district_code, today))
        except AppError:
            continue  # a rare duplicate ID number from the generator
        created += 1
        if not elder.eligible or rng.randrange(100) < 10:
            continue  # stays pending: ineligible, or not reviewed yet
        elder_status.approve_elder(session, DEMO_ACTOR, elder)  # issues this month's voucher
        if rng.randrange(100) < 5:
            reason = rng.choice(SUSPENSIONS)
            elder_status.suspend_elder(
                session, DEMO_ACTOR, elder, reason=reason.value, died_on=None, note=None
            )
    return created


def _application(rng: random.Random, district_code: str, today: date) -> ElderCreate:
    """A random applicant of the district: mostly Beijing residents aged 60 to 99, a few under
    60 (ineligible), some with an excluding benefit, a few with an expired assessment."""
    residency = _weighted(rng, ELDER_RESIDENCIES)
    region = district_code if residency == "beijing_hukou" else rng.choice(OTHER_PROVINCE_REGIONS)
    age_years = _weighted(
        rng, [(rng.randint(60, 79), 45), (rng.randint(80, 99), 53), (rng.randint(55, 59), 2)]
    )
    birth = today - timedelta(days=age_years * 365 + rng.randrange(365))
    level = _weighted(rng, ELDER_LEVELS)
    benefits = [benefit for benefit, share in ELDER_BENEFITS if rng.randrange(100) < share]
    stale = rng.randrange(100) < 4  # a result past its validity
    assessed_on = today - timedelta(days=rng.randint(380, 500) if stale else rng.randint(0, 330))
    return ElderCreate(
        name=_name(rng),
        id_number=_id_number(rng, region, birth),
        district_code=district_code,
        residency=residency,
        disability_level=level,
        assessed_on=max(assessed_on, birth + timedelta(days=60 * 365)),
        benefits=benefits,
    )


def _approved_elders(session: Session, district_code: str) -> list[uuid.UUID]:
    """The district's approved elders' ids, in a stable order (by ID number)."""
    return list(
        session.scalars(
            select(Elder.id)
            .where(Elder.district_code == district_code, Elder.status == "approved")
            .order_by(Elder.id_number)
        )
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
