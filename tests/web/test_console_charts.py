"""The console's inline SVG charts (hub.web.charts): well-formed, labelled, escaped, gaps kept."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hub.web.charts import Series, bar_chart, line_chart, nice_ticks

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_ticks_are_round_numbers_covering_the_values_from_zero() -> None:
    assert nice_ticks(0, 97) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(5, 5)[0] <= 5 <= nice_ticks(5, 5)[-1]
    ticks = nice_ticks(-30, 70)
    assert 0 in ticks and ticks[0] <= -30 and ticks[-1] >= 70


def test_a_line_chart_draws_a_dot_per_value_with_its_formatted_value_and_axis_labels() -> None:
    svg = line_chart(
        ["1 Dec", "2 Dec", "3 Dec"],
        [Series("DSO", [40.0, 42.5, 39.0])],
        aria="Days sales outstanding",
        y_format=lambda v: f"{v:.0f} d",
    )
    root = parse(svg)
    assert root.get("role") == "img" and root.get("aria-label") == "Days sales outstanding"
    circles = root.findall(f".//{NS}circle")
    assert len(circles) == 3
    assert circles[1].findtext(f"{NS}title") == "DSO 2 Dec: 42 d"
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "1 Dec" in texts and "3 Dec" in texts and "0 d" in texts


def test_a_missing_value_breaks_the_line_instead_of_drawing_through_it() -> None:
    root = parse(line_chart(["a", "b", "c", "d", "e"], [Series("x", [1.0, 2.0, None, 3.0, 4.0])], aria="x"))
    assert len(root.findall(f".//{NS}polyline")) == 2
    assert len(root.findall(f".//{NS}circle")) == 4


def test_labels_are_escaped_and_cjk_text_is_kept() -> None:
    svg = line_chart(["<b>", "12月5日"], [Series("逾期 & <x>", [1.0, 2.0]), Series("b", [2.0, 1.0])], aria="图 <1>")
    root = parse(svg)
    assert "&lt;b&gt;" in svg and "<b>" not in svg
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "逾期 & <x>" in texts and "12月5日" in texts and "<b>" in texts


def test_no_values_shows_the_empty_message_not_an_empty_chart() -> None:
    out = line_chart(["a"], [Series("x", [None])], aria="x", empty="No history yet")
    assert "No history yet" in out and "<svg" not in out
    assert "<svg" not in bar_chart([], [], aria="x", empty="none")


def test_stacked_bars_stack_each_series_and_have_a_legend() -> None:
    root = parse(
        bar_chart(
            ["w1", "w2"],
            [Series("1-30", [10.0, 20.0]), Series("31-60", [5.0, 0.0])],
            aria="Overdue by bucket",
        )
    )
    bars = root.findall(f".//{NS}g[@class='bar']")
    assert [len(b.findall(f"{NS}rect")) for b in bars] == [2, 1]  # a zero draws nothing
    first = bars[0].findall(f"{NS}rect")
    assert float(first[1].get("y") or 0) < float(first[0].get("y") or 0)  # the second sits on the first
    legend = [t.text for t in root.findall(f".//{NS}g[@class='legend']/{NS}text")]
    assert legend == ["1-30", "31-60"]


def test_single_series_bars_take_a_colour_each_and_write_their_values() -> None:
    root = parse(
        bar_chart(
            ["not due", "1-30"],
            [Series("open", [100.0, 50.0])],
            aria="Ageing",
            colours=["#111111", "#222222"],
            value_labels=["€100", "€50"],
        )
    )
    fills = [r.get("fill") for r in root.iter(f"{NS}rect")]
    assert fills == ["#111111", "#222222"]
    assert [t.text for t in root.findall(f".//{NS}text[@class='value']")] == ["€100", "€50"]


def test_a_long_legend_wraps_inside_the_chart() -> None:
    names = ["1-30 days", "31-60 days", "61-90 days", "91-180 days", "over 180 days"]
    root = parse(bar_chart(["a"], [Series(n, [1.0]) for n in names], aria="x", width=400))
    texts = root.findall(f".//{NS}g[@class='legend']/{NS}text")
    assert [t.text for t in texts] == names
    assert len({t.get("y") for t in texts}) == 2  # two rows
    assert all(float(t.get("x") or 0) + 6.6 * len(t.text or "") <= 400 for t in texts)
