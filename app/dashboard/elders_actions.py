"""The work on an elder's page, through the services the API's routes call (app/elders/router.py):
approve, refuse an application (不予通过), suspend (a death with its date), correct the benefits
and the allowance tier. Each form carries the CSRF token and a confirmation box, is open to the
API's RegistryOfficer roles (district civil affairs, city admins), and a refusal comes back as
a flash message with the API's title, detail and code, nothing changed."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from app.auth.principal import Role
from app.dashboard.common import CIVIL_ROLES, require_role, required_text
from app.dashboard.elders_views import (
    REJECTION_REASONS,
    SUSPENSION_REASON_TITLES,
    SUSPENSION_REASONS,
)
from app.dashboard.web import FormUser, city_wide, redirect, require_confirmation
from app.deps import SessionDep
from app.elders import service
from app.elders import status as elder_status
from app.elders.schemas import ElderUpdate
from app.errors import ValidationFailed
from app.models.elders import Elder
from app.rules.eligibility import ALLOWANCE_TIERS, Benefit
from app.rules.identity import mask_name

router = APIRouter()

NOTE_MAX = 500  # the API's ElderSuspend.note
Confirm = Annotated[str | None, Form()]


CITY_ADMIN = frozenset({Role.CITY_ADMIN})


def _elder_for_change(
    session, user, elder_id: str, confirm: str | None, roles: frozenset[Role] = CIVIL_ROLES
) -> Elder:
    if roles == CITY_ADMIN:
        require_role(user, roles, "该操作仅限市级管理员")
    else:
        require_role(user, roles, "该操作仅限区民政局工作人员或市级管理员")
    require_confirmation(confirm)
    return service.get_visible_elder(session, user.principal, elder_id, for_update=True)


def _back(request: Request, user, elder: Elder, text: str) -> RedirectResponse:
    district = elder.district_code if city_wide(user) else None
    return redirect(request, f"/elders/{elder.id}", flash=text, district=district)


@router.post("/elders/{elder_id}/approve", name="approve_elder")
def approve(request: Request, session: SessionDep, user: FormUser, elder_id: str, confirm: Confirm = None):
    elder = _elder_for_change(session, user, elder_id, confirm)
    approved = elder_status.approve_elder(session, user.principal, elder)
    first = approved.first_voucher_month
    voucher = (
        f"已发放{first.year}年{first.month}月消费券"
        if approved.voucher
        else f"首张消费券为{first.year}年{first.month}月"
    )
    return _back(request, user, elder, f"已审核通过“{mask_name(elder.name)}”,{voucher}")


@router.post("/elders/{elder_id}/reject", name="reject_elder")
def reject(
    request: Request,
    session: SessionDep,
    user: FormUser,
    elder_id: str,
    reason: Annotated[str, Form(max_length=24)] = "",
    note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
    confirm: Confirm = None,
):
    """不予通过: a pending application is suspended with its reason and a required explanation,
    as the API does it (POST /elders/{id}/suspend); it can be approved later if things change."""
    elder = _elder_for_change(session, user, elder_id, confirm)
    if reason not in REJECTION_REASONS:
        raise ValidationFailed("请选择不予通过的原因")
    text = required_text(note, "不予通过的说明")
    if elder.status != "pending":
        raise ValidationFailed("只有待审核的申请可以不予通过;已审核通过的老年人请使用停发")
    elder_status.suspend_elder(session, user.principal, elder, reason=reason, died_on=None, note=text)
    return _back(request, user, elder, f"已对“{mask_name(elder.name)}”的申请不予通过")


@router.post("/elders/{elder_id}/suspend", name="suspend_elder")
def suspend(
    request: Request,
    session: SessionDep,
    user: FormUser,
    elder_id: str,
    reason: Annotated[str, Form(max_length=24)] = "",
    died_on: Annotated[date | None, Form()] = None,
    note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
    confirm: Confirm = None,
):
    elder = _elder_for_change(session, user, elder_id, confirm)
    if reason not in SUSPENSION_REASONS:
        raise ValidationFailed("请选择停发原因")
    if died_on is not None and reason != "deceased":
        raise ValidationFailed("身故日期仅在停发原因为“身故”时填写")
    elder_status.suspend_elder(
        session, user.principal, elder, reason=reason, died_on=died_on, note=note.strip() or None
    )
    last = elder.last_voucher_month
    until = f",{last.year}年{last.month}月为最后一个发券月" if last else ""
    why = SUSPENSION_REASON_TITLES[reason]
    return _back(request, user, elder, f"已停发“{mask_name(elder.name)}”(原因:{why}){until}")


@router.post("/elders/{elder_id}/benefits", name="correct_elder_benefits")
def correct_benefits(
    request: Request,
    session: SessionDep,
    user: FormUser,
    elder_id: str,
    benefits: Annotated[list[str] | None, Form()] = None,
    tier: Annotated[str, Form(max_length=4)] = "",
    confirm: Confirm = None,
):
    """The benefits the elder receives and the allowance tier held (PATCH /elders/{id}): the
    eligibility is judged again. The API keeps a recorded tier (it cannot be cleared)."""
    elder = _elder_for_change(session, user, elder_id, confirm)
    chosen = benefits or []
    if any(b not in set(Benefit) for b in chosen) or tier not in ("", *(str(t) for t in ALLOWANCE_TIERS)):
        raise ValidationFailed("享受的待遇或护理补贴档次不正确")
    update = ElderUpdate(benefits=sorted(set(chosen)), disability_allowance_tier=int(tier) if tier else None)
    service.update_elder(session, elder, update)
    verdict = "符合补贴条件" if elder.eligible else "不符合补贴条件"
    return _back(request, user, elder, f"已更正“{mask_name(elder.name)}”的待遇信息,重新判定为{verdict}")


@router.post("/elders/{elder_id}/correct-death", name="correct_elder_death")
def correct_death(
    request: Request,
    session: SessionDep,
    user: FormUser,
    elder_id: str,
    reason: Annotated[str, Form(max_length=NOTE_MAX)] = "",
    confirm: Confirm = None,
):
    """Undo a mistaken death record (POST /elders/{id}/correct-death: city admins only)."""
    elder = _elder_for_change(session, user, elder_id, confirm, CITY_ADMIN)
    text = required_text(reason, "更正理由")
    elder_status.correct_death(session, user.principal, elder, text)
    return _back(request, user, elder, f"已更正“{mask_name(elder.name)}”的身故登记")
