from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictInt, StringConstraints, model_validator

from app.elders.schemas import ElderOut
from app.models.assessments import Assessment
from app.rules import assessment as scoring
from app.rules.eligibility import ELIGIBLE_LEVELS, DisabilityLevel
from app.schemas import BeijingTime, IsoDate, RequestModel, ResponseModel

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Visit = Literal["on_site", "home"]
Status = Literal["submitted", "approved", "rejected"]


# --- requests --------------------------------------------------------------------------------
class AssessmentCreate(RequestModel):
    """One completed assessment. The elder by ``elder_id`` or by ``id_number`` (the agency has
    the ID card in hand, as a POS has), exactly one of them."""

    elder_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    id_number: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    # Staff name the agency; an agency's own key submits for itself (may be left out).
    agency_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    assessor_name: ShortText
    assessor_certificate_no: ShortText
    # The assessor's employer; the agency's own code when left out.
    assessor_organisation_credit_code: (
        Annotated[str, StringConstraints(min_length=1, max_length=32)] | None
    ) = None
    assessed_on: IsoDate
    visit: Visit
    # Every item is checked by app.rules.assessment (INVALID_SCORES lists each bad one), so
    # values are taken as sent, not coerced.
    scores: dict[str, Any] = Field(max_length=64)
    coma: StrictBool = False
    dementia: StrictBool = False
    mental_disorder: StrictBool = False
    dementia_or_mental_disorder: StrictBool = False
    # A count, or counts per A.2.14 kind (fall, lost, choking, suicide_self_harm, other).
    risk_events_30d: StrictInt | dict[str, Any] = 0

    @model_validator(mode="after")
    def _one_elder_reference(self) -> AssessmentCreate:
        if (self.elder_id is None) == (self.id_number is None):
            raise ValueError("give exactly one of elder_id and id_number")
        return self


class AssessmentApprove(RequestModel):
    note: Note | None = None


class AssessmentReject(RequestModel):
    note: Note


# --- responses -------------------------------------------------------------------------------
class CodeTitle(ResponseModel):
    code: str
    title: str


class AssessmentOut(ResponseModel):
    id: str
    elder_id: str
    district_code: str
    agency_id: str
    agency_name: str
    assessor_name: str
    assessor_certificate_no: str
    assessor_organisation_credit_code: str
    assessed_on: date
    visit: str
    scores: dict[str, int]
    indicator_totals: dict[str, int]
    total: int
    base_level: str
    final_level: str
    # True for 中度失能 and worse: the level the voucher needs (and the assessment voucher, item 3).
    moderate_or_worse: bool
    adjustments: list[CodeTitle]
    coma: bool
    dementia: bool
    mental_disorder: bool
    dementia_or_mental_disorder: bool
    risk_events_30d: int | dict[str, int]
    risk_events_total: int
    valid_until: date
    status: str
    submitted_at: BeijingTime
    submitted_by: str
    decided_at: BeijingTime | None
    decided_by: str | None
    decision_note: str | None

    @classmethod
    def of(cls, assessment: Assessment, agency_names: Mapping[uuid.UUID, str]) -> AssessmentOut:
        """``agency_names``: by agency id (app.assessments.service.agency_names)."""
        return cls(**_assessment_fields(assessment, agency_names))


def _assessment_fields(a: Assessment, agency_names: Mapping[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "id": str(a.id),
        "elder_id": str(a.elder_id),
        "district_code": a.district_code,
        "agency_id": str(a.agency_id),
        "agency_name": agency_names.get(a.agency_id, ""),
        "assessor_name": a.assessor_name,
        "assessor_certificate_no": a.assessor_certificate_no,
        "assessor_organisation_credit_code": a.assessor_organisation_credit_code,
        "assessed_on": a.assessed_on,
        "visit": a.visit,
        "scores": dict(a.scores),
        "indicator_totals": {
            scoring.Indicator.SELF_CARE.value: a.self_care_total,
            scoring.Indicator.BASIC_MOBILITY.value: a.basic_mobility_total,
            scoring.Indicator.MENTAL_STATE.value: a.mental_state_total,
            scoring.Indicator.PERCEPTION_SOCIAL.value: a.perception_social_total,
        },
        "total": a.total,
        "base_level": a.base_level,
        "final_level": a.final_level,
        "moderate_or_worse": DisabilityLevel(a.final_level) in ELIGIBLE_LEVELS,
        "adjustments": [
            {"code": code, "title": scoring.ADJUSTMENT_TITLES[scoring.Adjustment(code)]}
            for code in a.adjustments
        ],
        "coma": a.coma,
        "dementia": a.dementia,
        "mental_disorder": a.mental_disorder,
        "dementia_or_mental_disorder": a.dementia_or_mental_disorder,
        "risk_events_30d": a.risk_events_30d,
        "risk_events_total": a.risk_events_total,
        "valid_until": a.valid_until,
        "status": a.status,
        "submitted_at": a.submitted_at,
        "submitted_by": a.submitted_by,
        "decided_at": a.decided_at,
        "decided_by": a.decided_by,
        "decision_note": a.decision_note,
    }


class AssessmentDecided(AssessmentOut):
    """The decided record with the elder as it stands after the decision."""

    elder: ElderOut

    @classmethod
    def of_decision(
        cls, assessment: Assessment, agency_names: Mapping[uuid.UUID, str], elder: ElderOut
    ) -> AssessmentDecided:
        return cls(**_assessment_fields(assessment, agency_names), elder=elder)


class AssessmentPage(ResponseModel):
    items: list[AssessmentOut]
    total: int
    limit: int
    offset: int


class AssessmentStatusOut(ResponseModel):
    """二(二): whether the elder must be (re)assessed, and on what the current level rests."""

    elder_id: str
    disability_level: str
    assessed_on: date
    valid_until: date
    disability_allowance_tier: int | None
    needs_new_assessment: bool
    basis: str
    basis_title: str
    # The approved record the elder's level rests on (latest decided), if the ledger holds one.
    current_assessment_id: str | None
    pending_assessment_id: str | None


class ReferenceItem(ResponseModel):
    code: str
    clause: str
    name: str
    indicator: str
    min_score: int
    max_score: int


class ReferenceIndicator(ResponseModel):
    code: str
    name: str
    max_score: int
    items: list[str]


class ReferenceLevel(ResponseModel):
    level: str
    name: str
    min_total: int
    max_total: int


class AssessmentItemsOut(ResponseModel):
    standard: str
    max_total: int
    items: list[ReferenceItem]
    indicators: list[ReferenceIndicator]
    levels: list[ReferenceLevel]
    adjustments: list[CodeTitle]
    risk_event_kinds: list[str]
    risk_events_threshold: int

    @classmethod
    def gbt_42195(cls) -> AssessmentItemsOut:
        """The GB/T 42195-2022 table of app.rules.assessment, for agency and POS integrators."""
        return cls(
            standard="GB/T 42195-2022",
            max_total=scoring.MAX_TOTAL,
            items=[
                ReferenceItem(
                    code=item.code,
                    clause=item.clause,
                    name=item.name,
                    indicator=item.indicator.value,
                    min_score=item.min_score,
                    max_score=item.max_score,
                )
                for item in scoring.ITEMS
            ],
            indicators=[
                ReferenceIndicator(
                    code=indicator.value,
                    name=scoring.INDICATOR_NAMES[indicator],
                    max_score=scoring.INDICATOR_MAXIMA[indicator],
                    items=[item.code for item in scoring.ITEMS if item.indicator is indicator],
                )
                for indicator in scoring.Indicator
            ],
            levels=[
                ReferenceLevel(
                    level=level.value, name=scoring.LEVEL_NAMES[level], min_total=low, max_total=high
                )
                for low, high, level in scoring.LEVEL_BANDS
            ],
            adjustments=[
                CodeTitle(code=a.value, title=scoring.ADJUSTMENT_TITLES[a]) for a in scoring.Adjustment
            ],
            risk_event_kinds=[kind.value for kind in scoring.RiskEvent],
            risk_events_threshold=scoring.RISK_EVENTS_THRESHOLD,
        )
