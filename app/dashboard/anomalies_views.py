"""Anomaly warnings as the dashboard shows them: rule titles and notes, the evidence as labelled
lines, the redemptions a warning names (elders masked), for the list and the detail page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.dashboard.common import (
    Names,
    RedemptionView,
    load_names,
    redemption_view,
    supervision_actor_names,
)
from app.dashboard.web import yuan
from app.ids import parse_id
from app.models.anomalies import Anomaly
from app.redemptions.lookups import redemptions_by_ids
from app.rules import anomalies as rules
from app.rules.months import Month

# --- Chinese names ---------------------------------------------------------------------------

ANOMALY_STATUS_TITLES = {"open": "待处理", "confirmed": "核查属实", "dismissed": "核查排除"}
RESOLUTION_TITLES = {"confirmed": "核查属实", "dismissed": "核查排除(非异常)"}
DETECTED_BY_TITLES = {"redemption": "核销时即时发现", "nightly": "夜间批量扫描发现"}
# What each rule looks for, and the clause of 京民发〔2026〕6号 it serves (docs/anomalies.md).
RULE_NOTES: dict[str, tuple[str, str]] = {
    rules.PRICE_ABOVE_REFERENCE: (
        "消费金额超过附件1项目清单中该项目的参考价格上限,补贴随之多付。",
        "附件1《北京市养老服务消费补贴项目清单》参考价格;四(三)“先涨价后抵扣”",
    ),
    rules.PRICE_JUMP: (
        "服务机构本月同一项目的价格明显高于其此前几个月的中位价,疑似先涨价后抵扣。",
        "四(三)“先涨价后抵扣”",
    ),
    rules.OVERLAPPING_SERVICE: (
        "同一老年人在很短时间内由两家服务机构提供上门或社区服务,其中至少一笔可能并未实际服务。",
        "四(二)防范虚假交易;四(三)服务前核验身份“以确保服务真实性”",
    ),
    rules.TOO_MANY_SERVICES_PER_DAY: (
        "同一老年人单日核销次数超过合理上限,疑似拆分或虚构服务。",
        "四(二)防范虚假交易、骗补套补",
    ),
    rules.NIGHT_HOME_SERVICE: (
        "上门或社区服务的服务时间在夜间,疑似虚构服务或事后补录。",
        "四(二)异常交易预警;四(三)服务真实性",
    ),
    rules.FIRST_DAY_DRAIN: (
        "服务机构在消费券发放当天(每月1日)即用尽多名老年人的整张消费券。",
        "二(三)每月1日发放;四(二)防范骗补套补",
    ),
    rules.REDEEMED_AFTER_SUSPENSION: (
        "老年人已登记停发(含身故)后仍有核销记录。",
        "二(三)次月停发;四(二)及时收回补贴资金",
    ),
}
# The keys of a warning's evidence (app/rules/anomalies.py) as the page labels them.
EVIDENCE_LABELS = {
    "item": "服务项目",
    "amount_fen": "消费金额",
    "ref_price_max_fen": "参考价格上限",
    "tolerance_percent": "允许超出比例",
    "night_start_hour": "夜间时段开始",
    "night_end_hour": "夜间时段结束",
    "suspension_reason": "停发原因",
    "status_change_id": "停发登记记录号",
    "day": "日期",
    "services": "当日核销次数",
    "providers": "涉及服务机构",
    "max_per_day": "单日次数上限",
    "other_redemption_id": "时间重叠的另一笔核销",
    "other_provider_id": "另一家服务机构",
    "gap_seconds": "两次服务开始间隔",
    "overlap_minutes": "判定重叠的时长",
    "vouchers_drained": "当日被用尽的消费券",
    "deduction_fen": "当日抵扣合计",
    "min_vouchers": "预警阈值",
    "baseline_from": "基准期起",
    "baseline_to": "基准期止",
    "baseline_median_fen": "基准期中位价",
    "baseline_redemptions": "基准期核销笔数",
    "jump_percent": "涨幅阈值",
    "redemptions_above": "本月超过阈值的核销",
    "max_amount_fen": "本月最高消费金额",
}
EVIDENCE_UNITS = {
    "services": "次",
    "providers": "家",
    "max_per_day": "次",
    "overlap_minutes": "分钟",
    "vouchers_drained": "张",
    "min_vouchers": "张",
    "baseline_redemptions": "笔",
    "redemptions_above": "笔",
}
SUSPENSION_REASON_TITLES = {
    "deceased": "身故",
    "moved_out": "迁出",
    "no_longer_eligible": "不再符合补贴条件",
    "other": "其他",
    "assessed_below_moderate": "评估等级低于中度失能",
}
# The tables the template reads, as ``T``.
TITLES = {"anomaly_status": ANOMALY_STATUS_TITLES, "resolution": RESOLUTION_TITLES}

# --- the warnings as the page shows them -----------------------------------------------------


@dataclass(frozen=True)
class EvidenceLine:
    label: str
    text: str
    redemption: RedemptionView | None = None


@dataclass(frozen=True)
class AnomalyView:
    id: str
    rule: str
    rule_title: str
    reason: str
    citation: str
    month: str
    status: str
    detected_at: datetime
    detected_by: str
    provider: str
    elder: str
    redemption: RedemptionView | None
    evidence: list[EvidenceLine]
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None


def _evidence_id(evidence: dict, key: str) -> uuid.UUID | None:
    value = evidence.get(key)
    return parse_id(value) if isinstance(value, str) else None


def _evidence_text(key: str, value: Any, names: Names) -> str:
    if value is None:
        return "—"
    if key.endswith("_fen") and isinstance(value, int | float):
        return f"{yuan(int(value))} 元"
    if key == "item":
        return names.item(value)
    if key.endswith("_percent"):
        return f"{value}%"
    if key.endswith("_hour") and isinstance(value, int):
        return f"{value:02d}:00(北京时间)"
    if key == "gap_seconds" and isinstance(value, int | float):
        minutes, seconds = divmod(int(value), 60)
        return f"{minutes} 分 {seconds} 秒" if minutes else f"{seconds} 秒"
    if key == "suspension_reason":
        return SUSPENSION_REASON_TITLES.get(str(value), str(value))
    if key == "other_provider_id":
        parsed = parse_id(value) if isinstance(value, str) else None
        return names.provider(parsed) if parsed else str(value)
    unit = EVIDENCE_UNITS.get(key)
    return f"{value} {unit}" if unit else str(value)


def _evidence_lines(evidence: dict, redemptions: dict, names: Names) -> list[EvidenceLine]:
    """The evidence as labelled lines; an overlap's other redemption shown as the page shows one."""
    lines = []
    for key, value in evidence.items():
        label = EVIDENCE_LABELS.get(key, key)
        if key == "other_redemption_id":
            other = redemptions.get(_evidence_id(evidence, key))
            lines.append(EvidenceLine(label, str(value), redemption_view(other, names) if other else None))
        else:
            lines.append(EvidenceLine(label, _evidence_text(key, value, names)))
    return lines


def rule_title(rule: str) -> str:
    return rules.RULES[rule].title if rule in rules.RULES else rule


def anomaly_views(session: Session, rows: list[Anomaly]) -> list[AnomalyView]:
    """The warnings as the page shows them: the evidence as labelled lines, money in yuan, the
    redemptions they name (their own and an overlap's other one) with provider, elder and item."""
    named_ids = {a.redemption_id for a in rows} | {
        _evidence_id(a.evidence or {}, "other_redemption_id") for a in rows
    }
    redemptions = redemptions_by_ids(session, named_ids - {None})
    names = load_names(
        session,
        provider_ids={a.provider_id for a in rows}
        | {r.provider_id for r in redemptions.values()}
        | {_evidence_id(a.evidence or {}, "other_provider_id") for a in rows},
        elder_ids={a.elder_id for a in rows} | {r.elder_id for r in redemptions.values()},
        items={r.item for r in redemptions.values()} | {(a.evidence or {}).get("item") for a in rows},
    )
    resolvers = supervision_actor_names(session, {a.resolved_by for a in rows})
    views = []
    for a in rows:
        reason, citation = RULE_NOTES.get(a.rule, ("", ""))
        redemption = redemptions.get(a.redemption_id) if a.redemption_id else None
        views.append(
            AnomalyView(
                id=str(a.id),
                rule=a.rule,
                rule_title=rule_title(a.rule),
                reason=reason,
                citation=citation,
                month=str(Month.of(a.month)),
                status=a.status,
                detected_at=a.detected_at,
                detected_by=DETECTED_BY_TITLES.get(a.detected_by, a.detected_by),
                provider=names.provider(a.provider_id),
                elder=names.elder(a.elder_id),
                redemption=redemption_view(redemption, names) if redemption else None,
                evidence=_evidence_lines(a.evidence or {}, redemptions, names),
                resolved_at=a.resolved_at,
                resolved_by=resolvers.get(a.resolved_by) if a.resolved_by else None,
                resolution_note=a.resolution_note,
            )
        )
    return views
