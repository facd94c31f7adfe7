from __future__ import annotations

from app.schemas import ResponseModel


class DistrictOut(ResponseModel):
    code: str
    name: str


class CatalogueItemOut(ResponseModel):
    item: int
    category: str
    group: str
    subgroup: str | None
    name: str
    unit: str
    ref_price_min_fen: int | None
    ref_price_max_fen: int | None


class FundingShares(ResponseModel):
    central: str
    city: str
    district: str


class PolicyOut(ResponseModel):
    month: str
    home_community_rate: str
    institution_rate: str
    monthly_cap_fen: int
    funding: FundingShares
    effective_from: str
    program_first_month: str
    program_last_month: str
