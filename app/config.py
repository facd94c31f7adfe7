"""One settings object for the whole service (environment prefix ``VOUCHER_``).

The three names of the API contract stay flat (``VOUCHER_DATABASE_URL``, ``VOUCHER_ADMIN_TOKEN``,
``VOUCHER_SANDBOX_CLOCK``); everything else is grouped and set with a double underscore, e.g.
``VOUCHER_ELIGIBILITY__MINIMUM_AGE_YEARS=60``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.rules.anomalies import Thresholds

PLACEHOLDER_SECRETS = {
    "",
    "changeme",
    "change-me",
    "admin",
    "secret",
    "password",
    "demo-admin",
}


class EligibilitySettings(BaseModel):
    # 老年人 is 60 and over (老年人权益保障法 第二条); the voucher text does not restate it.
    minimum_age_years: int = Field(60, ge=0, le=120)
    # How long an ability assessment stays valid. The policy relies on "评估结论有效期" without
    # giving it; Beijing practice is one year. See docs/decisions.md.
    assessment_valid_months: int = Field(12, ge=1, le=120)
    # Districts see the elders whose assessment ends within this many days (re-assess in time).
    assessment_expiry_notice_days: int = Field(30, ge=1, le=366)


class VoucherSettings(BaseModel):
    # 二(三) gives 5 working days to issue the first voucher. An approval with less than this many
    # days left in its month gets next month's voucher as its first one instead of a voucher too
    # short to use (docs/decisions.md "First voucher"). 0 always issues the approval's month.
    first_month_min_days: int = Field(3, ge=0, le=5)


class ServerSettings(BaseModel):
    # Requests inside one worker at once; below AnyIO's 40 threads and the 24 pooled connections.
    max_concurrent_requests: int = Field(20, ge=1, le=24)
    # PostgreSQL connections of a worker's point-of-service hot path (asyncpg, app/pgpool.py),
    # beside the SQLAlchemy pool of everything else.
    fast_path_pool_size: int = Field(8, ge=1, le=64)


class SchedulerSettings(BaseModel):
    enabled: bool = True


class EvidenceSettings(BaseModel):
    """Files providers attach to redemptions (二(四)): checked by size and by magic bytes."""

    max_bytes: int = Field(10 * 1024 * 1024, ge=1)
    # LocalFileStorage keeps files under storage_dir/aa/bb/<sha256>. A relative path is resolved
    # against the working directory once, when the settings are read (app start), so a server
    # started elsewhere fails at start instead of answering 500 for every download.
    storage_dir: str = "./var/evidence"

    @field_validator("storage_dir")
    @classmethod
    def _absolute(cls, value: str) -> str:
        return str(Path(value).expanduser().resolve())


class AnomalySettings(BaseModel):
    """Thresholds of the anomaly rules (app/rules/anomalies.py, docs/anomalies.md)."""

    # PRICE_ABOVE_REFERENCE: percent above the catalogue's reference maximum still tolerated.
    price_tolerance_percent: int = Field(0, ge=0, le=1000)
    # PRICE_JUMP (先涨价后抵扣): a price this percent above the provider's own median for the item
    # over the previous months, once that median rests on enough redemptions.
    price_jump_percent: int = Field(30, ge=1, le=1000)
    price_baseline_months: int = Field(3, ge=1, le=12)
    price_baseline_min_redemptions: int = Field(5, ge=1, le=100_000)
    # OVERLAPPING_SERVICE: two providers starting services for one elder this close together.
    overlap_minutes: int = Field(30, ge=1, le=24 * 60)
    # TOO_MANY_SERVICES_PER_DAY: more redemptions than this for one elder on one Beijing day.
    max_services_per_elder_day: int = Field(12, ge=1, le=1000)
    # NIGHT_HOME_SERVICE: Beijing hours [start, end), wrapping midnight; items exempt (28 助急).
    night_start_hour: int = Field(22, ge=0, le=23)
    night_end_hour: int = Field(6, ge=0, le=23)
    night_exempt_items: list[int] = Field(default_factory=lambda: [28], max_length=999)
    # FIRST_DAY_DRAIN: vouchers one provider empties on the 1st before it is flagged.
    drain_min_vouchers: int = Field(10, ge=1, le=1_000_000)
    # The nightly scan also covers the previous month during the first days of a month.
    scan_previous_month_days: int = Field(5, ge=0, le=28)


class SupervisionSettings(BaseModel):
    """Audit findings and provider sanctions (四(二), 四(三))."""

    # 限期整改: the deadline of a rectification order, in working days after the day it opens.
    rectification_working_days: int = Field(15, ge=1, le=250)
    # 差评较多: this many serious findings (poor quality, low satisfaction, fake service) on one
    # provider within the window open a rectification order automatically.
    rectification_trigger_findings: int = Field(3, ge=1, le=1000)
    # The window, in service months ending with the month of the latest finding.
    rectification_window_months: int = Field(3, ge=1, le=24)


class DashboardSettings(BaseModel):
    """The zh-CN district dashboard under /dashboard (app/dashboard)."""

    # A sign-in lasts one working day; the officer signs in again with their token after it.
    session_hours: int = Field(10, ge=1, le=72)
    # Send the session cookie only over HTTPS. "auto": when the request came over HTTPS (behind
    # a proxy, run uvicorn with --proxy-headers so that it knows).
    secure_cookie: Literal["auto", "always", "never"] = "auto"
    # Rows per page in long tables (redemptions of a settlement line, anomalies).
    page_size: int = Field(50, ge=10, le=500)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOUCHER_", env_nested_delimiter="__", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./voucher.db"
    admin_token: str | None = None
    sandbox_clock: bool = False
    log_level: str = "INFO"

    eligibility: EligibilitySettings = EligibilitySettings()
    vouchers: VoucherSettings = VoucherSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    server: ServerSettings = ServerSettings()
    evidence: EvidenceSettings = EvidenceSettings()
    anomalies: AnomalySettings = AnomalySettings()
    supervision: SupervisionSettings = SupervisionSettings()
    dashboard: DashboardSettings = DashboardSettings()

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.environment == "production":
            if self.admin_token is not None and (
                self.admin_token.lower() in PLACEHOLDER_SECRETS or len(self.admin_token) < 24
            ):
                raise ValueError("VOUCHER_ADMIN_TOKEN is a placeholder or shorter than 24 characters")
            if self.dashboard.secure_cookie == "never":
                raise ValueError("VOUCHER_DASHBOARD__SECURE_COOKIE=never is for development only")
            if self.sandbox_clock:
                raise ValueError("VOUCHER_SANDBOX_CLOCK must not be enabled in production")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()


_thresholds: tuple[AnomalySettings, Thresholds] | None = None


def anomaly_thresholds() -> Thresholds:
    """The anomaly thresholds of the settings in force, converted once per settings object
    (every redemption asks; tests reload the settings)."""
    global _thresholds
    settings = get_settings().anomalies
    if _thresholds is None or _thresholds[0] is not settings:
        _thresholds = (settings, Thresholds.of(settings.model_dump()))
    return _thresholds[1]
