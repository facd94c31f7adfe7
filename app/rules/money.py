"""Money is integer fen. This module holds the one rounding function the service uses."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def round_half_up(value: Decimal) -> int:
    """Round an exact decimal amount of fen to a whole fen, halves away from zero.

    Only ``Decimal`` (or ``int``) is accepted: a float has already lost the half fen.
    """
    if isinstance(value, float) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"round_half_up takes Decimal or int, not {type(value).__name__}")
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan_text(fen: int) -> str:
    """Fen as yuan with two decimals, for exports and Chinese text ("1234.50")."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
