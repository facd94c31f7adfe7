"""The audit-sample draw (四(二): districts spot-check 1 % of the elders who redeemed): a
deterministic function of a published seed and the population, so that an auditor can
recompute it with a few lines of Python (docs/audit-sampling.md gives them).

Method ``hmac-sha256-systematic/v1``:

1. ``h(text) = HMAC-SHA256(key=bytes.fromhex(seed), msg=text.encode("utf-8")).hexdigest()``.
2. Order the strata by ``h("stratum:" + stratum)``; within a stratum, order the elders by
   ``h("elder:" + elder_id)`` (elder ids as lower-case hyphenated UUIDs). Ties (never seen in
   practice) fall back to the text itself. This gives one list ``L`` of the ``N`` elders.
3. ``n = ceil(N / 100)``; ``u = int(h("start"), 16)``, a number in [0, 2**256).
4. Elder ``L[floor((u + i * 2**256) * N / (n * 2**256))]`` is drawn, for ``i = 0 … n - 1``.

Step 4 is systematic sampling with a random start: every elder is drawn with probability
exactly ``n / N`` (no elder is favoured), and because the list is grouped by stratum (the
provider an elder used most), every stratum gets its proportional share of the sample, rounded
up or down: a provider with at least ``N / n`` (about 100) of the month's elders is always
covered, a smaller one with probability proportional to its number of elders, and which
providers come first in the list is itself random.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from app.rules.months import Month
from app.rules.refusals import Refusal

SAMPLE_KINDS = ("redemption", "assessment")
METHOD = "hmac-sha256-systematic/v1"
SAMPLE_PERCENT = 100  # 1 %: one elder in a hundred, rounded up
_SPAN = 2**256


@dataclass(frozen=True)
class Unit:
    """One elder of the population and the stratum it is sorted into."""

    elder_id: str
    stratum: str


def sample_size(population: int) -> int:
    """``ceil(population / 100)``: 1 % rounded up, so any non-empty population is checked."""
    return -(-population // SAMPLE_PERCENT)


def keyed_hash(seed: str, text: str) -> str:
    return hmac.new(bytes.fromhex(seed), text.encode("utf-8"), hashlib.sha256).hexdigest()


def ordered(seed: str, units: Iterable[Unit]) -> list[Unit]:
    """The population in draw order: strata by their keyed hash, elders by theirs."""
    strata: dict[str, str] = {}
    keyed = []
    for unit in units:
        if unit.stratum not in strata:
            strata[unit.stratum] = keyed_hash(seed, "stratum:" + unit.stratum)
        keyed.append(
            (
                (
                    strata[unit.stratum],
                    unit.stratum,
                    keyed_hash(seed, "elder:" + unit.elder_id),
                    unit.elder_id,
                ),
                unit,
            )
        )
    keyed.sort(key=lambda pair: pair[0])
    return [unit for _key, unit in keyed]


def draw(seed: str, units: Iterable[Unit]) -> list[str]:
    """The drawn elder ids, in draw order. Raises ValueError on a duplicate elder."""
    population = ordered(seed, units)
    total = len(population)
    if len({unit.elder_id for unit in population}) != total:
        raise ValueError("an elder appears twice in the population")
    size = sample_size(total)
    start = int(keyed_hash(seed, "start"), 16)
    return [population[(start + i * _SPAN) * total // (size * _SPAN)].elder_id for i in range(size)]


def population_digest(units: Iterable[Unit]) -> str:
    """SHA-256 of the population, one ``elder_id<TAB>stratum`` line per elder sorted by id: what
    verify compares to tell whether the population changed since the draw."""
    lines = sorted(f"{unit.elder_id}\t{unit.stratum}" for unit in units)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


# --- drawing a sample: the decision ----------------------------------------------------------------
@dataclass(frozen=True)
class DrawPlan:
    """A sample to store: its seed, its whole population (published with it) and the drawn elders."""

    seed: str
    population: tuple[Unit, ...]
    drawn: tuple[str, ...]  # elder ids, in draw order
    population_sha256: str

    def positions(self) -> dict[str, int]:
        """Each drawn elder's place in the draw (0 first)."""
        return {elder_id: i for i, elder_id in enumerate(self.drawn)}


def plan_draw(month: Month, units: Sequence[Unit], seed: str, now: datetime) -> Refusal | DrawPlan:
    """The sample of ``month`` drawn from ``units`` with ``seed``; refused while the month runs
    (its population is not final until it has ended)."""
    if now < month.ends_at():
        return Refusal("MONTH_NOT_ENDED", f"{month} 尚未结束,抽查对象尚未确定")
    return DrawPlan(seed, tuple(units), tuple(draw(seed, units)), population_digest(units))


# --- verifying a stored sample ---------------------------------------------------------------------
@dataclass(frozen=True)
class StoredSample:
    """What was recorded when the sample was drawn."""

    method: str
    seed: str
    population: int
    sample_size: int
    population_sha256: str


class Verification(TypedDict):
    """A re-check of a stored sample (the body of GET /audit-samples/{id}/verify; a mapping, as
    the CLI's ``voucher audit verify`` reads it)."""

    ok: bool
    method: str
    seed: str
    population: int
    sample_size: int
    draw_matches: bool
    population_matches: bool
    population_sha256: str
    current_population_sha256: str


def verify(
    stored: StoredSample, units: Sequence[Unit], drawn: Sequence[str], live: Sequence[Unit]
) -> Verification:
    """Redo the draw from the published seed and the stored population ``units`` and compare it
    with the stored ``drawn`` elders; recompute the population's digest from the stored units and
    from today's data (``live``). Ok only when all of it matches what was recorded."""
    recomputed = draw(stored.seed, units) if stored.method == METHOD else None
    live_digest = population_digest(live)
    draw_matches = recomputed == list(drawn) and len(drawn) == stored.sample_size
    population_matches = (
        live_digest == stored.population_sha256
        and population_digest(units) == stored.population_sha256
        and len(units) == stored.population
    )
    return Verification(
        ok=draw_matches and population_matches and stored.sample_size == sample_size(len(units)),
        method=stored.method,
        seed=stored.seed,
        population=stored.population,
        sample_size=stored.sample_size,
        draw_matches=draw_matches,
        population_matches=population_matches,
        population_sha256=stored.population_sha256,
        current_population_sha256=live_digest,
    )
