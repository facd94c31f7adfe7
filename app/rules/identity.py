"""Resident ID numbers (居民身份证号码, GB 11643) and credit codes (统一社会信用代码, GB 32100).

Check characters are verified with python-stdnum; masking keeps an ID number out of every
response and log line.
"""

from __future__ import annotations

import re
from datetime import date

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3})([0-9Xx])(?![0-9A-Za-z])")


def normalise_id_number(text: str) -> str | None:
    """The canonical 18-character ID number, or None when it is not a valid one."""
    candidate = text.strip().upper()
    if len(candidate) != 18:
        return None
    try:
        return ric.validate(candidate)
    except stdnum_errors.ValidationError:
        return None


def birth_date_of(id_number: str) -> date:
    return ric.get_birth_date(id_number)


def mask_id_number(id_number: str) -> str:
    """Keep the region code and the last four characters: ``110105********123X``."""
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_name(name: str) -> str:
    """Keep the surname's first character: 张三 -> 张*, 欧阳娜娜 -> 欧***."""
    return name[:1] + "*" * max(len(name) - 1, 1)


def mask_id_numbers_in_text(text: str) -> str:
    """Mask anything in free text that looks like an 18-character ID number (log hygiene)."""
    return _ID_LIKE.sub(
        lambda m: m.group(1) + "********" + m.group(3) + m.group(4), text
    )


def normalise_credit_code(text: str) -> str | None:
    """The canonical 18-character unified social credit code, or None when invalid."""
    candidate = text.strip().upper()
    if len(candidate) != 18:
        return None
    try:
        return uscc.validate(candidate)
    except stdnum_errors.ValidationError:
        return None
