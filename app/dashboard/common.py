"""Building blocks the page modules share (web.py holds the request plumbing under them):
who may use a form, required text fields, pagination, and the names of related rows —
providers, elders, catalogue items, the staff who acted — loaded in one query per kind.

The API states who may write in its route dependencies (``RegistryOfficer`` and the settlement
transitions' roles); the services themselves only check the district, so the pages check the
role as well, and hide the forms from officers who cannot use them.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.principal import Role
from app.auth.sessions import SignedIn
from app.config import get_settings
from app.dashboard import labels
from app.errors import Forbidden, ValidationFailed
from app.ids import parse_id
from app.models.auth import StaffMember
from app.models.elders import Elder
from app.models.providers import Provider
from app.models.redemptions import Redemption
from app.models.reference import CatalogueItem
from app.rules.identity import mask_name

# --- who may act -----------------------------------------------------------------------------

# District civil affairs (and city admins): settlement review, payments and every supervision
# form. District finance (and city admins): the finance review. Auditors only read.
CIVIL_ROLES = frozenset({Role.DISTRICT_CIVIL, Role.CITY_ADMIN})
FINANCE_ROLES = frozenset({Role.DISTRICT_FINANCE, Role.CITY_ADMIN})


def may_act(user: SignedIn, roles: frozenset[Role]) -> bool:
    """Whether the officer has one of ``roles``: the page shows the forms only they may submit."""
    return user.principal.role in roles


def require_role(user: SignedIn, roles: frozenset[Role], refusal: str) -> None:
    """Pages hide the forms an officer may not use; a hand-made POST is refused here too."""
    if not may_act(user, roles):
        raise Forbidden(refusal)


def require_civil_officer(user: SignedIn) -> None:
    """The supervision forms: resolve a warning, draw a sample, record a finding, close an order."""
    require_role(user, CIVIL_ROLES, "该操作仅限区民政局工作人员或市级管理员")


# The longest note of a resolved warning or an audit finding (the textareas say so too).
NOTE_MAX = 2000


def required_text(text: str, what: str) -> str:
    """A required free-text field (a note, a reason, a reference), stripped; 请填写<what> when blank."""
    stripped = text.strip()
    if not stripped:
        raise ValidationFailed(f"请填写{what}")
    return stripped


# --- pagination ------------------------------------------------------------------------------

# The highest page a list accepts in its query string (a larger one is a 422).
PAGE_MAX = 100_000


def page_size() -> int:
    return get_settings().dashboard.page_size


@dataclass(frozen=True)
class Pager:
    """Page ``page`` (1-based) of ``total`` rows, ``size`` a page. A page past the end is empty
    (_macros.html's ``pagination`` says so) unless the page moves it back with ``within_pages``."""

    page: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def first_row(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last_row(self) -> int:
        return min(self.offset + self.size, self.total)

    def within_pages(self) -> Pager:
        """The same pager, on the last page when ``page`` is past it."""
        return replace(self, page=min(self.page, self.pages))


def valid_back_page(page: str | None) -> str | None:
    """The page of a list a form was submitted from (a form field), when valid and not the first:
    the redirect after the form goes back to it."""
    return page if page and page.isdigit() and 1 < int(page) <= PAGE_MAX else None


# --- names of related rows, one query per kind -----------------------------------------------


@dataclass
class Names:
    providers: dict[uuid.UUID, str] = field(default_factory=dict)
    elders: dict[uuid.UUID, str] = field(default_factory=dict)
    items: dict[int, str] = field(default_factory=dict)

    def provider(self, provider_id: uuid.UUID | None) -> str:
        return "—" if provider_id is None else self.providers.get(provider_id, "(未知服务机构)")

    def elder(self, elder_id: uuid.UUID | None) -> str:
        """The elder's name, masked as on every page (张三 -> 张*)."""
        if elder_id is None:
            return "—"
        name = self.elders.get(elder_id)
        return mask_name(name) if name else "(未知老年人)"

    def item(self, item: Any) -> str:
        if item is None:
            return "—"
        name = self.items.get(item) if isinstance(item, int) else None
        return f"{item} {name}" if name else str(item)


def load_names(
    session: Session,
    *,
    provider_ids: set = frozenset(),
    elder_ids: set = frozenset(),
    items: set = frozenset(),
) -> Names:
    """The names of these providers, elders and catalogue items (None and non-ids are skipped)."""
    names = Names()
    provider_ids = {p for p in provider_ids if p is not None}
    elder_ids = {e for e in elder_ids if e is not None}
    items = {i for i in items if isinstance(i, int)}
    if provider_ids:
        names.providers = dict(
            session.execute(select(Provider.id, Provider.name).where(Provider.id.in_(provider_ids))).all()
        )
    if elder_ids:
        names.elders = dict(
            session.execute(select(Elder.id, Elder.name).where(Elder.id.in_(elder_ids))).all()
        )
    if items:
        names.items = dict(
            session.execute(
                select(CatalogueItem.item, CatalogueItem.name).where(CatalogueItem.item.in_(items))
            ).all()
        )
    return names


def actor_names(
    session: Session,
    actors: Iterable[str | None],
    *,
    titles: Mapping[str, str],
    system_title: str | None = None,
) -> dict[str, str]:
    """Who acted, as records name them ("staff:<id>", "staff:bootstrap-admin", "system:<job>"):
    a staff member by name; another actor by ``titles``, else any "system:" one by
    ``system_title`` when given; else the record's own text. Empty actors are left out."""
    names: dict[str, str] = {}
    staff: dict[str, uuid.UUID] = {}
    for actor in actors:
        if not actor:
            continue
        kind, _, subject = actor.partition(":")
        staff_id = parse_id(subject) if kind == "staff" else None
        if staff_id is not None:
            staff[actor] = staff_id
        elif actor in titles:
            names[actor] = titles[actor]
        elif kind == "system" and system_title is not None:
            names[actor] = system_title
        else:
            names[actor] = actor
    if staff:
        found = dict(
            session.execute(
                select(StaffMember.id, StaffMember.name).where(StaffMember.id.in_(set(staff.values())))
            ).all()
        )
        for actor, staff_id in staff.items():
            names[actor] = found.get(staff_id, actor)  # no such staff member: the record's text
    return names


def supervision_actor_names(session: Session, actors: Iterable[str | None]) -> dict[str, str]:
    """``actor_names`` as the anomaly and audit pages show them."""
    return actor_names(
        session,
        actors,
        titles=labels.SUPERVISION_ACTOR_TITLES,
        system_title=labels.SUPERVISION_SYSTEM_ACTOR_TITLE,
    )


# --- redemptions as the supervision pages show them ------------------------------------------


@dataclass(frozen=True)
class RedemptionView:
    id: str
    served_at: datetime
    provider: str
    elder: str
    item: str
    amount_fen: int
    deduction_fen: int
    status: str


def redemption_view(r: Redemption, names: Names) -> RedemptionView:
    return RedemptionView(
        id=str(r.id),
        served_at=r.served_at,
        provider=names.provider(r.provider_id),
        elder=names.elder(r.elder_id),
        item=names.item(r.item),
        amount_fen=r.amount_fen,
        deduction_fen=r.deduction_fen,
        status=r.status,
    )
