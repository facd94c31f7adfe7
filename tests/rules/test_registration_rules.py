"""app.rules.listing decisions: who may register (blacklist, 一(四) agency rule, a partner's
parent) and which status changes a district may make while an organisation is blacklisted."""

from __future__ import annotations

from datetime import date

import pytest

from app.rules.listing import (
    ActiveBlacklisting,
    ListingStatus,
    Registration,
    RegistrationFacts,
    registration_refusal,
    status_change_refusal,
)
from app.rules.refusals import Refusal

CODE = "91110105MA00000011"
CHAOYANG, HAIDIAN, DONGCHENG = "110105", "110108", "110101"
BLACKLISTED = ActiveBlacklisting(listed_on=date(2026, 3, 16), district_code=HAIDIAN)
BLACKLISTED_DETAIL = f"统一社会信用代码 {CODE} 已于 2026-03-16 由行政区 {HAIDIAN} 纳入失信联合惩戒对象名单,不得登记或纳入补贴服务名单"
CENTER_HERE = Registration("regional_center", CHAOYANG)


def facts(
    kind: str = "station",
    *,
    blacklisting: ActiveBlacklisting | None = None,
    others: tuple[Registration, ...] = (),
    parent_id_given: bool = False,
    parent: Registration | None = None,
) -> RegistrationFacts:
    return RegistrationFacts(
        credit_code=CODE,
        kind=kind,
        district_code=CHAOYANG,
        blacklisting=blacklisting,
        registrations=others,
        parent_id_given=parent_id_given,
        parent=parent,
    )


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        pytest.param(facts(), None, id="first-registration"),
        pytest.param(facts(others=(Registration("station", HAIDIAN),)), None, id="another-district"),
        pytest.param(
            facts(blacklisting=BLACKLISTED),
            Refusal("PROVIDER_BLACKLISTED", BLACKLISTED_DETAIL),
            id="blacklisted",
        ),
        pytest.param(
            facts(
                "assessment_agency",
                others=(Registration("station", HAIDIAN), Registration("institution", DONGCHENG)),
            ),
            Refusal(
                "ASSESSMENT_AGENCY_CONFLICT",
                f"统一社会信用代码 {CODE} 已在行政区 {DONGCHENG}、{HAIDIAN} 登记为养老服务机构,不得登记为评估经办机构",
            ),
            id="agency-beside-care",
        ),
        pytest.param(
            facts("home_care_company", others=(Registration("assessment_agency", HAIDIAN),)),
            Refusal(
                "ASSESSMENT_AGENCY_CONFLICT",
                f"统一社会信用代码 {CODE} 已在行政区 {HAIDIAN} 登记为评估经办机构,不得提供补贴养老服务",
            ),
            id="care-beside-an-agency",
        ),
        pytest.param(
            facts("assessment_agency", others=(Registration("assessment_agency", HAIDIAN),)),
            None,
            id="agency-in-two-districts",
        ),
        pytest.param(
            facts("station", parent_id_given=True, parent=CENTER_HERE),
            Refusal("INVALID_PARENT", "只有专业服务商(partner)可以指定 parent_id"),
            id="parent-of-a-station",
        ),
        pytest.param(
            facts("partner"),
            Refusal("INVALID_PARENT", "专业服务商必须指定所链接的区域养老服务中心 parent_id"),
            id="partner-without-parent",
        ),
        pytest.param(
            facts("partner", parent_id_given=True),
            Refusal("INVALID_PARENT", "parent_id 必须是本区已登记的区域养老服务中心"),
            id="partner-unknown-parent",
        ),
        pytest.param(
            facts("partner", parent_id_given=True, parent=Registration("station", CHAOYANG)),
            Refusal("INVALID_PARENT", "parent_id 必须是本区已登记的区域养老服务中心"),
            id="partner-parent-not-a-center",
        ),
        pytest.param(
            facts("partner", parent_id_given=True, parent=Registration("regional_center", HAIDIAN)),
            Refusal("INVALID_PARENT", "parent_id 必须是本区已登记的区域养老服务中心"),
            id="partner-parent-elsewhere",
        ),
        pytest.param(
            facts("partner", parent_id_given=True, parent=CENTER_HERE), None, id="partner-with-parent"
        ),
        # The first refusal wins: blacklisted before the agency rule before the parent.
        pytest.param(
            facts("partner", blacklisting=BLACKLISTED, others=(Registration("assessment_agency", HAIDIAN),)),
            Refusal("PROVIDER_BLACKLISTED", BLACKLISTED_DETAIL),
            id="blacklisted-first",
        ),
        pytest.param(
            facts("partner", others=(Registration("assessment_agency", HAIDIAN),)),
            Refusal(
                "ASSESSMENT_AGENCY_CONFLICT",
                f"统一社会信用代码 {CODE} 已在行政区 {HAIDIAN} 登记为评估经办机构,不得提供补贴养老服务",
            ),
            id="agency-rule-before-parent",
        ),
    ],
)
def test_registration_refusal(case, expected):
    assert registration_refusal(case) == expected


L, W, S, D = (
    ListingStatus.LISTED,
    ListingStatus.WITHDRAWN,
    ListingStatus.SUSPENDED,
    ListingStatus.DISQUALIFIED,
)


@pytest.mark.parametrize(
    ("current", "target", "blacklisting", "code"),
    [
        (L, S, None, None),
        (S, L, None, None),
        (W, L, None, None),
        (L, L, None, "INVALID_STATUS_TRANSITION"),
        (D, L, None, "INVALID_STATUS_TRANSITION"),
        # Blacklisted: no way back to the list, whatever the status…
        (S, L, BLACKLISTED, "PROVIDER_BLACKLISTED"),
        (W, L, BLACKLISTED, "PROVIDER_BLACKLISTED"),
        (D, L, BLACKLISTED, "PROVIDER_BLACKLISTED"),
        # …but every other change stays possible (the blacklisting itself disqualifies).
        (L, D, BLACKLISTED, None),
        (S, W, BLACKLISTED, None),
        (D, S, BLACKLISTED, "INVALID_STATUS_TRANSITION"),
    ],
)
def test_status_change_refusal(current, target, blacklisting, code):
    refusal = status_change_refusal(current, target, credit_code=CODE, blacklisting=blacklisting)
    assert (refusal.code if refusal else None) == code


def test_status_change_refusal_names_the_change():
    assert status_change_refusal(D, W, credit_code=CODE, blacklisting=None) == Refusal(
        "INVALID_STATUS_TRANSITION", "不能从 disqualified 变更为 withdrawn"
    )
