"""The audit-sample draw (app/rules/sampling.py) as a pure function: its size, determinism,
an independent re-implementation from docs/audit-sampling.md, fairness across many seeds,
coverage of strata; the decision to draw and the verification of a stored sample."""

from __future__ import annotations

import hashlib
import hmac
import math
import uuid
from dataclasses import replace
from datetime import datetime

import pytest

from app.rules.months import BEIJING, Month
from app.rules.refusals import Refusal
from app.rules.sampling import (
    METHOD,
    DrawPlan,
    StoredSample,
    Unit,
    draw,
    plan_draw,
    population_digest,
    sample_size,
    verify,
)

SEEDS = [hashlib.sha256(f"seed-{i}".encode()).hexdigest() for i in range(2000)]


def population(sizes: dict[str, int]) -> list[Unit]:
    """Elders with deterministic ids, ``sizes[stratum]`` of them in each stratum."""
    units = []
    for stratum, size in sizes.items():
        for i in range(size):
            elder = uuid.UUID(hashlib.md5(f"{stratum}/{i}".encode()).hexdigest(), version=4)
            units.append(Unit(str(elder), stratum))
    return units


def docs_draw(seed: str, units: list[Unit]) -> list[str]:
    """The method exactly as docs/audit-sampling.md states it, written without the app's code."""

    def h(text: str) -> str:
        return hmac.new(bytes.fromhex(seed), text.encode("utf-8"), "sha256").hexdigest()

    by_stratum: dict[str, list[str]] = {}
    for unit in units:
        by_stratum.setdefault(unit.stratum, []).append(unit.elder_id)
    ordered: list[str] = []
    for stratum in sorted(by_stratum, key=lambda s: (h("stratum:" + s), s)):
        ordered += sorted(by_stratum[stratum], key=lambda e: (h("elder:" + e), e))
    n_total = len(ordered)
    n = math.ceil(n_total / 100)
    u = int(h("start"), 16)
    return [ordered[(u + i * 2**256) * n_total // (n * 2**256)] for i in range(n)]


@pytest.mark.parametrize(
    ("size", "expected"),
    [(0, 0), (1, 1), (99, 1), (100, 1), (101, 2), (250, 3), (10_000, 100), (10_001, 101)],
)
def test_sample_size_is_one_percent_rounded_up(size, expected):
    assert sample_size(size) == expected == math.ceil(size / 100)


@pytest.mark.parametrize("size", [0, 1, 7, 100, 101, 1234])
def test_draw_has_that_size_distinct_members_of_the_population(size):
    units = population({"provider:a": size})
    drawn = draw(SEEDS[0], units)
    assert len(drawn) == sample_size(size) == len(set(drawn))
    assert set(drawn) <= {u.elder_id for u in units}


def test_same_seed_and_population_give_the_same_draw_whatever_the_input_order():
    units = population({"provider:a": 180, "provider:b": 40, "provider:c": 3})
    assert draw(SEEDS[1], units) == draw(SEEDS[1], list(reversed(units)))
    assert draw(SEEDS[1], units) != draw(SEEDS[2], units)  # 3 of 223: a different seed differs


@pytest.mark.parametrize("seed", SEEDS[:50])
def test_an_independent_implementation_of_the_documented_method_agrees(seed):
    units = population({"provider:a": 230, "provider:b": 57, "provider:c": 12, "provider:d": 1})
    assert draw(seed, units) == docs_draw(seed, units)


def test_a_duplicate_elder_is_refused():
    units = population({"provider:a": 3})
    with pytest.raises(ValueError):
        draw(SEEDS[0], [*units, Unit(units[0].elder_id, "provider:b")])


def test_no_elder_is_favoured_over_many_seeds():
    """Every elder is drawn with probability n/N whatever its stratum: over 2,000 seeds each of
    500 elders (in strata of very different sizes) is expected 2,000 * 5/500 = 20 times. A
    chi-square test of the counts (499 degrees of freedom) must not reject uniformity at
    p = 0.001 (critical value 602.6); a draw that favoured small strata or early elders would."""
    units = population({"provider:big": 400, "provider:mid": 80, "provider:small": 15, "provider:tiny": 5})
    counts = dict.fromkeys((u.elder_id for u in units), 0)
    for seed in SEEDS:
        for elder in draw(seed, units):
            counts[elder] += 1
    expected = len(SEEDS) * sample_size(len(units)) / len(units)
    chi_square = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi_square < 602.6, chi_square
    # And per stratum: the share of draws matches the share of elders (within 10 %).
    for stratum, size in (("provider:big", 400), ("provider:mid", 80)):
        drawn = sum(c for u, c in zip(units, counts.values(), strict=True) if u.stratum == stratum)
        assert abs(drawn / (len(SEEDS) * 5) - size / 500) < 0.1 * size / 500, stratum


def test_a_stratum_of_at_least_n_over_size_elders_is_always_covered():
    """Systematic sampling over stratum blocks: a provider with >= N/n elders always has one."""
    units = population({"provider:a": 100, "provider:b": 150, "provider:c": 30, "provider:d": 20})
    strata = {u.elder_id: u.stratum for u in units}
    for seed in SEEDS[:300]:
        covered = {strata[e] for e in draw(seed, units)}
        assert {"provider:a", "provider:b"} <= covered


def test_small_strata_are_covered_in_proportion_to_their_size():
    """A provider with 30 of 300 elders (sample of 3, interval 100) is covered in ~30 % of draws."""
    units = population({"provider:big": 270, "provider:small": 30})
    strata = {u.elder_id: u.stratum for u in units}
    covered = sum("provider:small" in {strata[e] for e in draw(seed, units)} for seed in SEEDS)
    assert 0.25 < covered / len(SEEDS) < 0.35, covered


def test_population_digest_ignores_order_and_sees_any_change():
    units = population({"provider:a": 5, "provider:b": 2})
    assert population_digest(units) == population_digest(list(reversed(units)))
    moved = [Unit(units[0].elder_id, "provider:b"), *units[1:]]
    assert population_digest(moved) != population_digest(units)
    assert population_digest(units[1:]) != population_digest(units)
    lines = "\n".join(sorted(f"{u.elder_id}\t{u.stratum}" for u in units))
    assert population_digest(units) == hashlib.sha256(lines.encode()).hexdigest()


# --- the decision to draw ----------------------------------------------------------------------------
MARCH = Month(2026, 3)


@pytest.mark.parametrize(
    ("now", "refused"),
    [
        (datetime(2026, 3, 16, 10, 0, tzinfo=BEIJING), True),
        (datetime(2026, 3, 31, 23, 59, 59, tzinfo=BEIJING), True),
        (datetime(2026, 4, 1, 0, 0, tzinfo=BEIJING), False),  # the month has ended
        (datetime(2026, 5, 20, 9, 0, tzinfo=BEIJING), False),
    ],
)
def test_a_sample_is_drawn_only_once_its_month_has_ended(now, refused):
    units = population({"provider:a": 150, "provider:b": 30})
    plan = plan_draw(MARCH, units, SEEDS[3], now)
    if refused:
        assert plan == Refusal("MONTH_NOT_ENDED", "2026-03 尚未结束,抽查对象尚未确定")
        return
    assert isinstance(plan, DrawPlan)
    assert plan.seed == SEEDS[3] and plan.population == tuple(units)
    assert list(plan.drawn) == draw(SEEDS[3], units) and len(plan.drawn) == 2
    assert plan.population_sha256 == population_digest(units)
    assert plan.positions() == {elder: i for i, elder in enumerate(plan.drawn)}


def test_an_empty_month_draws_an_empty_sample():
    plan = plan_draw(MARCH, [], SEEDS[0], datetime(2026, 4, 2, tzinfo=BEIJING))
    assert plan == DrawPlan(SEEDS[0], (), (), hashlib.sha256(b"").hexdigest())


# --- verifying a stored sample ------------------------------------------------------------------------
UNITS = population({"provider:a": 120, "provider:b": 30})
DRAWN = draw(SEEDS[4], UNITS)
STORED = StoredSample(METHOD, SEEDS[4], len(UNITS), len(DRAWN), population_digest(UNITS))
MOVED = [Unit(UNITS[0].elder_id, "provider:b"), *UNITS[1:]]
WITHOUT_DRAWN = [u for u in UNITS if u.elder_id != DRAWN[0]]
OTHER_DRAW = next(draw(seed, UNITS) for seed in SEEDS if draw(seed, UNITS) != DRAWN)


@pytest.mark.parametrize(
    ("case", "stored", "units", "drawn", "live", "draw_matches", "population_matches"),
    [
        ("as drawn", STORED, UNITS, DRAWN, UNITS, True, True),
        ("the data changed since", STORED, UNITS, DRAWN, MOVED, True, False),
        ("a stored stratum changed", STORED, MOVED, DRAWN, UNITS, False, False),
        ("another elder marked drawn", STORED, UNITS, OTHER_DRAW, UNITS, False, True),
        ("a drawn mark dropped", STORED, UNITS, DRAWN[:1], UNITS, False, True),
        ("the drawn elder dropped", STORED, WITHOUT_DRAWN, DRAWN, WITHOUT_DRAWN, False, False),
        ("the seed rewritten", replace(STORED, seed=SEEDS[5]), UNITS, DRAWN, UNITS, False, True),
        ("an unknown method", replace(STORED, method="other/v0"), UNITS, DRAWN, UNITS, False, True),
        ("the size rewritten", replace(STORED, sample_size=1), UNITS, DRAWN, UNITS, False, True),
        ("the count rewritten", replace(STORED, population=149), UNITS, DRAWN, UNITS, True, False),
    ],
)
def test_verification_recomputes_the_draw_and_the_population(
    case, stored, units, drawn, live, draw_matches, population_matches
):
    report = verify(stored, units, drawn, live)
    assert (report["draw_matches"], report["population_matches"]) == (draw_matches, population_matches), case
    assert report["ok"] is (draw_matches and population_matches), case
    assert report["current_population_sha256"] == population_digest(live)
    assert {k: report[k] for k in ("method", "seed", "population", "sample_size", "population_sha256")} == {
        "method": stored.method,
        "seed": stored.seed,
        "population": stored.population,
        "sample_size": stored.sample_size,
        "population_sha256": stored.population_sha256,
    }
