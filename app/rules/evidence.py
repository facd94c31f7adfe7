"""What evidence a redemption needs (二(四)), as pure rules."""

from __future__ import annotations

EVIDENCE_KINDS = ("service_record", "receipt", "redemption_proof", "residence_agreement")
# 二(四): institutions upload 入住协议、服务情况、消费金额、核销凭证; home and community
# providers 服务项目、服务情况、消费金额、收费单据、核销凭证. The amount is in the redemption itself.
REQUIRED_EVIDENCE = {
    "institution": ("residence_agreement", "service_record", "redemption_proof"),
    "home_community": ("service_record", "receipt", "redemption_proof"),
}


def evidence_complete(category: str, present_kinds: set[str] | frozenset[str]) -> bool:
    """Whether a redemption of ``category`` with files of ``present_kinds`` has everything
    二(四) requires (a category with no requirement is always complete)."""
    return set(REQUIRED_EVIDENCE.get(category, ())) <= set(present_kinds)
