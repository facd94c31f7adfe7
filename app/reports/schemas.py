from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from app.models.reports import ReportSubmission
from app.schemas import BeijingTime, DistrictCode, RequestModel, ResponseModel
from app.settlements.schemas import DeadlinesOut

if TYPE_CHECKING:
    from app.reports.submissions import ScheduledReport


class CategoryFiguresOut(ResponseModel):
    redemptions: int
    amount_fen: int
    deduction_fen: int


class ByCategoryOut(ResponseModel):
    home_community: CategoryFiguresOut
    institution: CategoryFiguresOut


class RedemptionCountsOut(ResponseModel):
    count: int = Field(description="核销笔数(含已撤销)")
    posted: int = Field(description="有效核销笔数")
    reversed: int = Field(description="已撤销笔数")
    elders: int = Field(description="有有效核销的老年人数(去重)")


class ClosedVouchersOut(ResponseModel):
    vouchers: int
    released_fen: int = Field(description="退回项目资金的余额(账本 program_released)")


class FundingBySourceOut(ResponseModel):
    """Sum of the batches finance approved (payment) or paid (settled)."""

    central_fen: int
    city_fen: int
    district_fen: int
    payable_fen: int


class SettlementProgressOut(ResponseModel):
    settlement_id: str | None
    status: str = Field(description="批次状态;尚未生成批次时为 not_built")
    deadlines: DeadlinesOut
    overdue: bool
    payable_fen: int | None


class PeriodFiguresOut(ResponseModel):
    elders_with_vouchers: int = Field(description="持券老年人数(去重)")
    vouchers_issued: int
    face_value_fen: int
    redemptions: RedemptionCountsOut
    amount_fen: int = Field(description="有效核销的消费金额")
    deduction_fen: int = Field(description="有效核销的抵扣金额")
    by_category: ByCategoryOut
    utilisation: str | None = Field(
        description="使用率 = 抵扣金额 / 面值,4 位小数(四舍五入);未发券时为 null", examples=["0.1875"]
    )
    expired: ClosedVouchersOut
    revoked: ClosedVouchersOut
    funding: FundingBySourceOut


class MonthFiguresOut(PeriodFiguresOut):
    month: str
    settlement: SettlementProgressOut


class QuarterlyReportOut(ResponseModel):
    district_code: str
    district_name: str
    year: int
    quarter: int
    due_on: date = Field(description="报送截止日期(3/25、6/25、9/25、12/25)")
    generated_at: BeijingTime
    months: list[MonthFiguresOut]
    total: PeriodFiguresOut


class AnomalyCountsOut(ResponseModel):
    open: int
    confirmed: int
    dismissed: int


class SupervisionOut(ResponseModel):
    anomalies: AnomalyCountsOut = Field(description="本年各月核销的异常交易预警,按处理状态")
    audit_samples: int = Field(description="本年各月抽查样本数")
    audit_findings: int = Field(description="抽查发现记录数")
    rectification_orders: int = Field(description="本年责令整改次数")
    blacklistings: int = Field(description="本年纳入失信联合惩戒对象次数")
    deaths_recorded: int = Field(description="本年登记身故的老年人数")


class AnnualReportOut(ResponseModel):
    district_code: str
    district_name: str
    year: int
    due_on: date = Field(description="工作总结报送截止日期(12月10日,三(三))")
    generated_at: BeijingTime
    months: list[MonthFiguresOut] = Field(description="本年已开始的项目月份")
    total: PeriodFiguresOut
    supervision: SupervisionOut
    providers_listed: dict[str, int] = Field(description="当前在名单内的服务机构数,按类型")
    elders_by_status: dict[str, int] = Field(description="当前登记的老年人数,按状态")


class ReportSubmit(RequestModel):
    district_code: DistrictCode
    kind: Literal["quarterly", "annual"]
    year: int = Field(ge=2000, le=2099)
    quarter: int | None = Field(default=None, ge=1, le=4, description="季度报告必填;工作总结不填")
    summary: Annotated[str, StringConstraints(max_length=20_000)] | None = Field(
        default=None, description="区里的文字总结(实施效果、经验、问题等)"
    )

    @model_validator(mode="after")
    def _quarter_matches_kind(self) -> ReportSubmit:
        if (self.kind == "quarterly") != (self.quarter is not None):
            raise ValueError(
                "quarter is required for a quarterly report and not given for the annual summary"
            )
        return self


class ReportSubmissionOut(ResponseModel):
    id: str
    district_code: str
    kind: str
    year: int
    quarter: int | None
    due_on: date
    submitted_at: BeijingTime
    submitted_by: str
    late: bool = Field(description="是否晚于截止日期报送(按北京时间日期)")
    summary: str | None


class ScheduledReportOut(ResponseModel):
    district_code: str
    district_name: str
    kind: str
    year: int
    quarter: int | None
    due_on: date
    submitted: bool
    submission: ReportSubmissionOut | None
    overdue: bool = Field(description="未报送且已过截止日期")


# --- built from the tables -------------------------------------------------------------------------
def submission_out(submission: ReportSubmission) -> ReportSubmissionOut:
    return ReportSubmissionOut(
        id=str(submission.id),
        district_code=submission.district_code,
        kind=submission.kind,
        year=submission.year,
        quarter=submission.quarter or None,  # stored as 0 for the annual summary
        due_on=submission.due_on,
        submitted_at=submission.submitted_at,
        submitted_by=submission.submitted_by,
        late=submission.late,
        summary=submission.summary,
    )


def scheduled_report_out(row: ScheduledReport) -> ScheduledReportOut:
    return ScheduledReportOut(
        district_code=row.district_code,
        district_name=row.district_name,
        kind=row.kind,
        year=row.year,
        quarter=row.quarter,
        due_on=row.due_on,
        submitted=row.submission is not None,
        submission=submission_out(row.submission) if row.submission else None,
        overdue=row.overdue,
    )
