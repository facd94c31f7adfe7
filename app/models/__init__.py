"""Imports every table so that Alembic and the tests see the whole schema."""

import app.models.anomalies  # noqa: F401  (every table of the module)
import app.models.assessments  # noqa: F401
import app.models.audits  # noqa: F401
import app.models.reports  # noqa: F401
import app.models.sanctions  # noqa: F401
from app.models.auth import StaffMember, StaffSession
from app.models.calendar import CalendarOverride
from app.models.elders import Elder, ElderEnrolment, ElderStatusChange
from app.models.evidence import RedemptionEvidence
from app.models.jobs import JobRun, SchedulerLease
from app.models.ledger import JournalEntry, JournalLine
from app.models.provider_lists import ProviderListPublication
from app.models.providers import Provider, ProviderStatusChange
from app.models.redemptions import IdempotencyKey, Redemption
from app.models.reference import CatalogueItem, District, PolicyRule, ProgramPeriod
from app.models.sandbox import SandboxClock
from app.models.settlements import SettlementBatch, SettlementEvent, SettlementItem, SettlementLine
from app.models.vouchers import Voucher

__all__ = [
    "CalendarOverride",
    "RedemptionEvidence",
    "SettlementBatch",
    "SettlementEvent",
    "SettlementItem",
    "SettlementLine",
    "ElderEnrolment",
    "IdempotencyKey",
    "JobRun",
    "JournalEntry",
    "JournalLine",
    "Redemption",
    "SchedulerLease",
    "Voucher",
    "CatalogueItem",
    "District",
    "Elder",
    "ElderStatusChange",
    "PolicyRule",
    "ProgramPeriod",
    "Provider",
    "ProviderStatusChange",
    "ProviderListPublication",
    "SandboxClock",
    "StaffMember",
    "StaffSession",
]
