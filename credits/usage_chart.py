"""Geometry of the usage page's bar chart: one stacked bar of cost per day, drawn as SVG.

Plain SVG attributes only (the CSP forbids inline styles and scripts); pixel positions are
layout, not money, and every amount shown is formatted by credits.money.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from credits.money import format_usd
from credits.selectors.usage import DailyUsage

WIDTH = 720
HEIGHT = 260
LEFT = 72
RIGHT = 8
TOP = 10
BOTTOM = 28
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
# Colour-blind-safe (Okabe-Ito), one per model in catalog order, repeating past eight.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
MAX_DAY_LABELS = 8
GRID_LINES = 4


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class LegendItem:
    name: str
    fill: str


@dataclass(frozen=True)
class UsageChart:
    bars: list[Bar]
    day_ticks: list[Tick]
    value_ticks: list[Tick]
    legend: list[LegendItem]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    baseline: int = TOP + PLOT_HEIGHT

    @property
    def empty(self) -> bool:
        return not self.bars


def usage_chart(*, rows: list[DailyUsage], start: date, end: date) -> UsageChart:
    days = (end - start).days + 1
    totals: dict[date, int] = {}
    for row in rows:
        totals[row.day] = totals.get(row.day, 0) + row.cost_micros
    top = max(totals.values(), default=0)
    if top == 0:
        return UsageChart(bars=[], day_ticks=[], value_ticks=[], legend=[])
    slot = PLOT_WIDTH / days
    fills: dict[str, str] = {}
    stacked: dict[date, float] = {}
    bars = []
    for row in rows:
        fill = fills.setdefault(row.model_name, PALETTE[len(fills) % len(PALETTE)])
        if row.cost_micros == 0:
            continue
        height = row.cost_micros * PLOT_HEIGHT / top
        below = stacked.get(row.day, 0.0)
        stacked[row.day] = below + height
        index = (row.day - start).days
        bars.append(
            Bar(
                x=round(LEFT + index * slot + slot * 0.1, 2),
                y=round(TOP + PLOT_HEIGHT - below - height, 2),
                width=round(slot * 0.8, 2),
                height=round(height, 2),
                fill=fill,
                title=f"{row.day:%b %-d}, {row.model_name}: {format_usd(row.cost_micros, places=6)}",
            )
        )
    every = -(-days // MAX_DAY_LABELS)
    day_ticks = [
        Tick(round(LEFT + (offset + 0.5) * slot, 2), f"{start + timedelta(days=offset):%b %-d}")
        for offset in range(0, days, every)
    ]
    value_ticks = [
        Tick(
            round(TOP + PLOT_HEIGHT - step * PLOT_HEIGHT / GRID_LINES, 2),
            format_usd(top * step // GRID_LINES, places=2 if top >= 10_000 * GRID_LINES else 6),
        )
        for step in range(GRID_LINES + 1)
    ]
    legend = [LegendItem(name, fill) for name, fill in fills.items()]
    return UsageChart(bars=bars, day_ticks=day_ticks, value_ticks=value_ticks, legend=legend)
