"""What domains above the elder registry hear from it, without the registry importing them.

A death record must flag the services already posted on or after the day of death (issue 12);
the anomaly scan that does so sits above the registry (it reads redemptions), so it subscribes
here when it is imported (the application imports every domain at start-up), and the
registry calls whoever subscribed in the same transaction as the record."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

DeathListener = Callable[..., object]  # (session, elder_id, *, now) -> anything

_death_listeners: list[DeathListener] = []


def on_death_recorded(listener: DeathListener) -> DeathListener:
    """Subscribe ``listener(session, elder_id, now=...)`` to death records (once)."""
    if listener not in _death_listeners:
        _death_listeners.append(listener)
    return listener


def death_recorded(session: Session, elder_id: uuid.UUID, *, now: datetime) -> None:
    for listener in tuple(_death_listeners):
        listener(session, elder_id, now=now)
