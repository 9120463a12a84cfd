"""Bar charts drawn on the server as inline SVG: no JavaScript, no library.

The chart is as wide as its container and a fixed number of pixels tall. Horizontal positions
are percentages of the width, vertical ones pixels, so bars stretch to any screen while the
text stays at its size and never gets squeezed into illegibility on a phone. Colours and sizes
are SVG presentation attributes: the chart needs no stylesheet.

For people who cannot see it, the <svg> is one image (role="img") named by its <title> and
described by its <desc>; the template puts the same numbers in a table under it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BAR_COLOUR = "#b3261e"
GRID_COLOUR = "#e6e1d6"
AXIS_COLOUR = "#8f8a7e"
TEXT_COLOUR = "#5b5b57"
FONT_SIZE = 12
TOP_PAD = 20  # room for the label of the highest grid line
BOTTOM_PAD = 26  # room for the labels under the bars
MAX_BAR_PERCENT = 6.0  # a handful of bars stay slim rather than turning into slabs


@dataclass(frozen=True)
class Bar:
    label: str  # in full, for the tooltip and the table: "5 April 2024"
    value: int
    tick: str = ""  # shorter, under the axis: "5 Apr" (the label when empty)


@dataclass(frozen=True)
class BarChart:
    chart_id: str
    title: str
    description: str
    bars: list[Bar]
    svg: Markup

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)

    @property
    def peak(self) -> int:
        return max((bar.value for bar in self.bars), default=0)


def nice_scale(peak: int, lines: int = 4) -> tuple[int, int]:
    """(top, step): a round step (1, 2 or 5 times a power of ten) and the first multiple of
    it at or above `peak`, for at most `lines` grid lines above zero."""
    if peak <= 0:
        return 1, 1
    rough = peak / lines
    magnitude = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    step = max(1, int(step))
    return step * math.ceil(peak / step), step


def tick_indexes(count: int, ticks: int) -> list[int]:
    """Which of `count` bars get a label under the axis: `ticks` of them, evenly spread,
    the first and the last always among them."""
    if count <= 0:
        return []
    if count <= ticks:
        return list(range(count))
    if ticks <= 1:
        return [0]
    return sorted({round(i * (count - 1) / (ticks - 1)) for i in range(ticks)})


def _num(value: float) -> str:
    """A coordinate, short: 12.5 not 12.500000001."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def bar_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    description: str,
    empty_text: str = "",
    height: int = 220,
    ticks: int | Sequence[int] = 5,
    number: Callable[[int], str] = str,
) -> BarChart:
    """A bar chart of `bars`, left to right, as inline SVG.

    `title` names the chart and `description` says what it shows (both for screen readers);
    `empty_text` is written across it when every bar is 0; `ticks` is how many bars get their
    label under the axis, or which ones; `number` formats counts in the reader's locale.
    """
    bars = list(bars)
    peak = max((bar.value for bar in bars), default=0)
    top, step = nice_scale(peak)
    plot = height - TOP_PAD - BOTTOM_PAD
    base = TOP_PAD + plot

    def y_of(value: float) -> float:
        return base - plot * value / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'width="100%" height="{height}" direction="ltr" font-size="{FONT_SIZE}">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]

    # Grid lines with their values, written over a halo so bars behind do not hide them.
    parts.append(f'<g class="chart__grid" stroke="{GRID_COLOUR}" stroke-width="1">')
    grid_values = list(range(step, top + 1, step)) if peak else []
    for value in grid_values:
        y = _num(y_of(value))
        parts.append(f'<line x1="0" x2="100%" y1="{y}" y2="{y}"/>')
    parts.append("</g>")

    slot = 100 / len(bars) if bars else 100
    gap = slot * 0.2 if len(bars) <= 100 else 0.0
    width = min(slot - gap, MAX_BAR_PERCENT)
    parts.append(f'<g class="chart__bars" fill="{BAR_COLOUR}">')
    for index, bar in enumerate(bars):
        if bar.value <= 0:
            continue
        # At least a pixel, so a day with one signature among days with thousands still shows.
        bar_height = max(plot * bar.value / top, 1.0)
        x = index * slot + (slot - width) / 2
        parts.append(
            f'<rect x="{_num(x)}%" y="{_num(base - bar_height)}" width="{_num(width)}%" '
            f'height="{_num(bar_height)}" data-value="{bar.value}">'
            f"<title>{escape(bar.label)}: {escape(number(bar.value))}</title></rect>"
        )
    parts.append("</g>")
    parts.append(
        f'<line class="chart__axis" x1="0" x2="100%" y1="{base}" y2="{base}" '
        f'stroke="{AXIS_COLOUR}" stroke-width="1"/>'
    )

    parts.append(
        f'<g class="chart__labels" fill="{TEXT_COLOUR}" stroke="#ffffff" stroke-width="3" '
        f'stroke-linejoin="round" paint-order="stroke">'
    )
    for value in grid_values:
        parts.append(f'<text x="2" y="{_num(y_of(value) - 4)}">{escape(number(value))}</text>')
    indexes = tick_indexes(len(bars), ticks) if isinstance(ticks, int) else sorted(ticks)
    for index in indexes:
        if not 0 <= index < len(bars):
            continue
        bar = bars[index]
        # Labels near an edge hug it, so they are never cut off.
        x, anchor = index * slot + slot / 2, "middle"
        if x < 5 and slot < 15:
            x, anchor = index * slot, "start"
        elif x > 95 and slot < 15:
            x, anchor = (index + 1) * slot, "end"
        parts.append(
            f'<text class="chart__tick" x="{_num(x)}%" y="{height - 8}" '
            f'text-anchor="{anchor}">{escape(bar.tick or bar.label)}</text>'
        )
    if not peak and empty_text:
        parts.append(
            f'<text class="chart__empty" x="50%" y="{_num(TOP_PAD + plot / 2)}" '
            f'text-anchor="middle" font-size="{FONT_SIZE + 2}">{escape(empty_text)}</text>'
        )
    parts.append("</g></svg>")
    return BarChart(
        chart_id=chart_id,
        title=title,
        description=description,
        bars=bars,
        svg=Markup("".join(parts)),  # noqa: S704 - every value above went through escape()
    )
