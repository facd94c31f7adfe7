"""The assessment e-voucher (issue 6 item 3, attachment 5): an approved result of moderate or
worse gives the elder a one-off voucher worth the assessment service fee (catalogue item 1,
100 yuan), which only the assessing agency redeems, through the ordinary redemption endpoint,
journal and settlement. Mild or intact: no voucher, the elder pays."""

from __future__ import annotations

import pytest

from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_assessment,
    assert_problem,
    ledger_verify,
    make_elder,
    make_provider,
    redeem,
    set_clock,
    vouchers_of,
)

FEE_FEN = 10_000  # catalogue item 1: 评估服务费 100 元/次
ASSESSED_AT = "2026-03-10T10:00:00+08:00"


def assessment_vouchers(client, elder_id: str, month: str = "2026-03") -> list[dict]:
    return [v for v in vouchers_of(client, elder_id, month) if v["kind"] == "assessment"]


@pytest.fixture
def assessed(client) -> dict:
    """A pending elder (typed in as mild) assessed severe by an agency and approved."""
    agency = make_provider(client, kind="assessment_agency")
    elder = make_elder(client, disability_level="mild", assessed_on="2025-06-01")
    approved_assessment(client, agency, elder["id"], level="severe")
    return {"agency": agency, "elder": elder}


def test_an_approved_moderate_or_worse_result_issues_the_assessment_voucher(client, assessed):
    elder_id = assessed["elder"]["id"]
    (voucher,) = assessment_vouchers(client, elder_id)
    assert (voucher["face_value_fen"], voucher["balance_fen"], voucher["status"]) == (
        FEE_FEN,
        FEE_FEN,
        "active",
    )
    assert voucher["valid_until"] == "2026-04-01T00:00:00+08:00"  # this month, like a monthly voucher
    # The elder is still pending: no monthly voucher until the district approves them.
    assert [v["kind"] for v in vouchers_of(client, elder_id, "2026-03")] == ["assessment"]
    assert ledger_verify(client)["ok"] is True


@pytest.mark.parametrize("level", ["mild", "intact"])
def test_a_mild_or_intact_result_issues_nothing(client, level):
    agency = make_provider(client, kind="assessment_agency")
    elder = make_elder(client, disability_level="severe", assessed_on="2025-06-01")
    approved_assessment(client, agency, elder["id"], level=level)
    assert assessment_vouchers(client, elder["id"]) == []


def test_only_the_assessing_agency_redeems_it_for_item_1(client, assessed):
    elder_id = assessed["elder"]["id"]
    other_agency = make_provider(client, kind="assessment_agency")
    station = make_provider(client, kind="station")
    assert_problem(
        redeem(client, other_agency, elder_id, item=1, amount_fen=FEE_FEN, served_at=ASSESSED_AT),
        422,
        "ITEM_NOT_ALLOWED",
    )
    assert_problem(
        redeem(client, station, elder_id, item=1, amount_fen=FEE_FEN, served_at=ASSESSED_AT),
        422,
        "ITEM_NOT_ALLOWED",
    )
    # Not before the day of the assessment, not in the future.
    assert_problem(
        redeem(
            client,
            assessed["agency"],
            elder_id,
            item=1,
            amount_fen=FEE_FEN,
            served_at="2026-03-09T23:00:00+08:00",
        ),
        422,
        "SERVED_AT_OUT_OF_RANGE",
    )
    assert assessment_vouchers(client, elder_id)[0]["balance_fen"] == FEE_FEN  # nothing moved


def test_the_fee_is_redeemed_settled_and_reconciled(client, assessed):
    """From the assessment to an approved elder to the redeemed voucher to its settlement line."""
    elder_id, agency = assessed["elder"]["id"], assessed["agency"]
    approved = client.post(f"{API}/elders/{elder_id}/approve", headers=admin_headers())
    assert approved.status_code == 200, approved.text  # the severe result made them eligible
    assert approved.json()["voucher"]["face_value_fen"] == 80_000
    # The agency charged 150 yuan (service fee plus a home-visit fee the elder pays): the voucher
    # covers the 100 yuan service fee in full, at 100 %, and no more.
    response = redeem(client, agency, elder_id, item=1, amount_fen=15_000, served_at=ASSESSED_AT)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["deduction_fen"], body["self_pay_fen"], body["voucher_balance_fen"]) == (FEE_FEN, 5_000, 0)
    assert body["category"] == "assessment"
    # The monthly voucher is untouched: the fee is the assessment voucher's alone.
    monthly = [v for v in vouchers_of(client, elder_id, "2026-03") if v["kind"] == "monthly"]
    assert [v["balance_fen"] for v in monthly] == [80_000]
    assert_problem(
        redeem(client, agency, elder_id, item=1, amount_fen=FEE_FEN, served_at=ASSESSED_AT),
        409,
        "VOUCHER_EXHAUSTED",
    )
    assert ledger_verify(client)["ok"] is True

    # March's settlement pays the agency its line like any provider's.
    set_clock(client, "2026-04-02T10:00:00+08:00")
    built = client.post(
        f"{API}/settlements", json={"district_code": "110105", "month": "2026-03"}, headers=admin_headers()
    )
    assert built.status_code == 201, built.text
    batch = built.json()
    (line,) = [line for line in batch["lines"] if line["provider_id"] == agency["id"]]
    assert (line["redemptions"], line["payable_fen"]) == (1, FEE_FEN)
    assert batch["missing_evidence"] == 0  # no evidence kinds are required of item 1
    bid = batch["id"]
    for step, body in (("civil-review", {"rejections": []}), ("finance-review", {"approve": True})):
        response = client.post(f"{API}/settlements/{bid}/{step}", json=body, headers=admin_headers())
        assert response.status_code == 200, response.text
    paid = client.post(
        f"{API}/settlements/{bid}/payments",
        json={"provider_id": agency["id"], "amount_fen": FEE_FEN, "reference": "PAY-ASSESS-1"},
        headers=admin_headers(),
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "settled"
    assert ledger_verify(client)["ok"] is True
    assert assessment_vouchers(client, elder_id)[0]["balance_fen"] == 0


def test_an_unused_assessment_voucher_expires_with_its_month(client, assessed):
    set_clock(client, "2026-04-01T00:10:00+08:00")
    response = client.post(f"{API}/jobs/expire", json={"month": "2026-03"}, headers=admin_headers())
    assert response.status_code == 200, response.text
    (voucher,) = assessment_vouchers(client, assessed["elder"]["id"])
    assert (voucher["status"], voucher["balance_fen"]) == ("expired", 0)
    assert ledger_verify(client)["ok"] is True
