"""Short ids: a batch id shown as its shortest unique prefix (at least 8 hex digits), and any
unique prefix accepted where a batch id is an argument."""

from __future__ import annotations

import os
from collections.abc import Iterable

from app.cli.terminal import Refused
from app.errors import NotFound

MIN_SHORT = 8
_HEX = frozenset("0123456789abcdef")


def _hex(identifier: str) -> str:
    return identifier.replace("-", "").lower()


def _dashed_prefix(identifier: str, digits: int) -> str:
    """The start of ``identifier`` (dashes kept) that holds ``digits`` hex digits."""
    kept: list[str] = []
    count = 0
    for char in identifier:
        if count == digits:
            break
        kept.append(char)
        count += char != "-"
    return "".join(kept)


def short_ids(identifiers: Iterable[str]) -> dict[str, str]:
    """Each id's shortest prefix that no other id shares, at least ``MIN_SHORT`` hex digits."""
    full = list(dict.fromkeys(identifiers))
    ordered = sorted({_hex(identifier) for identifier in full})
    needed: dict[str, int] = {}
    for index, digits in enumerate(ordered):
        neighbours = ordered[max(index - 1, 0) : index] + ordered[index + 1 : index + 2]
        shared = max((len(os.path.commonprefix([digits, other])) for other in neighbours), default=0)
        needed[digits] = max(MIN_SHORT, shared + 1)
    return {identifier: _dashed_prefix(identifier, needed[_hex(identifier)]) for identifier in full}


def match_prefix(prefix: str, identifiers: Iterable[str], what: str) -> str:
    """The one id that starts with ``prefix`` (dashes and case ignored); NOT_FOUND when none
    does, AMBIGUOUS_ID when several do."""
    wanted = _hex(prefix.strip())
    found = [] if not wanted or set(wanted) - _HEX else [i for i in identifiers if _hex(i).startswith(wanted)]
    if not found:
        raise NotFound(f"未找到编号以 {prefix.strip()} 开头的{what}")
    if len(found) > 1:
        shown = "、".join(sorted(short_ids(found).values())[:5])
        raise Refused(
            "AMBIGUOUS_ID", f"编号前缀 {prefix.strip()} 对应 {len(found)} 个{what}({shown}…),请多输入几位"
        )
    return found[0]
