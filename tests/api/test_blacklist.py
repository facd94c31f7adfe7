"""The blacklist (失信联合惩戒, 四(三)): blacklisting disqualifies every registration of the
organisation and bars it from registering again; lifting is for city admins and kept in history;
who reads which entries."""

from __future__ import annotations

import uuid

from app.models.sanctions import BlacklistEntry
from tests.api.sanctions_support import (
    BLACKLIST,
    CHAOYANG,
    DONGCHENG,
    HAIDIAN,
    blacklist,
    change_status,
    civil,
    count_rows,
    get,
    provider_of,
    register,
    staff,
)
from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_elder,
    assert_problem,
    bearer,
    credit_code,
    make_provider,
    redeem,
    set_clock,
)


def test_blacklist_disqualifies_every_registration_and_refuses_registering_again(client):
    provider = make_provider(client, kind="home_care_company", district_code=CHAOYANG)
    # The same organisation also registered in Haidian (credit codes are unique per district).
    elsewhere = register(client, credit=provider["credit_code"], district_code=HAIDIAN)
    assert elsewhere.status_code == 201, elsewhere.text
    elsewhere = elsewhere.json()
    officer = civil(client)

    response = blacklist(client, provider, headers=officer)
    assert response.status_code == 201, response.text
    entry = response.json()
    assert entry["credit_code"] == provider["credit_code"]
    assert entry["provider_id"] == provider["id"]
    assert entry["district_code"] == CHAOYANG
    assert entry["reason"] == BLACKLIST["reason"]
    assert entry["legal_basis"] == BLACKLIST["legal_basis"]
    assert entry["active"] is True
    assert entry["listed_at"] == "2026-03-16T10:00:00+08:00"
    assert entry["listed_by"].startswith("staff:")
    assert entry["lifted_at"] is None

    # Disqualified here and in Haidian, each through the one listing history.
    for registration in (provider, elsewhere):
        assert provider_of(client, registration["id"])["status"] == "disqualified"
        last = get(client, f"/providers/{registration['id']}/status-history")[-1]
        assert (last["from_status"], last["to_status"]) == ("listed", "disqualified")
        assert "失信联合惩戒" in last["reason"] and BLACKLIST["reason"] in last["reason"]
        assert last["changed_by"] == entry["listed_by"]
    assert "110105" in get(client, f"/providers/{elsewhere['id']}/status-history")[-1]["reason"]

    before = len(get(client, "/providers"))
    for district in (CHAOYANG, HAIDIAN, DONGCHENG):
        problem = assert_problem(
            register(client, credit=provider["credit_code"], district_code=district), 409
        )
        assert problem["code"] == "PROVIDER_BLACKLISTED"
        assert provider["credit_code"] in problem["detail"]
    # Normalised like any credit code: lower case does not slip through.
    assert_problem(register(client, credit=provider["credit_code"].lower()), 409, "PROVIDER_BLACKLISTED")
    # The district officer registering it is told the same.
    assert_problem(
        register(client, credit=provider["credit_code"], headers=officer), 409, "PROVIDER_BLACKLISTED"
    )
    assert len(get(client, "/providers")) == before

    # No way back to the list, and no second entry.
    assert_problem(change_status(client, provider, "listed"), 409, "PROVIDER_BLACKLISTED")
    assert_problem(blacklist(client, elsewhere), 409, "ALREADY_BLACKLISTED")
    assert count_rows(BlacklistEntry) == 1


def test_blacklist_of_a_suspended_or_disqualified_provider(client):
    suspended = make_provider(client)
    assert change_status(client, suspended, "suspended").status_code == 200
    disqualified = make_provider(client)
    assert change_status(client, disqualified, "disqualified", "核查属实").status_code == 200

    assert blacklist(client, suspended).status_code == 201
    assert provider_of(client, suspended["id"])["status"] == "disqualified"
    history = get(client, f"/providers/{disqualified['id']}/status-history")
    assert blacklist(client, disqualified).status_code == 201
    # Already disqualified: blacklisted without another status change.
    assert get(client, f"/providers/{disqualified['id']}/status-history") == history
    assert_problem(register(client, credit=disqualified["credit_code"]), 409, "PROVIDER_BLACKLISTED")


def test_blacklisted_provider_cannot_redeem(client):
    elder = approved_elder(client)
    station = make_provider(client)
    assert redeem(client, station, elder["id"]).status_code == 201
    assert blacklist(client, station).status_code == 201
    assert_problem(redeem(client, station, elder["id"]), 403, "PROVIDER_NOT_LISTED")


def test_blacklist_refusals_change_nothing(client):
    provider = make_provider(client, district_code=CHAOYANG)
    other = make_provider(client, district_code=CHAOYANG)
    refusals = [
        (staff(client, "auditor"), 403, "FORBIDDEN"),
        (staff(client, "district_finance", CHAOYANG), 403, "FORBIDDEN"),
        (bearer(provider["api_key"]), 403, "FORBIDDEN"),
        (civil(client, HAIDIAN), 404, "NOT_FOUND"),  # another district's provider
    ]
    for headers, status, code in refusals:
        assert_problem(blacklist(client, provider, headers=headers), status, code)
    # A provider naming another provider does not learn it exists.
    assert_problem(blacklist(client, other, headers=bearer(provider["api_key"])), 404, "NOT_FOUND")
    assert_problem(
        client.post(f"{API}/providers/{uuid.uuid4()}/blacklist", json=BLACKLIST, headers=admin_headers()), 404
    )
    for body in (
        {"reason": "x"},
        {"legal_basis": "y"},
        {**BLACKLIST, "reason": ""},
        {**BLACKLIST, "extra": 1},
    ):
        response = client.post(
            f"{API}/providers/{provider['id']}/blacklist", json=body, headers=admin_headers()
        )
        assert_problem(response, 422, "VALIDATION_ERROR")
    assert provider_of(client, provider["id"])["status"] == "listed"
    assert count_rows(BlacklistEntry) == 0


def test_lifting_a_blacklisting_is_for_city_admins_and_kept_in_history(client):
    provider = make_provider(client)
    entry = blacklist(client, provider, headers=civil(client)).json()
    lift = f"{API}/blacklist/{entry['id']}/lift"
    body = {"reason": "完成信用修复,市民政局同意解除"}

    assert_problem(client.post(lift, json=body, headers=civil(client)), 403, "FORBIDDEN")
    assert_problem(client.post(lift, json=body, headers=staff(client, "auditor")), 403, "FORBIDDEN")
    assert_problem(client.post(lift, json={}, headers=admin_headers()), 422, "VALIDATION_ERROR")
    assert_problem(
        client.post(f"{API}/blacklist/{uuid.uuid4()}/lift", json=body, headers=admin_headers()), 404
    )
    assert get(client, f"/blacklist/{entry['id']}")["active"] is True

    set_clock(client, "2026-06-01T09:00:00+08:00")
    response = client.post(lift, json=body, headers=admin_headers())
    assert response.status_code == 200, response.text
    lifted = response.json()
    assert lifted["active"] is False
    assert lifted["lifted_at"] == "2026-06-01T09:00:00+08:00"
    assert lifted["lifted_by"] == "staff:bootstrap-admin"
    assert lifted["lift_reason"] == body["reason"]
    assert lifted["reason"] == entry["reason"]  # the original entry is kept
    assert_problem(client.post(lift, json=body, headers=admin_headers()), 409, "BLACKLIST_ALREADY_LIFTED")

    assert [e["id"] for e in get(client, "/blacklist")] == [entry["id"]]
    assert get(client, "/blacklist", active="true") == []
    assert [e["id"] for e in get(client, "/blacklist", active="false")] == [entry["id"]]
    # The old registration stays disqualified; the organisation may register anew.
    assert provider_of(client, provider["id"])["status"] == "disqualified"
    assert_problem(change_status(client, provider, "listed"), 409, "INVALID_STATUS_TRANSITION")
    again = register(client, credit=provider["credit_code"], district_code=HAIDIAN)
    assert again.status_code == 201, again.text

    # Blacklisted again later: a new entry, the lifted one stays.
    set_clock(client, "2026-07-01T09:00:00+08:00")
    second = blacklist(client, again.json())
    assert second.status_code == 201, second.text
    assert [e["id"] for e in get(client, "/blacklist")] == [second.json()["id"], entry["id"]]


def test_blacklist_reading(client):
    chaoyang = make_provider(client, district_code=CHAOYANG)
    haidian = make_provider(client, district_code=HAIDIAN)
    bystander = make_provider(client, district_code=HAIDIAN)
    first = blacklist(client, chaoyang).json()
    second = blacklist(client, haidian).json()

    # Staff of any district read the whole blacklist (it binds them all), and filter it.
    haidian_civil = civil(client, HAIDIAN)
    assert {e["id"] for e in get(client, "/blacklist", headers=haidian_civil)} == {first["id"], second["id"]}
    assert [e["id"] for e in get(client, "/blacklist", district_code=CHAOYANG)] == [first["id"]]
    assert [e["id"] for e in get(client, "/blacklist", credit_code=haidian["credit_code"].lower())] == [
        second["id"]
    ]
    assert get(client, "/blacklist", credit_code=credit_code()) == []
    assert get(client, "/blacklist", credit_code="not-a-code\x00") == []
    assert (
        get(client, f"/blacklist/{first['id']}", headers=haidian_civil)["provider_name"] == chaoyang["name"]
    )

    # A provider sees only the entries on its own credit code.
    assert [e["id"] for e in get(client, "/blacklist", headers=bearer(chaoyang["api_key"]))] == [first["id"]]
    assert get(client, "/blacklist", headers=bearer(bystander["api_key"])) == []
    assert_problem(client.get(f"{API}/blacklist/{first['id']}", headers=bearer(bystander["api_key"])), 404)
    assert_problem(client.get(f"{API}/blacklist/not-an-id", headers=admin_headers()), 404)
