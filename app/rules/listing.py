"""Provider listing status (一(四)): which changes a district may make.

Disqualification (取消资格, 四(三)) is final: a disqualified organisation is not re-listed under
the same registration. Every other status can return to ``listed``.
"""

from __future__ import annotations

from enum import StrEnum


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
