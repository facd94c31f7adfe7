"""Resident ID numbers (居民身份证号码, GB 11643) and credit codes (统一社会信用代码, GB 32100).

Check characters are verified with python-stdnum; masking keeps an ID number out of every
response and log line.
"""

from __future__ import annotations

import re
from datetime import date

from stdnum import exceptions as stdnum_errors
from stdnum import numdb
from stdnum.cn import ric, uscc

# 港澳台居民居住证 numbers start 810000 / 820000 / 830000; stdnum's region list lacks 83.
RESIDENCE_PERMIT_PREFIXES = frozenset({"81", "82", "83"})
# Digits around it end the match, letters do not: "x110105194803129520" is masked too.
_ID_LIKE = re.compile(r"(?<![0-9])([0-9]{6})([0-9]{8})([0-9]{3})([0-9Xx])(?![0-9])")


def normalise_id_number(text: str) -> str | None:
    """The canonical 18-character ID number, or None when it is not a valid one.

    Checked: 17 digits and a check character (ISO 7064 MOD 11-2, via python-stdnum), a real
    birth date, a known province code. Not checked: that the county code
    existed in the birth year, which ``stdnum.cn.ric.validate`` insists on. Numbers were
    assigned from 1984 on where the person was registered then, so an elder born in 1950 in a
    district created in 1983 holds a perfectly valid number that check would refuse.
    """
    candidate = text.strip().upper()
    if len(candidate) != 18 or not (candidate[:17].isascii() and candidate[:17].isdigit()):
        return None
    if candidate[-1] != ric.calc_check_digit(candidate):
        return None
    try:
        birth = ric.get_birth_date(candidate)
    except stdnum_errors.ValidationError:
        return None
    if birth.year < 1880:  # a sanity bound, not a policy date
        return None
    if candidate[:2] not in RESIDENCE_PERMIT_PREFIXES and not any(
        "province" in props for _part, props in numdb.get("cn/loc").info(candidate[:6])
    ):
        return None
    return candidate


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
    return _ID_LIKE.sub(lambda m: m.group(1) + "********" + m.group(3) + m.group(4), text)


def normalise_credit_code(text: str) -> str | None:
    """The canonical 18-character unified social credit code, or None when invalid."""
    candidate = text.strip().upper()
    if len(candidate) != 18:
        return None
    try:
        return uscc.validate(candidate)
    except stdnum_errors.ValidationError:
        return None
