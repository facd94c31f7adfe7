"""``voucher`` for people: short batch ids and prefixes, districts by name, ``voucher districts``,
staff names instead of ``staff:<uuid>``, masked elders in ``audit sample``."""

from __future__ import annotations

import pytest

from app.cli import ids
from app.settlements import summaries
from tests.cli.conftest import CHAOYANG, HAIDIAN, MARCH, batches, cells, short
from tests.factories import (
    API,
    approved_elder_with_number,
    make_provider,
    redeem,
    set_clock,
    staff,
)

A = "3f2a9c41-0b7e-4d2a-9c3e-5a1b2c3d4e5f"
B = "3f2a9c41-7777-4d2a-9c3e-5a1b2c3d4e5f"  # shares 8 hex digits with A
C = "9e000000-0000-4000-8000-000000000000"


def test_short_ids_are_the_shortest_unique_prefix_of_at_least_8_digits():
    assert ids.short_ids([A, B, C]) == {A: "3f2a9c41-0", B: "3f2a9c41-7", C: "9e000000"}
    assert ids.short_ids([C]) == {C: "9e000000"}
    assert ids.match_prefix("3F2A9C41-0", [A, B, C], "结算批次") == A  # case and dashes ignored
    assert ids.match_prefix("3f2a9c417", [A, B, C], "结算批次") == B
    assert ids.match_prefix("9e", [A, B, C], "结算批次") == C


@pytest.mark.parametrize(
    ("prefix", "code"), [("3f2a", "AMBIGUOUS_ID"), ("ab", "NOT_FOUND"), ("xyz", "NOT_FOUND")]
)
def test_a_prefix_that_is_ambiguous_or_unknown_is_refused(prefix, code):
    with pytest.raises(Exception) as refused:
        ids.match_prefix(prefix, [A, B, C], "结算批次")
    assert refused.value.code == code and prefix in refused.value.detail


def test_settle_show_takes_any_unique_prefix(client, march, voucher, monkeypatch):
    assert voucher("settle", "build", "--month", MARCH).exit_code == 0
    chaoyang = batches(client, district_code=CHAOYANG)[0]
    for prefix in (short(chaoyang["id"]), chaoyang["id"][:13], chaoyang["id"].upper()):
        shown = voucher("settle", "show", prefix)
        assert shown.exit_code == 0, shown.output
        assert chaoyang["id"] in shown.output and "朝阳测试驿站" in shown.output

    unknown = voucher("settle", "show", "ffffffff" if not chaoyang["id"].startswith("f") else "00000000")
    assert unknown.exit_code == 2 and "NOT_FOUND" in unknown.output and "未找到编号以" in unknown.output

    # A second batch whose id shares the first 10 hex digits: 8 are no longer enough.
    real = summaries.visible_batch_ids
    twin = chaoyang["id"][:10] + ("0" if chaoyang["id"][10] != "0" else "1") + chaoyang["id"][11:]
    monkeypatch.setattr(
        summaries, "visible_batch_ids", lambda session, caller: [*real(session, caller), twin]
    )
    ambiguous = voucher("settle", "show", short(chaoyang["id"]))
    assert ambiguous.exit_code == 2, ambiguous.output
    assert "AMBIGUOUS_ID" in ambiguous.output and "请多输入几位" in ambiguous.output
    assert voucher("settle", "show", chaoyang["id"][:11]).exit_code == 0
    listed = voucher("settle", "list", "--district", CHAOYANG)
    assert chaoyang["id"][:11] in listed.output and chaoyang["id"] not in listed.output


@pytest.mark.parametrize("name", [CHAOYANG, "朝阳区", "朝阳", " 朝阳 "])
def test_district_by_code_full_name_or_short_name(client, march, voucher, name):
    built = voucher("settle", "build", "--month", MARCH, "--district", name)
    assert built.exit_code == 0, built.output
    assert [b["district_code"] for b in batches(client)] == [CHAOYANG]
    listed = voucher("settle", "list", "--district", name)
    assert listed.exit_code == 0 and "110105 朝阳区" in listed.output


def test_an_unknown_district_name_is_refused(client, march, voucher):
    for args in (
        ("settle", "list"),
        ("settle", "build", "--month", MARCH),
        ("audit", "sample", "--month", MARCH),
    ):
        refused = voucher(*args, "--district", "火星")
        assert refused.exit_code == 2 and "UNKNOWN_DISTRICT" in refused.output, refused.output
        assert "voucher districts" in refused.output
    assert batches(client) == []


def test_voucher_districts_lists_codes_names_and_short_names(client, voucher):
    listed = voucher("districts")
    assert listed.exit_code == 0, listed.output
    assert cells(listed.output, "110105") == ["110105", "朝阳区", "朝阳"]
    assert cells(listed.output, "110400") == ["110400", "北京经济技术开发区", "经开区"]
    assert "共 17 个行政区" in listed.output
    assert voucher("settle", "list", "--district", "经开区").exit_code == 0


def test_staff_create_takes_a_district_name(client, voucher):
    made = voucher("staff", "create", "--name", "海淀民政", "--role", "district_civil", "--district", "海淀")
    assert made.exit_code == 0, made.output
    token = made.output.split("令牌(仅显示一次):")[1].split()[0]
    me = client.get(
        f"{API}/settlements", params={"district_code": HAIDIAN}, headers={"Authorization": f"Bearer {token}"}
    )
    assert me.status_code == 200
    other = client.get(
        f"{API}/settlements", params={"district_code": CHAOYANG}, headers={"Authorization": f"Bearer {token}"}
    )
    assert other.status_code == 403


def test_settle_show_names_the_reviewers(client, march, voucher):
    assert voucher("settle", "build", "--month", MARCH, "--district", CHAOYANG).exit_code == 0
    [batch] = batches(client, district_code=CHAOYANG)
    civil = staff(client, "district_civil", CHAOYANG)
    response = client.post(
        f"{API}/settlements/{batch['id']}/civil-review", json={"rejections": []}, headers=civil.headers
    )
    assert response.status_code == 200, response.text
    shown = voucher("settle", "show", short(batch["id"]))
    assert shown.exit_code == 0, shown.output
    history = shown.output.split("办理记录")[1]
    assert "district_civil-110105(区民政局)" in history and "命令行 tester(市级管理员)" in history
    assert "staff:" not in history and civil.id not in shown.output


def test_audit_sample_lists_masked_elders(client, voucher):
    provider = make_provider(client, district_code=CHAOYANG, name="朝阳抽查驿站")
    drawn = []
    for _ in range(3):
        elder, number = approved_elder_with_number(client, district_code=CHAOYANG)
        assert redeem(client, provider, elder["id"]).status_code == 201
        drawn.append((elder, number))
    set_clock(client, "2026-04-02T10:00:00+08:00")
    sampled = voucher("audit", "sample", "--district", "朝阳", "--month", MARCH)
    assert sampled.exit_code == 0, sampled.output
    assert "110105 朝阳区" in sampled.output and "抽中的老年人" in sampled.output
    rows = [line for line in sampled.output.split("抽中的老年人")[1].splitlines() if "李**" in line]
    assert rows, sampled.output
    for elder, number in drawn:
        assert number not in sampled.output and elder["id"] not in sampled.output
        assert "李秀英" not in sampled.output
    masked = {number[:6] + "********" + number[-4:] for _elder, number in drawn}
    assert {cells(row, "李**")[2] for row in rows} <= masked
