"""GB/T 42195-2022 老年人能力评估规范 scoring: 26 items, a 0-90 total, five levels, the adjustments.

Pure: standard library only, no clock, no database. The item table follows the standard's
appendix B (B.1-B.4 评估表); the bands and the adjustments its appendix C (C.3 初步等级,
C.4 能力等级变更依据, C.5 最终等级). Sources and the points that could not be confirmed against
the standard's own text are listed in docs/assessment-scoring.md.

Bad input is never guessed at: every problem is reported with the item it concerns and a stable
code, all at once, so that a service can answer 422 listing each bad item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.rules.eligibility import DisabilityLevel

# The app already stores levels as DisabilityLevel ("intact" … "complete", mildest first); the
# assessment result must be storable as-is, so this is the same enum, not a look-alike.
AbilityLevel = DisabilityLevel

LEVEL_ORDER: tuple[AbilityLevel, ...] = tuple(AbilityLevel)  # mildest first


class Indicator(StrEnum):
    """The four first-level indicators (一级指标), in the standard's order."""

    SELF_CARE = "self_care"  # 自理能力, B.1
    BASIC_MOBILITY = "basic_mobility"  # 基础运动能力, B.2
    MENTAL_STATE = "mental_state"  # 精神状态, B.3
    PERCEPTION_SOCIAL = "perception_social"  # 感知觉与社会参与, B.4


INDICATOR_NAMES: dict[Indicator, str] = {
    Indicator.SELF_CARE: "自理能力",
    Indicator.BASIC_MOBILITY: "基础运动能力",
    Indicator.MENTAL_STATE: "精神状态",
    Indicator.PERCEPTION_SOCIAL: "感知觉与社会参与",
}


@dataclass(frozen=True)
class Item:
    """One second-level indicator (二级指标) and the scores the standard allows for it."""

    code: str
    clause: str  # the standard's numbering in appendix B
    name: str
    indicator: Indicator
    scores: tuple[int, ...]  # allowed values, ascending

    @property
    def min_score(self) -> int:
        return self.scores[0]

    @property
    def max_score(self) -> int:
        return self.scores[-1]


def _item(code: str, clause: str, name: str, indicator: Indicator, max_score: int) -> Item:
    # Every item in appendix B is scored in whole points from 0 up to its maximum, no gaps.
    return Item(code, clause, name, indicator, tuple(range(max_score + 1)))


_SC, _BM, _MS, _PS = (
    Indicator.SELF_CARE,
    Indicator.BASIC_MOBILITY,
    Indicator.MENTAL_STATE,
    Indicator.PERCEPTION_SOCIAL,
)

ITEMS: tuple[Item, ...] = (
    _item("eating", "B.1.1", "进食", _SC, 4),
    _item("grooming", "B.1.2", "修饰", _SC, 4),
    _item("bathing", "B.1.3", "洗澡", _SC, 4),
    _item("dressing_upper", "B.1.4", "穿/脱上衣", _SC, 4),
    _item("dressing_lower", "B.1.5", "穿/脱裤子和鞋袜", _SC, 4),
    _item("urinary_control", "B.1.6", "小便控制", _SC, 4),
    _item("bowel_control", "B.1.7", "大便控制", _SC, 4),
    _item("toileting", "B.1.8", "如厕", _SC, 4),
    _item("bed_mobility", "B.2.1", "床上体位转移", _BM, 4),
    _item("bed_chair_transfer", "B.2.2", "床椅转移", _BM, 4),
    _item("level_walking", "B.2.3", "平地行走", _BM, 4),
    _item("stairs", "B.2.4", "上下楼梯", _BM, 3),
    _item("time_orientation", "B.3.1", "时间定向", _MS, 4),
    _item("place_orientation", "B.3.2", "空间定向", _MS, 4),
    _item("person_orientation", "B.3.3", "人物定向", _MS, 4),
    _item("memory", "B.3.4", "记忆", _MS, 4),
    _item("comprehension", "B.3.5", "理解能力", _MS, 4),
    _item("expression", "B.3.6", "表达能力", _MS, 4),
    _item("aggressive_behavior", "B.3.7", "攻击行为", _MS, 1),
    _item("depressive_symptoms", "B.3.8", "抑郁症状", _MS, 1),
    _item("consciousness", "B.3.9", "意识水平", _MS, 2),
    _item("vision", "B.4.1", "视力", _PS, 2),
    _item("hearing", "B.4.2", "听力", _PS, 2),
    _item("daily_affairs", "B.4.3", "执行日常事务", _PS, 4),
    _item("transport_outing", "B.4.4", "使用交通工具外出", _PS, 3),
    _item("social_interaction", "B.4.5", "社会交往能力", _PS, 4),
)

ITEMS_BY_CODE: dict[str, Item] = {item.code: item for item in ITEMS}
ITEM_CODES: tuple[str, ...] = tuple(ITEMS_BY_CODE)

INDICATOR_MAXIMA: dict[Indicator, int] = {
    indicator: sum(item.max_score for item in ITEMS if item.indicator is indicator) for indicator in Indicator
}
MAX_TOTAL = 90

# A typo in the table must fail at import, not silently shift every elder's level.
if len(ITEMS_BY_CODE) != 26 or sum(INDICATOR_MAXIMA.values()) != MAX_TOTAL:
    raise RuntimeError("GB/T 42195-2022 has 26 items summing to 90")

# C.3: (lowest total, highest total, level), best first.
LEVEL_BANDS: tuple[tuple[int, int, AbilityLevel], ...] = (
    (90, 90, AbilityLevel.INTACT),  # 能力完好
    (66, 89, AbilityLevel.MILD),  # 能力轻度受损(轻度失能)
    (46, 65, AbilityLevel.MODERATE),  # 能力中度受损(中度失能)
    (30, 45, AbilityLevel.SEVERE),  # 能力重度受损(重度失能)
    (0, 29, AbilityLevel.COMPLETE),  # 能力完全丧失(完全失能)
)

LEVEL_NAMES: dict[AbilityLevel, str] = {
    AbilityLevel.INTACT: "能力完好",
    AbilityLevel.MILD: "能力轻度受损(轻度失能)",
    AbilityLevel.MODERATE: "能力中度受损(中度失能)",
    AbilityLevel.SEVERE: "能力重度受损(重度失能)",
    AbilityLevel.COMPLETE: "能力完全丧失(完全失能)",
}


class RiskEvent(StrEnum):
    """近30天内照护风险事件, the rows of the standard's form A.2.14."""

    FALL = "fall"  # A.2.14.1 跌倒
    LOST = "lost"  # A.2.14.2 走失
    CHOKING = "choking"  # A.2.14.3 噎食
    SUICIDE_SELF_HARM = "suicide_self_harm"  # A.2.14.4 自杀、自伤
    OTHER = "other"  # A.2.14.5 其他 (C.4 lists the kinds with 等: the list is open)


_RISK_EVENT_VALUES = frozenset(kind.value for kind in RiskEvent)

# C.4: two or more events in the last 30 days, counted over all kinds together.
RISK_EVENTS_THRESHOLD = 2


class Adjustment(StrEnum):
    """Reasons of C.4 能力等级变更依据 that matched (ticked boxes), as stable codes."""

    COMA = "COMA"  # 昏迷 (A.5.11): rated 完全失能 directly
    DEMENTIA = "DEMENTIA"  # 确诊为痴呆 F00-F03: one level up
    MENTAL_DISORDER = "MENTAL_DISORDER"  # 精神科专科医生诊断的其他精神和行为障碍 F04-F99: one level up
    DEMENTIA_OR_MENTAL_DISORDER = "DEMENTIA_OR_MENTAL_DISORDER"  # the combined C.4 box, kind not recorded
    CARE_RISK_EVENTS = "CARE_RISK_EVENTS"  # 近30天内 2 次及以上照护风险事件: one level up


ADJUSTMENT_TITLES: dict[Adjustment, str] = {
    Adjustment.COMA: "处于昏迷状态,直接评定为能力完全丧失(完全失能)",
    Adjustment.DEMENTIA: "确诊为痴呆(F00~F03),在原有能力级别上提高一个级别",
    Adjustment.MENTAL_DISORDER: "精神科专科医生诊断的其他精神和行为障碍疾病(F04~F99),在原有能力级别上提高一个级别",
    Adjustment.DEMENTIA_OR_MENTAL_DISORDER: "确诊为痴呆或精神科专科医生诊断的精神和行为障碍疾病,在原有能力级别上提高一个级别",
    Adjustment.CARE_RISK_EVENTS: "近30天内发生过2次及以上照护风险事件,在原有能力级别上提高一个级别",
}

_RAISING = frozenset(
    {
        Adjustment.DEMENTIA,
        Adjustment.MENTAL_DISORDER,
        Adjustment.DEMENTIA_OR_MENTAL_DISORDER,
        Adjustment.CARE_RISK_EVENTS,
    }
)


# --- problems ----------------------------------------------------------------------------------
SCORE_MISSING = "SCORE_MISSING"
UNKNOWN_ITEM = "UNKNOWN_ITEM"
SCORE_NOT_INTEGER = "SCORE_NOT_INTEGER"
SCORE_OUT_OF_RANGE = "SCORE_OUT_OF_RANGE"
RISK_EVENT_COUNT_INVALID = "RISK_EVENT_COUNT_INVALID"
UNKNOWN_RISK_EVENT = "UNKNOWN_RISK_EVENT"
FLAG_NOT_BOOLEAN = "FLAG_NOT_BOOLEAN"

PROBLEM_TITLES: dict[str, str] = {
    SCORE_MISSING: "缺少该评估项目的评分",
    UNKNOWN_ITEM: "不是 GB/T 42195-2022 的评估项目",
    SCORE_NOT_INTEGER: "评分应为整数",
    SCORE_OUT_OF_RANGE: "评分超出该评估项目的分值范围",
    RISK_EVENT_COUNT_INVALID: "照护风险事件次数应为非负整数",
    UNKNOWN_RISK_EVENT: "未知的照护风险事件类型",
    FLAG_NOT_BOOLEAN: "该项应为是/否",
}


@dataclass(frozen=True)
class ScoreProblem:
    """One bad input. ``item`` is the item code as given, or for the adjustment facts the input
    name (``coma``, ``risk_events_30d``, ``risk_events_30d.fall``)."""

    item: str
    code: str
    value: Any = None
    min_score: int | None = None
    max_score: int | None = None

    @property
    def title(self) -> str:
        return PROBLEM_TITLES[self.code]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for a problem+json ``errors`` list; the value only when JSON can hold it."""
        out: dict[str, Any] = {"item": self.item, "code": self.code, "title": self.title}
        if isinstance(self.value, bool | int | float | str):
            out["value"] = self.value
        if self.min_score is not None:
            out["min"] = self.min_score
            out["max"] = self.max_score
        return out


class AssessmentInputError(ValueError):
    """Raised with every problem found; a service maps it to 422 listing ``problems``."""

    def __init__(self, problems: Sequence[ScoreProblem]) -> None:
        self.problems: tuple[ScoreProblem, ...] = tuple(problems)
        super().__init__("; ".join(f"{p.item}: {p.code}" for p in self.problems))


def _is_int(value: object) -> bool:
    # bool is an int subclass, but True is not a score; floats (even 3.0) are refused as well.
    return isinstance(value, int) and not isinstance(value, bool)


def validate_scores(scores: Mapping[str, Any]) -> list[ScoreProblem]:
    """Every problem in ``scores``: the 26 items in table order first, then unknown keys."""
    if not isinstance(scores, Mapping):
        raise TypeError("scores must be a mapping of item code to score")
    problems: list[ScoreProblem] = []
    for item in ITEMS:
        value = scores.get(item.code)
        bounds = {"min_score": item.min_score, "max_score": item.max_score}
        if value is None:  # absent, or sent as null: not scored either way
            problems.append(ScoreProblem(item.code, SCORE_MISSING, **bounds))
        elif not _is_int(value):
            problems.append(ScoreProblem(item.code, SCORE_NOT_INTEGER, value, **bounds))
        elif value not in item.scores:
            problems.append(ScoreProblem(item.code, SCORE_OUT_OF_RANGE, value, **bounds))
    unknown = sorted(str(key) for key in scores if key not in ITEMS_BY_CODE)
    problems.extend(ScoreProblem(key, UNKNOWN_ITEM) for key in unknown)
    return problems


def _checked(scores: Mapping[str, Any]) -> Mapping[str, int]:
    problems = validate_scores(scores)
    if problems:
        raise AssessmentInputError(problems)
    return scores


def indicator_totals(scores: Mapping[str, Any]) -> dict[Indicator, int]:
    """The four first-level totals (C.1). Raises AssessmentInputError on any bad score."""
    valid = _checked(scores)
    totals = dict.fromkeys(Indicator, 0)
    for item in ITEMS:
        totals[item.indicator] += valid[item.code]
    return totals


def total_score(scores: Mapping[str, Any]) -> int:
    """The 0-90 total (C.2). Raises AssessmentInputError on any bad score."""
    return sum(indicator_totals(scores).values())


def level_for_total(total: int) -> AbilityLevel:
    """The preliminary level for a total (C.3)."""
    if not _is_int(total) or not 0 <= total <= MAX_TOTAL:
        raise ValueError(f"total must be an integer from 0 to {MAX_TOTAL}, got {total!r}")
    for low, high, level in LEVEL_BANDS:
        if low <= total <= high:
            return level
    raise AssertionError("LEVEL_BANDS must cover 0-90")  # pragma: no cover


def raise_one_level(level: AbilityLevel) -> AbilityLevel:
    """One level worse; 完全失能 is the last level and stays."""
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[min(index + 1, len(LEVEL_ORDER) - 1)]


@dataclass(frozen=True)
class AssessmentResult:
    indicator_totals: dict[Indicator, int] = field(hash=False)
    total: int
    base_level: AbilityLevel  # C.3 初步等级, from the total alone
    final_level: AbilityLevel  # C.5 最终等级
    adjustments: tuple[Adjustment, ...]  # every C.4 reason that matched, in Adjustment order
    risk_events_total: int

    @property
    def adjusted(self) -> bool:
        return self.final_level is not self.base_level


def _risk_event_total(events: int | Mapping[str, Any], problems: list[ScoreProblem]) -> int:
    name = "risk_events_30d"
    if not isinstance(events, Mapping):
        if not _is_int(events) or events < 0:
            problems.append(ScoreProblem(name, RISK_EVENT_COUNT_INVALID, events))
            return 0
        return events
    total = 0
    for key in sorted(events, key=str):
        count = events[key]
        if key not in _RISK_EVENT_VALUES:
            problems.append(ScoreProblem(f"{name}.{key}", UNKNOWN_RISK_EVENT))
        elif not _is_int(count) or count < 0:
            problems.append(ScoreProblem(f"{name}.{key}", RISK_EVENT_COUNT_INVALID, count))
        else:
            total += count
    return total


def assess(
    scores: Mapping[str, Any],
    *,
    coma: bool = False,
    dementia: bool = False,
    mental_disorder: bool = False,
    dementia_or_mental_disorder: bool = False,
    risk_events_30d: int | Mapping[str, Any] = 0,
) -> AssessmentResult:
    """Score, band and adjust one assessment (appendix C).

    ``dementia``: 确诊为痴呆 (F00-F03). ``mental_disorder``: 精神科专科医生诊断的其他精神和行为障碍
    (F04-F99). ``dementia_or_mental_disorder``: the standard's single C.4 box, for records that do
    not say which. ``risk_events_30d``: the number of care-risk events in the last 30 days, or the
    counts per ``RiskEvent`` kind as in form A.2.14 (they are added up).

    Coma rates 完全失能 whatever the score. Otherwise each matched raising reason moves the
    preliminary level (原有能力级别) up by one; they all start from that same level, so two reasons
    still give one level, and 完全失能 cannot go further. Raises AssessmentInputError listing every
    problem in the scores and the facts.
    """
    flags = {
        "coma": coma,
        "dementia": dementia,
        "mental_disorder": mental_disorder,
        "dementia_or_mental_disorder": dementia_or_mental_disorder,
    }
    problems = validate_scores(scores)
    problems.extend(
        ScoreProblem(name, FLAG_NOT_BOOLEAN, value)
        for name, value in flags.items()
        if not isinstance(value, bool)
    )
    events = _risk_event_total(risk_events_30d, problems)
    if problems:
        raise AssessmentInputError(problems)

    totals = indicator_totals(scores)
    total = sum(totals.values())
    base = level_for_total(total)
    matched = {
        Adjustment.COMA: coma,
        Adjustment.DEMENTIA: dementia,
        Adjustment.MENTAL_DISORDER: mental_disorder,
        Adjustment.DEMENTIA_OR_MENTAL_DISORDER: dementia_or_mental_disorder,
        Adjustment.CARE_RISK_EVENTS: events >= RISK_EVENTS_THRESHOLD,
    }
    adjustments = tuple(reason for reason in Adjustment if matched[reason])
    return AssessmentResult(
        indicator_totals=totals,
        total=total,
        base_level=base,
        final_level=_final_level(base, adjustments),
        adjustments=adjustments,
        risk_events_total=events,
    )


def _final_level(base: AbilityLevel, adjustments: tuple[Adjustment, ...]) -> AbilityLevel:
    """C.5: coma rates 完全失能; any raising reason moves the preliminary level up by one."""
    if Adjustment.COMA in adjustments:
        return AbilityLevel.COMPLETE
    if _RAISING.intersection(adjustments):
        return raise_one_level(base)
    return base
