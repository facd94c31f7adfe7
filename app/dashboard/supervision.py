"""Supervision pages (issue 7 item 4): the district's anomaly warnings with their evidence and a
resolve form; audit samples, drawing one and entering findings; providers with their sanctions.

The pages call the same services as the API. The API states who may write in its route
dependencies (district civil affairs and city admins: ``RegistryOfficer``, ``Inspector``); the
services themselves only check the district, so the forms here check the role as well, and are
hidden from officers who cannot use them. Every list is paginated or bounded, and related rows
(redemptions, providers, elders, catalogue items, staff) are loaded in one query per kind.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.anomalies import service as anomalies
from app.anomalies.models import Anomaly
from app.audits import service as audits
from app.audits.models import AuditFinding, AuditSample
from app.auth.models import StaffMember
from app.auth.principal import CITY_WIDE_ROLES, Role
from app.auth.sessions import SignedIn
from app.config import get_settings
from app.dashboard.web import (
    FormUser,
    ScopedDistrict,
    User,
    districts,
    parse_month,
    redirect,
    render,
    require_confirmation,
    scoped_district,
    yuan,
)
from app.deps import SessionDep
from app.elders.models import Elder
from app.errors import Forbidden, ValidationFailed
from app.ids import parse_id
from app.providers import service as providers
from app.providers.models import Provider
from app.redemptions.models import Redemption
from app.reference.models import CatalogueItem
from app.routing import TransactionRetryRoute
from app.rules import anomalies as rules
from app.rules.listing import ListingStatus
from app.rules.months import BEIJING, Month
from app.rules.sanctions import RectificationStatus, is_overdue
from app.sanctions import service as sanctions

router = APIRouter(route_class=TransactionRetryRoute)

# --- Chinese names (beyond app/dashboard/labels.py) ------------------------------------------

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
SAMPLE_KIND_TITLES = {"redemption": "抽查核销", "assessment": "抽查评估结果"}
SAMPLE_KIND_NOTES = {
    "redemption": "当月有核销的老年人中随机抽取 1%(四(二))",
    "assessment": "当月持券老年人的评估结果中随机抽取至少 1%(四(二))",
}
FINDING_OUTCOME_TITLES = {
    "genuine": "服务真实",
    "fake_service": "虚假服务",
    "poor_quality": "服务质量差",
    "low_satisfaction": "老年人满意度低",
}
FINDING_EFFECT_TITLES = {"none": "无资金影响", "excluded": "不予结算", "clawback": "追回(从下次支付中抵扣)"}
RECTIFICATION_STATUS_TITLES = {"open": "整改中", "rectified": "已整改", "escalated": "整改不力,已处理"}
RECTIFICATION_SOURCE_TITLES = {"manual": "区民政局责令", "automatic": "抽查问题达到阈值自动发出"}
ESCALATION_TITLES = {"suspend": "暂停参与资格", "disqualify": "取消参与资格"}

PAGE_MAX = 100_000
# Drawn elders per page of a sample: each carries a findings form with a checkbox per redemption
# of the month (about ten), so fewer than the list pages' rows keep the page light.
SAMPLE_ELDERS_PER_PAGE = 20
NOTE_MAX = 2000
FINDING_REDEMPTIONS_MAX = 500
# The roles the API lets write here (RegistryOfficer, Inspector): auditors and finance read.
OFFICER_ROLES = frozenset({Role.CITY_ADMIN, Role.DISTRICT_CIVIL})


def may_act(user: SignedIn) -> bool:
    return user.principal.role in OFFICER_ROLES


def require_officer(user: SignedIn) -> None:
    if not may_act(user):
        raise Forbidden("该操作仅限区民政局工作人员或市级管理员")


def _city_wide(user: SignedIn) -> bool:
    return user.principal.role in CITY_WIDE_ROLES


def _note(text: str, what: str) -> str:
    note = text.strip()
    if not note:
        raise ValidationFailed(f"请填写{what}")
    return note


# --- pagination -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pager:
    page: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def first_row(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last_row(self) -> int:
        return min(self.offset + self.size, self.total)


def _page_size() -> int:
    return get_settings().dashboard.page_size


# --- related rows, one query per kind ---------------------------------------------------------


@dataclass
class Names:
    providers: dict[uuid.UUID, str] = field(default_factory=dict)
    elders: dict[uuid.UUID, str] = field(default_factory=dict)
    items: dict[int, str] = field(default_factory=dict)

    def provider(self, provider_id: uuid.UUID | None) -> str:
        return "—" if provider_id is None else self.providers.get(provider_id, "(未知服务机构)")

    def elder(self, elder_id: uuid.UUID | None) -> str:
        return "—" if elder_id is None else self.elders.get(elder_id, "(未知老年人)")

    def item(self, item: Any) -> str:
        if item is None:
            return "—"
        name = self.items.get(item) if isinstance(item, int) else None
        return f"{item} {name}" if name else str(item)


def load_names(
    session: Session,
    *,
    provider_ids: set = frozenset(),
    elder_ids: set = frozenset(),
    items: set = frozenset(),
) -> Names:
    names = Names()
    provider_ids = {p for p in provider_ids if p is not None}
    elder_ids = {e for e in elder_ids if e is not None}
    items = {i for i in items if isinstance(i, int)}
    if provider_ids:
        names.providers = dict(
            session.execute(select(Provider.id, Provider.name).where(Provider.id.in_(provider_ids))).all()
        )
    if elder_ids:
        names.elders = dict(
            session.execute(select(Elder.id, Elder.name).where(Elder.id.in_(elder_ids))).all()
        )
    if items:
        names.items = dict(
            session.execute(
                select(CatalogueItem.item, CatalogueItem.name).where(CatalogueItem.item.in_(items))
            ).all()
        )
    return names


def actor_names(session: Session, actors: set[str | None]) -> dict[str, str]:
    """How records name who acted ("staff:<id>", "system:…") as the officer's name."""
    names: dict[str, str] = {}
    staff_ids: dict[uuid.UUID, str] = {}
    for actor in actors:
        if not actor:
            continue
        kind, _, subject = actor.partition(":")
        if kind == "staff" and subject == "bootstrap-admin":
            names[actor] = "系统管理员"
        elif kind == "system":
            names[actor] = "系统自动"
        elif kind == "staff" and (parsed := parse_id(subject)) is not None:
            staff_ids[parsed] = actor
        else:
            names[actor] = actor
    if staff_ids:
        for staff_id, name in session.execute(
            select(StaffMember.id, StaffMember.name).where(StaffMember.id.in_(list(staff_ids)))
        ):
            names[staff_ids[staff_id]] = name
    for actor in staff_ids.values():
        names.setdefault(actor, actor)
    return names


@dataclass(frozen=True)
class RedemptionView:
    id: str
    served_at: datetime
    provider: str
    elder: str
    item: str
    amount_fen: int
    deduction_fen: int
    status: str


def redemption_view(r: Redemption, names: Names) -> RedemptionView:
    return RedemptionView(
        id=str(r.id),
        served_at=r.served_at,
        provider=names.provider(r.provider_id),
        elder=names.elder(r.elder_id),
        item=names.item(r.item),
        amount_fen=r.amount_fen,
        deduction_fen=r.deduction_fen,
        status=r.status,
    )


# --- anomalies --------------------------------------------------------------------------------


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


def anomaly_views(session: Session, rows: list[Anomaly]) -> list[AnomalyView]:
    """The warnings as the page shows them: the evidence as labelled lines, money in yuan, the
    redemptions they name (their own and an overlap's other one) with provider, elder and item."""
    own = anomalies.redemptions_of(session, rows)
    other_ids = {_evidence_id(a.evidence or {}, "other_redemption_id") for a in rows} - {None} - set(own)
    redemptions = {**own, **anomalies.redemptions_by_ids(session, other_ids)}
    names = load_names(
        session,
        provider_ids={a.provider_id for a in rows}
        | {r.provider_id for r in redemptions.values()}
        | {_evidence_id(a.evidence or {}, "other_provider_id") for a in rows},
        elder_ids={a.elder_id for a in rows} | {r.elder_id for r in redemptions.values()},
        items={r.item for r in redemptions.values()} | {(a.evidence or {}).get("item") for a in rows},
    )
    resolvers = actor_names(session, {a.resolved_by for a in rows})
    views = []
    for a in rows:
        evidence = a.evidence or {}
        lines = []
        for key, value in evidence.items():
            label = EVIDENCE_LABELS.get(key, key)
            if key == "other_redemption_id":
                other = redemptions.get(_evidence_id(evidence, key))
                lines.append(
                    EvidenceLine(label, str(value), redemption_view(other, names) if other else None)
                )
            else:
                lines.append(EvidenceLine(label, _evidence_text(key, value, names)))
        reason, citation = RULE_NOTES.get(a.rule, ("", ""))
        redemption = redemptions.get(a.redemption_id) if a.redemption_id else None
        views.append(
            AnomalyView(
                id=str(a.id),
                rule=a.rule,
                rule_title=rules.RULES[a.rule].title if a.rule in rules.RULES else a.rule,
                reason=reason,
                citation=citation,
                month=str(Month.of(a.month)),
                status=a.status,
                detected_at=a.detected_at,
                detected_by=DETECTED_BY_TITLES.get(a.detected_by, a.detected_by),
                provider=names.provider(a.provider_id),
                elder=names.elder(a.elder_id),
                redemption=redemption_view(redemption, names) if redemption else None,
                evidence=lines,
                resolved_at=a.resolved_at,
                resolved_by=resolvers.get(a.resolved_by) if a.resolved_by else None,
                resolution_note=a.resolution_note,
            )
        )
    return views


AnomalyStatusFilter = Literal["open", "confirmed", "dismissed", "all"]


def _rule_filter(rule: str | None) -> str | None:
    if not rule:
        return None
    if rule not in rules.RULES:
        raise ValidationFailed(f"未知的预警规则: {rule[:40]}")
    return rule


@router.get("/anomalies", name="anomalies")
def anomaly_list(
    request: Request,
    session: SessionDep,
    user: User,
    district: ScopedDistrict,
    month: Annotated[str | None, Query(max_length=7)] = None,
    rule: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[AnomalyStatusFilter, Query()] = "open",
    page: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 1,
):
    shown_month = parse_month(month) if month else None
    rule = _rule_filter(rule)
    size = _page_size()
    rows, total = anomalies.list_anomalies(
        session,
        user.principal,
        district_code=district,
        month=shown_month,
        status=None if status == "all" else status,
        rule=rule,
        provider_id=None,
        limit=size,
        offset=(page - 1) * size,
    )
    counts = anomalies.count_by_status(session, district_code=district, month=shown_month, rule=rule)
    filters = {"month": str(shown_month) if shown_month else None, "rule": rule, "status": status}
    return render(
        request,
        "supervision/anomalies.html",
        {
            "district": district,
            "district_name": dict(districts(session)).get(district, district),
            "month": shown_month,
            "rule": rule,
            "status": status,
            "counts": counts,
            "anomalies": anomaly_views(session, rows),
            "pager": Pager(page, size, total),
            "filters": filters,
            "can_act": may_act(user),
            "rules": rules.RULES,
            "T": _titles(),
        },
        session=session,
    )


def _back_query(
    user: SignedIn,
    district_code: str,
    month: str | None,
    rule: str | None,
    status: str | None,
    page: str | None,
) -> dict[str, str | None]:
    """The list's filters a form came from, kept only when valid (they go back into a URL)."""
    try:
        month = str(Month.parse(month)) if month else None
    except ValueError:
        month = None
    return {
        "district": district_code if _city_wide(user) else None,
        "month": month,
        "rule": rule if rule in rules.RULES else None,
        "status": status if status in ("open", "confirmed", "dismissed", "all") else None,
        "page": page if page and page.isdigit() and 1 < int(page) <= PAGE_MAX else None,
    }


@router.post("/anomalies/{anomaly_id}/resolve", name="resolve_anomaly")
def resolve_anomaly(
    request: Request,
    session: SessionDep,
    user: FormUser,
    anomaly_id: str,
    resolution: Annotated[Literal["confirmed", "dismissed"], Form()],
    note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
    confirm: Annotated[str | None, Form()] = None,
    back_month: Annotated[str | None, Form(max_length=7)] = None,
    back_rule: Annotated[str | None, Form(max_length=40)] = None,
    back_status: Annotated[str | None, Form(max_length=10)] = None,
    back_page: Annotated[str | None, Form(max_length=6)] = None,
):
    require_officer(user)
    require_confirmation(confirm)
    text = _note(note, "核查说明")
    anomaly = anomalies.get_visible_anomaly(session, user.principal, anomaly_id, for_update=True)
    anomalies.resolve(session, user.principal, anomaly, status=resolution, note=text)
    title = rules.RULES[anomaly.rule].title if anomaly.rule in rules.RULES else anomaly.rule
    return redirect(
        request,
        "/anomalies",
        flash=f"已将异常预警“{title}”处理为:{RESOLUTION_TITLES[resolution]}",
        **_back_query(user, anomaly.district_code, back_month, back_rule, back_status, back_page),
    )


# --- audit samples ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleRow:
    id: str
    month: str
    kind: str
    population: int
    sample_size: int
    findings: int
    drawn_at: datetime
    drawn_by: str


@router.get("/audits", name="audits")
def audit_list(request: Request, session: SessionDep, user: User, district: ScopedDistrict):
    samples = audits.list_samples(session, user.principal, district_code=district, month=None, kind=None)
    counts = audits.findings_counts(session, samples)
    drawers = actor_names(session, {s.drawn_by for s in samples})
    rows = [
        SampleRow(
            id=str(s.id),
            month=str(Month.of(s.month)),
            kind=s.kind,
            population=s.population,
            sample_size=s.sample_size,
            findings=counts.get(s.id, 0),
            drawn_at=s.drawn_at,
            drawn_by=drawers.get(s.drawn_by, s.drawn_by),
        )
        for s in samples
    ]
    return render(
        request,
        "supervision/audits.html",
        {
            "district": district,
            "district_name": dict(districts(session)).get(district, district),
            "samples": rows,
            "default_month": clock.current_month().previous(),
            "can_act": may_act(user),
            "T": _titles(),
        },
        session=session,
    )


@router.post("/audits/draw", name="draw_sample")
def draw_sample(
    request: Request,
    session: SessionDep,
    user: FormUser,
    kind: Annotated[Literal["redemption", "assessment"], Form()],
    month: Annotated[str, Form(max_length=7)] = "",
    district: Annotated[str | None, Form(max_length=6)] = None,
    confirm: Annotated[str | None, Form()] = None,
):
    require_officer(user)
    require_confirmation(confirm)
    if not month:
        raise ValidationFailed("请选择抽取的月份")
    shown = parse_month(month)
    district_code = scoped_district(session, user, district or None)
    drawn = audits.draw_sample(session, user.principal, district_code=district_code, month=shown, kind=kind)
    sample = drawn.sample
    title = SAMPLE_KIND_TITLES[kind]
    message = (
        f"已抽取 {shown} {title}样本:总体 {sample.population} 人,抽中 {sample.sample_size} 人"
        if drawn.created
        else f"{shown} 的{title}样本此前已抽取,同一月份只抽取一次,以下为原样本"
    )
    return redirect(request, f"/audits/{sample.id}", flash=message)


@dataclass(frozen=True)
class DrawnElder:
    elder_id: str
    position: int
    name: str
    stratum: str
    providers: list[str]
    redemptions: list[RedemptionView]
    deduction_fen: int
    findings: int


@dataclass(frozen=True)
class FindingLine:
    redemption_id: str
    redemption: RedemptionView | None
    deduction_fen: int
    effect: str


@dataclass(frozen=True)
class FindingView:
    id: str
    elder: str
    provider: str
    outcome: str
    note: str
    excluded_fen: int
    clawback_fen: int
    redemptions: list[FindingLine]
    recorded_at: datetime
    recorded_by: str


def _stratum_text(stratum: str, names: Names) -> str:
    kind, _, subject = stratum.partition(":")
    parsed = parse_id(subject)
    if kind == "provider" and parsed:
        return f"主要服务机构:{names.provider(parsed)}"
    if kind == "agency" and parsed:
        return f"评估机构:{names.provider(parsed)}"
    if stratum == "exempt":
        return "免于重新评估"
    return stratum


def _stratum_provider(stratum: str) -> uuid.UUID | None:
    kind, _, subject = stratum.partition(":")
    return parse_id(subject) if kind in ("provider", "agency") else None


@router.get("/audits/{sample_id}", name="audit_sample")
def audit_sample(
    request: Request,
    session: SessionDep,
    user: User,
    sample_id: str,
    district: Annotated[str | None, Query(max_length=6)] = None,
    verify: Annotated[bool, Query()] = False,
    page: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 1,
):
    sample = audits.get_visible_sample(session, user.principal, sample_id)
    if district and district != sample.district_code:
        # The district picker on this page: another district's samples are on its list.
        return redirect(request, "/audits", district=scoped_district(session, user, district))
    size = min(_page_size(), SAMPLE_ELDERS_PER_PAGE)
    pager = Pager(page, size, sample.sample_size)
    units = audits.drawn_units(session, sample, limit=size, offset=pager.offset)
    redemptions = audits.sampled_redemptions(session, sample, [u.elder_id for u in units])
    findings = audits.findings_of_sample(session, sample)
    named = audits.finding_redemptions(session, findings)
    finding_redemption_ids = {parse_id(line["redemption_id"]) for lines in named.values() for line in lines}
    by_id = {r.id: r for r in redemptions}
    by_id.update(anomalies.redemptions_by_ids(session, finding_redemption_ids - set(by_id)))
    names = load_names(
        session,
        provider_ids={r.provider_id for r in by_id.values()}
        | {f.provider_id for f in findings}
        | {_stratum_provider(u.stratum) for u in units},
        elder_ids={u.elder_id for u in units} | {f.elder_id for f in findings},
        items={r.item for r in by_id.values()},
    )
    actors = actor_names(session, {sample.drawn_by} | {f.recorded_by for f in findings})
    return render(
        request,
        "supervision/audit_sample.html",
        {
            "district": sample.district_code,
            "district_name": dict(districts(session)).get(sample.district_code, sample.district_code),
            "sample": sample,
            "sample_month": str(Month.of(sample.month)),
            "drawn_by": actors.get(sample.drawn_by, sample.drawn_by),
            "verification": audits.verify(session, sample) if verify else None,
            "elders": _drawn_elders(units, redemptions, findings, names, pager.offset),
            "findings": _finding_views(findings, named, by_id, names, actors),
            "pager": pager,
            "can_act": may_act(user),
            "T": _titles(),
        },
        session=session,
    )


def _drawn_elders(
    units, redemptions: list[Redemption], findings: list[AuditFinding], names: Names, offset: int
):
    of_elder: dict[uuid.UUID, list[Redemption]] = {}
    for r in redemptions:
        of_elder.setdefault(r.elder_id, []).append(r)
    finding_counts: dict[uuid.UUID, int] = {}
    for f in findings:
        finding_counts[f.elder_id] = finding_counts.get(f.elder_id, 0) + 1
    elders = []
    for n, unit in enumerate(units):
        own = of_elder.get(unit.elder_id, [])
        provider_names = sorted({names.provider(r.provider_id) for r in own})
        elders.append(
            DrawnElder(
                elder_id=str(unit.elder_id),
                position=(unit.draw_position if unit.draw_position is not None else offset + n) + 1,
                name=names.elder(unit.elder_id),
                stratum=_stratum_text(unit.stratum, names),
                providers=provider_names,
                redemptions=[redemption_view(r, names) for r in own],
                deduction_fen=sum(r.deduction_fen for r in own),
                findings=finding_counts.get(unit.elder_id, 0),
            )
        )
    return elders


def _finding_views(findings, named, by_id, names: Names, actors: dict[str, str]) -> list[FindingView]:
    views = []
    for f in findings:
        lines = []
        for line in named.get(f.id, []):
            r = by_id.get(parse_id(line["redemption_id"]))
            lines.append(
                FindingLine(
                    redemption_id=line["redemption_id"],
                    redemption=redemption_view(r, names) if r else None,
                    deduction_fen=line["deduction_fen"],
                    effect=line["effect"],
                )
            )
        views.append(
            FindingView(
                id=str(f.id),
                elder=names.elder(f.elder_id),
                provider=names.provider(f.provider_id),
                outcome=f.outcome,
                note=f.note,
                excluded_fen=f.excluded_fen,
                clawback_fen=f.clawback_fen,
                redemptions=lines,
                recorded_at=f.recorded_at,
                recorded_by=actors.get(f.recorded_by, f.recorded_by),
            )
        )
    return views


@router.post("/audits/{sample_id}/findings", name="record_finding")
def record_finding(
    request: Request,
    session: SessionDep,
    user: FormUser,
    sample_id: str,
    elder_id: Annotated[str, Form(max_length=64)],
    outcome: Annotated[Literal["genuine", "fake_service", "poor_quality", "low_satisfaction"], Form()],
    note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
    redemption_ids: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    confirm: Annotated[str | None, Form()] = None,
    page: Annotated[str | None, Form(max_length=6)] = None,
):
    require_officer(user)
    require_confirmation(confirm)
    text = _note(note, "核查情况说明")
    if len(redemption_ids) > FINDING_REDEMPTIONS_MAX:
        raise ValidationFailed(f"一条抽查结论最多涉及 {FINDING_REDEMPTIONS_MAX} 笔核销")
    sample: AuditSample = audits.get_visible_sample(session, user.principal, sample_id)
    finding = audits.record_finding(
        session,
        user.principal,
        sample,
        elder_id=elder_id,
        outcome=outcome,
        note=text,
        redemption_ids=[r[:64] for r in redemption_ids],
    )
    message = f"已录入抽查结论:{FINDING_OUTCOME_TITLES[outcome]}"
    if finding.excluded_fen:
        message += f";不予结算 {yuan(finding.excluded_fen)} 元"
    if finding.clawback_fen:
        message += f";追回 {yuan(finding.clawback_fen)} 元,从该机构下次支付中抵扣"
    back_page = page if page and page.isdigit() and 1 < int(page) <= PAGE_MAX else None
    return redirect(request, f"/audits/{sample.id}", flash=message, page=back_page)


# --- providers and their sanctions -------------------------------------------------------------


@dataclass(frozen=True)
class OrderView:
    id: str
    status: str
    source: str
    reason: str
    opened_on: date
    due_on: date
    overdue: bool
    closed_at: datetime | None
    escalation_action: str | None


@dataclass(frozen=True)
class BlacklistView:
    listed_on: date
    district: str
    reason: str


@dataclass(frozen=True)
class ProviderView:
    id: str
    name: str
    kind: str
    status: str
    credit_code: str
    blacklist: BlacklistView | None
    open_orders: list[OrderView]
    escalations: list[OrderView]


ProviderStatusFilter = Literal["listed", "withdrawn", "suspended", "disqualified", "all"]


@router.get("/providers", name="providers")
def provider_list(
    request: Request,
    session: SessionDep,
    user: User,
    district: ScopedDistrict,
    status: Annotated[ProviderStatusFilter, Query()] = "all",
    page: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 1,
):
    every = providers.list_providers(session, user.principal, district_code=district, status=None, kind=None)
    counts = dict.fromkeys(("listed", "withdrawn", "suspended", "disqualified"), 0)
    for p in every:
        counts[p.status] = counts.get(p.status, 0) + 1
    chosen = every if status == "all" else [p for p in every if p.status == ListingStatus(status).value]
    pager = Pager(page, _page_size(), len(chosen))
    shown = chosen[pager.offset : pager.offset + pager.size]
    entries = sanctions.active_blacklist_entries(session, {p.credit_code for p in shown})
    orders = sanctions.rectifications_of_providers(
        session, {p.id for p in shown}, (RectificationStatus.OPEN, RectificationStatus.ESCALATED)
    )
    district_names = dict(districts(session))
    today = clock.today()
    open_by: dict[uuid.UUID, list[OrderView]] = {}
    escalated_by: dict[uuid.UUID, list[OrderView]] = {}
    for o in orders:
        view = OrderView(
            id=str(o.id),
            status=o.status,
            source=o.source,
            reason=o.reason,
            opened_on=o.opened_on,
            due_on=o.due_on,
            overdue=is_overdue(RectificationStatus(o.status), o.due_on, today),
            closed_at=o.closed_at,
            escalation_action=o.escalation_action,
        )
        (open_by if o.status == RectificationStatus.OPEN.value else escalated_by).setdefault(
            o.provider_id, []
        ).append(view)
    rows = []
    for p in shown:
        entry = entries.get(p.credit_code)
        rows.append(
            ProviderView(
                id=str(p.id),
                name=p.name,
                kind=p.kind,
                status=p.status,
                credit_code=p.credit_code,
                blacklist=BlacklistView(
                    listed_on=entry.listed_at.astimezone(BEIJING).date(),
                    district=district_names.get(entry.district_code, entry.district_code),
                    reason=entry.reason,
                )
                if entry
                else None,
                open_orders=open_by.get(p.id, []),
                escalations=escalated_by.get(p.id, []),
            )
        )
    return render(
        request,
        "supervision/providers.html",
        {
            "district": district,
            "district_name": district_names.get(district, district),
            "status": status,
            "counts": counts,
            "total": len(every),
            "providers": rows,
            "pager": pager,
            "can_act": may_act(user),
            "T": _titles(),
        },
        session=session,
    )


@router.post("/rectifications/{order_id}/close", name="close_rectification")
def close_rectification(
    request: Request,
    session: SessionDep,
    user: FormUser,
    order_id: str,
    note: Annotated[str, Form(max_length=500)] = "",
    confirm: Annotated[str | None, Form()] = None,
    back_status: Annotated[str | None, Form(max_length=12)] = None,
):
    require_officer(user)
    require_confirmation(confirm)
    text = _note(note, "整改完成情况")
    order = sanctions.get_visible_order(session, user.principal, order_id, for_update=True)
    sanctions.close_rectification(session, user.principal, order, note=text)
    name = session.scalar(select(Provider.name).where(Provider.id == order.provider_id))
    statuses = ("listed", "withdrawn", "suspended", "disqualified", "all")
    return redirect(
        request,
        "/providers",
        flash=f"已确认“{name}”整改完成,整改通知已结束",
        district=order.district_code if _city_wide(user) else None,
        status=back_status if back_status in statuses else None,
    )


def _titles() -> dict[str, dict[str, str]]:
    """The label tables the supervision templates use, under one name."""
    return {
        "anomaly_status": ANOMALY_STATUS_TITLES,
        "resolution": RESOLUTION_TITLES,
        "sample_kind": SAMPLE_KIND_TITLES,
        "sample_kind_note": SAMPLE_KIND_NOTES,
        "outcome": FINDING_OUTCOME_TITLES,
        "effect": FINDING_EFFECT_TITLES,
        "rectification_status": RECTIFICATION_STATUS_TITLES,
        "rectification_source": RECTIFICATION_SOURCE_TITLES,
        "escalation": ESCALATION_TITLES,
    }
