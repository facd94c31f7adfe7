"""The ceiling beside the project (bench/redeem --ceiling, the default): the least a redemption-like
request can do here. The same HTTP body and headers as POST /api/v1/redemptions, the same
server (uvicorn, 2 workers, FastAPI, asyncpg), one PostgreSQL round trip per request: a guarded
balance UPDATE of the elder's voucher and an INSERT of a log row in one statement. No rules, no
journal, no idempotency: only what every handler of this stack pays, so that the distance
between it and the project is the project's own work."""

from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager
from datetime import date

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

DSN = os.environ["BENCH_CEILING_DSN"]
MONTH = date.fromisoformat(os.environ["BENCH_CEILING_MONTH"])
ONE_ROUND_TRIP = """
WITH v AS (
    UPDATE vouchers SET balance_fen = balance_fen - $2
    WHERE elder_id = $1 AND month = $3 AND kind = 'monthly' AND balance_fen >= $2
    RETURNING id, balance_fen
)
INSERT INTO bench_ceiling_log (voucher_id, amount_fen, key) SELECT id, $2, $4 FROM v
RETURNING (SELECT balance_fen FROM v)
"""


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.pool = await asyncpg.create_pool(DSN, min_size=4, max_size=4)
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/api/v1/redemptions")
async def redeem(request: Request) -> JSONResponse:
    body = json.loads(await request.body())
    amount = max(1, body["amount_fen"] // 2)
    async with request.app.state.pool.acquire() as connection:
        balance = await connection.fetchval(
            ONE_ROUND_TRIP, body["elder_id"], amount, MONTH, request.headers.get("idempotency-key")
        )
    return JSONResponse({"deduction_fen": amount, "voucher_balance_fen": balance}, status_code=201)
