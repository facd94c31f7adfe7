"""Reference data loaded by migrations from seed files: districts, catalogue, policy rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, ExactDecimal


class District(Base):
    __tablename__ = "districts"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)  # GB/T 2260
    name: Mapped[str] = mapped_column(String(32), unique=True)


class CatalogueItem(Base):
    """One line of attachment 1 (北京市养老服务消费补贴项目清单)."""

    __tablename__ = "catalogue_items"
    __table_args__ = (
        CheckConstraint("item BETWEEN 1 AND 999", name="item_number"),
        CheckConstraint(
            "category IN ('assessment', 'institution', 'home_community')",
            name="category",
        ),
        CheckConstraint(
            "ref_price_min_fen IS NULL OR ref_price_min_fen <= ref_price_max_fen",
            name="price_range",
        ),
    )

    item: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    category: Mapped[str] = mapped_column(String(16))
    group: Mapped[str] = mapped_column(String(32))
    subgroup: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(8))
    ref_price_min_fen: Mapped[int | None] = mapped_column(BigInteger)
    ref_price_max_fen: Mapped[int | None] = mapped_column(BigInteger)


class PolicyRule(Base):
    """The subsidy terms from ``effective_from`` (first day of a month) until the next row.

    Rates and cap "may be adjusted" (一(五)): an adjustment is a new row, never an update.
    """

    __tablename__ = "policy_rules"
    __table_args__ = (
        # Rates and shares are checked by app.rules.policy.PolicyTerms (exact decimals):
        # SQLite stores them as text, where SQL arithmetic would go through floats.
        CheckConstraint("monthly_cap_fen > 0", name="cap_positive"),
    )

    effective_from: Mapped[date] = mapped_column(Date, primary_key=True)
    home_community_rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    institution_rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    monthly_cap_fen: Mapped[int] = mapped_column(BigInteger)
    central_share: Mapped[Decimal] = mapped_column(ExactDecimal)
    city_share: Mapped[Decimal] = mapped_column(ExactDecimal)
    district_share: Mapped[Decimal] = mapped_column(ExactDecimal)
    source: Mapped[str] = mapped_column(String(128))


class ProgramPeriod(Base):
    """The months in which vouchers are issued (一(七): 12 natural months from 2026-01)."""

    __tablename__ = "program_periods"
    __table_args__ = (CheckConstraint("first_month <= last_month", name="ordered"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_month: Mapped[date] = mapped_column(Date)
    last_month: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(128))
