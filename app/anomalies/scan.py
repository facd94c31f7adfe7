"""The nightly scan's rules (四(二) 异常交易预警) as set-based SQL: one
``INSERT INTO anomalies … SELECT … ON CONFLICT DO NOTHING`` per rule and district.

No redemption passes through Python, and the unique (rule, subject_key) makes rescans (and the
in-line check that may have found the same thing) add nothing twice. Each rule's conditions are
the functions of app/rules/anomalies.py written in SQL; docs/anomalies.md says why each exists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Date, String, and_, case, cast, distinct, func, literal, null, or_, select, true
from sqlalchemy.orm import Session, aliased

from app.anomalies.sql import beijing_date, epoch, hex_id, integer, json_object, text
from app.db import UtcDateTime, dialect_insert, sql_random_uuid
from app.models.anomalies import Anomaly
from app.models.elders import Elder, ElderStatusChange
from app.models.redemptions import Redemption
from app.models.reference import CatalogueItem
from app.models.vouchers import Voucher
from app.rules import anomalies as rules
from app.rules.anomalies import Thresholds
from app.rules.months import Month

R = Redemption


@dataclass
class Scan:
    """One district's month, scanned rule by rule; each rule returns how many warnings it added."""

    session: Session
    district_code: str
    month: Month
    t: Thresholds
    now: datetime
    detected_by: str = "nightly"

    # --- writing warnings -------------------------------------------------------------------------
    def insert(
        self, rule: str, rows, *, subject, evidence: dict, redemption=None, provider=None, elder=None
    ) -> int:
        """INSERT INTO anomalies … SELECT ``rows`` … ON CONFLICT DO NOTHING; the new rows' count.

        ``rows`` is a SELECT whose FROM, WHERE and GROUP BY define the rule; the warning's columns
        are added here, ``evidence`` (name -> SQL expression) as a JSON object. ``WHERE true``
        keeps SQLite's parser from reading the upsert's ON as a join's.
        """
        s = self.session
        columns = {
            "id": sql_random_uuid(s),
            "district_code": text(self.district_code),
            "month": literal(self.month.first_day, Date),
            "rule": text(rule),
            "status": text("open"),
            "subject_key": subject,
            "redemption_id": redemption if redemption is not None else null(),
            "provider_id": provider if provider is not None else null(),
            "elder_id": elder if elder is not None else null(),
            "evidence": json_object(s, evidence),
            "detected_at": literal(self.now, UtcDateTime),
            "detected_by": text(self.detected_by),
        }
        select_rows = rows.with_only_columns(
            *(v.label(k) for k, v in columns.items()), maintain_column_froms=True
        ).where(true())
        statement = (
            dialect_insert(s)(Anomaly).from_select(list(columns), select_rows).on_conflict_do_nothing()
        )
        # rowcount of an INSERT is only kept when asked for (SQLAlchemy 2).
        return s.execute(statement.execution_options(preserve_rowcount=True)).rowcount

    def flag_redemptions(self, rule: str, rows, evidence: dict, of=R) -> int:
        """One warning per redemption ``rows`` finds, about that redemption (its id the subject),
        its provider and its elder. ``of``: where the rows' redemption columns come from."""
        return self.insert(
            rule,
            rows,
            subject=hex_id(self.session, of.id),
            evidence=evidence,
            redemption=of.id,
            provider=of.provider_id,
            elder=of.elder_id,
        )

    def key(self, *parts):
        """A subject key for a district-month aggregate: the parts, the district, the month."""
        key = parts[0]
        for part in (*parts[1:], text(self.district_code), text(str(self.month))):
            key = key.concat(text(":")).concat(part)
        return key

    def posted_in_month(self, table=R):
        """The district's posted redemptions of the month (of ``table``, an alias of redemptions),
        served by the index (district_code, month, status) of redemptions."""
        return and_(
            table.district_code == self.district_code,
            table.month == self.month.first_day,
            table.status == "posted",
        )

    # --- the rules: what each flags, and the SELECT that finds it ----------------------------------
    def price_above_reference(self) -> int:
        # A redemption priced above the catalogue's reference maximum (also checked in-line; here
        # for redemptions posted while the tolerance was higher, and as a rescan).
        c = CatalogueItem
        tolerance = self.t.price_tolerance_percent
        rows = (
            select(R.id)
            .join(c, c.item == R.item)
            .where(
                self.posted_in_month(),
                c.ref_price_max_fen.is_not(None),
                R.amount_fen * 100 > c.ref_price_max_fen * (100 + tolerance),
            )
        )
        evidence = {
            "item": R.item,
            "amount_fen": R.amount_fen,
            "ref_price_max_fen": c.ref_price_max_fen,
            "tolerance_percent": integer(tolerance),
        }
        return self.flag_redemptions(rules.PRICE_ABOVE_REFERENCE, rows, evidence)

    def night_home_service(self) -> int:
        # Home/community services whose served_at falls in one of the month's nights (Beijing).
        windows = rules.night_windows(self.month, self.t.night_start_hour, self.t.night_end_hour)
        if not windows:
            return 0
        conditions = [
            self.posted_in_month(),
            R.category == "home_community",
            or_(*(and_(R.served_at >= start, R.served_at < end) for start, end in windows)),
        ]
        if self.t.night_exempt_items:
            conditions.append(R.item.not_in(sorted(self.t.night_exempt_items)))
        evidence = {
            "item": R.item,
            "night_start_hour": integer(self.t.night_start_hour),
            "night_end_hour": integer(self.t.night_end_hour),
        }
        return self.flag_redemptions(rules.NIGHT_HOME_SERVICE, select(R.id).where(*conditions), evidence)

    def redeemed_after_suspension(self) -> int:
        # A redemption served at or after the elder's latest status change before it, when that
        # change was a suspension (death included): no later approval in between.
        suspension = aliased(ElderStatusChange)
        later = aliased(ElderStatusChange)
        rows = (
            select(R.id)
            .join(
                suspension,
                and_(
                    suspension.elder_id == R.elder_id,
                    suspension.to_status == "suspended",
                    suspension.changed_at <= R.served_at,
                ),
            )
            .where(
                self.posted_in_month(),
                ~select(later.id)
                .where(
                    later.elder_id == suspension.elder_id,
                    later.changed_at > suspension.changed_at,
                    later.changed_at <= R.served_at,
                )
                .exists(),
            )
        )
        evidence = {"suspension_reason": suspension.reason, "status_change_id": suspension.id}
        return self.flag_redemptions(rules.REDEEMED_AFTER_SUSPENSION, rows, evidence)

    def service_after_death(self, elder_id: uuid.UUID | None = None) -> int:
        # A service on or after the Beijing day of death the district recorded (one elder's, when
        # the death is being recorded; every elder's in the nightly scan).
        served_on = beijing_date(self.session, R.served_at)
        rows = (
            select(R.id)
            .join(Elder, Elder.id == R.elder_id)
            .where(self.posted_in_month(), Elder.died_on.is_not(None), served_on >= Elder.died_on)
        )
        if elder_id is not None:
            rows = rows.where(R.elder_id == elder_id)
        evidence = {"died_on": cast(Elder.died_on, String), "served_on": cast(served_on, String)}
        return self.flag_redemptions(rules.SERVICE_AFTER_DEATH, rows, evidence)

    def too_many_services_per_day(self) -> int:
        # More redemptions than the threshold for one elder on one Beijing day. The day is found
        # by comparing served_at with each day's first instant (UTC, computed in Python).
        days = rules.local_days(self.month)
        day = case(
            *((R.served_at < start, text(str(days[n - 1][0]))) for n, (_d, start) in enumerate(days) if n),
            else_=text(str(days[-1][0])),
        )
        by_day = select(R.elder_id, day.label("day"), R.provider_id).where(self.posted_in_month()).subquery()
        limit = self.t.max_services_per_elder_day
        rows = (
            select(by_day.c.elder_id).group_by(by_day.c.elder_id, by_day.c.day).having(func.count() > limit)
        )
        evidence = {
            "day": by_day.c.day,
            "services": func.count(),
            "providers": func.count(distinct(by_day.c.provider_id)),
            "max_per_day": integer(limit),
        }
        return self.insert(
            rules.TOO_MANY_SERVICES_PER_DAY,
            rows,
            subject=hex_id(self.session, by_day.c.elder_id).concat(text(":")).concat(by_day.c.day),
            evidence=evidence,
            elder=by_day.c.elder_id,
        )

    def overlapping_service(self) -> int:
        # One elder's home/community services in time order: a service by another provider than
        # the one before it, starting within the overlap window. Any pair of different providers
        # that close has such an adjacent pair between them, so comparing neighbours suffices.
        window = {"partition_by": R.elder_id, "order_by": (R.served_at, R.id)}
        ordered = (
            select(
                R.id,
                R.elder_id,
                R.provider_id,
                R.served_at,
                func.lag(R.id).over(**window).label("prev_id"),
                func.lag(R.provider_id).over(**window).label("prev_provider_id"),
                func.lag(R.served_at).over(**window).label("prev_served_at"),
            )
            .where(self.posted_in_month(), R.category == "home_community")
            .subquery()
        )
        o = ordered.c
        gap = epoch(self.session, o.served_at) - epoch(self.session, o.prev_served_at)
        rows = select(o.id).where(o.prev_provider_id != o.provider_id, gap < self.t.overlap_minutes * 60)
        evidence = {
            "other_redemption_id": o.prev_id,
            "other_provider_id": o.prev_provider_id,
            "gap_seconds": gap,
            "overlap_minutes": integer(self.t.overlap_minutes),
        }
        return self.flag_redemptions(rules.OVERLAPPING_SERVICE, rows, evidence, of=o)

    def first_day_drain(self) -> int:
        # Vouchers a provider emptied by itself with home/community redemptions made on the 1st
        # (Beijing), counted per provider. Institutional care is billed monthly and may take a
        # whole voucher on the 1st legitimately, so it does not count.
        start, end = rules.first_day(self.month)
        drained = (
            select(R.provider_id, func.sum(R.deduction_fen).label("taken"))
            .join(Voucher, Voucher.id == R.voucher_id)
            .where(
                self.posted_in_month(),
                R.category == "home_community",
                R.created_at >= start,
                R.created_at < end,
            )
            .group_by(R.provider_id, R.voucher_id, Voucher.face_value_fen)
            .having(func.sum(R.deduction_fen) >= Voucher.face_value_fen)
            .subquery()
        )
        minimum = self.t.drain_min_vouchers
        rows = select(drained.c.provider_id).group_by(drained.c.provider_id).having(func.count() >= minimum)
        evidence = {
            "day": text(str(self.month.first_day)),
            "vouchers_drained": func.count(),
            "deduction_fen": func.sum(drained.c.taken),
            "min_vouchers": integer(minimum),
        }
        return self.insert(
            rules.FIRST_DAY_DRAIN,
            rows,
            subject=self.key(hex_id(self.session, drained.c.provider_id)),
            evidence=evidence,
            provider=drained.c.provider_id,
        )

    def price_jump(self) -> int:
        # 先涨价后抵扣: this month's redemptions of a provider's item priced more than the jump
        # above the provider's own lower median for that item over the previous months (in all
        # districts), once that median rests on enough redemptions. One warning per provider,
        # item, district and month.
        first, last = rules.baseline_months(self.month, self.t.price_baseline_months)
        median = self._baseline_medians(first, last)
        m = median.c
        jump = self.t.price_jump_percent
        rows = (
            select(R.provider_id)
            .join(median, and_(m.provider_id == R.provider_id, m.item == R.item))
            .where(self.posted_in_month(), R.amount_fen * 100 > m.median_fen * (100 + jump))
            .group_by(R.provider_id, R.item, m.median_fen, m.n)
        )
        evidence = {
            "item": R.item,
            "baseline_from": text(str(first)),
            "baseline_to": text(str(last)),
            "baseline_median_fen": m.median_fen,
            "baseline_redemptions": m.n,
            "jump_percent": integer(jump),
            "redemptions_above": func.count(),
            "max_amount_fen": func.max(R.amount_fen),
        }
        return self.insert(
            rules.PRICE_JUMP,
            rows,
            subject=self.key(hex_id(self.session, R.provider_id), cast(R.item, String)),
            evidence=evidence,
            provider=R.provider_id,
        )

    def _baseline_medians(self, first: Month, last: Month):
        """Per provider and item, the lower median of its posted prices from ``first`` to ``last``
        (every district), for the providers redeeming in this district this month, when it rests
        on enough redemptions: (provider_id, item, median_fen, n)."""
        past = aliased(Redemption)
        here = aliased(Redemption)
        partition = (past.provider_id, past.item)
        ranked = (
            select(
                past.provider_id,
                past.item,
                past.amount_fen,
                func.row_number().over(partition_by=partition, order_by=past.amount_fen).label("rn"),
                func.count().over(partition_by=partition).label("n"),
            )
            .where(
                past.status == "posted",
                past.month >= first.first_day,
                past.month <= last.first_day,
                past.provider_id.in_(select(here.provider_id).where(self.posted_in_month(here))),
            )
            .subquery()
        )
        return (
            select(ranked.c.provider_id, ranked.c.item, ranked.c.amount_fen.label("median_fen"), ranked.c.n)
            .where(
                ranked.c.n >= self.t.price_baseline_min_redemptions,
                (2 * ranked.c.rn - ranked.c.n).in_((0, 1)),
            )
            .subquery()
        )


NIGHTLY_RULES = (
    (rules.PRICE_ABOVE_REFERENCE, Scan.price_above_reference),
    (rules.NIGHT_HOME_SERVICE, Scan.night_home_service),
    (rules.REDEEMED_AFTER_SUSPENSION, Scan.redeemed_after_suspension),
    (rules.SERVICE_AFTER_DEATH, Scan.service_after_death),
    (rules.TOO_MANY_SERVICES_PER_DAY, Scan.too_many_services_per_day),
    (rules.OVERLAPPING_SERVICE, Scan.overlapping_service),
    (rules.FIRST_DAY_DRAIN, Scan.first_day_drain),
    (rules.PRICE_JUMP, Scan.price_jump),
)
