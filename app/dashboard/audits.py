"""Audit sample pages (issue 7 item 4): a district's samples and the form that draws one; a
sample with its drawn elders (paginated, each with the month's redemptions and a findings form),
a re-check of the draw from its public seed, and the findings recorded with their effect on
money (不予结算 / 追回).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request

from app import clock
from app.audits import findings as audit_findings
from app.audits import service as audits
from app.dashboard import list_exports
from app.dashboard.common import (
    CIVIL_ROLES,
    NOTE_MAX,
    PAGE_MAX,
    Names,
    Pager,
    RedemptionView,
    load_names,
    may_act,
    page_size,
    redemption_view,
    require_civil_officer,
    required_text,
    supervision_actor_names,
    valid_back_page,
)
from app.dashboard.web import (
    FormUser,
    ScopedDistrict,
    User,
    district_name,
    parse_month,
    redirect,
    render,
    require_confirmation,
    scoped_district,
    yuan,
)
from app.deps import SessionDep
from app.errors import ValidationFailed
from app.ids import parse_id
from app.models.audits import AuditFinding, AuditSample
from app.models.redemptions import Redemption
from app.redemptions.lookups import redemptions_by_ids
from app.routing import TransactionRetryRoute
from app.rules.months import Month

router = APIRouter(route_class=TransactionRetryRoute)

# Drawn elders per page of a sample: each carries a findings form with a checkbox per redemption
# of the month (about ten), so fewer than the list pages' rows keep the page light.
SAMPLE_ELDERS_PER_PAGE = 20
FINDING_REDEMPTIONS_MAX = 500

# --- Chinese names ---------------------------------------------------------------------------

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
# The tables the templates read, as ``T``.
TITLES = {
    "sample_kind": SAMPLE_KIND_TITLES,
    "sample_kind_note": SAMPLE_KIND_NOTES,
    "outcome": FINDING_OUTCOME_TITLES,
    "effect": FINDING_EFFECT_TITLES,
}


# --- GET /audits -----------------------------------------------------------------------------


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


def _sample_rows(session, user, district: str) -> list[SampleRow]:
    samples = audits.list_samples(session, user.principal, district_code=district, month=None, kind=None)
    counts = audits.findings_counts(session, samples)
    drawers = supervision_actor_names(session, {s.drawn_by for s in samples})
    return [
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


@router.get("/audits/export.{file_format}", name="audits_export")
def audit_list_export(session: SessionDep, user: User, district: ScopedDistrict, file_format: str):
    rows = _sample_rows(session, user, district)
    return list_exports.samples_response(rows, SAMPLE_KIND_TITLES, district, file_format)


@router.get("/audits", name="audits")
def audit_list(request: Request, session: SessionDep, user: User, district: ScopedDistrict):
    rows = _sample_rows(session, user, district)
    return render(
        request,
        "audits/list.html",
        {
            "district": district,
            "district_name": district_name(session, district),
            "samples": rows,
            "default_month": clock.current_month().previous(),
            "can_act": may_act(user, CIVIL_ROLES),
            "T": TITLES,
        },
        session=session,
    )


# --- GET /audits/{id} ------------------------------------------------------------------------


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
    size = min(page_size(), SAMPLE_ELDERS_PER_PAGE)
    pager = Pager(page, size, sample.sample_size)
    units = audits.drawn_units(session, sample, limit=size, offset=pager.offset)
    redemptions = audits.sampled_redemptions(session, sample, [u.elder_id for u in units])
    findings = audit_findings.findings_of_sample(session, sample)
    named = audit_findings.finding_lines(session, findings)
    finding_redemption_ids = {line.redemption_id for lines in named.values() for line in lines}
    by_id = {r.id: r for r in redemptions}
    by_id.update(redemptions_by_ids(session, finding_redemption_ids - set(by_id)))
    names = load_names(
        session,
        provider_ids={r.provider_id for r in by_id.values()}
        | {f.provider_id for f in findings}
        | {_stratum_provider(u.stratum) for u in units},
        elder_ids={u.elder_id for u in units} | {f.elder_id for f in findings},
        items={r.item for r in by_id.values()},
    )
    actors = supervision_actor_names(session, {sample.drawn_by} | {f.recorded_by for f in findings})
    return render(
        request,
        "audits/sample.html",
        {
            "district": sample.district_code,
            "district_name": district_name(session, sample.district_code),
            "sample": sample,
            "sample_month": str(Month.of(sample.month)),
            "drawn_by": actors.get(sample.drawn_by, sample.drawn_by),
            "verification": audits.verify(session, sample) if verify else None,
            "elders": _drawn_elders(units, redemptions, findings, names, pager.offset),
            "findings": _finding_views(findings, named, by_id, names, actors),
            "pager": pager,
            "can_act": may_act(user, CIVIL_ROLES),
            "T": TITLES,
        },
        session=session,
    )


@router.get("/audits/{sample_id}/export.{file_format}", name="audit_sample_export")
def audit_sample_export(session: SessionDep, user: User, sample_id: str, file_format: str):
    """The sample's drawn elders (masked) with their month's redemptions, CSV or XLSX."""
    sample = audits.get_visible_sample(session, user.principal, sample_id)

    def chunk(read, limit: int, offset: int) -> list[DrawnElder]:
        drawn = audits.get_visible_sample(read, user.principal, sample_id)
        units = audits.drawn_units(read, drawn, limit=limit, offset=offset)
        redemptions = audits.sampled_redemptions(read, drawn, [u.elder_id for u in units])
        findings = audit_findings.findings_of_sample(read, drawn)
        names = load_names(
            read,
            provider_ids={r.provider_id for r in redemptions} | {_stratum_provider(u.stratum) for u in units},
            elder_ids={u.elder_id for u in units},
        )
        return _drawn_elders(units, redemptions, findings, names, offset)

    name = f"{sample.district_code}_{Month.of(sample.month)}_{sample.kind}"
    return list_exports.audit_sample_response(session, chunk, name, file_format)


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
            r = by_id.get(line.redemption_id)
            lines.append(
                FindingLine(
                    redemption_id=str(line.redemption_id),
                    redemption=redemption_view(r, names) if r else None,
                    deduction_fen=line.deduction_fen,
                    effect=line.effect,
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


# --- the forms: POST /audits/draw, POST /audits/{id}/findings --------------------------------


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
    require_civil_officer(user)
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
    require_civil_officer(user)
    require_confirmation(confirm)
    text = required_text(note, "核查情况说明")
    if len(redemption_ids) > FINDING_REDEMPTIONS_MAX:
        raise ValidationFailed(f"一条抽查结论最多涉及 {FINDING_REDEMPTIONS_MAX} 笔核销")
    sample: AuditSample = audits.get_visible_sample(session, user.principal, sample_id)
    finding = audit_findings.record_finding(
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
    return redirect(request, f"/audits/{sample.id}", flash=message, page=valid_back_page(page))
