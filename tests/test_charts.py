"""Bar charts as inline SVG: well-formed, accessible, bars in proportion."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from campaign.admin.charts import Bar, bar_chart, nice_scale, tick_indexes

SVG = "{http://www.w3.org/2000/svg}"


def parse(chart) -> ET.Element:
    return ET.fromstring(str(chart.svg))  # noqa: S314 - our own output, not untrusted


def bars_of(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"./{SVG}g[@class='chart__bars']/{SVG}rect")


def chart(values, **kw):
    bars = [Bar(label=f"Day {i + 1}", value=v, tick=f"D{i + 1}") for i, v in enumerate(values)]
    options = {"chart_id": "c", "title": "Per day", "description": "What it shows"} | kw
    return bar_chart(bars, **options)


def test_svg_is_well_formed_and_labelled_for_screen_readers():
    root = parse(chart([3, 0, 5]))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c-title c-desc"
    title = root.find(f"{SVG}title")
    assert title is not None
    assert (title.get("id"), title.text) == ("c-title", "Per day")
    assert root.find(f"{SVG}desc").text == "What it shows"
    # The first child is the title, as the accessible-name rules of SVG want.
    assert root[0] is title


def test_bars_are_proportional_to_their_values():
    values = [10, 0, 40, 25, 5]
    root = parse(chart(values))
    rects = bars_of(root)
    # A day without signatures draws no bar; the others in order.
    assert [int(r.get("data-value")) for r in rects] == [10, 40, 25, 5]
    heights = [float(r.get("height")) for r in rects]
    for rect, height in zip(rects, heights, strict=True):
        assert height / heights[1] == pytest.approx(int(rect.get("data-value")) / 40, rel=1e-3)
    # Bars stand on one baseline.
    bottoms = {round(float(r.get("y")) + float(r.get("height")), 2) for r in rects}
    assert len(bottoms) == 1
    # And left to right in order, inside the chart.
    xs = [float(r.get("x").rstrip("%")) for r in rects]
    assert xs == sorted(xs)
    assert all(0 <= x <= 100 for x in xs)


def test_each_bar_says_its_label_and_value():
    root = parse(chart([7, 1200], number=lambda n: f"{n:,}"))
    assert [r.find(f"{SVG}title").text for r in bars_of(root)] == ["Day 1: 7", "Day 2: 1,200"]


def test_a_tiny_bar_among_big_ones_stays_visible():
    rects = bars_of(parse(chart([1, 100000])))
    assert float(rects[0].get("height")) >= 1


def test_grid_lines_have_round_values_formatted():
    root = parse(chart([0, 37], number=lambda n: f"<{n}>"))
    labels = [t.text for t in root.iter(f"{SVG}text") if not t.get("class")]
    assert labels == ["<10>", "<20>", "<30>", "<40>"]


def test_tick_labels_are_spread_and_stay_inside():
    root = parse(chart(list(range(1, 31)), ticks=5))
    ticks = [t for t in root.iter(f"{SVG}text") if t.get("class") == "chart__tick"]
    assert [t.text for t in ticks] == ["D1", "D8", "D15", "D23", "D30"]
    assert ticks[0].get("text-anchor") == "start"
    assert ticks[-1].get("text-anchor") == "end"
    assert float(ticks[-1].get("x").rstrip("%")) == pytest.approx(100)


def test_ticks_can_be_chosen():
    root = parse(chart([1] * 48, ticks=[11, 23, 35, 47, 99]))
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "chart__tick"]
    assert ticks == ["D12", "D24", "D36", "D48"]


def test_empty_and_all_zero_series():
    for values in ([], [0, 0, 0]):
        result = chart(values, empty_text="Nothing yet")
        root = parse(result)
        assert bars_of(root) == []
        empty = [t for t in root.iter(f"{SVG}text") if t.get("class") == "chart__empty"]
        assert [t.text for t in empty] == ["Nothing yet"]
        assert result.total == 0
        assert result.peak == 0


def test_text_is_escaped():
    result = bar_chart(
        [Bar(label="<b>&", value=1)],
        chart_id="x",
        title='"A" & <B>',
        description="</desc><script>",
    )
    root = parse(result)
    assert root.find(f"{SVG}title").text == '"A" & <B>'
    assert root.find(f"{SVG}desc").text == "</desc><script>"
    assert "<script>" not in str(result.svg)


def test_many_bars_still_well_formed():
    result = chart([i % 13 for i in range(1500)])
    rects = bars_of(parse(result))
    assert len(rects) == sum(1 for i in range(1500) if i % 13)
    assert result.total == sum(i % 13 for i in range(1500))


@pytest.mark.parametrize(
    ("peak", "expected"),
    [(0, (1, 1)), (1, (1, 1)), (3, (3, 1)), (7, (8, 2)), (37, (40, 10)), (120, (150, 50))],
)
def test_nice_scale(peak, expected):
    assert nice_scale(peak) == expected


def test_tick_indexes():
    assert tick_indexes(0, 5) == []
    assert tick_indexes(3, 5) == [0, 1, 2]
    assert tick_indexes(100, 5) == [0, 25, 50, 74, 99]
    assert tick_indexes(10, 1) == [0]
