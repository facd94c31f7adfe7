"""Table tests for app.rules.assessment (GB/T 42195-2022 scoring; pure, no database).

Sources and unconfirmed points: docs/assessment-scoring.md.
"""

from __future__ import annotations

import pytest

from app.rules.assessment import (
    ADJUSTMENT_TITLES,
    INDICATOR_MAXIMA,
    INDICATOR_NAMES,
    ITEMS,
    ITEMS_BY_CODE,
    LEVEL_BANDS,
    LEVEL_NAMES,
    MAX_TOTAL,
    PROBLEM_TITLES,
    RISK_EVENT_COUNT_INVALID,
    SCORE_MISSING,
    SCORE_NOT_INTEGER,
    SCORE_OUT_OF_RANGE,
    UNKNOWN_ITEM,
    UNKNOWN_RISK_EVENT,
    AbilityLevel,
    Adjustment,
    AssessmentInputError,
    Indicator,
    RiskEvent,
    ScoreProblem,
    assess,
    indicator_totals,
    level_for_total,
    raise_one_level,
    total_score,
    validate_scores,
)
from app.rules.eligibility import DisabilityLevel

# (code, Chinese name, indicator, max score), in the standard's appendix B order.
EXPECTED_ITEMS = [
    ("eating", "进食", Indicator.SELF_CARE, 4),
    ("grooming", "修饰", Indicator.SELF_CARE, 4),
    ("bathing", "洗澡", Indicator.SELF_CARE, 4),
    ("dressing_upper", "穿/脱上衣", Indicator.SELF_CARE, 4),
    ("dressing_lower", "穿/脱裤子和鞋袜", Indicator.SELF_CARE, 4),
    ("urinary_control", "小便控制", Indicator.SELF_CARE, 4),
    ("bowel_control", "大便控制", Indicator.SELF_CARE, 4),
    ("toileting", "如厕", Indicator.SELF_CARE, 4),
    ("bed_mobility", "床上体位转移", Indicator.BASIC_MOBILITY, 4),
    ("bed_chair_transfer", "床椅转移", Indicator.BASIC_MOBILITY, 4),
    ("level_walking", "平地行走", Indicator.BASIC_MOBILITY, 4),
    ("stairs", "上下楼梯", Indicator.BASIC_MOBILITY, 3),
    ("time_orientation", "时间定向", Indicator.MENTAL_STATE, 4),
    ("place_orientation", "空间定向", Indicator.MENTAL_STATE, 4),
    ("person_orientation", "人物定向", Indicator.MENTAL_STATE, 4),
    ("memory", "记忆", Indicator.MENTAL_STATE, 4),
    ("comprehension", "理解能力", Indicator.MENTAL_STATE, 4),
    ("expression", "表达能力", Indicator.MENTAL_STATE, 4),
    ("aggressive_behavior", "攻击行为", Indicator.MENTAL_STATE, 1),
    ("depressive_symptoms", "抑郁症状", Indicator.MENTAL_STATE, 1),
    ("consciousness", "意识水平", Indicator.MENTAL_STATE, 2),
    ("vision", "视力", Indicator.PERCEPTION_SOCIAL, 2),
    ("hearing", "听力", Indicator.PERCEPTION_SOCIAL, 2),
    ("daily_affairs", "执行日常事务", Indicator.PERCEPTION_SOCIAL, 4),
    ("transport_outing", "使用交通工具外出", Indicator.PERCEPTION_SOCIAL, 3),
    ("social_interaction", "社会交往能力", Indicator.PERCEPTION_SOCIAL, 4),
]

FULL = {item.code: item.max_score for item in ITEMS}
ZERO = dict.fromkeys(FULL, 0)

L = AbilityLevel


def scores_with_total(total: int) -> dict[str, int]:
    """A valid score sheet adding up to ``total``: take points off from the first items on."""
    scores, missing = dict(FULL), MAX_TOTAL - total
    for item in ITEMS:
        cut = min(item.max_score, missing)
        scores[item.code] -= cut
        missing -= cut
    assert missing == 0 and sum(scores.values()) == total
    return scores


def problems_of(excinfo: pytest.ExceptionInfo[AssessmentInputError]) -> list[tuple[str, str]]:
    return [(p.item, p.code) for p in excinfo.value.problems]


# --- the item table ----------------------------------------------------------------------------
def test_the_table_is_the_standards_26_items_in_order():
    assert [(i.code, i.name, i.indicator, i.max_score) for i in ITEMS] == EXPECTED_ITEMS
    assert len(ITEMS) == len(ITEMS_BY_CODE) == 26
    assert all(item.min_score == 0 for item in ITEMS)
    # B.1.1 … B.4.5: clause numbers follow the indicator and the order inside it.
    clauses = [item.clause for item in ITEMS]
    assert clauses[0] == "B.1.1" and clauses[7] == "B.1.8" and clauses[11] == "B.2.4"
    assert clauses[20] == "B.3.9" and clauses[25] == "B.4.5"


def test_items_per_indicator_and_maxima_sum_to_90():
    counts = {ind: sum(1 for i in ITEMS if i.indicator is ind) for ind in Indicator}
    assert counts == {
        Indicator.SELF_CARE: 8,
        Indicator.BASIC_MOBILITY: 4,
        Indicator.MENTAL_STATE: 9,
        Indicator.PERCEPTION_SOCIAL: 5,
    }
    assert INDICATOR_MAXIMA == {
        Indicator.SELF_CARE: 32,
        Indicator.BASIC_MOBILITY: 15,
        Indicator.MENTAL_STATE: 28,
        Indicator.PERCEPTION_SOCIAL: 15,
    }
    assert sum(INDICATOR_MAXIMA.values()) == MAX_TOTAL == 90
    assert set(INDICATOR_NAMES.values()) == {"自理能力", "基础运动能力", "精神状态", "感知觉与社会参与"}


def test_ability_level_is_the_apps_disability_level():
    assert AbilityLevel is DisabilityLevel
    assert [level.value for level in AbilityLevel] == ["intact", "mild", "moderate", "severe", "complete"]
    assert set(LEVEL_NAMES) == set(AbilityLevel)


@pytest.mark.parametrize("item", ITEMS, ids=lambda i: i.code)
def test_every_item_accepts_min_and_max_and_refuses_one_beyond(item):
    for good in (item.min_score, item.max_score):
        assert validate_scores({**FULL, item.code: good}) == []
    for bad in (item.min_score - 1, item.max_score + 1):
        problems = validate_scores({**FULL, item.code: bad})
        assert problems == [
            ScoreProblem(
                item.code, SCORE_OUT_OF_RANGE, bad, min_score=item.min_score, max_score=item.max_score
            )
        ]


def test_every_value_inside_the_range_is_accepted():
    for item in ITEMS:
        for value in range(item.min_score, item.max_score + 1):
            assert validate_scores({**FULL, item.code: value}) == []


def test_indicator_totals_and_total():
    assert indicator_totals(FULL) == INDICATOR_MAXIMA
    assert total_score(FULL) == 90
    assert total_score(ZERO) == 0
    mixed = {**FULL, "eating": 1, "stairs": 0, "consciousness": 1, "vision": 0}
    assert indicator_totals(mixed) == {
        Indicator.SELF_CARE: 29,
        Indicator.BASIC_MOBILITY: 12,
        Indicator.MENTAL_STATE: 27,
        Indicator.PERCEPTION_SOCIAL: 13,
    }
    assert total_score(mixed) == 81


# --- bands -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("total", "level"),
    [
        (90, L.INTACT),
        (89, L.MILD),
        (66, L.MILD),
        (65, L.MODERATE),
        (46, L.MODERATE),
        (45, L.SEVERE),
        (30, L.SEVERE),
        (29, L.COMPLETE),
        (0, L.COMPLETE),
    ],
)
def test_band_edges(total, level):
    assert level_for_total(total) is level
    result = assess(scores_with_total(total))
    assert (result.total, result.base_level, result.final_level, result.adjustments) == (
        total,
        level,
        level,
        (),
    )


def test_bands_cover_0_to_90_once():
    covered = [t for low, high, _ in LEVEL_BANDS for t in range(low, high + 1)]
    assert sorted(covered) == list(range(91))


@pytest.mark.parametrize("bad", [-1, 91, True, 45.0, "45", None])
def test_level_for_total_refuses_impossible_totals(bad):
    with pytest.raises(ValueError):
        level_for_total(bad)


# --- adjustments -------------------------------------------------------------------------------
# (total, preliminary level, level one worse)
ONE_UP = [
    (90, L.INTACT, L.MILD),
    (66, L.MILD, L.MODERATE),
    (46, L.MODERATE, L.SEVERE),
    (30, L.SEVERE, L.COMPLETE),
    (29, L.COMPLETE, L.COMPLETE),  # nothing beyond 完全失能
    (0, L.COMPLETE, L.COMPLETE),
]


@pytest.mark.parametrize("total", [90, 66, 65, 46, 45, 30, 29, 0])
def test_coma_is_complete_whatever_the_score(total):
    result = assess(scores_with_total(total), coma=True)
    assert result.base_level is level_for_total(total)
    assert result.final_level is L.COMPLETE
    assert result.adjustments == (Adjustment.COMA,)


def test_coma_wins_over_the_raising_reasons():
    result = assess(FULL, coma=True, dementia=True, risk_events_30d=3)
    assert result.final_level is L.COMPLETE
    assert result.adjustments == (Adjustment.COMA, Adjustment.DEMENTIA, Adjustment.CARE_RISK_EVENTS)


@pytest.mark.parametrize(("total", "base", "raised"), ONE_UP)
@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        ({"dementia": True}, Adjustment.DEMENTIA),
        ({"mental_disorder": True}, Adjustment.MENTAL_DISORDER),
        ({"dementia_or_mental_disorder": True}, Adjustment.DEMENTIA_OR_MENTAL_DISORDER),
        ({"risk_events_30d": 2}, Adjustment.CARE_RISK_EVENTS),
        ({"risk_events_30d": 5}, Adjustment.CARE_RISK_EVENTS),
    ],
    ids=["dementia", "mental_disorder", "combined_box", "two_risk_events", "five_risk_events"],
)
def test_each_reason_raises_one_level(total, base, raised, facts, reason):
    result = assess(scores_with_total(total), **facts)
    assert (result.base_level, result.final_level, result.adjustments) == (base, raised, (reason,))
    assert result.adjusted is (base is not raised)


@pytest.mark.parametrize(("total", "base", "_raised"), ONE_UP)
def test_one_risk_event_does_not_raise(total, base, _raised):
    result = assess(scores_with_total(total), risk_events_30d=1)
    assert (result.final_level, result.adjustments, result.risk_events_total) == (base, (), 1)


def test_risk_events_are_counted_over_all_kinds():
    one_each = {RiskEvent.FALL: 1, "choking": 1}
    result = assess(FULL, risk_events_30d=one_each)
    assert (result.final_level, result.adjustments, result.risk_events_total) == (
        L.MILD,
        (Adjustment.CARE_RISK_EVENTS,),
        2,
    )
    single = assess(FULL, risk_events_30d={"fall": 1, "lost": 0, "other": 0})
    assert (single.final_level, single.risk_events_total) == (L.INTACT, 1)
    assert assess(FULL, risk_events_30d={}).final_level is L.INTACT
    assert {kind.value for kind in RiskEvent} == {"fall", "lost", "choking", "suicide_self_harm", "other"}


@pytest.mark.parametrize(("total", "base", "raised"), ONE_UP)
def test_several_reasons_still_raise_one_level(total, base, raised):
    # Each reason raises "在原有能力级别上" (from the preliminary level): they do not add up.
    result = assess(
        scores_with_total(total),
        dementia=True,
        mental_disorder=True,
        dementia_or_mental_disorder=True,
        risk_events_30d={"fall": 2, "suicide_self_harm": 1},
    )
    assert result.final_level is raised
    assert result.adjustments == (
        Adjustment.DEMENTIA,
        Adjustment.MENTAL_DISORDER,
        Adjustment.DEMENTIA_OR_MENTAL_DISORDER,
        Adjustment.CARE_RISK_EVENTS,
    )


def test_raise_one_level_stops_at_complete():
    assert [raise_one_level(level) for level in AbilityLevel] == [
        L.MILD,
        L.MODERATE,
        L.SEVERE,
        L.COMPLETE,
        L.COMPLETE,
    ]


def test_every_reason_and_problem_code_has_a_title():
    assert set(ADJUSTMENT_TITLES) == set(Adjustment)
    assert all(PROBLEM_TITLES.values())


# --- bad input ---------------------------------------------------------------------------------
def test_missing_items_are_each_reported():
    scores = {k: v for k, v in FULL.items() if k not in {"eating", "social_interaction"}}
    assert [(p.item, p.code) for p in validate_scores(scores)] == [
        ("eating", SCORE_MISSING),
        ("social_interaction", SCORE_MISSING),
    ]
    assert [(p.item, p.code) for p in validate_scores({**FULL, "memory": None})] == [
        ("memory", SCORE_MISSING)
    ]
    assert len(validate_scores({})) == 26


def test_unknown_items_are_reported():
    problems = validate_scores({**FULL, "walking": 4, "Eating": 3})
    assert [(p.item, p.code) for p in problems] == [("Eating", UNKNOWN_ITEM), ("walking", UNKNOWN_ITEM)]


@pytest.mark.parametrize("bad", [True, False, 3.0, 2.5, "3", [3]])
def test_bool_float_and_text_scores_are_refused(bad):
    problems = validate_scores({**FULL, "eating": bad})
    assert [(p.item, p.code, p.value) for p in problems] == [("eating", SCORE_NOT_INTEGER, bad)]


def test_all_problems_come_at_once_in_table_order():
    scores = {**FULL, "bathing": 5, "stairs": True, "unknown": 1}
    del scores["vision"]
    with pytest.raises(AssessmentInputError) as excinfo:
        assess(scores)
    assert problems_of(excinfo) == [
        ("bathing", SCORE_OUT_OF_RANGE),
        ("stairs", SCORE_NOT_INTEGER),
        ("vision", SCORE_MISSING),
        ("unknown", UNKNOWN_ITEM),
    ]
    for fn in (indicator_totals, total_score):
        with pytest.raises(AssessmentInputError):
            fn(scores)


def test_problems_render_for_problem_json():
    problem = validate_scores({**FULL, "stairs": 4})[0]
    assert problem.as_dict() == {
        "item": "stairs",
        "code": SCORE_OUT_OF_RANGE,
        "title": "评分超出该评估项目的分值范围",
        "value": 4,
        "min": 0,
        "max": 3,
    }
    # A value JSON cannot hold is left out rather than stringified into the response.
    odd = validate_scores({**FULL, "stairs": [1]})[0].as_dict()
    assert "value" not in odd and odd["code"] == SCORE_NOT_INTEGER
    assert validate_scores({**FULL, "x": 1})[0].as_dict() == {
        "item": "x",
        "code": UNKNOWN_ITEM,
        "title": "不是 GB/T 42195-2022 的评估项目",
    }


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (-1, [("risk_events_30d", RISK_EVENT_COUNT_INVALID)]),
        (True, [("risk_events_30d", RISK_EVENT_COUNT_INVALID)]),
        (2.0, [("risk_events_30d", RISK_EVENT_COUNT_INVALID)]),
        ({"fall": -1}, [("risk_events_30d.fall", RISK_EVENT_COUNT_INVALID)]),
        ({"fall": True}, [("risk_events_30d.fall", RISK_EVENT_COUNT_INVALID)]),
        ({"stroke": 2}, [("risk_events_30d.stroke", UNKNOWN_RISK_EVENT)]),
    ],
)
def test_bad_risk_event_counts_are_refused(events, expected):
    with pytest.raises(AssessmentInputError) as excinfo:
        assess(FULL, risk_events_30d=events)
    assert problems_of(excinfo) == expected


def test_non_boolean_flags_are_refused_with_the_score_problems():
    with pytest.raises(AssessmentInputError) as excinfo:
        assess({**FULL, "eating": 9}, coma=1, dementia="yes")
    assert problems_of(excinfo) == [
        ("eating", SCORE_OUT_OF_RANGE),
        ("coma", "FLAG_NOT_BOOLEAN"),
        ("dementia", "FLAG_NOT_BOOLEAN"),
    ]


def test_scores_must_be_a_mapping():
    with pytest.raises(TypeError):
        validate_scores([("eating", 4)])
