"""Table test for app.rules.listing: the full 4x4 matrix of provider listing-status changes."""

from __future__ import annotations

import pytest

from app.rules.listing import ALLOWED_CHANGES, ListingStatus, conflicts_with_agency_rule, may_change

L, W, S, D = (
    ListingStatus.LISTED,
    ListingStatus.WITHDRAWN,
    ListingStatus.SUSPENDED,
    ListingStatus.DISQUALIFIED,
)

# Rows: current status. Columns: target status, in the order LISTED, WITHDRAWN, SUSPENDED,
# DISQUALIFIED. Written out by hand from 一(四) / 四(三) and the module docstring:
#   * no status "changes" to itself (the diagonal is all False);
#   * listed can be withdrawn, suspended or disqualified;
#   * suspended and withdrawn can return to listed; suspended can also be withdrawn;
#   * a withdrawn provider is not on the list, so it cannot be suspended;
#   * disqualification (取消资格) is final: no way out of it, not even back to listed.
COLUMNS = (L, W, S, D)
EXPECTED = {
    #    to:  LISTED WITHDRAWN SUSPENDED DISQUALIFIED
    L: (False, True, True, True),
    W: (True, False, False, True),
    S: (True, True, False, True),
    D: (False, False, False, False),
}

CASES = [
    pytest.param(current, target, allowed, id=f"{current.value}->{target.value}")
    for current, row in EXPECTED.items()
    for target, allowed in zip(COLUMNS, row, strict=True)
]


def test_matrix_covers_every_pair() -> None:
    assert set(EXPECTED) == set(ListingStatus)
    assert set(COLUMNS) == set(ListingStatus)
    assert len(CASES) == 16


@pytest.mark.parametrize(("current", "target", "allowed"), CASES)
def test_may_change(current: ListingStatus, target: ListingStatus, allowed: bool) -> None:
    assert may_change(current, target) is allowed


@pytest.mark.parametrize("status", list(ListingStatus), ids=str)
def test_no_status_changes_to_itself(status: ListingStatus) -> None:
    assert may_change(status, status) is False


def test_disqualified_is_final() -> None:
    assert ALLOWED_CHANGES[D] == frozenset()
    assert not any(may_change(D, target) for target in ListingStatus)


@pytest.mark.parametrize("status", [L, W, S], ids=str)
def test_every_status_but_disqualified_can_be_disqualified(status: ListingStatus) -> None:
    assert may_change(status, D) is True


@pytest.mark.parametrize(
    ("current", "target"),
    [("listed", "withdrawn"), ("suspended", "listed"), ("withdrawn", "listed")],
    ids=str,
)
def test_plain_string_values_work(current: str, target: str) -> None:
    # StrEnum: values read back from the database as text compare equal to the members.
    assert may_change(ListingStatus(current), ListingStatus(target)) is True


@pytest.mark.parametrize(
    ("kind", "others", "conflict"),
    [
        pytest.param("station", set(), False, id="first-registration"),
        pytest.param("station", {"station", "institution"}, False, id="care-beside-care"),
        pytest.param("assessment_agency", {"assessment_agency"}, False, id="agency-in-two-districts"),
        pytest.param("station", {"assessment_agency"}, True, id="care-beside-an-agency"),
        pytest.param("assessment_agency", {"home_care_company"}, True, id="agency-beside-care"),
        pytest.param("partner", {"station", "assessment_agency"}, True, id="already-conflicted"),
    ],
)
def test_one_organisation_is_an_agency_or_a_care_provider(kind, others, conflict) -> None:
    """一(四): 评估经办机构不得参与提供由本项目补贴的养老服务, city-wide."""
    assert conflicts_with_agency_rule(kind, others) is conflict
