"""Secrets: generated once, shown once, stored as SHA-256.

Tokens are 256-bit random values, so a fast hash is enough (no password stretching needed):
the hash only has to make a leaked table useless, and lookups stay one indexed equality.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
