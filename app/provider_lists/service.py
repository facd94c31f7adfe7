"""The monthly list of providers added and withdrawn per district (一(四)), computed from the
listing history with one set-based query, published once per district and month with who,
when and whether late, and rendered as XLSX."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import String, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.auth.scope import ensure_district_in_scope
from app.calendar.service import working_calendar
from app.errors import ListAlreadyPublished, MonthNotEnded, NoPolicyForMonth, NotFound
from app.ids import parse_id
from app.models.provider_lists import ProviderListPublication
from app.models.providers import Provider, ProviderStatusChange
from app.models.reference import District
from app.reference.service import ensure_district, program_period
from app.rules.listing import ListingStatus
from app.rules.months import BEIJING, Month
from app.rules.provider_list import KIND_TITLES, change_title, is_late, publication_due

API = "/api/v1"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_HEADERS = ("机构名称", "类型", "统一社会信用代码", "变动", "变动日期", "原因")


def _check_request(session: Session, caller: Principal, district_code: str, month: Month) -> Month:
    ensure_district(session, district_code)
    ensure_district_in_scope(caller, district_code)
    period = program_period(session)
    if not period.includes(month):
        raise NoPolicyForMonth(f"{month} 不在项目实施期 {period.first_month} 至 {period.last_month} 内")
    return period.first_month


def compute_entries(session: Session, district_code: str, month: Month, *, first_list: bool) -> list[dict]:
    """The district's listing changes in ``month`` (Beijing time), oldest first: every change
    into ``listed`` is an addition, every change out of it (withdrawn, suspended, disqualified)
    a withdrawal. For the first list, every provider listed when the month began is added too."""
    change = ProviderStatusChange
    listed = ListingStatus.LISTED.value
    start, end = month.starts_at(), month.ends_at()
    during = select(
        change.provider_id,
        change.id,
        change.to_status,
        change.changed_at,
        change.reason,
        literal("added", String).label("change"),
    ).where(
        change.district_code == district_code,
        change.changed_at >= start,
        change.changed_at < end,
        change.to_status == listed,
    )
    left = select(
        change.provider_id,
        change.id,
        change.to_status,
        change.changed_at,
        change.reason,
        literal("withdrawn", String).label("change"),
    ).where(
        change.district_code == district_code,
        change.changed_at >= start,
        change.changed_at < end,
        change.from_status == listed,
        change.to_status != listed,
    )
    parts = [during, left]
    if first_list:
        # Each provider's last change before the month: listed then means listed at the start.
        ranked = (
            select(
                change.provider_id,
                change.id,
                change.to_status,
                change.changed_at,
                change.reason,
                func.row_number()
                .over(partition_by=change.provider_id, order_by=(change.changed_at.desc(), change.id.desc()))
                .label("position"),
            )
            .where(change.district_code == district_code, change.changed_at < start)
            .subquery()
        )
        parts.append(
            select(
                ranked.c.provider_id,
                ranked.c.id,
                ranked.c.to_status,
                ranked.c.changed_at,
                ranked.c.reason,
                literal("added", String).label("change"),
            ).where(ranked.c.position == 1, ranked.c.to_status == listed)
        )
    changes = union_all(*parts).subquery()
    rows = session.execute(
        select(
            changes.c.provider_id,
            Provider.name,
            Provider.kind,
            Provider.credit_code,
            changes.c.change,
            changes.c.to_status,
            changes.c.changed_at,
            changes.c.reason,
        )
        .join(Provider, Provider.id == changes.c.provider_id)
        .order_by(changes.c.changed_at, changes.c.id)
    ).all()
    return [_entry(row) for row in rows]


def _entry(row) -> dict:
    at: datetime = row.changed_at.astimezone(BEIJING)  # UtcDateTime: read back aware
    return {
        "provider_id": str(row.provider_id),
        "name": row.name,
        "kind": row.kind,
        "kind_title": KIND_TITLES.get(row.kind, row.kind),
        "credit_code": row.credit_code,
        "change": row.change,
        "change_title": change_title(row.change, row.to_status),
        "to_status": row.to_status,
        "changed_on": at.date().isoformat(),
        "changed_at": at.isoformat(),
        "reason": row.reason,
    }


def _counts(entries: list[dict]) -> dict:
    return {
        "added": sum(e["change"] == "added" for e in entries),
        "withdrawn": sum(e["change"] == "withdrawn" for e in entries),
    }


def find_publication(session: Session, district_code: str, month: Month) -> ProviderListPublication | None:
    return session.scalars(
        select(ProviderListPublication).where(
            ProviderListPublication.district_code == district_code,
            ProviderListPublication.month == month.first_day,
        )
    ).one_or_none()


def due_on(session: Session, month: Month, first_month: Month) -> date:
    return publication_due(month, working_calendar(session), first_month=first_month)


def publication_state(publication: ProviderListPublication | None, due: date, today: date) -> dict:
    if publication is None:
        return {
            "id": None,
            "due_on": due,
            "published": False,
            "published_at": None,
            "published_by": None,
            "late": is_late(due, None, today),
            "xlsx_url": None,
        }
    return {
        "id": str(publication.id),
        "due_on": publication.due_on,
        "published": True,
        "published_at": publication.published_at,
        "published_by": publication.published_by,
        "late": publication.late,
        "xlsx_url": f"{API}/provider-lists/{publication.id}.xlsx",
    }


def current_list(session: Session, caller: Principal, *, district_code: str, month: Month) -> dict:
    """The computed list of a district and month with its publication state."""
    first_month = _check_request(session, caller, district_code, month)
    first_list = month == first_month
    entries = compute_entries(session, district_code, month, first_list=first_list)
    publication = find_publication(session, district_code, month)
    now = clock.now()
    return {
        "district_code": district_code,
        "month": str(month),
        "first_list": first_list,
        "complete": now >= month.ends_at(),
        **_counts(entries),
        "entries": entries,
        "publication": publication_state(
            publication, due_on(session, month, first_month), now.astimezone(BEIJING).date()
        ),
    }


def publish(
    session: Session, caller: Principal, *, district_code: str, month: Month
) -> ProviderListPublication:
    """Record the list as published now: once per district and month, late when the Beijing
    date is after the due day."""
    first_month = _check_request(session, caller, district_code, month)
    now = clock.now()
    if now < month.ends_at():
        raise MonthNotEnded(f"{month} 尚未结束,不能公布该月的名单变动")
    due = due_on(session, month, first_month)
    publication = ProviderListPublication(
        id=uuid.uuid4(),
        district_code=district_code,
        month=month.first_day,
        due_on=due,
        published_at=now,
        published_by=caller.actor,
        late=is_late(due, now.astimezone(BEIJING).date(), now.astimezone(BEIJING).date()),
        entries=compute_entries(session, district_code, month, first_list=month == first_month),
    )
    try:
        # The unique (district_code, month) closes the race of two officers publishing at once.
        with session.begin_nested():
            session.add(publication)
            session.flush()
    except IntegrityError:
        raise ListAlreadyPublished(f"{district_code} {month} 的服务机构变动名单已公布") from None
    return publication


def get_visible_publication(
    session: Session, caller: Principal, publication_id: str
) -> ProviderListPublication:
    parsed = parse_id(publication_id)
    publication = session.get(ProviderListPublication, parsed) if parsed else None
    if (
        publication is None
        or caller.provider_id is not None
        or not caller.sees_district(publication.district_code)
    ):
        raise NotFound("未找到该名单公布记录")
    return publication


def publication_out(publication: ProviderListPublication) -> dict:
    entries = list(publication.entries)
    return {
        "id": str(publication.id),
        "district_code": publication.district_code,
        "month": str(Month.of(publication.month)),
        "due_on": publication.due_on,
        "published_at": publication.published_at,
        "published_by": publication.published_by,
        "late": publication.late,
        **_counts(entries),
        "entries": entries,
        "xlsx_url": f"{API}/provider-lists/{publication.id}.xlsx",
    }


def district_name(session: Session, district_code: str) -> str:
    return session.scalar(select(District.name).where(District.code == district_code)) or district_code


def render_xlsx(*, district: str, month: str, entries: list[dict], state: dict) -> bytes:
    """One sheet with the list (Chinese headers), one with the publication record."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "名单变动"
    sheet.append(XLSX_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for entry in entries:
        sheet.append(
            (
                entry["name"],
                entry["kind_title"],
                entry["credit_code"],
                entry["change_title"],
                date.fromisoformat(entry["changed_on"]),
                entry["reason"],
            )
        )
    for row in sheet.iter_rows(min_row=2, min_col=5, max_col=5):
        for cell in row:
            cell.number_format = "yyyy-mm-dd"
    for column, width in zip("ABCDEF", (36, 22, 22, 16, 12, 40), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    info = workbook.create_sheet("公布信息")
    published_at = state.get("published_at")
    for label, value in (
        ("行政区", district),
        ("月份", month),
        ("新增", sum(e["change"] == "added" for e in entries)),
        ("退出", sum(e["change"] == "withdrawn" for e in entries)),
        ("应公布日期", state["due_on"].isoformat() if state.get("due_on") else ""),
        ("公布时间", published_at.astimezone(BEIJING).isoformat() if published_at else "未公布"),
        ("公布人", state.get("published_by") or ""),
        ("是否逾期", "是" if state.get("late") else "否"),
    ):
        info.append((label, value))
    info.column_dimensions["A"].width = 14
    info.column_dimensions["B"].width = 32
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
