"""Ids are strings in the API and UUIDs inside; a malformed id is simply an unknown one."""

from __future__ import annotations

import uuid


def parse_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return None
