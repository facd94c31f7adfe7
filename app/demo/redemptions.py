"""Demo redemptions: random daytime services at the district's providers, each through the
redemption service (and, for a past month, with the evidence files most providers upload)."""

from __future__ import annotations

import collections
import contextlib
import random
import uuid
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal, Role
from app.config import get_settings
from app.demo.data import DEMO_SALES
from app.evidence import service as evidence_service
from app.evidence.storage import get_storage
from app.ids import parse_id
from app.models.providers import Provider
from app.models.redemptions import Redemption
from app.redemptions import service as redemptions
from app.redemptions.schemas import RedemptionCreate
from app.reference.service import get_catalogue_item
from app.rules.evidence import EVIDENCE_TITLES, REQUIRED_EVIDENCE
from app.rules.months import BEIJING, Month

# Demo services happen in the daytime (08:00–18:00), so that night warnings are only planted ones.
DAY_STARTS, DAY_HOURS = time(8), 10
# Share of last month's redemptions whose provider uploaded every required file (二(四)); the
# rest show up as missing evidence when the month is settled.
EVIDENCE_SHARE = 0.9


def load_redemptions(
    session: Session,
    rng: random.Random,
    providers: list[Provider],
    elders: Iterable,
    *,
    month: Month,
    window: tuple[datetime, datetime],
    visits: tuple[int, ...],
    pin: bool,
) -> int:
    """Random daytime redemptions in ``window`` for the given elders; returns how many were
    posted. With ``pin`` (a past month) each is recorded a little after its service, with its
    evidence for most; else now."""
    start, end = window
    sellers = [p for p in providers if p.kind in DEMO_SALES]
    if end - start < timedelta(hours=1) or not sellers:
        collections.deque(elders, maxlen=0)  # nothing to redeem; consuming still advances the progress
        return 0
    posted = 0
    for index, elder_id in enumerate(elders):
        for visit in range(rng.choice(visits)):
            provider = rng.choice(sellers)
            item, price = rng.choice(DEMO_SALES[provider.kind])
            served_at = _daytime(rng, start, end)
            if served_at is None:
                continue
            recorded_at = None
            if pin:
                recorded_at = min(
                    served_at + timedelta(minutes=rng.randint(5, 180)), end - timedelta(seconds=1)
                )
            redemption_id = redeem(
                session,
                provider,
                key=f"demo-{month}-{index}-{visit}",
                elder_id=elder_id,
                item=item,
                amount_fen=_price(session, rng, item, price),
                served_at=served_at,
                recorded_at=recorded_at,
            )
            if redemption_id is None:
                continue
            posted += 1
            if pin and rng.random() < EVIDENCE_SHARE:
                upload_evidence(session, provider, redemption_id, recorded_at)
    return posted


def redeem(
    session: Session,
    provider: Provider,
    *,
    key: str,
    elder_id: uuid.UUID,
    item: int,
    amount_fen: int,
    served_at: datetime,
    recorded_at: datetime | None,
) -> str | None:
    """One redemption through the service, at ``recorded_at`` (pinned) or now: its id, or None
    if it was refused (e.g. the voucher is used up; the service said why)."""
    body = RedemptionCreate(
        elder_id=str(elder_id),
        item=item,
        amount_fen=amount_fen,
        ltci_paid_fen=0,
        served_at=served_at,
        id_checked=True,
    )
    with clock.pinned(recorded_at) if recorded_at is not None else contextlib.nullcontext():
        outcome = redemptions.redeem(session, _caller(provider), key=key, body=body)
    return outcome.body["id"] if outcome.status == 201 else None


def upload_evidence(session: Session, provider: Provider, redemption_id: str, at: datetime) -> None:
    """Every file 二(四) requires for the redemption's category, as the provider uploads them."""
    redemption = session.get(Redemption, parse_id(redemption_id))
    storage = get_storage()
    max_bytes = get_settings().evidence.max_bytes
    with clock.pinned(at):
        for kind in REQUIRED_EVIDENCE.get(redemption.category, ()):
            title = EVIDENCE_TITLES[kind]
            evidence_service.upload(
                session,
                _caller(provider),
                redemption,
                kind=kind,
                filename=f"{title}.pdf",
                declared_type="application/pdf",
                data=_evidence_pdf(kind),
                max_bytes=max_bytes,
                storage=storage,
            )


def _caller(provider: Provider) -> Principal:
    return Principal(role=Role.PROVIDER, subject_id=str(provider.id), district_code=provider.district_code)


def _daytime(rng: random.Random, start: datetime, end: datetime) -> datetime | None:
    """A random daytime instant (Beijing) in [start, end), or None when there is hardly any."""
    first, last = start.astimezone(BEIJING).date(), end.astimezone(BEIJING).date()
    for _ in range(5):
        day = first + timedelta(days=rng.randrange((last - first).days + 1))
        at = datetime.combine(day, DAY_STARTS, BEIJING) + timedelta(seconds=rng.randrange(DAY_HOURS * 3600))
        if start <= at < end:
            return at
    return None


def _evidence_pdf(kind: str) -> bytes:
    return (
        b"%PDF-1.4\n% voucher demo evidence: " + kind.encode() + b"\n"
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def _price(session: Session, rng: random.Random, item: int, typical_fen: int) -> int:
    """A price around the typical one, never above the catalogue's reference maximum."""
    amount = max(100, typical_fen + rng.randint(-typical_fen // 5, typical_fen // 5))
    entry = get_catalogue_item(session, item)
    if entry is not None and entry.ref_price_max_fen is not None:
        amount = min(amount, entry.ref_price_max_fen)
    return amount
