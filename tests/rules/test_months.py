"""Table tests for app.rules.months: natural months in Beijing time (Asia/Shanghai, UTC+8)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from app.rules.months import BEIJING, Month

UTC = UTC
M = Month


# --- parse / str -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-01", M(2026, 1), id="jan"),
        pytest.param("2026-12", M(2026, 12), id="dec"),
        pytest.param("2025-10", M(2025, 10), id="oct"),
        pytest.param("2028-02", M(2028, 2), id="leap-feb"),
        pytest.param("1999-09", M(1999, 9), id="last-century"),
    ],
)
def test_parse_valid(text: str, expected: Month) -> None:
    parsed = Month.parse(text)
    assert parsed == expected
    assert str(parsed) == text  # round trip


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2026-13", id="month-13"),
        pytest.param("2026-00", id="month-00"),
        pytest.param("2026-1", id="one-digit-month"),
        pytest.param("26-01", id="two-digit-year"),
        pytest.param("", id="empty"),
        pytest.param("2026", id="year-only"),
        pytest.param("2026-01-01", id="full-date"),
        pytest.param("2026/01", id="slash"),
        pytest.param("202601", id="no-separator"),
        pytest.param(" 2026-01", id="leading-space"),
        pytest.param("2026-01 ", id="trailing-space"),
        pytest.param("20260-01", id="five-digit-year"),
        pytest.param("2026-001", id="three-digit-month"),
        pytest.param("abcd-ef", id="letters"),
        pytest.param("2026-1a", id="letter-in-month"),
    ],
)
def test_parse_invalid(text: str) -> None:
    with pytest.raises(ValueError):
        Month.parse(text)


# "YYYY-MM" means exactly seven ASCII characters. The regex uses ``$`` (which also matches
# before a final "\n") and ``\d`` (which matches any Unicode decimal digit), so these are
# accepted today. Low impact (the API's MonthText pattern is checked first, and the value parsed
# is right), but Month.parse is the pure validator and should refuse them: see the report.
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2026-01\n", id="trailing-newline"),
        pytest.param("２０２６-01", id="fullwidth-year-digits"),
        pytest.param("٢٠٢٦-01", id="arabic-indic-year-digits"),
    ],
)
def test_parse_is_strict_ascii_yyyy_mm(text: str) -> None:
    with pytest.raises(ValueError):
        Month.parse(text)


@pytest.mark.parametrize(
    ("month", "text"),
    [
        (M(2026, 1), "2026-01"),
        (M(2026, 12), "2026-12"),
        (M(987, 3), "0987-03"),
    ],
    ids=str,
)
def test_str(month: Month, text: str) -> None:
    assert str(month) == text


# --- next / previous / plus / months_until -----------------------------------------------------


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        (M(2026, 1), M(2026, 2)),
        (M(2026, 11), M(2026, 12)),
        (M(2026, 12), M(2027, 1)),
        (M(2025, 12), M(2026, 1)),
    ],
    ids=str,
)
def test_next(month: Month, expected: Month) -> None:
    assert month.next() == expected


@pytest.mark.parametrize(
    ("month", "expected"),
    [
        (M(2026, 2), M(2026, 1)),
        (M(2026, 1), M(2025, 12)),
        (M(2026, 12), M(2026, 11)),
        (M(2027, 1), M(2026, 12)),
    ],
    ids=str,
)
def test_previous(month: Month, expected: Month) -> None:
    assert month.previous() == expected


@pytest.mark.parametrize("month", [M(2026, m) for m in range(1, 13)] + [M(2025, 12), M(2027, 1)], ids=str)
def test_next_and_previous_are_inverse(month: Month) -> None:
    assert month.next().previous() == month
    assert month.previous().next() == month
    assert month.plus(1) == month.next()
    assert month.plus(-1) == month.previous()


@pytest.mark.parametrize(
    ("month", "n", "expected"),
    [
        pytest.param(M(2026, 1), 0, M(2026, 1), id="plus-0"),
        pytest.param(M(2026, 1), 1, M(2026, 2), id="plus-1"),
        pytest.param(M(2026, 1), 11, M(2026, 12), id="plus-11-program-end"),
        pytest.param(M(2026, 1), 12, M(2027, 1), id="plus-12"),
        pytest.param(M(2026, 12), 1, M(2027, 1), id="dec-plus-1"),
        pytest.param(M(2026, 7), 13, M(2027, 8), id="plus-13"),
        pytest.param(M(2026, 1), 24, M(2028, 1), id="plus-24"),
        pytest.param(M(2026, 1), -1, M(2025, 12), id="minus-1-across-year"),
        pytest.param(M(2026, 3), -3, M(2025, 12), id="minus-3"),
        pytest.param(M(2026, 1), -12, M(2025, 1), id="minus-12"),
        pytest.param(M(2026, 1), -13, M(2024, 12), id="minus-13"),
    ],
)
def test_plus(month: Month, n: int, expected: Month) -> None:
    assert month.plus(n) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        pytest.param(M(2026, 1), M(2026, 1), 0, id="same"),
        pytest.param(M(2026, 1), M(2026, 12), 11, id="program-year"),
        pytest.param(M(2026, 1), M(2025, 12), -1, id="backwards-across-year"),
        pytest.param(M(2025, 12), M(2026, 1), 1, id="forwards-across-year"),
        pytest.param(M(2024, 2), M(2026, 1), 23, id="two-years"),
        pytest.param(M(2026, 12), M(2026, 1), -11, id="backwards-same-year"),
    ],
)
def test_months_until(start: Month, end: Month, expected: int) -> None:
    assert start.months_until(end) == expected
    assert start.plus(expected) == end


# --- first_day / last_day ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "first", "last"),
    [
        (M(2026, 1), date(2026, 1, 1), date(2026, 1, 31)),
        (M(2026, 2), date(2026, 2, 1), date(2026, 2, 28)),
        (M(2028, 2), date(2028, 2, 1), date(2028, 2, 29)),
        (M(2024, 2), date(2024, 2, 1), date(2024, 2, 29)),
        (M(2100, 2), date(2100, 2, 1), date(2100, 2, 28)),  # century, not leap
        (M(2000, 2), date(2000, 2, 1), date(2000, 2, 29)),  # 400-year, leap
        (M(2026, 4), date(2026, 4, 1), date(2026, 4, 30)),
        (M(2026, 12), date(2026, 12, 1), date(2026, 12, 31)),
    ],
    ids=str,
)
def test_first_and_last_day(month: Month, first: date, last: date) -> None:
    assert month.first_day == first
    assert month.last_day == last


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 1), M(2026, 1)),
        (date(2026, 1, 31), M(2026, 1)),
        (date(2028, 2, 29), M(2028, 2)),
        (date(2026, 12, 31), M(2026, 12)),
    ],
    ids=str,
)
def test_of(day: date, expected: Month) -> None:
    assert Month.of(day) == expected


# --- starts_at / ends_at / contains / containing -----------------------------------------------


@pytest.mark.parametrize(
    ("month", "start_utc", "end_utc"),
    [
        (M(2026, 1), datetime(2025, 12, 31, 16, tzinfo=UTC), datetime(2026, 1, 31, 16, tzinfo=UTC)),
        (M(2026, 2), datetime(2026, 1, 31, 16, tzinfo=UTC), datetime(2026, 2, 28, 16, tzinfo=UTC)),
        (M(2026, 12), datetime(2026, 11, 30, 16, tzinfo=UTC), datetime(2026, 12, 31, 16, tzinfo=UTC)),
        (M(2028, 2), datetime(2028, 1, 31, 16, tzinfo=UTC), datetime(2028, 2, 29, 16, tzinfo=UTC)),
    ],
    ids=str,
)
def test_starts_and_ends_at_beijing_midnight(month: Month, start_utc: datetime, end_utc: datetime) -> None:
    starts, ends = month.starts_at(), month.ends_at()
    assert starts == start_utc and ends == end_utc
    for moment, day in ((starts, month.first_day), (ends, month.next().first_day)):
        assert moment.tzinfo is not None
        assert moment.utcoffset() == timedelta(hours=8)
        local = moment.astimezone(BEIJING)
        assert (local.date(), local.hour, local.minute, local.second, local.microsecond) == (day, 0, 0, 0, 0)
    assert ends == month.next().starts_at()


def test_beijing_zone_is_asia_shanghai() -> None:
    assert str(BEIJING) == "Asia/Shanghai"


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("month", "moment", "expected"),
    [
        pytest.param(M(2026, 1), bj(2026, 1, 1, 0, 0, 0), True, id="first-instant"),
        pytest.param(M(2026, 1), bj(2026, 1, 31, 23, 59, 59, 999999), True, id="last-microsecond"),
        pytest.param(M(2026, 1), bj(2026, 2, 1, 0, 0, 0), False, id="first-instant-of-next"),
        pytest.param(M(2026, 1), bj(2025, 12, 31, 23, 59, 59, 999999), False, id="last-instant-of-previous"),
        pytest.param(M(2026, 2), bj(2026, 2, 28, 23, 59, 59, 999999), True, id="feb-last-microsecond"),
        pytest.param(M(2026, 2), bj(2026, 3, 1, 0, 0, 0), False, id="mar-1"),
        pytest.param(M(2028, 2), bj(2028, 2, 29, 12, 0, 0), True, id="leap-feb29"),
        pytest.param(M(2026, 12), bj(2027, 1, 1, 0, 0, 0), False, id="next-year"),
        # Instants given in UTC: Beijing is UTC+8.
        pytest.param(M(2026, 2), datetime(2026, 1, 31, 16, 0, 0, tzinfo=UTC), True, id="utc-16h-is-feb-1-bj"),
        pytest.param(M(2026, 1), datetime(2026, 1, 31, 16, 0, 0, tzinfo=UTC), False, id="utc-16h-not-jan"),
        pytest.param(
            M(2026, 1),
            datetime(2026, 1, 31, 15, 59, 59, 999999, tzinfo=UTC),
            True,
            id="utc-15:59:59.999999-jan",
        ),
        pytest.param(
            M(2026, 1), datetime(2025, 12, 31, 16, 0, 0, tzinfo=UTC), True, id="utc-dec31-16h-is-jan1"
        ),
        pytest.param(
            M(2025, 12), datetime(2025, 12, 31, 16, 0, 0, tzinfo=UTC), False, id="utc-dec31-16h-not-dec"
        ),
        pytest.param(
            M(2026, 3),
            datetime(2026, 2, 28, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
            True,
            id="new-york-feb28-23h-is-mar1-bj",
        ),
    ],
)
def test_contains(month: Month, moment: datetime, expected: bool) -> None:
    assert month.contains(moment) is expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param(datetime(2026, 1, 31, 16, 0, tzinfo=UTC), M(2026, 2), id="utc-jan31-16h"),
        pytest.param(datetime(2026, 1, 31, 15, 59, 59, 999999, tzinfo=UTC), M(2026, 1), id="utc-jan31-15:59"),
        pytest.param(datetime(2025, 12, 31, 16, 0, tzinfo=UTC), M(2026, 1), id="utc-new-year"),
        pytest.param(bj(2026, 1, 31, 23, 59, 59, 999999), M(2026, 1), id="bj-last-microsecond"),
        pytest.param(bj(2026, 2, 1), M(2026, 2), id="bj-midnight"),
        pytest.param(
            datetime(2026, 2, 28, 23, 0, tzinfo=timezone(timedelta(hours=-5))), M(2026, 3), id="utc-5"
        ),
    ],
)
def test_containing(moment: datetime, expected: Month) -> None:
    assert Month.containing(moment) == expected
    assert expected.contains(moment)


def test_contains_refuses_naive_datetimes() -> None:
    # A naive datetime has no time zone; comparing it with Beijing bounds must not guess.
    with pytest.raises(TypeError):
        M(2026, 1).contains(datetime(2026, 1, 15, 12, 0))


# --- ordering ----------------------------------------------------------------------------------


def test_ordering() -> None:
    months = [M(2026, 2), M(2025, 12), M(2026, 12), M(2026, 1), M(2027, 1), M(2026, 10)]
    assert sorted(months) == [M(2025, 12), M(2026, 1), M(2026, 2), M(2026, 10), M(2026, 12), M(2027, 1)]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (M(2025, 12), M(2026, 1)),
        (M(2026, 1), M(2026, 2)),
        (M(2026, 9), M(2026, 10)),  # numeric, not string, order of the month
        (M(2026, 12), M(2027, 1)),
    ],
    ids=str,
)
def test_strictly_before(a: Month, b: Month) -> None:
    assert a < b and a <= b and b > a and a != b
    assert not (b < a)


def test_equal_and_hashable() -> None:
    assert M(2026, 1) == Month.parse("2026-01")
    assert len({M(2026, 1), Month.parse("2026-01"), M(2026, 2)}) == 2
    assert max([M(2026, 3), M(2026, 11), M(2026, 7)]) == M(2026, 11)
