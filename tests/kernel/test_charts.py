"""Server-drawn SVG charts: accessible, escaped, and free of anything a strict CSP refuses."""

from kernel.charts import Series, bar_chart, line_chart, nice_step


def test_line_chart_is_labelled_for_screen_readers_and_escapes_text():
    svg = line_chart(
        title="Revenue <script>",
        description="Per day",
        labels=["1 Mar", "2 Mar", "3 Mar"],
        series=[Series("Referred revenue", [0, 1500, 900]), Series("Commissions", [0, 150, 90])],
        format_value=lambda v: f"€{v / 100:.2f}",
    )

    assert svg.startswith("<svg")
    assert 'role="img"' in svg
    assert '<title id="chart-' in svg
    assert "<desc id=" in svg
    assert "Revenue &lt;script&gt;" in svg
    assert "<script" not in svg
    assert "style=" not in svg  # colours are presentation attributes (the CSP's style-src)
    assert svg.count("<polyline") == 2
    assert "Referred revenue" in svg
    assert "€20.00" in svg  # the top tick: 4 steps of 5.00 reach the largest value, 15.00


def test_bar_chart_draws_one_bar_per_step_with_its_text():
    svg = bar_chart(
        title="Funnel",
        description="Counts",
        bars=[("Link clicks", 200, "200"), ("Referred orders", 10, "10 (€80.00)")],
    )

    assert svg.count('class="chart-bar"') == 2
    assert "10 (€80.00)" in svg
    assert "style=" not in svg


def test_nice_steps_are_round_and_reach_the_largest_value():
    assert nice_step(1500) == 500
    assert nice_step(1234) == 500
    assert nice_step(100) == 25
    assert nice_step(0) == 1
    assert 4 * nice_step(987654) >= 987654
