"""Imports every table so that Alembic and the tests see the whole schema."""

from app.auth.models import StaffMember
from app.elders.models import Elder, ElderStatusChange
from app.providers.models import Provider, ProviderStatusChange
from app.reference.models import CatalogueItem, District, PolicyRule, ProgramPeriod
from app.sandbox.models import SandboxClock

__all__ = [
    "CatalogueItem",
    "District",
    "Elder",
    "ElderStatusChange",
    "PolicyRule",
    "ProgramPeriod",
    "Provider",
    "ProviderStatusChange",
    "SandboxClock",
    "StaffMember",
]
