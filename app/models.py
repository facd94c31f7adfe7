"""Imports every table so that Alembic and the tests see the whole schema."""

import app.anomalies.models  # noqa: F401  (every table of the module)
import app.assessments.models  # noqa: F401
import app.audits.models  # noqa: F401
import app.reports.models  # noqa: F401
import app.sanctions.models  # noqa: F401
from app.auth.models import StaffMember, StaffSession
from app.calendar.models import CalendarOverride
from app.elders.models import Elder, ElderEnrolment, ElderStatusChange
from app.evidence.models import RedemptionEvidence
from app.jobs.models import JobRun, SchedulerLease
from app.ledger.models import JournalEntry, JournalLine
from app.provider_lists.models import ProviderListPublication
from app.providers.models import Provider, ProviderStatusChange
from app.redemptions.models import IdempotencyKey, Redemption
from app.reference.models import CatalogueItem, District, PolicyRule, ProgramPeriod
from app.sandbox.models import SandboxClock
from app.settlements.models import SettlementBatch, SettlementEvent, SettlementItem, SettlementLine
from app.vouchers.models import Voucher

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
