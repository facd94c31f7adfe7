"""The SQL pieces the anomaly scan builds its statements from, the same on PostgreSQL and SQLite.

Local-time conditions compare stored UTC instants with boundaries computed in Python
(app/rules/anomalies.py); the only time-zone work in SQL is the Beijing day of an instant.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Date, Integer, String, cast, extract, func, literal, literal_column
from sqlalchemy.orm import Session


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def hex_id(session: Session, column):
    """A UUID as 32 hex digits: SQLite stores it so, and Python's ``uuid.hex`` (the in-line
    check) writes the same subject key."""
    if _postgres(session):
        return func.replace(cast(column, String), "-", "", type_=String)
    return cast(column, String)


def epoch(session: Session, column):
    """Seconds since 1970 of a stored instant (not a time-zone conversion: the instant is UTC)."""
    if _postgres(session):
        return cast(extract("epoch", column), BigInteger)
    return cast(func.strftime("%s", column), Integer)


def json_object(session: Session, values: dict):
    """A JSON object built in SQL from constant keys (``json_build_object`` / ``json_object``)."""
    build = func.json_build_object if _postgres(session) else func.json_object
    args = []
    for key, value in values.items():
        args += [literal_column(f"'{key}'"), value]
    return build(*args)


def text(value: str):
    return literal(value, String)


def integer(value: int):
    return literal(value, Integer)


def beijing_date(session: Session, column):
    """The Beijing calendar day of a stored instant. PostgreSQL converts with the zone; SQLite adds
    the fixed +8 hours, exact since China has kept UTC+8 without daylight saving since 1991."""
    if _postgres(session):
        return cast(func.timezone("Asia/Shanghai", column), Date)
    return func.date(column, "+8 hours")
