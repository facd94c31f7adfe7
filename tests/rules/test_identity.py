"""Table tests for app.rules.identity: ID numbers (GB 11643), credit codes (GB 32100), masking."""

from __future__ import annotations

import re
from datetime import date

import pytest
from stdnum.cn import ric, uscc

from app.rules.identity import (
    birth_date_of,
    mask_id_number,
    mask_id_numbers_in_text,
    mask_name,
    normalise_credit_code,
    normalise_id_number,
)


def make_id(body17: str) -> str:
    """A valid ID number from its first 17 digits (ric wants a placeholder check character)."""
    assert len(body17) == 17
    return body17 + ric.calc_check_digit(body17 + "0")


def make_uscc(body17: str) -> str:
    assert len(body17) == 17
    return body17 + uscc.calc_check_digit(body17)


# Known-valid literals (computed once with the helpers above, then frozen here so a change in
# the checksum code or in python-stdnum cannot silently move both sides of an assertion).
ID_X = "11010519491231002X"  # 朝阳区, born 1949-12-31, check character X
ID_LEAP = "110105196402290013"  # 朝阳区, born 1964-02-29
ID_SHANGHAI = "310104195510101239"  # 上海徐汇, born 1955-10-10
ID_HAIDIAN = "110108196603010419"  # 海淀区, born 1966-03-01
ID_XICHENG = "110102195809090052"  # 西城区, born 1958-09-09
ID_STDNUM_DOC = "360426199101010071"  # python-stdnum's own doctest example


@pytest.mark.parametrize(
    ("body17", "literal"),
    [
        ("11010519491231002", ID_X),
        ("11010519640229001", ID_LEAP),
        ("31010419551010123", ID_SHANGHAI),
        ("11010819660301041", ID_HAIDIAN),
        ("11010219580909005", ID_XICHENG),
    ],
    ids=["X", "leap", "shanghai", "haidian", "xicheng"],
)
def test_helper_agrees_with_frozen_literals(body17: str, literal: str) -> None:
    assert make_id(body17) == literal


# --- normalise_id_number -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(ID_X, ID_X, id="valid-check-X"),
        pytest.param(ID_LEAP, ID_LEAP, id="valid-feb29-birth"),
        pytest.param(ID_SHANGHAI, ID_SHANGHAI, id="valid-digit-check-shanghai"),
        pytest.param(ID_HAIDIAN, ID_HAIDIAN, id="valid-digit-check-haidian"),
        pytest.param(ID_XICHENG, ID_XICHENG, id="valid-check-2"),
        pytest.param(ID_STDNUM_DOC, ID_STDNUM_DOC, id="valid-stdnum-doc-example"),
        pytest.param(make_id("11010519500101001"), make_id("11010519500101001"), id="valid-computed"),
        pytest.param("11010519491231002x", ID_X, id="lowercase-x-upper-cased"),
        pytest.param("  11010519491231002X  ", ID_X, id="spaces-trimmed"),
        pytest.param("\t11010519491231002x\n", ID_X, id="tab-newline-trimmed-and-upper"),
        pytest.param("\u300011010519491231002X", ID_X, id="ideographic-space-trimmed"),
    ],
)
def test_normalise_id_number_valid(text: str, expected: str) -> None:
    assert normalise_id_number(text) == expected


def _wrong_check(number: str) -> str:
    right = number[-1]
    return number[:-1] + ("0" if right != "0" else "1")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(_wrong_check(ID_X), id="wrong-check-instead-of-X"),
        pytest.param(_wrong_check(ID_SHANGHAI), id="wrong-check-digit"),
        pytest.param(ID_SHANGHAI[:-1] + "X", id="X-where-digit-belongs"),
        pytest.param("110105194912310021", id="digit-where-X-belongs"),
        pytest.param(ID_X[:9] + "2" + ID_X[10:], id="one-body-digit-changed"),
        pytest.param(ID_X[:17], id="17-chars"),
        pytest.param(ID_X + "1", id="19-chars"),
        pytest.param(ID_X[:15], id="15-chars-old-format"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param(make_id("11010519500230001"), id="impossible-date-19500230"),
        pytest.param(make_id("11010519501301001"), id="impossible-month-13"),
        pytest.param(make_id("11010519500000001"), id="month-00-day-00"),
        pytest.param(make_id("11010519490229001"), id="feb29-in-common-year-1949"),
        pytest.param("11010519491231A02X", id="letter-in-sequence"),
        pytest.param("1101051949123100XX", id="X-in-body"),
        pytest.param("11010A19491231002X", id="letter-in-region"),
        pytest.param("110105-9491231002X", id="dash-in-body"),
        pytest.param("110105 9491231002X", id="space-in-body"),
        pytest.param(make_id("00000019500101001"), id="unknown-region-000000"),
        pytest.param(make_id("99000019500101001"), id="unknown-province-99"),
    ],
)
def test_normalise_id_number_invalid(text: str) -> None:
    assert normalise_id_number(text) is None


def test_normalise_id_number_accepts_a_county_code_younger_than_the_holder() -> None:
    # Module docstring: stdnum's "county existed in the birth year" check is deliberately not
    # applied. 110119 延庆区 exists since 2015; an elder born there in 1950 is a real case.
    number = make_id("11011919500101001")
    assert number == "110119195001010010"
    assert not ric.is_valid(number)  # stdnum alone would refuse it
    assert normalise_id_number(number) == number


# Non-ASCII digits. ``str.isdigit`` and ``int()`` accept them, python-stdnum's own checks do not.
# A "canonical" ID number must be 18 ASCII characters: the function may either refuse such input
# (None) or fold it to ASCII, but it must neither return non-ASCII digits nor raise.
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("110105１９49１２３１002X", id="fullwidth-digits-in-birth-date"),
        pytest.param("１１０１０５１９４９１２３１００２X", id="all-fullwidth"),
        pytest.param("110105194912310²2X", id="superscript-two-in-body"),
        pytest.param("1101051949123100٢X", id="arabic-indic-digit-in-body"),
    ],
)
def test_normalise_id_number_non_ascii_digits(text: str) -> None:
    result = normalise_id_number(text)
    assert result in (None, ID_X)


# --- birth_date_of -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        pytest.param(ID_X, date(1949, 12, 31), id="1949-12-31"),
        pytest.param(ID_LEAP, date(1964, 2, 29), id="1964-02-29"),
        pytest.param(ID_SHANGHAI, date(1955, 10, 10), id="1955-10-10"),
        pytest.param(ID_HAIDIAN, date(1966, 3, 1), id="1966-03-01"),
        pytest.param(ID_STDNUM_DOC, date(1991, 1, 1), id="1991-01-01"),
    ],
)
def test_birth_date_of(number: str, expected: date) -> None:
    assert birth_date_of(number) == expected


# --- mask_id_number ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        pytest.param(ID_X, "110105********002X", id="X"),
        pytest.param(ID_LEAP, "110105********0013", id="leap"),
        pytest.param(ID_SHANGHAI, "310104********1239", id="shanghai"),
        pytest.param(ID_XICHENG, "110102********0052", id="xicheng"),
    ],
)
def test_mask_id_number(number: str, expected: str) -> None:
    masked = mask_id_number(number)
    assert masked == expected
    assert len(masked) == 18
    assert re.fullmatch(r"\d{6}\*{8}\d{3}[0-9X]", masked)
    assert masked[:6] == number[:6] and masked[-4:] == number[-4:]
    birth = number[6:14]
    assert birth not in masked
    assert birth[:4] not in masked[6:14]  # not even the birth year survives in the middle


# --- mask_name ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("张三", "张*", id="two-chars"),
        pytest.param("张", "张*", id="single-char-still-masked"),
        pytest.param("李小明", "李**", id="three-chars"),
        pytest.param("欧阳娜娜", "欧***", id="compound-surname"),
        pytest.param("阿卜杜热合曼", "阿*****", id="six-chars"),
    ],
)
def test_mask_name(name: str, expected: str) -> None:
    assert mask_name(name) == expected


# --- mask_id_numbers_in_text -------------------------------------------------------------------

UUID = "3f2b8c1e-9d4a-4c6b-8e2f-1a2b3c4d5e6f"
UUID_DIGITS = "12345678-1234-1234-1234-123456789012"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(f"elder {ID_X} registered", "elder 110105********002X registered", id="in-sentence-X"),
        pytest.param(
            "elder 11010519491231002x registered",
            "elder 110105********002x registered",
            id="lowercase-x-masked-kept-lowercase",
        ),
        pytest.param(ID_SHANGHAI, "310104********1239", id="whole-text"),
        pytest.param(f"身份证号{ID_LEAP}已登记", "身份证号110105********0013已登记", id="between-chinese"),
        pytest.param(f'{{"id_number": "{ID_X}"}}', '{"id_number": "110105********002X"}', id="json"),
        pytest.param(f"id={ID_X}&x=1", "id=110105********002X&x=1", id="query-string"),
        pytest.param(f"elder_{ID_X}", "elder_110105********002X", id="after-underscore"),
        pytest.param(f"{ID_X},{ID_SHANGHAI}", "110105********002X,310104********1239", id="two-ids"),
        # Looks like an ID (18 digits) even if the check character is wrong: masked anyway.
        pytest.param("110105194912310021", "110105********0021", id="invalid-check-still-masked"),
        pytest.param("n=12345678901234567", "n=12345678901234567", id="17-digits-left-alone"),
        pytest.param("n=1234567890123456789", "n=1234567890123456789", id="19-digits-left-alone"),
        pytest.param(f"{ID_X}1", f"{ID_X}1", id="id-plus-digit-19-chars-left-alone"),
        # Letters around an ID-shaped run do not protect it (issue 12 item 9: never a full ID in a
        # log line): the 18 digits before an X, or after a letter, are masked too.
        pytest.param("110105194912310021X", "110105********0021X", id="18-digits-plus-X-masked"),
        pytest.param(f"A{ID_SHANGHAI}", "A310104********1239", id="part-of-alphanumeric-token-masked"),
        pytest.param(f"request {UUID} done", f"request {UUID} done", id="uuid-left-alone"),
        pytest.param(UUID_DIGITS, UUID_DIGITS, id="all-digit-uuid-left-alone"),
        pytest.param(UUID.replace("-", ""), UUID.replace("-", ""), id="uuid-hex-left-alone"),
        pytest.param("amount 1234567890 fen", "amount 1234567890 fen", id="short-number"),
        pytest.param("", "", id="empty"),
    ],
)
def test_mask_id_numbers_in_text(text: str, expected: str) -> None:
    assert mask_id_numbers_in_text(text) == expected


@pytest.mark.parametrize("number", [ID_X, ID_LEAP, ID_SHANGHAI, ID_HAIDIAN, ID_XICHENG])
def test_text_masking_matches_mask_id_number(number: str) -> None:
    assert mask_id_numbers_in_text(number) == mask_id_number(number)
    assert number[6:14] not in mask_id_numbers_in_text(f"x {number} y")


# --- normalise_credit_code ---------------------------------------------------------------------

USCC_DOC = "91110000600037341L"  # python-stdnum's doctest example
USCC_SH = "91310000MA1FL1234Q"  # computed with make_uscc("91310000MA1FL1234"), frozen
USCC_PUBLIC = "12100000400010398P"  # 事业单位 (1-2) format, computed and frozen


@pytest.mark.parametrize(
    ("body17", "literal"),
    [("91110000600037341", USCC_DOC), ("91310000MA1FL1234", USCC_SH), ("12100000400010398", USCC_PUBLIC)],
    ids=["doc", "sh", "public"],
)
def test_uscc_helper_agrees_with_frozen_literals(body17: str, literal: str) -> None:
    assert make_uscc(body17) == literal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(USCC_DOC, USCC_DOC, id="valid-doc-example"),
        pytest.param(USCC_SH, USCC_SH, id="valid-letters-in-org-code"),
        pytest.param(USCC_PUBLIC, USCC_PUBLIC, id="valid-public-institution"),
        pytest.param(make_uscc("52110105MA0012345"), make_uscc("52110105MA0012345"), id="valid-computed"),
        pytest.param(USCC_SH.lower(), USCC_SH, id="lowercase-upper-cased"),
        pytest.param(f"  {USCC_DOC}\n", USCC_DOC, id="whitespace-trimmed"),
    ],
)
def test_normalise_credit_code_valid(text: str, expected: str) -> None:
    assert normalise_credit_code(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(USCC_DOC[:-1] + "M", id="bad-check-letter"),
        pytest.param(USCC_PUBLIC[:-1] + "0", id="bad-check-digit"),
        pytest.param(USCC_SH[:-1] + "0", id="bad-check-on-letter-code"),
        pytest.param(USCC_DOC[:-1], id="17-chars"),
        pytest.param(USCC_DOC + "1", id="19-chars"),
        pytest.param("", id="empty"),
        pytest.param("A" + USCC_DOC[1:], id="letter-in-first-8"),
        pytest.param("91110000I00037341L", id="forbidden-letter-I"),
        pytest.param("91110000O00037341L", id="forbidden-letter-O"),
        pytest.param("9111000060003734-L", id="dash-inside"),
    ],
)
def test_normalise_credit_code_invalid(text: str) -> None:
    assert normalise_credit_code(text) is None
