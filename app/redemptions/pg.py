"""POST /redemptions on PostgreSQL through asyncpg: the hot path in two statements.

    FACTS   the provider (matched by id and key hash), the elder (and, if suspended, its latest
            status change), its enrolments with this provider, the voucher, and the answer
            already stored on the key: one read-only statement, no lock
    WRITE   the plan of app/redemptions/plan.py in one statement: the voucher debited only if
            its balance is still the one read (compare-and-set, never below zero), or the
            month's voucher issued already debited; the redemption, its journal entries and
            lines, the in-line warnings, and the key with its answer (a plain INSERT: the
            primary key makes a second use of the key fail, and the statement with it)

Each is its own transaction (autocommit): no BEGIN, no COMMIT, no lock held between them. When
the voucher changed between FACTS and WRITE (another redemption of the same elder), the write
changes nothing and the request is settled again under the voucher's row lock
(``FACTS ... FOR UPDATE`` and WRITE in one transaction), which always succeeds: optimistic first,
pessimistic on conflict, so a burst on one voucher still makes progress.

The decision between FACTS and WRITE is the pure function the SQLAlchemy path uses
(app/redemptions/service.plan_for). The statements are fixed strings, prepared once per
connection by asyncpg, planned once (generic plans: app/pgpool.py).
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from app.redemptions.plan import RedeemCall, WritePlan
from app.reference.service import ReferenceSnapshot, terms_for
from app.rules.anomalies import Thresholds
from app.rules.entitlement import EntitlementFacts, due_at_month_start
from app.rules.months import Month
from app.rules.policy import Category
from app.rules.redemption import (
    ElderFacts,
    Enrolment,
    ProviderFacts,
    RedemptionFacts,
    VoucherFacts,
    voucher_kind_for,
)
from app.vouchers.entitlement import valid_months

# $1 provider, $2 key, $3 the caller's key hash, $4 elder, $5 voucher month, $6 voucher kind.
_FACTS = """
WITH prior AS (
    SELECT request_hash, response_status, response_body
    FROM idempotency_keys
    WHERE provider_id = $1 AND key = $2
),
provider AS (
    SELECT p.kind, p.status,
           EXISTS (SELECT FROM providers a WHERE a.credit_code = p.credit_code AND a.kind = 'assessment_agency')
               AS agency_organisation
    FROM providers p
    WHERE p.id = $1 AND p.api_key_hash = $3
),
elder AS (
    SELECT id, district_code, status, suspension_reason, last_voucher_month, assessed_on,
           disability_allowance_tier, approved_at, died_on
    FROM elders
    WHERE id = $4
),
suspension AS (
    SELECT id, changed_at, reason
    FROM elder_status_changes
    WHERE elder_id = $4 AND EXISTS (SELECT FROM elder WHERE status = 'suspended')
    ORDER BY changed_at DESC, id DESC
    LIMIT 1
),
enrolments AS (
    SELECT coalesce(json_agg(json_build_array(kind, starts_on, ends_on)), '[]'::json) AS items
    FROM elder_enrolments
    WHERE elder_id = $4 AND provider_id = $1
),
voucher AS (
    SELECT v.id, v.status, v.balance_fen, v.face_value_fen, v.valid_from, v.valid_until,
           a.agency_id, a.assessed_on AS assessment_day
    FROM vouchers v LEFT JOIN assessments a ON a.id = v.assessment_id
    WHERE v.elder_id = $4 AND v.month = $5 AND v.kind = $6
    {lock}
)
SELECT prior.request_hash, prior.response_status, prior.response_body,
       provider.kind AS provider_kind, provider.status AS provider_status, provider.agency_organisation,
       elder.id AS elder_id, elder.district_code, elder.status AS elder_status, elder.suspension_reason,
       elder.last_voucher_month, elder.assessed_on, elder.disability_allowance_tier, elder.approved_at,
       elder.died_on,
       suspension.id AS suspension_id, suspension.changed_at AS suspended_at, suspension.reason AS suspended_for,
       enrolments.items AS enrolments,
       voucher.id AS voucher_id, voucher.status AS voucher_status, voucher.balance_fen, voucher.face_value_fen,
       voucher.valid_from, voucher.valid_until, voucher.agency_id, voucher.assessment_day
FROM enrolments
LEFT JOIN prior ON true
LEFT JOIN provider ON true
LEFT JOIN elder ON true
LEFT JOIN suspension ON true
LEFT JOIN voucher ON true
"""
FACTS = _FACTS.format(lock="")
# The same under the voucher's row lock, inside a transaction (after a conflict).
FACTS_LOCKED = _FACTS.format(lock="FOR UPDATE OF v")

KEY_CONSTRAINT = "pk_idempotency_keys"

STORED = """
SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE provider_id = $1 AND key = $2
"""

# A refusal: only the key with its answer ($1 provider, $2 key, $3 request hash, $4 status,
# $5 body, $6 month, $7 now).
ANSWER = """
INSERT INTO idempotency_keys (provider_id, key, request_hash, response_status, response_body, month, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""

_REDEMPTION_COLUMNS = (
    "id, district_code, month, voucher_id, elder_id, provider_id, item, category, rate, amount_fen, "
    "ltci_paid_fen, eligible_fen, deduction_fen, self_pay_fen, served_at, receipt_no, warnings, status, "
    "evidence_complete, created_at"
)
_REDEMPTION_VALUES = (
    "$6, $7, $8, $3, $9, $1, $10, $11, $12, $13, $14, $15, $4, $16, $17, $18, $19, 'posted', $20, $5"
)
# $1 provider, $2 key, $3 voucher, $4 deduction, $5 now, $6 redemption, $7 district, $8 month,
# $9 elder, $10 item, $11 category, $12 rate, $13 amount, $14 LTCI, $15 eligible, $16 self-pay,
# $17 served_at, $18 receipt, $19 warnings, $20 evidence complete, $21 actor, $22 response
# status, $23 response body, $24 request hash, $25 the key's month, $26-$29 redeem lines
# (account, voucher, provider, amount), $30-$32 in-line warnings (id, rule, evidence), $33 the
# balance read (debit) or the face value (issue), $34-$35 the new voucher's validity (issue).
_AFTER_VOUCHER = f"""
redemption AS (
    INSERT INTO redemptions ({_REDEMPTION_COLUMNS})
    SELECT {_REDEMPTION_VALUES} FROM voucher
    RETURNING id
),
entry AS (
    INSERT INTO journal_entries (district_code, kind, month, redemption_id, created_at, created_by)
    SELECT $7, 'redeem', $8, id, $5, $21 FROM redemption
    RETURNING id
),
lines AS (
    INSERT INTO journal_lines (entry_id, district_code, account, voucher_id, provider_id, amount_fen)
    SELECT entry.id, $7, l.account, l.voucher_id, l.provider_id, l.amount_fen
    FROM entry, unnest($26::text[], $27::uuid[], $28::uuid[], $29::bigint[]) AS l(account, voucher_id, provider_id, amount_fen)
),
warnings AS (
    INSERT INTO anomalies (id, district_code, month, rule, status, subject_key, redemption_id, provider_id,
                           elder_id, evidence, detected_at, detected_by)
    SELECT w.id, $7, $8, w.rule, 'open', replace(redemption.id::text, '-', ''), redemption.id, $1, $9,
           w.evidence, $5, 'redemption'
    FROM redemption, unnest($30::uuid[], $31::text[], $32::json[]) AS w(id, rule, evidence)
    ON CONFLICT DO NOTHING
),
answer AS (
    INSERT INTO idempotency_keys (provider_id, key, request_hash, response_status, response_body, month, created_at)
    SELECT $1, $2, $24, $22, $23, $25, $5 FROM redemption
    RETURNING 1
)
SELECT count(*) FROM answer
"""

# An existing voucher: debited only if its balance is still the one read (and never below zero).
WRITE_DEBIT = (
    """
WITH voucher AS (
    UPDATE vouchers SET balance_fen = balance_fen - $4
    WHERE id = $3 AND status = 'active' AND balance_fen = $33 AND balance_fen >= $4
    RETURNING id
),"""
    + _AFTER_VOUCHER
)

# The month's voucher issued by this redemption (the month-start job has not reached the
# elder): inserted already debited, with its issue entry; a concurrent issue wins the unique
# (elder, month, kind) and this writes nothing (the request is settled again under the lock).
WRITE_ISSUE = (
    """
WITH voucher AS (
    INSERT INTO vouchers (id, district_code, elder_id, kind, month, face_value_fen, balance_fen, status,
                          valid_from, valid_until, issued_at)
    VALUES ($3, $7, $9, 'monthly', $8, $33::bigint, $33::bigint - $4::bigint, 'active', $34, $35, $5)
    ON CONFLICT (elder_id, month, kind) DO NOTHING
    RETURNING id
),
issue AS (
    INSERT INTO journal_entries (district_code, kind, month, redemption_id, created_at, created_by)
    SELECT $7, 'issue', $8, NULL, $5, $21 FROM voucher
    RETURNING id
),
issue_lines AS (
    INSERT INTO journal_lines (entry_id, district_code, account, voucher_id, provider_id, amount_fen)
    SELECT issue.id, $7, l.account, l.voucher_id, NULL, l.amount_fen
    FROM issue, (VALUES ('voucher', $3::uuid, $33::bigint), ('program_issued', NULL::uuid, -$33::bigint))
         AS l(account, voucher_id, amount_fen)
),"""
    + _AFTER_VOUCHER
)


def _uuid(value) -> str | None:
    return str(value) if value is not None else None


def facts_from(
    row, call: RedeemCall, now: datetime, snapshot: ReferenceSnapshot, thresholds: Thresholds
) -> RedemptionFacts:
    entry = snapshot.catalogue.get(call.request.item)
    category = Category(entry.category) if entry else None
    elder = None
    if row["elder_id"] is not None:
        elder = ElderFacts(
            id=str(row["elder_id"]),
            district_code=row["district_code"],
            entitlement=EntitlementFacts(
                status=row["elder_status"],
                suspension_reason=row["suspension_reason"],
                last_voucher_month=row["last_voucher_month"],
                assessed_on=row["assessed_on"],
                disability_allowance_tier=row["disability_allowance_tier"],
                approved_at=row["approved_at"],
            ),
            died_on=row["died_on"],
            suspension=(row["suspension_id"], row["suspended_at"], row["suspended_for"])
            if row["suspension_id"] is not None
            else None,
        )
    month = Month.containing(now)
    monthly = elder is not None and category is not None and voucher_kind_for(category) == "monthly"
    voucher = month_voucher(row, month, elder.entitlement if monthly else None, snapshot)
    provider = None
    if row["provider_kind"] is not None:
        provider = ProviderFacts(
            str(call.provider_id), row["provider_kind"], row["provider_status"], row["agency_organisation"]
        )
    return RedemptionFacts(
        provider=provider,
        elder=elder,
        category=category,
        ref_price_max_fen=entry.ref_price_max_fen if entry else None,
        enrolments=tuple(
            Enrolment(kind, str(call.provider_id), _day(starts), _day(ends))
            for kind, starts, ends in row["enrolments"]
        ),
        voucher=voucher,
        rate=terms_for(snapshot, Month.of(voucher.month)).rate_for(category) if voucher else None,
        valid_months=valid_months(),
        thresholds=thresholds,
    )


def month_voucher(
    row, month: Month, entitlement: EntitlementFacts | None, snapshot: ReferenceSnapshot
) -> VoucherFacts | None:
    """The voucher the row read, else the month's voucher the elder is due now (given their
    ``entitlement``), which the write issues: no gap at midnight before the issue job runs."""
    if row["voucher_id"] is not None:
        return VoucherFacts(
            id=str(row["voucher_id"]),
            month=month.first_day,
            status=row["voucher_status"],
            balance_fen=row["balance_fen"],
            face_value_fen=row["face_value_fen"],
            valid_from=row["valid_from"],
            valid_until=row["valid_until"],
            assessment_agency_id=_uuid(row.get("agency_id")),
            assessed_on=row.get("assessment_day"),
        )
    if entitlement is None or not snapshot.program.includes(month):
        return None
    if not due_at_month_start(entitlement, month, valid_months=valid_months()):
        return None
    face = terms_for(snapshot, month).monthly_cap_fen
    return VoucherFacts(None, month.first_day, "active", face, face, month.starts_at(), month.ends_at())


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


async def read_facts(
    connection: asyncpg.Connection,
    call: RedeemCall,
    now: datetime,
    *,
    token_hash: str,
    kind: str,
    locked: bool = False,
):
    month = Month.containing(now).first_day
    statement = FACTS_LOCKED if locked else FACTS
    return await connection.fetchrow(
        statement, call.provider_id, call.key, token_hash, call.elder_id, month, kind
    )


async def stored(connection: asyncpg.Connection, call: RedeemCall):
    return await connection.fetchrow(STORED, call.provider_id, call.key)


async def write(connection: asyncpg.Connection, call: RedeemCall, plan: WritePlan, now: datetime) -> bool:
    """Apply the plan. False (nothing written) when the voucher was not as read; the key's primary
    key raises asyncpg.UniqueViolationError (nothing written) when another request used it."""
    key_month = Month.containing(now).first_day
    if not plan.accepted:
        await connection.execute(
            ANSWER, call.provider_id, call.key, call.request_hash, plan.status, plan.response, key_month, now
        )
        return True
    r = plan.redemption
    redeem = next(entry for entry in plan.entries if entry.kind == "redeem")
    args = [
        call.provider_id,
        call.key,
        r["voucher_id"],
        r["deduction_fen"],
        now,
        r["id"],
        r["district_code"],
        r["month"],
        r["elder_id"],
        r["item"],
        r["category"],
        r["rate"],
        r["amount_fen"],
        r["ltci_paid_fen"],
        r["eligible_fen"],
        r["self_pay_fen"],
        r["served_at"],
        r["receipt_no"],
        r["warnings"],
        r["evidence_complete"],
        call.actor,
        plan.status,
        plan.response,
        call.request_hash,
        key_month,
        [line.account for line in redeem.lines],
        [line.voucher_id for line in redeem.lines],
        [line.provider_id for line in redeem.lines],
        [line.amount_fen for line in redeem.lines],
        [a["id"] for a in plan.anomalies],
        [a["rule"] for a in plan.anomalies],
        [a["evidence"] for a in plan.anomalies],
    ]
    if plan.voucher_insert is not None:
        v = plan.voucher_insert
        args += [v["face_value_fen"], v["valid_from"], v["valid_until"]]
        return await connection.fetchval(WRITE_ISSUE, *args) == 1
    args.append(plan.balance_read_fen)
    return await connection.fetchval(WRITE_DEBIT, *args) == 1
