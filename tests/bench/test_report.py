"""The bench's pure parts: reading wrk's summary and printing the figures (no timing here)."""

import pytest

from bench import wrk
from bench.report import Figure, Target, percentile, summary, table

WRK_OUTPUT = """\
Running 5s test @ http://127.0.0.1:41234/r/BENCHTOP
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    25.31ms    4.12ms  61.02ms   81.20%
    Req/Sec   634.52     58.40   747.00     72.00%
  6321 requests in 5.01s, 2.11MB read
  Socket errors: connect 0, read 6321, write 0, timeout 0
Requests/sec:   1261.68
Transfer/sec:    430.85KB
"""


def test_wrk_summary_gives_the_rate_and_counts():
    result = wrk.parse(WRK_OUTPUT)
    assert result.requests == 6321
    assert result.seconds == pytest.approx(5.01)
    assert result.requests_per_second == pytest.approx(1261.68)
    # Read errors are sync gunicorn closing each connection after its answer, not failures.
    assert result.clean


def test_wrk_run_with_error_answers_is_not_clean():
    output = WRK_OUTPUT.replace(
        "Requests/sec", "  Non-2xx or 3xx responses: 17\nRequests/sec"
    ).replace("timeout 0", "timeout 3")
    result = wrk.parse(output)
    assert (result.bad_responses, result.timeouts) == (17, 3)
    assert not result.clean


def test_wrk_durations_in_minutes_are_read_as_seconds():
    assert wrk.parse(WRK_OUTPUT.replace("in 5.01s", "in 1.50m")).seconds == pytest.approx(90)


def test_output_that_is_not_a_wrk_summary_is_an_error():
    with pytest.raises(wrk.WrkError):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused")


def test_ratio_reads_higher_is_better_for_rates_and_for_times():
    rate = Figure("redirect", "req/s", ours=700, baseline=1000, higher_is_better=True)
    time = Figure("build", "s", ours=2, baseline=8, higher_is_better=False)
    assert rate.ratio == pytest.approx(0.7)
    assert time.ratio == pytest.approx(4)


def test_targets_on_the_ratio_and_on_our_own_figure():
    ratio_target = Target("ratio >= 0.6", 0.6, on="ratio")
    assert Figure("a", "req/s", 600, 1000, True, ratio_target).met
    assert not Figure("a", "req/s", 590, 1000, True, ratio_target).met
    p95_target = Target("p95 <= 50 ms", 50)
    assert Figure("d", "ms", 50, 5, False, p95_target).met
    assert not Figure("d", "ms", 50.1, 5, False, p95_target).met
    assert Figure("n", "queries", 3, 2, False).met is None


def test_table_prints_one_aligned_line_per_figure_and_the_summary_says_what_passed():
    figures = [
        Figure("redirect /r/<CODE>", "req/s", 1234.4, 2000, True, Target("r", 0.6, "ratio")),
        Figure("payout batch build", "s", 6.5, 120.25, False, Target("<= 5 s", 5.0)),
    ]
    lines = table(figures).splitlines()
    assert lines[0].split() == ["figure", "ours", "baseline", "ratio"]
    assert lines[1].split()[-3:] == ["1,234", "2,000", "0.62"]
    assert lines[2].split()[-3:] == ["6.50", "120.25", "18.50"]
    assert len({len(line) for line in lines}) == 1  # aligned columns
    text = summary(figures)
    assert "PASS  redirect /r/<CODE>" in text
    assert "FAIL  payout batch build: <= 5 s (measured 6.50 s)" in text
    assert "1 of 2 targets met" in text


def test_p95_is_the_nearest_rank():
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 0.95) == 95
    assert percentile(list(reversed(samples)), 0.5) == 50
    assert percentile([7.0], 0.95) == 7
