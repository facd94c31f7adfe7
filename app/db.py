"""Engine, sessions and the few dialect differences, all in one place.

Sessions commit once, at the edge: the request dependency (``app.deps``), the CLI and the jobs
use :func:`session_scope`; services only flush.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Numeric,
    String,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from app.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware instant, stored as UTC on every dialect and read back aware.

    SQLite has no time zone type; storing naive UTC and re-attaching UTC on load keeps both
    dialects identical. Naive datetimes are refused: they are a bug, not a local time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """A rate or share as an exact decimal: NUMERIC on PostgreSQL, text on SQLite.

    SQLite's NUMERIC goes through binary floating point, so there it is stored as a string.
    """

    impl = Numeric(8, 6)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(20))
        return dialect.type_descriptor(Numeric(8, 6, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError("ExactDecimal takes Decimal")
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value) if isinstance(value, str) else Decimal(value)


# BIGINT on PostgreSQL, INTEGER on SQLite so that it is the rowid alias and autoincrements.
BigIntegerPK = BigInteger().with_variant(Integer(), "sqlite")


def sql_in(column: str, values) -> str:
    """The SQL of an enum CHECK constraint: ``kind IN ('a', 'b')``."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def new_id() -> uuid.UUID:
    return uuid.uuid4()


# Larger than the number of requests let in at once (app.main.InFlightLimit): a request that
# has a worker thread never waits for a connection.
POOL_SIZE = 24


def make_engine(url: str, *, sqlite_foreign_keys: bool = True, **kwargs) -> Engine:
    """An engine with the service's connection settings.

    ``hide_parameters`` keeps bound values (ID numbers, names) out of exception text and logs.
    ``sqlite_foreign_keys=False`` is for migrations only (see :func:`migration_engine`).
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    options: dict = {"hide_parameters": True, "future": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
        if "poolclass" not in kwargs:
            options.update(pool_size=POOL_SIZE, max_overflow=0)
    else:
        # No pre-ping: it costs a round trip on every request. A connection found dead is
        # invalidated by SQLAlchemy and the request is retried (app.routing).
        if "poolclass" not in kwargs:
            options.update(pool_size=POOL_SIZE, max_overflow=10)
    options.update(kwargs)
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, foreign_keys=sqlite_foreign_keys)
    return engine


def migration_engine(url: str) -> Engine:
    """The engine Alembic runs on. On SQLite foreign keys are off while migrations run: a batch
    migration rebuilds a table (copy, drop, rename), and dropping a table that other rows
    reference would fail. :func:`check_foreign_keys` checks them all once at the end instead."""
    return make_engine(url, sqlite_foreign_keys=False, poolclass=NullPool)


def check_foreign_keys(connection) -> None:
    """After migrating SQLite with foreign keys off: refuse to commit if any row lost its parent."""
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration left rows without their parent (table, rowid, parent): {broken[:5]}")


def _configure_sqlite(engine: Engine, *, foreign_keys: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event, not the driver, open transactions (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # A writing transaction takes SQLite's write lock up front (BEGIN IMMEDIATE): two
        # deferred transactions that both read and then write would deadlock on upgrade.
        if connection.get_execution_options().get("sqlite_write", False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def get_side_engine() -> Engine:
    """An engine of its own for short reads made while a request already holds a connection
    (the sandbox clock): it never competes with requests for the main pool. A small pool of its
    own, because the clock is read several times per request and a new PostgreSQL connection
    costs milliseconds each time; overflow, so a burst never waits."""
    return make_engine(get_settings().database_url, pool_size=2, max_overflow=30)


def reset_engine() -> None:
    """Forget the cached engines (tests and the CLI switch databases)."""
    for cached in (get_engine, get_side_engine):
        if cached.cache_info().currsize:
            cached().dispose()
        cached.cache_clear()


def make_session(*, write: bool, engine: Engine | None = None) -> Session:
    engine = engine or get_engine()
    bind = engine.execution_options(sqlite_write=True) if write else engine
    return Session(bind=bind, expire_on_commit=False, autoflush=False)


@contextmanager
def session_scope(*, write: bool = True, engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: commit when the block ends normally, roll back on any exception. A
    session marked ``abandoned`` (a request retry gave up on it, app.routing) is only closed: its
    transaction already failed."""
    session = make_session(write=write, engine=engine)
    try:
        yield session
        if not session.info.get("abandoned"):
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def sql_random_uuid(session: Session):
    """A new random UUID computed by the database, for set-based inserts."""
    if session.get_bind().dialect.name == "postgresql":
        return func.gen_random_uuid()
    # SQLite stores UUIDs as 32 hex characters.
    return func.lower(func.hex(func.randomblob(16)))


def dialect_insert(session: Session):
    """``insert`` of the session's dialect, for ``on_conflict_do_nothing``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert
    return sqlite_insert


def lock_for_transaction(session: Session, name: str) -> None:
    """Serialise one kind of work across processes until the transaction ends.

    PostgreSQL: a transaction-level advisory lock. SQLite: writing transactions already hold
    the database's write lock (BEGIN IMMEDIATE), so there is nothing more to take.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(name, 0))))
