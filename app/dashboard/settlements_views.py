"""What the settlement pages show, built from the services' rows: a batch's history in words,
the batch list's rows, the drill-down's redemptions with the evidence they lack, and the amount
an officer types in yuan. No rules here: the pages only present."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.dashboard import labels
from app.dashboard.common import Pager
from app.dashboard.web import yuan
from app.errors import ValidationFailed
from app.evidence import service as evidence
from app.models.settlements import SettlementBatch, SettlementEvent
from app.reports.overview import BatchProgress
from app.rules.evidence import EVIDENCE_TITLES
from app.rules.settlement import TRANSITIONS
from app.settlements.statements import StatementRow, line_rows

# What each event of a batch's history is called; the review transitions name themselves.
EVENT_TITLES = {
    "build": "生成结算批次",
    "reject": "民政审核核减",
    "flag_overdue": "逾期提醒",
    **{action: step.action_title for (_status, action), step in TRANSITIONS.items()},
}
# Rejections listed under one event of the history; the rest are counted (the statement lists all).
EVENT_REJECTIONS_SHOWN = 10


# --- the history of a batch ----------------------------------------------------------------------
@dataclass
class EventView:
    title: str
    actor: str
    at: datetime
    from_status: str | None
    to_status: str
    notes: list[str] = field(default_factory=list)
    rejections: list[tuple[str, str]] = field(default_factory=list)
    more_rejections: int = 0


def _notes(action: str, details: dict[str, Any], provider_names: dict[str, str]) -> list[str]:
    """The event's details in words, one note each."""
    notes = []
    if action == "build":
        redemptions = int(details.get("redemptions", 0))
        notes.append(f"纳入核销 {redemptions:,} 笔,抵扣金额 {yuan(details.get('deduction_fen', 0))} 元")
    if action == "pay":
        provider = str(details.get("provider_id", ""))
        name = provider_names.get(str(details.get("provider_id")), provider)
        notes.append(
            f"{name}:支付 {yuan(details.get('amount_fen', 0))} 元,凭证号 {details.get('reference', '')}"
        )
    if action == "flag_overdue":
        stage = labels.title(labels.STAGE_TITLES, str(details.get("stage", "")))
        notes.append(f"{stage}已超过截止日 {details.get('due', '')}")
    if action == "reject" and "rejected_fen" in details:
        notes.append(f"核减金额 {yuan(details['rejected_fen'])} 元")
    if details.get("note"):
        prefix = "退回意见" if action == "return" else "复审意见"
        notes.append(f"{prefix}:{details['note']}")
    return notes


def event_views(
    events: list[SettlementEvent], actors: dict[str, str], provider_names: dict[str, str]
) -> list[EventView]:
    views = []
    for event in events:
        details: dict[str, Any] = event.details or {}
        view = EventView(
            title=EVENT_TITLES.get(event.action, event.action),
            actor=actors.get(event.actor, event.actor),
            at=event.at,
            from_status=event.from_status,
            to_status=event.to_status,
            notes=_notes(event.action, details, provider_names),
        )
        rejections = details.get("rejections") or []
        if rejections:
            view.notes.insert(0, f"核减 {len(rejections):,} 笔核销")
            view.rejections = [
                (str(r.get("redemption_id", "")), str(r.get("reason", "")))
                for r in rejections[:EVENT_REJECTIONS_SHOWN]
            ]
            view.more_rejections = max(0, len(rejections) - EVENT_REJECTIONS_SHOWN)
        views.append(view)
    return views


# --- the batch list --------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchRow:
    batch: SettlementBatch
    progress: BatchProgress

    @property
    def current_stage(self):
        return next((stage for stage in self.progress.stages if stage.state == "current"), None)


# --- a provider's redemptions in a batch --------------------------------------------------------------
@dataclass(frozen=True)
class ItemRow:
    """A redemption of the drill-down: its statement row (whose fields it answers for) and, when
    it lacks evidence, the required kinds missing in Chinese (the ID-card photo of 四(三) among
    them)."""

    row: StatementRow
    missing_titles: tuple[str, ...] = ()

    def __getattr__(self, name: str):
        if name.startswith("__"):  # copy and pickle probe for these before ``row`` is set
            raise AttributeError(name)
        return getattr(self.row, name)


def item_rows(
    session: Session, batch: SettlementBatch, provider_id: uuid.UUID, pager: Pager
) -> list[ItemRow]:
    """One page of the provider line's redemptions."""
    rows = line_rows(session, batch.id, provider_id, offset=pager.offset, limit=pager.size)
    present = evidence.present_kinds(session, [row.redemption_id for row in rows if row.missing_evidence])
    return [ItemRow(row, _missing_titles(row, present[row.redemption_id])) for row in rows]


def _missing_titles(row: StatementRow, present: set[str]) -> tuple[str, ...]:
    if not row.missing_evidence:
        return ()
    return tuple(EVIDENCE_TITLES[kind] for kind in evidence.missing_kinds(row.category, present))


# --- amounts typed in yuan ---------------------------------------------------------------------------
_YUAN = re.compile(r"(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<cents>\d{1,2}))?", re.ASCII)


def parse_yuan(text: str) -> int:
    """An amount typed in yuan ("1,234.50", "1234.5", "80") as integer fen, exactly: no float
    anywhere, at most two decimal places, thousands separators optional."""
    cleaned = re.sub(r"\s", "", text).replace("\uff0c", ",")  # a full-width comma too
    found = _YUAN.fullmatch(cleaned)
    whole = found and found.group("whole").replace(",", "")
    if not found or len(whole) > 13:
        raise ValidationFailed(f"支付金额格式不正确:“{text[:20]}”,请以元为单位填写,最多两位小数,例如 1234.50")
    return int(whole) * 100 + int((found.group("cents") or "").ljust(2, "0"))
