"""POST /redemptions/{id}/reverse: the redemption and its voucher read under the voucher's row
lock, one pure decision (app/rules/redemption.decide_reversal), one write, in one short
transaction. On a SQLAlchemy session (SQLite, in-process callers) or on asyncpg (PostgreSQL
under the web server), the same steps."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from app import clock
from app.auth import terminals
from app.auth.principal import Principal
from app.db import session_scope
from app.errors import InvalidToken, NotFound, error_for
from app.ledger import service as ledger
from app.models.redemptions import Redemption
from app.models.settlements import SettlementItem
from app.models.vouchers import Voucher
from app.redemptions.lookups import get_visible_redemption
from app.rules.ledger import reverse_lines
from app.rules.redemption import Refusal, ReversalFacts, Reversed, decide_reversal


def _answer(redemption_id: uuid.UUID, new_balance_fen: int) -> dict:
    return {"id": str(redemption_id), "status": "reversed", "voucher_balance_fen": new_balance_fen}


# --- on a SQLAlchemy session ----------------------------------------------------------------------
def reverse(session: Session, caller: Principal, redemption: Redemption) -> dict:
    """Undo ``redemption`` (the caller's own, found by the router) exactly once."""
    now = clock.now()
    voucher = session.execute(
        select(Voucher.status, Voucher.valid_until, Voucher.balance_fen, Voucher.face_value_fen)
        .where(Voucher.id == redemption.voucher_id)
        .with_for_update()
    ).one()
    session.refresh(redemption)  # its status as of the lock: a concurrent reversal committed first
    facts = ReversalFacts(
        redemption_status=redemption.status,
        in_settlement=bool(
            session.scalar(select(exists().where(SettlementItem.redemption_id == redemption.id)))
        ),
        deduction_fen=redemption.deduction_fen,
        voucher_status=voucher.status,
        voucher_valid_until=voucher.valid_until,
        balance_fen=voucher.balance_fen,
        face_value_fen=voucher.face_value_fen,
    )
    decision = decide_reversal(facts, now)
    if isinstance(decision, Refusal):
        raise error_for(decision)
    session.execute(
        update(Redemption)
        .where(Redemption.id == redemption.id, Redemption.status == "posted")
        .values(status="reversed", reversed_at=now)
    )
    session.execute(
        update(Voucher)
        .where(Voucher.id == redemption.voucher_id, Voucher.balance_fen == facts.balance_fen)
        .values(balance_fen=decision.new_balance_fen)
    )
    ledger.post_entry(
        session,
        kind="reverse",
        district_code=redemption.district_code,
        month=redemption.month,
        lines=reverse_lines(redemption.voucher_id, redemption.provider_id, redemption.deduction_fen),
        created_by=caller.actor,
        redemption_id=redemption.id,
    )
    session.refresh(redemption)
    return _answer(redemption.id, decision.new_balance_fen)


def reverse_in_session(caller: Principal, redemption_id: str) -> dict:
    """:func:`reverse` in a transaction of its own (the SQLite web path, on a worker thread)."""
    with session_scope() as session:
        return reverse(session, caller, get_visible_redemption(session, caller, redemption_id))


# --- on asyncpg -----------------------------------------------------------------------------------
# $1 redemption, $2 the calling provider, $3 its key hash. Another provider's redemption (or an
# unknown one) is not found. Both rows are locked: a concurrent reversal (or redemption) that
# committed while this waited is then read as it left them, the redemption's status included.
FACTS = """
SELECT r.status, r.deduction_fen, r.district_code, r.month, r.voucher_id,
       EXISTS (SELECT FROM settlement_items s WHERE s.redemption_id = r.id) AS in_settlement,
       v.status AS voucher_status, v.valid_until, v.balance_fen, v.face_value_fen,
       EXISTS (SELECT FROM providers p WHERE p.id = $2 AND p.api_key_hash = $3) AS key_valid
FROM redemptions r JOIN vouchers v ON v.id = r.voucher_id
WHERE r.id = $1 AND r.provider_id = $2
FOR UPDATE OF v, r
"""

# $1 redemption, $2 provider, $3 voucher, $4 deduction, $5 now, $6 new balance, $7 district,
# $8 month, $9 actor.
WRITE = """
WITH reversed AS (
    UPDATE redemptions SET status = 'reversed', reversed_at = $5 WHERE id = $1 AND status = 'posted'
    RETURNING id
),
voucher AS (
    UPDATE vouchers SET balance_fen = $6 WHERE id = $3 AND EXISTS (SELECT FROM reversed)
    RETURNING id
),
entry AS (
    INSERT INTO journal_entries (district_code, kind, month, redemption_id, created_at, created_by)
    SELECT $7, 'reverse', $8, $1, $5, $9 FROM voucher
    RETURNING id
)
INSERT INTO journal_lines (entry_id, district_code, account, voucher_id, provider_id, amount_fen)
SELECT entry.id, $7, l.account, l.voucher_id, l.provider_id, l.amount_fen
FROM entry, (VALUES ('provider_payable', NULL::uuid, $2::uuid, -$4::bigint), ('voucher', $3::uuid, NULL::uuid, $4::bigint))
     AS l(account, voucher_id, provider_id, amount_fen)
"""


async def reverse_on_postgres(
    pool: asyncpg.Pool, caller: Principal, redemption_id: uuid.UUID | None, *, token_hash: str
) -> dict:
    now = await clock.now_async()
    async with pool.acquire() as connection, connection.transaction():
        row = (
            await connection.fetchrow(FACTS, redemption_id, caller.provider_id, token_hash)
            if redemption_id
            else None
        )
        if row is None:
            raise NotFound("未找到该笔核销")
        if not row["key_valid"]:
            terminals.forget(token_hash)
            raise InvalidToken()
        decision = decide_reversal(
            ReversalFacts(
                redemption_status=row["status"],
                in_settlement=row["in_settlement"],
                deduction_fen=row["deduction_fen"],
                voucher_status=row["voucher_status"],
                voucher_valid_until=row["valid_until"],
                balance_fen=row["balance_fen"],
                face_value_fen=row["face_value_fen"],
            ),
            now,
        )
        if isinstance(decision, Refusal):
            raise error_for(decision)
        await _write(connection, caller, row, decision, redemption_id, now)
    return _answer(redemption_id, decision.new_balance_fen)


async def _write(
    connection, caller: Principal, row, decision: Reversed, redemption_id: uuid.UUID, now: datetime
):
    await connection.execute(
        WRITE,
        redemption_id,
        caller.provider_id,
        row["voucher_id"],
        row["deduction_fen"],
        now,
        decision.new_balance_fen,
        row["district_code"],
        row["month"],
        caller.actor,
    )
