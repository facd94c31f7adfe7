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
