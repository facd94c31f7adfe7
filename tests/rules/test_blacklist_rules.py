"""app.rules.sanctions, the blacklist (失信联合惩戒): one active entry per organisation, every
registration not disqualified yet disqualified (another district's history names who decided),
and lifting once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from app.rules.listing import ListingStatus
from app.rules.refusals import Refusal
from app.rules.sanctions import (
    Blacklisting,
    BlacklistingFacts,
    Disqualification,
    RegistrationStatus,
    decide_blacklisting,
    lift_refusal,
)

CODE = "91110105MA00000011"
CHAOYANG, HAIDIAN = "110105", "110108"
HERE, THERE, GONE = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)
REASON = "先涨价后抵扣"


def facts(*registrations: RegistrationStatus, already: bool = False) -> BlacklistingFacts:
    return BlacklistingFacts(
        credit_code=CODE,
        deciding_provider_id=HERE,
        deciding_district=CHAOYANG,
        already_blacklisted=already,
        registrations=registrations,
    )


def here(status: ListingStatus = ListingStatus.LISTED) -> RegistrationStatus:
    return RegistrationStatus(HERE, CHAOYANG, status)


def there(status: ListingStatus = ListingStatus.LISTED) -> RegistrationStatus:
    return RegistrationStatus(THERE, HAIDIAN, status)


OWN = Disqualification(HERE, f"纳入失信联合惩戒对象:{REASON}")
OTHER = Disqualification(THERE, f"纳入失信联合惩戒对象(由行政区 {CHAOYANG} 认定):{REASON}")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        pytest.param(facts(here()), Blacklisting((OWN,)), id="one-registration"),
        pytest.param(facts(here(), there()), Blacklisting((OWN, OTHER)), id="every-district"),
        pytest.param(
            facts(here(ListingStatus.SUSPENDED), there()), Blacklisting((OWN, OTHER)), id="suspended"
        ),
        pytest.param(
            facts(here(), there(ListingStatus.WITHDRAWN)), Blacklisting((OWN, OTHER)), id="withdrawn"
        ),
        # Already disqualified: blacklisted without another status change.
        pytest.param(
            facts(here(ListingStatus.DISQUALIFIED), there()), Blacklisting((OTHER,)), id="disqualified"
        ),
        pytest.param(
            facts(
                here(ListingStatus.DISQUALIFIED),
                there(ListingStatus.DISQUALIFIED),
                RegistrationStatus(GONE, HAIDIAN, ListingStatus.DISQUALIFIED),
            ),
            Blacklisting(()),
            id="all-disqualified",
        ),
        pytest.param(
            facts(here(), there(), already=True),
            Refusal("ALREADY_BLACKLISTED", f"统一社会信用代码 {CODE} 已在失信联合惩戒对象名单中"),
            id="already-blacklisted",
        ),
    ],
)
def test_decide_blacklisting(case, expected):
    assert decide_blacklisting(case, reason=REASON) == expected


@pytest.mark.parametrize(
    ("lifted_at", "expected"),
    [
        (None, None),
        (
            datetime(2026, 6, 1, 1, 0, tzinfo=UTC),
            Refusal("BLACKLIST_ALREADY_LIFTED", "该记录已于 2026-06-01 解除"),
        ),
        # The Beijing date: 16:00 UTC is midnight in Beijing.
        (
            datetime(2026, 5, 31, 16, 0, tzinfo=UTC),
            Refusal("BLACKLIST_ALREADY_LIFTED", "该记录已于 2026-06-01 解除"),
        ),
    ],
)
def test_lift_refusal(lifted_at, expected):
    assert lift_refusal(lifted_at) == expected
