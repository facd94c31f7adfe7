from __future__ import annotations

from datetime import date

from pydantic import Field

from app.schemas import BeijingTime, ResponseModel
from app.settlements.schemas import DeadlinesOut


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
