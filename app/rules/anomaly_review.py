"""Resolving an anomaly warning (四(二) 及时核实处理异常交易预警): a district officer confirms it
(核查属实) or dismisses it (核查排除), with a note saying what was checked, once.

Pure: the warning's status, the officer and ``now`` are arguments; a refusal is returned as the
API's error code, never raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.rules.refusals import Refusal

OPEN = "open"
RESOLUTIONS = ("confirmed", "dismissed")


@dataclass(frozen=True)
class Resolved:
    """What the warning becomes."""

    status: str
    resolved_at: datetime
    resolved_by: str
    note: str


def decide_resolution(
    status: str, resolution: str, *, note: str, actor: str, now: datetime
) -> Refusal | Resolved:
    """ANOMALY_ALREADY_RESOLVED unless the warning is still open; else it takes ``resolution``."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"a warning is confirmed or dismissed, not {resolution!r}")
    if status != OPEN:
        return Refusal("ANOMALY_ALREADY_RESOLVED", f"该异常预警已于此前处理为 {status}")
    return Resolved(resolution, now, actor, note)
