"""Audit samples over HTTP (issue 5; CONTRACT.md "Audit samples"; the draw method in
app/rules/sampling.py): drawn once, after the month, from the elders who redeemed; recomputed
independently; tampering and changed data fail verification; assessment samples; who may draw
and read; the CLI. The scenario is tests/api/audits/scenario.py.

The draw is recomputed here from the documented method only (``independent_draw``), never by
importing app.rules.sampling.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import uuid
from datetime import datetime
from fractions import Fraction

import pytest
from sqlalchemy import update

from tests.api.audits.scenario import (
    APRIL,
    DISTRICT,
    OTHER,
    UNKNOWN_ID,
    draw,
    ok,
    redeemed,
    reverse,
    sample_get,
    verify,
)
from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_assessment,
    approved_elder,
    assert_problem,
    bearer,
    make_elder,
    make_provider,
    set_clock,
    staff,
)

METHOD = "hmac-sha256-systematic/v1"
SPAN = 2**256
SAMPLE_FIELDS = {
    "id",
    "district_code",
    "month",
    "kind",
    "method",
    "population",
    "sample_size",
    "seed",
    "population_sha256",
    "drawn_at",
    "drawn_by",
    "findings_recorded",
}


# --- the documented method, re-implemented from its description ------------------------------------
def keyed(seed: str, text: str) -> str:
    """h(text) = HMAC-SHA256 keyed by the seed's bytes, as lower-case hex."""
    return hmac.new(bytes.fromhex(seed), text.encode("utf-8"), hashlib.sha256).hexdigest()


def independent_draw(seed: str, units: list[tuple[str, str]]) -> list[str]:
    """Strata ordered by h("stratum:"+stratum), elders within by h("elder:"+id); n = ceil(N/100);
    u = int(h("start"), 16); pick L[floor((u + i*2**256) * N / (n * 2**256))] for i < n."""
    listing = sorted(
        units,
        key=lambda unit: (
            keyed(seed, "stratum:" + unit[1]),
            unit[1],
            keyed(seed, "elder:" + unit[0]),
            unit[0],
        ),
    )
    total = len(listing)
    size = math.ceil(total / 100)
    start = int(keyed(seed, "start"), 16)
    return [listing[math.floor(Fraction((start + i * SPAN) * total, size * SPAN))][0] for i in range(size)]


def digest(units: list[tuple[str, str]]) -> str:
    """sha256 of the sorted "elder_id<TAB>stratum" lines joined by newlines."""
    lines = sorted(f"{elder_id}\t{stratum}" for elder_id, stratum in units)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def population_units(client, sample_id: str) -> list[tuple[str, str]]:
    body = ok(sample_get(client, sample_id, "/population"))
    return [(unit["elder_id"], unit["stratum"]) for unit in body["units"]]


# --- direct database access (tampering, reading what the API does not show) ------------------------
def tamper(statement) -> None:
    from app.db import session_scope

    with session_scope() as session:
        assert session.execute(statement).rowcount >= 1


# === 1. sample basics ==============================================================================
def test_a_sample_is_drawn_once_after_the_month_from_the_elders_who_redeemed(client, march):
    """MONTH_NOT_ENDED until 00:00 Beijing on the 1st; then the population is the distinct elders
    with a posted redemption (not the reversed-only one, not another district's), 1 % rounded
    up, a 64-hex seed; asking again (anybody) gives back the same sample with 200."""
    set_clock(client, "2026-03-31T23:59:59+08:00")
    assert_problem(draw(client, march.civil), 409, "MONTH_NOT_ENDED")
    assert_problem(draw(client, march.civil, month="2026-04"), 409, "MONTH_NOT_ENDED")
    assert ok(client.get(f"{API}/audit-samples", headers=admin_headers())) == []

    set_clock(client, "2026-03-31T16:00:00Z")  # 00:00 on 4-1 in Beijing
    response = draw(client, march.civil)
    assert response.status_code == 201, response.text
    first = response.json()
    assert SAMPLE_FIELDS | {"elder_ids"} <= set(first)
    assert (first["district_code"], first["month"], first["kind"]) == (DISTRICT, "2026-03", "redemption")
    assert first["method"] == METHOD
    assert first["population"] == 4  # e1, e2, e3, e6
    assert first["sample_size"] == math.ceil(4 / 100) == 1
    assert len(first["seed"]) == 64 and int(first["seed"], 16) >= 0 and first["seed"] == first["seed"].lower()
    assert len(first["population_sha256"]) == 64
    assert len(first["elder_ids"]) == 1
    assert set(first["elder_ids"]) <= set(march.expected_population())
    assert first["drawn_by"] == march.civil.actor
    assert datetime.fromisoformat(first["drawn_at"]) == datetime.fromisoformat("2026-04-01T00:00:00+08:00")
    assert first["findings_recorded"] == 0

    # Never drawn twice: the same officer, the city admin, days later.
    set_clock(client, "2026-04-20T10:00:00+08:00")
    for who in (march.civil, None):
        again = draw(client, who)
        assert again.status_code == 200, again.text
        assert again.json() == first

    listed = ok(client.get(f"{API}/audit-samples", headers=march.civil.headers))
    assert [s["id"] for s in listed] == [first["id"]]
    assert "elder_ids" not in listed[0]
    assert {k: first[k] for k in SAMPLE_FIELDS} == listed[0]
    assert ok(sample_get(client, first["id"], who=march.auditor)) == first
    for params, expected in (
        ({"district_code": DISTRICT, "month": "2026-03", "kind": "redemption"}, [first["id"]]),
        ({"kind": "assessment"}, []),
        ({"month": "2026-02"}, []),
        ({"district_code": OTHER}, []),
    ):
        got = ok(client.get(f"{API}/audit-samples", params=params, headers=admin_headers()))
        assert [s["id"] for s in got] == expected, params

    population = ok(sample_get(client, first["id"], "/population"))
    assert (population["sample_id"], population["seed"]) == (first["id"], first["seed"])
    assert population["population_sha256"] == first["population_sha256"]
    assert {u["elder_id"]: u["stratum"] for u in population["units"]} == march.expected_population()
    assert [u["elder_id"] for u in population["units"] if u["drawn"]] == first["elder_ids"]

    report = verify(client, first["id"], march.auditor)
    assert report["ok"] is True and report["draw_matches"] is True and report["population_matches"] is True
    assert report["current_population_sha256"] == report["population_sha256"] == first["population_sha256"]
    assert (report["population"], report["sample_size"], report["seed"]) == (4, 1, first["seed"])


def test_each_kind_and_district_month_is_its_own_sample(client, march, sample):
    """The unique key is (district, month, kind): another kind or district is a new draw with its
    own seed; an empty district-month draws an empty sample that still verifies."""
    assessment = draw(client, march.civil, kind="assessment")
    assert assessment.status_code == 201, assessment.text
    assert assessment.json()["id"] != sample["id"]
    assert assessment.json()["seed"] != sample["seed"]
    empty = draw(client, None, district="110101")
    assert empty.status_code == 201, empty.text
    assert (empty.json()["population"], empty.json()["sample_size"], empty.json()["elder_ids"]) == (0, 0, [])
    assert empty.json()["population_sha256"] == hashlib.sha256(b"").hexdigest()
    assert verify(client, empty.json()["id"])["ok"] is True
    other = draw(client, march.other_civil, district=OTHER)
    assert other.status_code == 201, other.text
    assert other.json()["population"] == 1
    assert other.json()["elder_ids"] == [march.elders["e4"]["id"]]
    listed = ok(client.get(f"{API}/audit-samples", params={"month": "2026-03"}, headers=admin_headers()))
    assert len(listed) == 4
    own = ok(client.get(f"{API}/audit-samples", headers=march.civil.headers))  # own district only
    assert {s["id"] for s in own} == {sample["id"], assessment.json()["id"]}


# === 2. independent recomputation ===================================================================
def test_the_draw_recomputes_from_the_published_seed_and_population(client, march, sample):
    """Anyone can redo the draw from /population with the documented method alone, and the
    published population digest is sha256 of the sorted "elder_id<TAB>stratum" lines."""
    units = population_units(client, sample["id"])
    assert dict(units) == march.expected_population()
    assert independent_draw(sample["seed"], units) == sample["elder_ids"]
    assert digest(units) == sample["population_sha256"]
    # The recomputation is not trivially true: another seed generally draws another elder.
    others = {independent_draw(secrets.token_hex(32), units)[0] for _ in range(64)}
    assert len(others) > 1


@pytest.mark.backends("sqlite")  # 202 requests: ~12 s on PostgreSQL; the draw is the same code there
def test_a_larger_stratified_population_recomputes_too(client):
    """101 elders holding a voucher in 110101, in three strata (assessed by agency A, by agency B,
    and exempt: no assessment record): n = ceil(101/100) = 2 drawn by the systematic rule across
    the strata, and the independent recomputation gives the same two."""
    civil = staff(client, "district_civil", "110101")
    agencies = [make_provider(client, kind="assessment_agency", district_code="110101") for _ in range(2)]
    levels = ("moderate", "severe", "complete")
    expected = {}
    for i in range(101):
        elder = approved_elder(
            client, district_code="110101", disability_level=levels[i % 3], birth=f"1940{i % 12 + 1:02d}15"
        )
        if i % 3 < 2:
            agency = agencies[i % 3]
            approved_assessment(client, agency, elder["id"], level=levels[i % 3])
            expected[elder["id"]] = f"agency:{agency['id']}"
        else:
            expected[elder["id"]] = "exempt"
    set_clock(client, APRIL)
    response = draw(client, civil, kind="assessment", district="110101")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["population"], body["sample_size"]) == (101, 2)
    units = population_units(client, body["id"])
    assert dict(units) == expected
    assert {stratum for _e, stratum in units} == {f"agency:{a['id']}" for a in agencies} | {"exempt"}
    assert independent_draw(body["seed"], units) == body["elder_ids"]
    assert len(set(body["elder_ids"])) == 2
    assert digest(units) == body["population_sha256"]
    assert verify(client, body["id"])["ok"] is True


# === 3. tampering ===================================================================================
def test_a_changed_drawn_flag_fails_verification(client, march, sample):
    """Moving the drawn mark from the drawn elder to another one in the stored units breaks
    draw_matches (the seed and population still say who must be drawn)."""
    from app.models.audits import AuditSampleUnit

    sid = uuid.UUID(sample["id"])
    drawn_id = uuid.UUID(sample["elder_ids"][0])
    other_id = uuid.UUID(next(e for e in march.expected_population() if e != sample["elder_ids"][0]))
    tamper(
        update(AuditSampleUnit)
        .where(AuditSampleUnit.sample_id == sid, AuditSampleUnit.elder_id == drawn_id)
        .values(drawn=False, draw_position=None)
    )
    tamper(
        update(AuditSampleUnit)
        .where(AuditSampleUnit.sample_id == sid, AuditSampleUnit.elder_id == other_id)
        .values(drawn=True, draw_position=0)
    )
    assert ok(sample_get(client, sample["id"]))["elder_ids"] == [str(other_id)]
    report = verify(client, sample["id"])
    assert (report["ok"], report["draw_matches"], report["population_matches"]) == (False, False, True)


def test_a_dropped_drawn_flag_fails_verification(client, march, sample):
    """A stored sample missing its drawn elder (fewer members than sample_size) does not verify."""
    from app.models.audits import AuditSampleUnit

    tamper(
        update(AuditSampleUnit)
        .where(AuditSampleUnit.sample_id == uuid.UUID(sample["id"]))
        .values(drawn=False, draw_position=None)
    )
    report = verify(client, sample["id"])
    assert (report["ok"], report["draw_matches"]) == (False, False)


def test_a_changed_seed_fails_verification(client, march, sample):
    """A seed rewritten in the database (one that draws another elder) breaks draw_matches."""
    from app.models.audits import AuditSample

    units = population_units(client, sample["id"])
    forged = next(
        seed
        for seed in (secrets.token_hex(32) for _ in range(1000))
        if independent_draw(seed, units) != sample["elder_ids"]
    )
    tamper(update(AuditSample).where(AuditSample.id == uuid.UUID(sample["id"])).values(seed=forged))
    report = verify(client, sample["id"])
    assert report["seed"] == forged
    assert (report["ok"], report["draw_matches"], report["population_matches"]) == (False, False, True)


def test_a_new_elder_redeeming_after_the_draw_changes_the_population(client, march, sample):
    """A posted redemption for a new elder of the month appearing after the draw (the clock moved
    back into March) makes population_matches false; the stored draw itself still matches."""
    set_clock(client, "2026-03-20T10:00:00+08:00")
    newcomer = approved_elder(client, district_code=DISTRICT)
    redeemed(client, march.a, newcomer, 30000, served_at="2026-03-20T10:00:00+08:00")
    set_clock(client, APRIL)
    report = verify(client, sample["id"])
    assert (report["ok"], report["draw_matches"], report["population_matches"]) == (False, True, False)
    assert report["population_sha256"] == sample["population_sha256"]
    grown = [*march.expected_population().items(), (newcomer["id"], f"provider:{march.a['id']}")]
    assert report["current_population_sha256"] == digest(grown)
    # The published record is unchanged.
    assert dict(population_units(client, sample["id"])) == march.expected_population()
    assert draw(client, march.civil).json()["population"] == 4


def test_a_stratum_change_after_the_draw_changes_the_population(client, march, sample):
    """Reversing e3's B redemption (its larger one) after the draw moves e3 to A's stratum: the
    same elders, another population."""
    set_clock(client, "2026-03-25T10:00:00+08:00")
    reverse(client, march.b, march.r["e3"]["B"])
    set_clock(client, APRIL)
    report = verify(client, sample["id"])
    assert (report["ok"], report["draw_matches"], report["population_matches"]) == (False, True, False)
    moved = {**march.expected_population(), march.elders["e3"]["id"]: f"provider:{march.a['id']}"}
    assert report["current_population_sha256"] == digest(list(moved.items()))


# === 4. assessment samples =========================================================================
def test_assessment_population_is_the_districts_elders_holding_a_voucher(client, march):
    """kind=assessment: every elder of the district with a voucher that month (whether or not it
    redeemed: e5 too), in the stratum of the assessment agency whose approved record its level
    rested on when the month ended (e1); elders without one (registered with their assessment)
    are ``exempt``, also e2, whose assessment was approved only after the month; not another
    district's elder and not an elder still pending (no voucher)."""
    make_elder(client, district_code=DISTRICT)  # pending: no voucher
    agency = make_provider(client, kind="assessment_agency", district_code=DISTRICT)
    approved_assessment(client, agency, march.elders["e1"]["id"], level="severe")
    set_clock(client, APRIL)
    approved_assessment(client, agency, march.elders["e2"]["id"], level="severe", assessed_on="2026-04-01")
    response = draw(client, march.civil, kind="assessment")
    assert response.status_code == 201, response.text
    body = response.json()
    expected = {march.elders[key]["id"]: "exempt" for key in ("e2", "e3", "e5", "e6")}
    expected[march.elders["e1"]["id"]] = f"agency:{agency['id']}"
    assert (body["kind"], body["population"], body["sample_size"]) == ("assessment", 5, 1)
    units = population_units(client, body["id"])
    assert dict(units) == expected
    assert set(body["elder_ids"]) <= set(expected)
    assert independent_draw(body["seed"], units) == body["elder_ids"]
    assert verify(client, body["id"])["ok"] is True
    # February: none of them held a voucher (approved in March).
    february = draw(client, march.civil, month="2026-02", kind="assessment")
    assert february.status_code == 201, february.text
    assert (february.json()["population"], february.json()["elder_ids"]) == (0, [])


# === 5. roles and scope ============================================================================
def test_who_may_draw_and_read_samples(client, march):
    """Drawing: the district's civil officer or the city admin; finance, auditors and providers
    are 403; another district's civil officer DISTRICT_OUT_OF_SCOPE. Reading: staff in scope
    (auditor city-wide); another district's officer 404; providers 403."""
    set_clock(client, APRIL)
    provider = bearer(march.a["api_key"])
    assert_problem(
        client.post(
            f"{API}/audit-samples",
            json={"district_code": DISTRICT, "month": "2026-03", "kind": "redemption"},
            headers=provider,
        ),
        403,
    )
    assert_problem(draw(client, march.finance), 403)
    assert_problem(draw(client, march.auditor), 403)
    assert_problem(draw(client, march.other_civil), 403, "DISTRICT_OUT_OF_SCOPE")
    assert ok(client.get(f"{API}/audit-samples", headers=admin_headers())) == []  # nothing was drawn

    response = draw(client, march.civil)
    assert response.status_code == 201, response.text
    sid = response.json()["id"]
    assert draw(client, march.auditor).status_code == 403  # not even the existing one

    for suffix in ("", "/population", "/verify", "/findings"):
        assert sample_get(client, sid, suffix, march.auditor).status_code == 200, suffix
        assert sample_get(client, sid, suffix, march.finance).status_code == 200, suffix
        assert_problem(sample_get(client, sid, suffix, march.other_civil), 404)
        assert_problem(client.get(f"{API}/audit-samples/{sid}{suffix}", headers=provider), 403)
    assert_problem(sample_get(client, UNKNOWN_ID), 404)
    assert_problem(sample_get(client, "not-an-id"), 404)
    assert ok(client.get(f"{API}/audit-samples", headers=march.other_civil.headers)) == []
    assert_problem(
        client.get(
            f"{API}/audit-samples", params={"district_code": DISTRICT}, headers=march.other_civil.headers
        ),
        403,
        "DISTRICT_OUT_OF_SCOPE",
    )
    assert [s["id"] for s in ok(client.get(f"{API}/audit-samples", headers=march.auditor.headers))] == [sid]
    assert_problem(client.get(f"{API}/audit-samples", headers=provider), 403)
    assert_problem(client.get(f"{API}/audit-findings", headers=provider), 403)


# === 6. the command line ==========================================================================
def test_the_cli_draws_the_same_sample_and_verifies_it(client, march):
    """`voucher audit sample` draws (or shows) the month's sample; `voucher audit verify` exits 0
    when the stored draw recomputes, 1 when it does not."""
    from typer.testing import CliRunner

    from app.cli import app

    set_clock(client, APRIL)
    runner = CliRunner()
    before = runner.invoke(app, ["audit", "sample", "--district", DISTRICT, "--month", "2026-02"])
    assert before.exit_code == 0 and "此前已抽取" not in before.output  # an empty month: empty sample
    first = runner.invoke(app, ["audit", "sample", "--district", DISTRICT, "--month", "2026-03"])
    assert first.exit_code == 0, first.output
    over_http = draw(client, march.civil)
    assert over_http.status_code == 200  # the CLI drew it: HTTP returns the same sample
    sample = over_http.json()
    assert sample["seed"] in first.output and sample["elder_ids"][0][:8] in first.output
    again = runner.invoke(app, ["audit", "sample", "--district", DISTRICT, "--month", "2026-03"])
    assert again.exit_code == 0 and "此前已抽取" in again.output and sample["seed"] in again.output
    assert runner.invoke(app, ["audit", "verify", sample["id"]]).exit_code == 0
    assert (
        runner.invoke(app, ["audit", "sample", "--district", DISTRICT, "--month", "2026-04"]).exit_code == 2
    )

    from app.db import session_scope
    from app.models.audits import AuditSample

    with session_scope() as session:
        session.execute(
            update(AuditSample)
            .where(AuditSample.id == uuid.UUID(sample["id"]))
            .values(seed=secrets.token_hex(32))
        )
    # One elder in a population of four: another seed may pick the same one; the seed is also
    # part of nothing else, so compare with a recomputation rather than assume a change.
    report = sample_get(client, sample["id"], "/verify").json()
    assert runner.invoke(app, ["audit", "verify", sample["id"]]).exit_code == (0 if report["ok"] else 1)
