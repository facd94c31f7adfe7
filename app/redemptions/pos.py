"""POST /pos/lookup on PostgreSQL through asyncpg: the elder and this month's voucher in one
read, the answer from app/rules/redemption.answer_lookup, and, when the month-start job has not
reached the elder yet, the voucher issued in one write (no gap at midnight)."""

from __future__ import annotations

import uuid

import asyncpg

from app import clock
from app.auth import terminals
from app.auth.principal import Principal
from app.elders.errors import ElderNotFound
from app.errors import InvalidToken
from app.redemptions.pg import month_voucher
from app.redemptions.schemas import pos_lookup_body
from app.reference.service import ReferenceSnapshot
from app.rules.entitlement import EntitlementFacts
from app.rules.identity import normalise_id_number
from app.rules.months import Month
from app.rules.redemption import VoucherFacts, answer_lookup
from app.vouchers.entitlement import valid_months
from app.vouchers.service import effective_status

# $1 ID number, $2 the calling provider, $3 its key hash, $4 the current month.
FACTS = """
SELECT e.id, e.name, e.district_code, e.status, e.suspension_reason, e.last_voucher_month, e.assessed_on,
       e.disability_allowance_tier, e.approved_at,
       v.id AS voucher_id, v.status AS voucher_status, v.balance_fen, v.face_value_fen, v.valid_from, v.valid_until,
       EXISTS (SELECT FROM providers p WHERE p.id = $2 AND p.api_key_hash = $3) AS key_valid
FROM elders e LEFT JOIN vouchers v ON v.elder_id = e.id AND v.month = $4 AND v.kind = 'monthly'
WHERE e.id_number = $1
"""

# The month's voucher with its issue entry; nothing when the job (or a redemption) issued it
# meanwhile. $1 voucher, $2 district, $3 elder, $4 month, $5 face value, $6-$7 validity, $8 now,
# $9 actor.
ISSUE = """
WITH voucher AS (
    INSERT INTO vouchers (id, district_code, elder_id, kind, month, face_value_fen, balance_fen, status,
                          valid_from, valid_until, issued_at)
    VALUES ($1, $2, $3, 'monthly', $4, $5::bigint, $5::bigint, 'active', $6, $7, $8)
    ON CONFLICT (elder_id, month, kind) DO NOTHING
    RETURNING id
),
entry AS (
    INSERT INTO journal_entries (district_code, kind, month, redemption_id, created_at, created_by)
    SELECT $2, 'issue', $4, NULL, $8, $9 FROM voucher
    RETURNING id
)
INSERT INTO journal_lines (entry_id, district_code, account, voucher_id, provider_id, amount_fen)
SELECT entry.id, $2, l.account, l.voucher_id, NULL, l.amount_fen
FROM entry, (VALUES ('voucher', $1::uuid, $5::bigint), ('program_issued', NULL::uuid, -$5::bigint))
     AS l(account, voucher_id, amount_fen)
"""


async def lookup_on_postgres(
    pool: asyncpg.Pool, caller: Principal, id_number: str, *, token_hash: str, snapshot: ReferenceSnapshot
) -> dict:
    normalised = normalise_id_number(id_number)
    now = await clock.now_async()
    month = Month.containing(now)
    async with pool.acquire() as connection:
        for _attempt in range(2):  # a second read only when a concurrent issue won the insert
            row = await connection.fetchrow(
                FACTS, normalised, caller.provider_id, token_hash, month.first_day
            )
            if row is None:
                raise ElderNotFound("未找到该身份证号码对应的老年人")
            if not row["key_valid"]:
                terminals.forget(token_hash)
                raise InvalidToken()
            entitlement = EntitlementFacts(
                row["status"],
                row["suspension_reason"],
                row["last_voucher_month"],
                row["assessed_on"],
                row["disability_allowance_tier"],
                row["approved_at"],
            )
            voucher = month_voucher(row, month, entitlement, snapshot)
            answer = answer_lookup(entitlement, voucher, now, valid_months=valid_months())
            if not answer.issue:
                break
            issued = uuid.uuid4()
            status = await connection.execute(
                ISSUE,
                issued,
                row["district_code"],
                row["id"],
                month.first_day,
                voucher.face_value_fen,
                voucher.valid_from,
                voucher.valid_until,
                now,
                caller.actor,
            )
            if status.endswith(" 2"):  # both journal lines written: the voucher is ours
                answer = answer_lookup(
                    entitlement, _with_id(voucher, issued), now, valid_months=valid_months()
                )
                break
    voucher = _voucher_out(answer.voucher, row["id"], month, now) if answer.voucher else None
    return pos_lookup_body(str(row["id"]), row["name"], answer.refusal, voucher)


def _with_id(voucher: VoucherFacts, voucher_id: uuid.UUID) -> VoucherFacts:
    return VoucherFacts(
        str(voucher_id),
        voucher.month,
        voucher.status,
        voucher.balance_fen,
        voucher.face_value_fen,
        voucher.valid_from,
        voucher.valid_until,
    )


def _voucher_out(voucher: VoucherFacts, elder_id, month: Month, now) -> dict:
    return {
        "id": voucher.id,
        "elder_id": str(elder_id),
        "kind": "monthly",
        "month": str(month),
        "face_value_fen": voucher.face_value_fen,
        "balance_fen": voucher.balance_fen,
        "status": effective_status(voucher, now),
        "valid_from": voucher.valid_from,
        "valid_until": voucher.valid_until,
    }
