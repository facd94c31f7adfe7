"""Point-of-service callers: a provider's API key to its principal, remembered per process.

Every POS request presents its key; looking it up is the first thing the hot path would do. The
mapping is kept here after the first lookup. It needs no invalidation to stay correct: the
redemption's facts read matches the provider row by id *and* key hash, so a rotated key is
refused (and forgotten) on its next use, and the provider's listing status is read there too,
so a suspended provider is refused on its next request.
"""

from __future__ import annotations

import threading

from app.auth.principal import Principal

MAX_REMEMBERED = 100_000  # far more than Beijing's providers; a bound against key spraying

_known: dict[str, Principal] = {}
_lock = threading.Lock()


def remembered(token_hash: str) -> Principal | None:
    return _known.get(token_hash)


def remember(token_hash: str, principal: Principal) -> None:
    with _lock:
        if len(_known) >= MAX_REMEMBERED:
            _known.clear()
        _known[token_hash] = principal


def forget(token_hash: str) -> None:
    with _lock:
        _known.pop(token_hash, None)
