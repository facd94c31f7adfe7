"""Chinese names of the codes the pages show (statuses, roles, kinds, categories)."""

from __future__ import annotations

from app.rules.eligibility import ELDER_STATUS_TITLES, LEVEL_TITLES  # noqa: F401  (read by templates)
from app.rules.provider_list import KIND_TITLES
from app.settlements.statements import STATUS_TITLES

ROLE_TITLES = {
    "city_admin": "市级管理员",
    "auditor": "审计人员",
    "district_civil": "区民政局",
    "district_finance": "区财政局",
}
BATCH_STATUS_TITLES = {**STATUS_TITLES, "not_built": "未生成"}
STAGE_TITLES = {"civil_review": "区民政审核", "finance_review": "区财政复审", "payment": "支付"}
STAGE_STATE_TITLES = {"done": "已完成", "current": "进行中", "pending": "未开始"}
CATEGORY_TITLES = {"home_community": "居家社区服务", "institution": "机构服务", "assessment": "能力评估"}
PROVIDER_KIND_TITLES = KIND_TITLES
PROVIDER_STATUS_TITLES = {
    "listed": "在册",
    "withdrawn": "已退出",
    "suspended": "暂停",
    "disqualified": "取消资格",
}
REDEMPTION_STATUS_TITLES = {"posted": "已核销", "reversed": "已冲正"}
REPORT_KIND_TITLES = {"quarterly": "季度进展报告", "annual": "年度工作总结"}
# Who acted, when a record names no staff member (staff are named from their record): the
# settlement history names the bootstrap token and the overdue job; the supervision pages call
# the bootstrap token 系统管理员 and every system job 系统自动.
SETTLEMENT_ACTOR_TITLES = {
    "staff:bootstrap-admin": "系统管理员(初始令牌)",
    "system:flag_overdue": "系统(逾期检查)",
}
SUPERVISION_ACTOR_TITLES = {"staff:bootstrap-admin": "系统管理员"}
SUPERVISION_SYSTEM_ACTOR_TITLE = "系统自动"


def title(table: dict[str, str], code: str | None) -> str:
    """The Chinese name of a code, or the code itself when the table has none."""
    if code is None:
        return ""
    return table.get(code, code)
