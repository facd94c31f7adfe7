"""Table tests for app.rules.anomalies: each rule's condition at and around its threshold, the
Beijing-time windows the nightly SQL compares with, and the in-line findings (docs/anomalies.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.config import AnomalySettings
from app.rules.anomalies import (
    FIRST_DAY_DRAIN,
    NIGHT_HOME_SERVICE,
    OVERLAPPING_SERVICE,
    PRICE_ABOVE_REFERENCE,
    PRICE_JUMP,
    REDEEMED_AFTER_SUSPENSION,
    RULE_CODES,
    RULES,
    SERVICE_AFTER_DEATH,
    TOO_MANY_SERVICES_PER_DAY,
    Thresholds,
    above_reference,
    after_suspension,
    baseline_months,
    drain_flagged,
    first_day,
    inline_findings,
    is_night,
    local_days,
    lower_median,
    night_service,
    night_windows,
    overlapping,
    price_jumped,
    scan_months,
    served_after_death,
    too_many_services,
    voucher_drained,
)
from app.rules.months import BEIJING, Month

MARCH = Month(2026, 3)
DEFAULTS = Thresholds()


def bj(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


# --- thresholds ----------------------------------------------------------------------------------
def test_rule_defaults_are_the_settings_defaults():
    assert Thresholds.of(AnomalySettings().model_dump()) == DEFAULTS
    assert DEFAULTS.night_exempt_items == frozenset({28})


def test_settings_reach_the_rules():
    custom = AnomalySettings(price_jump_percent=50, night_exempt_items=[28, 45])
    t = Thresholds.of(custom.model_dump())
    assert t.price_jump_percent == 50 and t.night_exempt_items == frozenset({28, 45})


@pytest.mark.parametrize(
    "field, value",
    [("price_jump_percent", 0), ("night_start_hour", 24), ("overlap_minutes", 0), ("drain_min_vouchers", 0)],
)
def test_settings_out_of_bounds_are_refused(field, value):
    with pytest.raises(ValueError):
        AnomalySettings(**{field: value})


def test_every_rule_has_a_chinese_title():
    assert set(RULES) == set(RULE_CODES) and len(RULE_CODES) == 8
    assert all(rule.title and not rule.title.isascii() for rule in RULES.values())
    assert {code for code, rule in RULES.items() if rule.inline} == {
        PRICE_ABOVE_REFERENCE,
        NIGHT_HOME_SERVICE,
        REDEEMED_AFTER_SUSPENSION,
        SERVICE_AFTER_DEATH,
    }


# --- PRICE_ABOVE_REFERENCE -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "amount, ref_max, tolerance, expected",
    [
        (40000, 40000, 0, False),  # at the maximum: ordinary
        (40001, 40000, 0, True),
        (44000, 40000, 10, False),  # exactly the tolerance
        (44001, 40000, 10, True),
        (9_999_999, None, 0, False),  # priced by contract: no reference
    ],
)
def test_above_reference(amount, ref_max, tolerance, expected):
    assert above_reference(amount, ref_max, tolerance) is expected


# --- PRICE_JUMP ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "values, median",
    [([5], 5), ([1, 2], 1), ([3, 1, 2], 2), ([4, 1, 3, 2], 2), ([20000, 20100, 20000, 20100, 20000], 20000)],
)
def test_lower_median(values, median):
    assert lower_median(values) == median
    # The SQL picks the one row with 2·rn − n ∈ {0, 1} (rn: 1-based rank by amount): the same value.
    n = len(values)
    [rn] = [rn for rn in range(1, n + 1) if 2 * rn - n in (0, 1)]
    assert sorted(values)[rn - 1] == median


def test_lower_median_of_nothing():
    with pytest.raises(ValueError):
        lower_median([])


@pytest.mark.parametrize("amount, expected", [(20000, False), (26000, False), (26001, True), (40000, True)])
def test_price_jumped(amount, expected):
    assert price_jumped(amount, 20000, 30) is expected


def test_baseline_months():
    assert baseline_months(MARCH, 3) == (Month(2025, 12), Month(2026, 2))
    assert baseline_months(Month(2026, 1), 1) == (Month(2025, 12), Month(2025, 12))


# --- NIGHT_HOME_SERVICE --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "local, expected",
    [("21:59", False), ("22:00", True), ("23:59", True), ("00:00", True), ("05:59", True), ("06:00", False), ("12:00", False)],
)  # fmt: skip
def test_is_night_wraps_midnight(local, expected):
    assert is_night(time.fromisoformat(local), 22, 6) is expected


def test_is_night_without_wrapping_and_switched_off():
    assert is_night(time(0, 0), 0, 6) and not is_night(time(23, 0), 0, 6)
    assert not any(is_night(time(h), 6, 6) for h in range(24))


@pytest.mark.parametrize("start, end", [(22, 6), (0, 6), (23, 1), (6, 6)])
def test_night_windows_agree_with_is_night_over_the_whole_month(start, end):
    """What the SQL compares served_at with must say exactly what is_night says, minute by
    minute across the month (and across its first and last nights)."""
    windows = night_windows(MARCH, start, end)
    moment = MARCH.starts_at()
    while moment < MARCH.ends_at():
        in_window = any(s <= moment < e for s, e in windows)
        assert in_window is is_night(moment.astimezone(BEIJING).time(), start, end), moment
        moment += timedelta(minutes=10)


def test_night_windows_of_march():
    windows = night_windows(MARCH, 22, 6)
    assert len(windows) == 32  # from the evening of 28 February to the morning of 1 April
    assert windows[0] == (bj("2026-02-28T22:00"), bj("2026-03-01T06:00"))
    assert windows[-1] == (bj("2026-03-31T22:00"), bj("2026-04-01T06:00"))
    assert windows[0][0].astimezone(UTC) == datetime(2026, 2, 28, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "served, category, item, expected",
    [
        (datetime(2026, 3, 16, 15, 0, tzinfo=UTC), "home_community", 11, True),  # 23:00 Beijing
        (datetime(2026, 3, 16, 1, 0, tzinfo=UTC), "home_community", 11, False),  # 09:00 Beijing
        (datetime(2026, 3, 16, 15, 0, tzinfo=UTC), "home_community", 28, False),  # 助急 is exempt
        (datetime(2026, 3, 16, 15, 0, tzinfo=UTC), "institution", 3, False),  # not a home service
    ],
)
def test_night_service(served, category, item, expected):
    assert night_service(served, category, item, 22, 6, frozenset({28})) is expected


# --- TOO_MANY_SERVICES_PER_DAY -------------------------------------------------------------------
def test_local_days_start_at_beijing_midnight():
    days = local_days(MARCH)
    assert len(days) == 31
    assert days[0] == (date(2026, 3, 1), bj("2026-03-01T00:00"))
    assert days[0][1].astimezone(UTC) == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    assert days[-1][0] == date(2026, 3, 31)
    assert len(local_days(Month(2026, 2))) == 28


@pytest.mark.parametrize("count, expected", [(1, False), (12, False), (13, True)])
def test_too_many_services(count, expected):
    assert too_many_services(count, 12) is expected


# --- OVERLAPPING_SERVICE -------------------------------------------------------------------------
@pytest.mark.parametrize("gap, expected", [(0, True), (1200, True), (1799, True), (1800, False), (-1, False)])
def test_overlapping(gap, expected):
    assert overlapping(gap, 30) is expected


# --- FIRST_DAY_DRAIN -----------------------------------------------------------------------------
def test_first_day_is_the_beijing_first():
    start, end = first_day(MARCH)
    assert (start, end) == (bj("2026-03-01T00:00"), bj("2026-03-02T00:00"))
    assert start.astimezone(UTC) == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)


def test_drain():
    assert voucher_drained(80000, 80000) and not voucher_drained(79999, 80000)
    assert drain_flagged(10, 10) and not drain_flagged(9, 10)


# --- REDEEMED_AFTER_SUSPENSION -------------------------------------------------------------------
def test_after_suspension():
    suspended = bj("2026-03-16T10:00")
    assert after_suspension(suspended, suspended)
    assert after_suspension(suspended + timedelta(minutes=1), suspended)
    assert not after_suspension(suspended - timedelta(minutes=1), suspended)
    assert not after_suspension(suspended, None)


# --- SERVICE_AFTER_DEATH -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("served", "died_on", "flagged"),
    [
        pytest.param("2026-03-15T23:59", date(2026, 3, 16), False, id="the-evening-before"),
        pytest.param("2026-03-16T00:00", date(2026, 3, 16), True, id="the-day-itself"),
        pytest.param("2026-03-20T09:00", date(2026, 3, 16), True, id="days-after"),
        pytest.param("2026-03-20T09:00", None, False, id="no-death-recorded"),
    ],
)
def test_served_after_death_by_beijing_day(served, died_on, flagged):
    assert served_after_death(bj(served), died_on) is flagged
    # 00:30 Beijing on the 16th is still the 15th in UTC: the Beijing day decides.
    assert served_after_death(bj("2026-03-16T00:30").astimezone(UTC), date(2026, 3, 16))


def test_a_service_after_death_is_found_in_line():
    [after] = findings(served_at=bj("2026-03-17T09:00"), died_on=date(2026, 3, 16))
    assert after.rule == SERVICE_AFTER_DEATH
    assert after.evidence == {"died_on": "2026-03-16", "served_on": "2026-03-17"}


# --- in-line -------------------------------------------------------------------------------------
def findings(**overrides) -> list:
    facts = {
        "amount_fen": 30000,
        "ref_price_max_fen": 40000,
        "category": "home_community",
        "item": 11,
        "served_at": bj("2026-03-16T09:00"),
        "thresholds": DEFAULTS,
    }
    facts.update(overrides)
    return inline_findings(**facts)


def test_an_ordinary_redemption_finds_nothing():
    assert findings() == []


def test_inline_findings_name_their_figures():
    [price] = findings(amount_fen=40001)
    assert price.rule == PRICE_ABOVE_REFERENCE
    assert price.evidence == {
        "item": 11,
        "amount_fen": 40001,
        "ref_price_max_fen": 40000,
        "tolerance_percent": 0,
    }
    [night] = findings(served_at=bj("2026-03-16T23:00"))
    assert night.rule == NIGHT_HOME_SERVICE
    assert night.evidence == {"item": 11, "night_start_hour": 22, "night_end_hour": 6}
    [after] = findings(suspended_at=bj("2026-03-16T08:00"), suspension_reason="deceased", status_change_id=7)
    assert after.rule == REDEEMED_AFTER_SUSPENSION
    assert after.evidence == {"suspension_reason": "deceased", "status_change_id": 7}
    everything = findings(
        amount_fen=50000, served_at=bj("2026-03-16T23:00"), suspended_at=bj("2026-03-16T08:00")
    )
    assert [f.rule for f in everything] == [
        PRICE_ABOVE_REFERENCE,
        NIGHT_HOME_SERVICE,
        REDEEMED_AFTER_SUSPENSION,
    ]


def test_nightly_only_rules_are_never_found_in_line():
    found = findings(amount_fen=999_999, ref_price_max_fen=None, category="institution", item=2)
    assert found == []
    assert not {PRICE_JUMP, OVERLAPPING_SERVICE, TOO_MANY_SERVICES_PER_DAY, FIRST_DAY_DRAIN} & {
        code for code, rule in RULES.items() if rule.inline
    }


# --- the nightly schedule ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "today, days, months",
    [
        (date(2026, 4, 1), 5, [Month(2026, 3), Month(2026, 4)]),
        (date(2026, 4, 5), 5, [Month(2026, 3), Month(2026, 4)]),
        (date(2026, 4, 6), 5, [Month(2026, 4)]),
        (date(2026, 1, 1), 1, [Month(2025, 12), Month(2026, 1)]),
        (date(2026, 1, 1), 0, [Month(2026, 1)]),
    ],
)
def test_scan_months(today, days, months):
    assert scan_months(today, days) == months
