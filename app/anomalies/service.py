"""Anomaly warnings (四(二) 异常交易预警): recorded in-line as a redemption is posted, found by the
nightly scan, listed and resolved by district staff.

The nightly scan is one ``INSERT INTO anomalies … SELECT … ON CONFLICT DO NOTHING`` per rule
and district: no redemption passes through Python, and the unique (rule, subject_key) makes
rescans (and the in-line check that may have found the same thing) add nothing twice. It only
reads redemptions (MVCC on PostgreSQL): point-of-service redemptions are never blocked by it.
Local-time conditions (nights, days, the 1st) compare ``served_at``/``created_at`` with UTC
boundaries computed in Python (app/rules/anomalies.py): no time-zone function in SQL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    String,
    and_,
    case,
    cast,
    distinct,
    extract,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased

from app import clock
from app.anomalies.errors import AnomalyAlreadyResolved, AnomalyNotFound
from app.auth.principal import Principal
from app.auth.scope import district_filter
from app.config import anomaly_thresholds as thresholds
from app.db import UtcDateTime, dialect_insert, lock_for_transaction, sql_random_uuid
from app.elders.events import on_death_recorded
from app.ids import parse_id
from app.models.anomalies import Anomaly
from app.models.elders import Elder, ElderStatusChange
from app.models.redemptions import Redemption
from app.models.reference import CatalogueItem, District
from app.models.vouchers import Voucher
from app.redemptions.lookups import redemptions_by_ids
from app.rules import anomalies as rules
from app.rules.anomalies import Thresholds
from app.rules.months import Month

R = Redemption


# --- dialect pieces --------------------------------------------------------------------------------
def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _hex_id(session: Session, column):
    """A UUID as 32 hex digits: SQLite stores it so, and Python's ``uuid.hex`` (the in-line
    check) writes the same subject key."""
    if _postgres(session):
        return func.replace(cast(column, String), "-", "", type_=String)
    return cast(column, String)


def _epoch(session: Session, column):
    """Seconds since 1970 of a stored instant (not a time-zone conversion: the instant is UTC)."""
    if _postgres(session):
        return cast(extract("epoch", column), BigInteger)
    return cast(func.strftime("%s", column), Integer)


def _json(session: Session, **values):
    """A JSON object built in SQL from constant keys (``json_build_object`` / ``json_object``)."""
    build = func.json_build_object if _postgres(session) else func.json_object
    args = []
    for key, value in values.items():
        args += [literal_column(f"'{key}'"), value]
    return build(*args)


def _text(value: str):
    return literal(value, String)


def _int(value: int):
    return literal(value, Integer)


def _beijing_date(session: Session, column):
    """The Beijing calendar day of a stored instant. PostgreSQL converts with the zone; SQLite adds
    the fixed +8 hours, exact since China has kept UTC+8 without daylight saving since 1991."""
    if _postgres(session):
        return cast(func.timezone("Asia/Shanghai", column), Date)
    return func.date(column, "+8 hours")


def _posted(district_code: str, month: Month, table=R):
    # Served by the index (district_code, month, status) of redemptions.
    return and_(
        table.district_code == district_code, table.month == month.first_day, table.status == "posted"
    )


@dataclass
class _Scan:
    session: Session
    district_code: str
    month: Month
    t: Thresholds
    now: datetime
    detected_by: str = "nightly"

    def insert(
        self, rule: str, rows, *, subject, evidence, redemption=None, provider=None, elder=None
    ) -> int:
        """INSERT INTO anomalies … SELECT ``rows`` … ON CONFLICT DO NOTHING; the new rows' count.

        ``rows`` is a SELECT whose FROM, WHERE and GROUP BY define the rule; the anomaly's
        columns are added here. ``WHERE true`` keeps SQLite's parser from reading the upsert's
        ON as a join's.
        """
        s = self.session
        columns = {
            "id": sql_random_uuid(s),
            "district_code": _text(self.district_code),
            "month": literal(self.month.first_day, Date),
            "rule": _text(rule),
            "status": _text("open"),
            "subject_key": subject,
            "redemption_id": redemption if redemption is not None else null(),
            "provider_id": provider if provider is not None else null(),
            "elder_id": elder if elder is not None else null(),
            "evidence": evidence,
            "detected_at": literal(self.now, UtcDateTime),
            "detected_by": _text(self.detected_by),
        }
        select_rows = rows.with_only_columns(
            *(v.label(k) for k, v in columns.items()), maintain_column_froms=True
        ).where(true())
        statement = (
            dialect_insert(s)(Anomaly).from_select(list(columns), select_rows).on_conflict_do_nothing()
        )
        # rowcount of an INSERT is only kept when asked for (SQLAlchemy 2).
        return s.execute(statement.execution_options(preserve_rowcount=True)).rowcount

    def key(self, *parts):
        """A subject key for a district-month aggregate: the parts, the district, the month."""
        key = parts[0]
        for part in (*parts[1:], _text(self.district_code), _text(str(self.month))):
            key = key.concat(_text(":")).concat(part)
        return key

    # Each rule below: what it flags, and the SELECT that finds it (docs/anomalies.md says why).

    def price_above_reference(self) -> int:
        # A redemption priced above the catalogue's reference maximum (also checked in-line; here
        # for redemptions posted while the tolerance was higher, and as a rescan).
        c = CatalogueItem
        tolerance = self.t.price_tolerance_percent
        rows = (
            select(R.id)
            .join(c, c.item == R.item)
            .where(
                _posted(self.district_code, self.month),
                c.ref_price_max_fen.is_not(None),
                R.amount_fen * 100 > c.ref_price_max_fen * (100 + tolerance),
            )
        )
        return self.insert(
            rules.PRICE_ABOVE_REFERENCE,
            rows,
            subject=_hex_id(self.session, R.id),
            redemption=R.id,
            provider=R.provider_id,
            elder=R.elder_id,
            evidence=_json(
                self.session,
                item=R.item,
                amount_fen=R.amount_fen,
                ref_price_max_fen=c.ref_price_max_fen,
                tolerance_percent=_int(tolerance),
            ),
        )

    def night_home_service(self) -> int:
        # Home/community services whose served_at falls in one of the month's nights (Beijing).
        windows = rules.night_windows(self.month, self.t.night_start_hour, self.t.night_end_hour)
        if not windows:
            return 0
        conditions = [
            _posted(self.district_code, self.month),
            R.category == "home_community",
            or_(*(and_(R.served_at >= start, R.served_at < end) for start, end in windows)),
        ]
        if self.t.night_exempt_items:
            conditions.append(R.item.not_in(sorted(self.t.night_exempt_items)))
        return self.insert(
            rules.NIGHT_HOME_SERVICE,
            select(R.id).where(*conditions),
            subject=_hex_id(self.session, R.id),
            redemption=R.id,
            provider=R.provider_id,
            elder=R.elder_id,
            evidence=_json(
                self.session,
                item=R.item,
                night_start_hour=_int(self.t.night_start_hour),
                night_end_hour=_int(self.t.night_end_hour),
            ),
        )

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
                _posted(self.district_code, self.month),
                ~select(later.id)
                .where(
                    later.elder_id == suspension.elder_id,
                    later.changed_at > suspension.changed_at,
                    later.changed_at <= R.served_at,
                )
                .exists(),
            )
        )
        return self.insert(
            rules.REDEEMED_AFTER_SUSPENSION,
            rows,
            subject=_hex_id(self.session, R.id),
            redemption=R.id,
            provider=R.provider_id,
            elder=R.elder_id,
            evidence=_json(self.session, suspension_reason=suspension.reason, status_change_id=suspension.id),
        )

    def service_after_death(self, elder_id: uuid.UUID | None = None) -> int:
        # A service on or after the Beijing day of death the district recorded (one elder's, when
        # the death is being recorded; every elder's in the nightly scan).
        rows = (
            select(R.id)
            .join(Elder, Elder.id == R.elder_id)
            .where(
                _posted(self.district_code, self.month),
                Elder.died_on.is_not(None),
                _beijing_date(self.session, R.served_at) >= Elder.died_on,
            )
        )
        if elder_id is not None:
            rows = rows.where(R.elder_id == elder_id)
        return self.insert(
            rules.SERVICE_AFTER_DEATH,
            rows,
            subject=_hex_id(self.session, R.id),
            redemption=R.id,
            provider=R.provider_id,
            elder=R.elder_id,
            evidence=_json(
                self.session,
                died_on=cast(Elder.died_on, String),
                served_on=cast(_beijing_date(self.session, R.served_at), String),
            ),
        )

    def too_many_services_per_day(self) -> int:
        # More redemptions than the threshold for one elder on one Beijing day. The day is found
        # by comparing served_at with each day's first instant (UTC, computed in Python).
        days = rules.local_days(self.month)
        day = case(
            *((R.served_at < start, _text(str(days[n - 1][0]))) for n, (_d, start) in enumerate(days) if n),
            else_=_text(str(days[-1][0])),
        )
        by_day = (
            select(R.elder_id, day.label("day"), R.provider_id)
            .where(_posted(self.district_code, self.month))
            .subquery()
        )
        limit = self.t.max_services_per_elder_day
        rows = (
            select(by_day.c.elder_id).group_by(by_day.c.elder_id, by_day.c.day).having(func.count() > limit)
        )
        return self.insert(
            rules.TOO_MANY_SERVICES_PER_DAY,
            rows,
            subject=_hex_id(self.session, by_day.c.elder_id).concat(_text(":")).concat(by_day.c.day),
            elder=by_day.c.elder_id,
            evidence=_json(
                self.session,
                day=by_day.c.day,
                services=func.count(),
                providers=func.count(distinct(by_day.c.provider_id)),
                max_per_day=_int(limit),
            ),
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
            .where(_posted(self.district_code, self.month), R.category == "home_community")
            .subquery()
        )
        o = ordered.c
        gap = _epoch(self.session, o.served_at) - _epoch(self.session, o.prev_served_at)
        overlap_seconds = self.t.overlap_minutes * 60
        rows = select(o.id).where(o.prev_provider_id != o.provider_id, gap < overlap_seconds)
        return self.insert(
            rules.OVERLAPPING_SERVICE,
            rows,
            subject=_hex_id(self.session, o.id),
            redemption=o.id,
            provider=o.provider_id,
            elder=o.elder_id,
            evidence=_json(
                self.session,
                other_redemption_id=o.prev_id,
                other_provider_id=o.prev_provider_id,
                gap_seconds=gap,
                overlap_minutes=_int(self.t.overlap_minutes),
            ),
        )

    def first_day_drain(self) -> int:
        # Vouchers a provider emptied by itself with home/community redemptions made on the 1st
        # (Beijing), counted per provider. Institutional care is billed monthly and may take a
        # whole voucher on the 1st legitimately, so it does not count.
        start, end = rules.first_day(self.month)
        drained = (
            select(R.provider_id, func.sum(R.deduction_fen).label("taken"))
            .join(Voucher, Voucher.id == R.voucher_id)
            .where(
                _posted(self.district_code, self.month),
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
        return self.insert(
            rules.FIRST_DAY_DRAIN,
            rows,
            subject=self.key(_hex_id(self.session, drained.c.provider_id)),
            provider=drained.c.provider_id,
            evidence=_json(
                self.session,
                day=_text(str(self.month.first_day)),
                vouchers_drained=func.count(),
                deduction_fen=func.sum(drained.c.taken),
                min_vouchers=_int(minimum),
            ),
        )

    def price_jump(self) -> int:
        # 先涨价后抵扣: this month's redemptions of a provider's item priced more than the jump
        # above the provider's own lower median for that item over the previous months (in all
        # districts), once that median rests on enough redemptions. One warning per provider,
        # item, district and month.
        first, last = rules.baseline_months(self.month, self.t.price_baseline_months)
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
                past.provider_id.in_(
                    select(here.provider_id).where(_posted(self.district_code, self.month, here))
                ),
            )
            .subquery()
        )
        minimum = self.t.price_baseline_min_redemptions
        median = (
            select(ranked.c.provider_id, ranked.c.item, ranked.c.amount_fen.label("median_fen"), ranked.c.n)
            .where(ranked.c.n >= minimum, (2 * ranked.c.rn - ranked.c.n).in_((0, 1)))
            .subquery()
        )
        m = median.c
        jump = self.t.price_jump_percent
        rows = (
            select(R.provider_id)
            .join(median, and_(m.provider_id == R.provider_id, m.item == R.item))
            .where(_posted(self.district_code, self.month), R.amount_fen * 100 > m.median_fen * (100 + jump))
            .group_by(R.provider_id, R.item, m.median_fen, m.n)
        )
        return self.insert(
            rules.PRICE_JUMP,
            rows,
            subject=self.key(_hex_id(self.session, R.provider_id), cast(R.item, String)),
            provider=R.provider_id,
            evidence=_json(
                self.session,
                item=R.item,
                baseline_from=_text(str(first)),
                baseline_to=_text(str(last)),
                baseline_median_fen=m.median_fen,
                baseline_redemptions=m.n,
                jump_percent=_int(jump),
                redemptions_above=func.count(),
                max_amount_fen=func.max(R.amount_fen),
            ),
        )


NIGHTLY_RULES = (
    (rules.PRICE_ABOVE_REFERENCE, _Scan.price_above_reference),
    (rules.NIGHT_HOME_SERVICE, _Scan.night_home_service),
    (rules.REDEEMED_AFTER_SUSPENSION, _Scan.redeemed_after_suspension),
    (rules.SERVICE_AFTER_DEATH, _Scan.service_after_death),
    (rules.TOO_MANY_SERVICES_PER_DAY, _Scan.too_many_services_per_day),
    (rules.OVERLAPPING_SERVICE, _Scan.overlapping_service),
    (rules.FIRST_DAY_DRAIN, _Scan.first_day_drain),
    (rules.PRICE_JUMP, _Scan.price_jump),
)


@dataclass
class ScanResult:
    month: Month
    found: dict[str, int] = field(default_factory=lambda: {code: 0 for code, _ in NIGHTLY_RULES})

    @property
    def total(self) -> int:
        return sum(self.found.values())


def scan_month(session: Session, month: Month, *, district_codes: list[str] | None = None) -> ScanResult:
    """Every rule over the month's posted redemptions, district by district (each statement then
    uses the (district_code, month, status) index). Returns the new warnings per rule."""
    lock_for_transaction(session, f"anomaly_scan:{month}")
    t = thresholds()
    now = clock.now()
    if district_codes is None:
        district_codes = list(session.scalars(select(District.code).order_by(District.code)))
    result = ScanResult(month)
    for code in district_codes:
        scan = _Scan(session, code, month, t, now)
        for rule, check in NIGHTLY_RULES:
            result.found[rule] += check(scan)
    session.flush()
    return result


@on_death_recorded
def flag_services_after_death(session: Session, elder_id: uuid.UUID, *, now: datetime) -> int:
    """When a death is recorded: flag the elder's services already posted on or after the day of
    death, in every month from that day to now (the nightly scan covers only recent months)."""
    elder = session.execute(select(Elder.district_code, Elder.died_on).where(Elder.id == elder_id)).one()
    if elder.died_on is None:
        return 0
    found, month = 0, Month.of(elder.died_on)
    while month <= Month.containing(now):
        scan = _Scan(session, elder.district_code, month, thresholds(), now, detected_by="death")
        found += scan.service_after_death(elder_id)
        month = month.next()
    return found


# --- reading and resolving ------------------------------------------------------------------------
def _visible(caller: Principal, anomaly: Anomaly | None) -> Anomaly:
    if anomaly is None or not caller.sees_district(anomaly.district_code):
        raise AnomalyNotFound()
    return anomaly


def get_visible_anomaly(
    session: Session, caller: Principal, anomaly_id: str, *, for_update: bool = False
) -> Anomaly:
    """The anomaly, if the caller sees its district; 404 otherwise (also for another district's)."""
    parsed = parse_id(anomaly_id)
    if parsed is None:
        raise AnomalyNotFound()
    query = select(Anomaly).where(Anomaly.id == parsed)
    if for_update:
        query = query.with_for_update()
    return _visible(caller, session.scalars(query).one_or_none())


def list_anomalies(
    session: Session,
    caller: Principal,
    *,
    district_code: str | None,
    month: Month | None,
    status: str | None,
    rule: str | None,
    provider_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Anomaly], int]:
    query = select(Anomaly)
    district_code = district_filter(caller, district_code)
    if district_code is not None:
        query = query.where(Anomaly.district_code == district_code)
    if month is not None:
        query = query.where(Anomaly.month == month.first_day)
    if status is not None:
        query = query.where(Anomaly.status == status)
    if rule is not None:
        query = query.where(Anomaly.rule == rule)
    if provider_id is not None:
        parsed = parse_id(provider_id)
        if parsed is None:
            return [], 0
        query = query.where(Anomaly.provider_id == parsed)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(
        query.order_by(Anomaly.detected_at.desc(), Anomaly.rule, Anomaly.id).limit(limit).offset(offset)
    )
    return list(rows), int(total or 0)


def redemptions_of(session: Session, anomalies: list[Anomaly]) -> dict[uuid.UUID, Redemption]:
    """The redemptions the anomalies name, in one query (shown with each warning)."""
    return redemptions_by_ids(session, {a.redemption_id for a in anomalies if a.redemption_id is not None})


def resolve(session: Session, caller: Principal, anomaly: Anomaly, *, status: str, note: str) -> Anomaly:
    """Confirm or dismiss an open warning, once. The row is locked (get_visible_anomaly with
    for_update), so two officers resolving at once get one success and one 409."""
    if anomaly.status != "open":
        raise AnomalyAlreadyResolved(f"该异常预警已于此前处理为 {anomaly.status}")
    anomaly.status = status
    anomaly.resolved_at = clock.now()
    anomaly.resolved_by = caller.actor
    anomaly.resolution_note = note
    session.flush()
    return anomaly


def count_by_status(
    session: Session, *, district_code: str, month: Month | None, rule: str | None
) -> dict[str, int]:
    """How many warnings of each status a district has (with the page's other filters)."""
    query = select(Anomaly.status, func.count()).where(Anomaly.district_code == district_code)
    if month is not None:
        query = query.where(Anomaly.month == month.first_day)
    if rule is not None:
        query = query.where(Anomaly.rule == rule)
    counts = {status: 0 for status in ("open", "confirmed", "dismissed")}
    for status, count in session.execute(query.group_by(Anomaly.status)):
        counts[status] = int(count)
    return counts
