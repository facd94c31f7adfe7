"""Charts drawn on the server as SVG: no script, no external library, readable offline and by
screen readers (each bar has a title; the page also gives the figures as a table)."""

from __future__ import annotations

from dataclasses import dataclass

from app.reports.overview import DayFigures

WIDTH, HEIGHT = 720, 220
LEFT, BOTTOM, TOP = 48, 24, 12


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label: str  # the day of the month
    title: str  # what a screen reader or a hover shows


@dataclass(frozen=True)
class Tick:
    y: int
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[Tick]
    baseline: int
    left: int


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^k that is at least ``value`` (axis maximum)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def daily_bar_chart(days: list[DayFigures]) -> BarChart:
    """One bar per day: the number of redemptions served that day."""
    top = _nice_ceiling(max((d.redemptions for d in days), default=0) or 1)
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) // max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        height = day.redemptions * plot_height // top
        bars.append(
            Bar(
                x=LEFT + index * slot + 1,
                y=TOP + plot_height - height,
                width=max(slot - 2, 1),
                height=height,
                label=str(day.day.day),
                title=f"{day.day.month}月{day.day.day}日:{day.redemptions} 笔",
            )
        )
    values = sorted({top * i // 4 for i in range(5)})  # 0, ¼, ½, ¾ and the top, whole numbers
    ticks = [Tick(y=TOP + plot_height - plot_height * v // top, label=f"{v:,}") for v in values]
    return BarChart(WIDTH, HEIGHT, bars, ticks, baseline=TOP + plot_height, left=LEFT)
