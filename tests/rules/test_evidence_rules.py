"""Which evidence completes a redemption (二(四))."""

from __future__ import annotations

import pytest

from app.rules.evidence import REQUIRED_EVIDENCE, evidence_complete


@pytest.mark.parametrize(
    ("category", "present", "complete"),
    [
        ("home_community", set(), False),
        ("home_community", {"service_record", "receipt"}, False),
        ("home_community", {"id_photo", "service_record", "receipt", "redemption_proof"}, True),
        # 四(三): the photo of the ID card or 养老助残卡 taken before a home service is required too.
        ("home_community", {"service_record", "receipt", "redemption_proof"}, False),
        # An institution's residence agreement does not stand in for a home service's receipt.
        ("home_community", {"id_photo", "service_record", "residence_agreement", "redemption_proof"}, False),
        ("institution", {"service_record", "receipt", "redemption_proof"}, False),
        ("institution", {"residence_agreement", "service_record", "redemption_proof"}, True),
        ("institution", {"residence_agreement", "service_record", "redemption_proof", "receipt"}, True),
        # Nothing is required of the assessment category (paid by its own voucher).
        ("assessment", set(), True),
    ],
)
def test_complete_when_every_required_kind_is_present(category, present, complete):
    assert evidence_complete(category, present) is complete


def test_every_category_requires_the_service_record_and_the_redemption_proof():
    for kinds in REQUIRED_EVIDENCE.values():
        assert {"service_record", "redemption_proof"} <= set(kinds)
