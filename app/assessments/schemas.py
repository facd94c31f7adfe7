from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictInt, StringConstraints, model_validator

from app.elders.schemas import ElderOut
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


class AssessmentDecided(AssessmentOut):
    """The decided record with the elder as it stands after the decision."""

    elder: ElderOut


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
