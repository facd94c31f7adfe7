"""The only place that reads the time. All policy time is Asia/Shanghai.

With ``VOUCHER_SANDBOX_CLOCK=true`` a frozen instant stored in the database (table
``sandbox_clock``) replaces the real time for every process of the deployment, so tests and
rehearsals move through month ends and deadlines without sleeping.

:func:`pinned` is a process-local override for the demo loader only (app/demo/loader.py): it
makes the services believe it is another instant, in this thread or task alone, so that the
demo's previous month is written by the same code paths as a real one. Nothing else uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime

import anyio
from sqlalchemy import select

from app.config import get_settings
from app.db import get_side_engine
from app.models.sandbox import SandboxClock
from app.rules.months import BEIJING, Month

# The instant :func:`pinned` sets; None outside it. A ContextVar, so it never leaks into another
# thread, request or asyncio task.
_pinned: ContextVar[datetime | None] = ContextVar("voucher_clock_pinned", default=None)


@contextmanager
def pinned(instant: datetime) -> Iterator[datetime]:
    """Make :func:`now` answer ``instant`` (aware) inside the ``with`` block, before the sandbox
    clock and the real time. For the demo loader only, which writes last month's data through
    the real services (issue, redeem) while they believe it is last month. Nests; restores the
    previous value on exit."""
    if instant.tzinfo is None:
        raise ValueError("pinned() needs an aware datetime")
    token = _pinned.set(instant.astimezone(BEIJING))
    try:
        yield instant
    finally:
        _pinned.reset(token)


def _frozen_instant() -> datetime | None:
    with get_side_engine().connect() as connection:
        return connection.execute(
            select(SandboxClock.frozen_at).where(SandboxClock.id == 1)
        ).scalar_one_or_none()


def system_now() -> datetime:
    return datetime.now(UTC).astimezone(BEIJING)


def now() -> datetime:
    """The service's notion of now, aware, in Asia/Shanghai: the demo loader's pinned instant,
    else the sandbox clock when enabled and set, else the real time."""
    instant = _pinned.get()
    if instant is not None:
        return instant
    if get_settings().sandbox_clock:
        frozen = _frozen_instant()
        if frozen is not None:
            return frozen.astimezone(BEIJING)
    return system_now()


async def now_async() -> datetime:
    """:func:`now` for async handlers: the sandbox clock's read (a database query, tests and
    rehearsals only) runs on a worker thread; otherwise no thread is involved."""
    if _pinned.get() is None and get_settings().sandbox_clock:
        return await anyio.to_thread.run_sync(now)
    return now()


def today() -> date:
    return now().date()


def current_month() -> Month:
    return Month.containing(now())
