"""Provider registration and listing status (一(四)): who may register, which status changes a
district may make.

Disqualification (取消资格, 四(三)) is final: a disqualified organisation is not re-listed under
the same registration. Every other status can return to ``listed``. A blacklisted organisation
(失信联合惩戒) is neither registered nor listed again anywhere in the city. Pure: what the
registry holds is passed in as facts; a refusal is returned, never raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from app.rules.refusals import Refusal


class ListingStatus(StrEnum):
    LISTED = "listed"
    WITHDRAWN = "withdrawn"
    SUSPENDED = "suspended"
    DISQUALIFIED = "disqualified"


ALLOWED_CHANGES: dict[ListingStatus, frozenset[ListingStatus]] = {
    ListingStatus.LISTED: frozenset(
        {ListingStatus.WITHDRAWN, ListingStatus.SUSPENDED, ListingStatus.DISQUALIFIED}
    ),
    ListingStatus.SUSPENDED: frozenset(
        {ListingStatus.LISTED, ListingStatus.WITHDRAWN, ListingStatus.DISQUALIFIED}
    ),
    ListingStatus.WITHDRAWN: frozenset({ListingStatus.LISTED, ListingStatus.DISQUALIFIED}),
    ListingStatus.DISQUALIFIED: frozenset(),
}


def may_change(current: ListingStatus, target: ListingStatus) -> bool:
    return target in ALLOWED_CHANGES[current]


# 一(四) "评估经办机构不得参与提供由本项目补贴的养老服务": one organisation (unified social credit
# code) is either an assessment agency or a care provider, in every district at once.
ASSESSMENT_AGENCY = "assessment_agency"


def conflicts_with_agency_rule(kind: str, other_kinds: set[str] | frozenset[str]) -> bool:
    """Whether registering ``kind`` beside the organisation's existing registrations (any
    district, any status: a withdrawn agency is still the organisation that assessed elders)
    would make it both an assessment agency and a care provider."""
    is_agency = kind == ASSESSMENT_AGENCY
    return any((other == ASSESSMENT_AGENCY) != is_agency for other in other_kinds)


# Registration kinds the parent rule names (app/providers/schemas.ProviderKind).
PARTNER = "partner"
REGIONAL_CENTER = "regional_center"


@dataclass(frozen=True)
class ActiveBlacklisting:
    """The organisation's blacklist entry not lifted yet: since when, and which district."""

    listed_on: date  # Beijing date
    district_code: str


@dataclass(frozen=True)
class Registration:
    """One registration of an organisation, as far as the registration rules look at it."""

    kind: str
    district_code: str


@dataclass(frozen=True)
class RegistrationFacts:
    credit_code: str  # normalised
    kind: str
    district_code: str
    blacklisting: ActiveBlacklisting | None
    # Every registration of the organisation, in every district and status.
    registrations: tuple[Registration, ...]
    parent_id_given: bool
    parent: Registration | None  # the registration named as parent, if there is one


def blacklisted_refusal(credit_code: str, blacklisting: ActiveBlacklisting | None) -> Refusal | None:
    """PROVIDER_BLACKLISTED while the organisation is on the blacklist (any district: the joint
    punishment binds the whole city)."""
    if blacklisting is None:
        return None
    return Refusal(
        "PROVIDER_BLACKLISTED",
        f"统一社会信用代码 {credit_code} 已于 {blacklisting.listed_on} 由行政区 {blacklisting.district_code} "
        "纳入失信联合惩戒对象名单,不得登记或纳入补贴服务名单",
    )


def agency_conflict_refusal(facts: RegistrationFacts) -> Refusal | None:
    """ASSESSMENT_AGENCY_CONFLICT when the organisation is registered on the other side of 一(四)
    in any district."""
    if not conflicts_with_agency_rule(facts.kind, {other.kind for other in facts.registrations}):
        return None
    where = "、".join(sorted({other.district_code for other in facts.registrations}))
    registered_as = (
        "养老服务机构,不得登记为评估经办机构"
        if facts.kind == ASSESSMENT_AGENCY
        else "评估经办机构,不得提供补贴养老服务"
    )
    return Refusal(
        "ASSESSMENT_AGENCY_CONFLICT",
        f"统一社会信用代码 {facts.credit_code} 已在行政区 {where} 登记为{registered_as}",
    )


def parent_refusal(facts: RegistrationFacts) -> Refusal | None:
    """A partner (专业服务商) is linked to a regional center of its own district; nothing else
    names a parent."""
    if facts.kind != PARTNER:
        if facts.parent_id_given:
            return Refusal("INVALID_PARENT", "只有专业服务商(partner)可以指定 parent_id")
        return None
    if not facts.parent_id_given:
        return Refusal("INVALID_PARENT", "专业服务商必须指定所链接的区域养老服务中心 parent_id")
    parent = facts.parent
    if parent is None or parent.kind != REGIONAL_CENTER or parent.district_code != facts.district_code:
        return Refusal("INVALID_PARENT", "parent_id 必须是本区已登记的区域养老服务中心")
    return None


def registration_refusal(facts: RegistrationFacts) -> Refusal | None:
    """Whether a district may register (and list) this organisation: not blacklisted, on one
    side of 一(四) only, and a partner with a valid parent. The first refusal, in that order."""
    return (
        blacklisted_refusal(facts.credit_code, facts.blacklisting)
        or agency_conflict_refusal(facts)
        or parent_refusal(facts)
    )


def status_change_refusal(
    current: ListingStatus,
    target: ListingStatus,
    *,
    credit_code: str,
    blacklisting: ActiveBlacklisting | None,
) -> Refusal | None:
    """A return to the list is refused while the organisation is blacklisted; any change must
    be one of ``ALLOWED_CHANGES``."""
    if target is ListingStatus.LISTED and (refusal := blacklisted_refusal(credit_code, blacklisting)):
        return refusal
    if not may_change(current, target):
        return Refusal("INVALID_STATUS_TRANSITION", f"不能从 {current} 变更为 {target}")
    return None
