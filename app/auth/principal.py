from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CITY_ADMIN = "city_admin"
    DISTRICT_CIVIL = "district_civil"
    DISTRICT_FINANCE = "district_finance"
    AUDITOR = "auditor"
    PROVIDER = "provider"


CITY_WIDE_ROLES = frozenset({Role.CITY_ADMIN, Role.AUDITOR})
DISTRICT_ROLES = frozenset({Role.DISTRICT_CIVIL, Role.DISTRICT_FINANCE})
STAFF_ROLES = frozenset({Role.CITY_ADMIN, Role.DISTRICT_CIVIL, Role.DISTRICT_FINANCE, Role.AUDITOR})


@dataclass(frozen=True)
class Principal:
    """Who is calling: a staff member (or the bootstrap admin) or a provider's terminal."""

    role: Role
    subject_id: str  # staff id, provider id, or "bootstrap-admin"
    district_code: str | None = None

    @property
    def actor(self) -> str:
        """How audit and history rows name the caller."""
        kind = "provider" if self.role is Role.PROVIDER else "staff"
        return f"{kind}:{self.subject_id}"

    @property
    def provider_id(self) -> uuid.UUID | None:
        return uuid.UUID(self.subject_id) if self.role is Role.PROVIDER else None

    def sees_district(self, district_code: str) -> bool:
        return self.role in CITY_WIDE_ROLES or self.district_code == district_code

    def visible_districts(self) -> str | None:
        """The one district a district-scoped caller may see; None for city-wide roles."""
        return None if self.role in CITY_WIDE_ROLES else self.district_code
