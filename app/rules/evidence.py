"""What evidence a redemption needs (二(四)), as pure rules."""

from __future__ import annotations

EVIDENCE_KINDS = ("service_record", "receipt", "redemption_proof", "residence_agreement", "id_photo")
EVIDENCE_TITLES = {
    "service_record": "服务记录",
    "receipt": "收费单据",
    "redemption_proof": "核销凭证",
    "residence_agreement": "入住协议",
    "id_photo": "身份证或养老助残卡照片",
}
# 二(四): institutions upload 入住协议、服务情况、消费金额、核销凭证; home and community
# providers 服务项目、服务情况、消费金额、收费单据、核销凭证. The amount is in the redemption itself.
# 四(三): before a service the provider checks and photographs the elder's ID card or 养老助残卡
# (核实、拍摄老年人身份证或养老助残卡), so home and community services also need that photo; an
# institution's residents are identified by their residence agreement (docs/decisions.md).
REQUIRED_EVIDENCE = {
    "institution": ("residence_agreement", "service_record", "redemption_proof"),
    "home_community": ("id_photo", "service_record", "receipt", "redemption_proof"),
}


def evidence_complete(category: str, present_kinds: set[str] | frozenset[str]) -> bool:
    """Whether a redemption of ``category`` with files of ``present_kinds`` has everything
    二(四) requires (a category with no requirement is always complete)."""
    return set(REQUIRED_EVIDENCE.get(category, ())) <= set(present_kinds)
