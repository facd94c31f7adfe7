"""The settlement tests' scenario and HTTP helpers (tests/api/settlements/test_*.py: district
settlement over HTTP, CONTRACT.md "Settlement"; issue 4).

The January 2026 scenario (``january`` fixture), clock 2026-01-10 10:00 Beijing:

| redemption | provider              | elder (district)   | item, amount       | deduction | in 110105's batch |
|------------|-----------------------|--------------------|--------------------|-----------|-------------------|
| r1         | station A (110105)    | e1 (110105)        | 11, 30000          | 15000     | yes               |
| r2         | institution B (110105)| e1 (110105)        | 2, 100000          | 40000     | yes               |
| r3         | station C (110108)    | e2 (110105)        | 7, 1001            | 501       | yes (C serves a 110105 elder) |
| r4         | station A             | e2 (110105)        | 11, 30000          | 15000     | no: reversed in January |
| r5         | station A             | e3 (110108)        | 11, 30000          | 15000     | no: another district's elder |
| r6         | institution B         | e2 (110105)        | 2, 12345           | 4938      | yes               |

110105's January batch: 4 redemptions, 2 elders, 3 providers, amount 143346, deduction 60439.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from tests.conftest import admin_headers
from tests.factories import (
    API,
    Staff,
    approved_elder,
    bearer,
    make_provider,
    redeem,
    set_clock,
    staff,
)

DISTRICT = "110105"
OTHER = "110108"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
BATCH_FIELDS = {
    "id",
    "district_code",
    "month",
    "status",
    "deadlines",
    "overdue",
    "totals",
    "funding",
    "lines",
}
TOTAL_FIELDS = {
    "redemptions",
    "elders",
    "providers",
    "amount_fen",
    "deduction_fen",
    "rejected_fen",
    "payable_fen",
}
LINE_FIELDS = {"provider_id", "redemptions", "deduction_fen", "rejected_fen", "payable_fen", "paid"}


@dataclass
class January:
    civil: Staff
    finance: Staff
    other_civil: Staff
    other_finance: Staff
    auditor: Staff
    a: dict
    b: dict
    c: dict
    e1: dict
    e2: dict
    e3: dict
    r: dict[str, dict]


def jan_redeem(client, provider, elder, **body) -> dict:
    response = redeem(client, provider, elder["id"], served_at="2026-01-10T10:00:00+08:00", **body)
    assert response.status_code == 201, response.text
    return response.json()


def reverse(client, provider, redemption_id):
    return client.post(f"{API}/redemptions/{redemption_id}/reverse", headers=bearer(provider["api_key"]))


def january_scenario(client) -> January:
    """The January scenario of the module docstring, built over HTTP."""
    set_clock(client, "2026-01-10T10:00:00+08:00")
    a = make_provider(client, kind="station", district_code=DISTRICT, name="朝阳站A")
    b = make_provider(client, kind="institution", district_code=DISTRICT, name="朝阳机构B")
    c = make_provider(client, kind="station", district_code=OTHER, name="海淀站C")
    e1 = approved_elder(client, district_code=DISTRICT)
    e2 = approved_elder(client, district_code=DISTRICT)
    e3 = approved_elder(client, district_code=OTHER)
    for elder in (e1, e2, e3):
        assert elder["voucher"]["month"] == "2026-01"
    r = {
        "r1": jan_redeem(client, a, e1, item=11, amount_fen=30000),
        "r2": jan_redeem(client, b, e1, item=2, amount_fen=100000),
        "r3": jan_redeem(client, c, e2, item=7, amount_fen=1001),
        "r4": jan_redeem(client, a, e2, item=11, amount_fen=30000),
        "r5": jan_redeem(client, a, e3, item=11, amount_fen=30000),
        "r6": jan_redeem(client, b, e2, item=2, amount_fen=12345),
    }
    assert [r[k]["deduction_fen"] for k in sorted(r)] == [15000, 40000, 501, 15000, 15000, 4938]
    assert reverse(client, a, r["r4"]["id"]).status_code == 200
    return January(
        civil=staff(client, "district_civil", DISTRICT),
        finance=staff(client, "district_finance", DISTRICT),
        other_civil=staff(client, "district_civil", OTHER),
        other_finance=staff(client, "district_finance", OTHER),
        auditor=staff(client, "auditor"),
        a=a,
        b=b,
        c=c,
        e1=e1,
        e2=e2,
        e3=e3,
        r=r,
    )


# --- small helpers ---------------------------------------------------------------------------------
def build(client, who: Staff, month: str = "2026-01", district_code: str = DISTRICT):
    return client.post(
        f"{API}/settlements", json={"district_code": district_code, "month": month}, headers=who.headers
    )


def built(client, who: Staff, month: str = "2026-01", district_code: str = DISTRICT) -> dict:
    response = build(client, who, month, district_code)
    assert response.status_code == 201, response.text
    return response.json()


def get_batch(client, batch_id: str, who: Staff | None = None) -> dict:
    headers = who.headers if who else admin_headers()
    response = client.get(f"{API}/settlements/{batch_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def civil_review(client, batch_id: str, who: Staff, rejections: list | None = None):
    return client.post(
        f"{API}/settlements/{batch_id}/civil-review",
        json={"rejections": rejections or []},
        headers=who.headers,
    )


def finance_review(client, batch_id: str, who: Staff, approve: bool, note: str | None = None):
    body = {"approve": approve}
    if note is not None:
        body["note"] = note
    return client.post(f"{API}/settlements/{batch_id}/finance-review", json=body, headers=who.headers)


def pay(client, batch_id: str, who: Staff, provider_id: str, amount_fen: int, reference: str = "REF"):
    return client.post(
        f"{API}/settlements/{batch_id}/payments",
        json={"provider_id": provider_id, "amount_fen": amount_fen, "reference": reference},
        headers=who.headers,
    )


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def line_of(batch: dict, provider: dict) -> dict:
    found = [line for line in batch["lines"] if line["provider_id"] == provider["id"]]
    assert len(found) == 1, batch["lines"]
    return found[0]


def unchanged(batch: dict) -> tuple:
    """What a refused request must leave alone."""
    return (
        batch["status"],
        batch["deadlines"],
        batch["totals"],
        batch["funding"],
        batch["lines"],
        len(batch["events"]),
    )


def funding_of(payable: int) -> dict:
    """CONTRACT.md: central = round_half_up(payable x 0.85), city = round_half_up(rest / 2)."""
    from decimal import ROUND_HALF_UP, Decimal

    central = int((Decimal(payable) * Decimal("0.85")).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    city = int((Decimal(payable - central) / 2).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return {"central_fen": central, "city_fen": city, "district_fen": payable - central - city}


def journal_payable(district_code: str, month: date, kinds: tuple[str, ...]) -> int:
    """Sum of the provider_payable lines of the journal entries of these kinds."""
    from app.db import session_scope
    from app.models.ledger import JournalEntry, JournalLine

    with session_scope(write=False) as session:
        return int(
            session.scalar(
                select(func.coalesce(func.sum(JournalLine.amount_fen), 0))
                .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
                .where(
                    JournalEntry.district_code == district_code,
                    JournalEntry.month == month,
                    JournalEntry.kind.in_(kinds),
                    JournalLine.account == "provider_payable",
                )
            )
        )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)
