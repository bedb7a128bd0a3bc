"""dpa.benchmark.stats and .tables: the statistics are scipy's and repeatable, and
the tables align as they say."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark_fakes import noisy
from dpa._tables import format_change, text_table
from dpa.benchmark.stats import mean_interval, median_ratio_interval, shift_p_value, t_quantile


def test_t_quantile_is_scipys() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 3, 5, 9, 30, 200):
        assert t_quantile(0.975, df) == scipy_stats.t.ppf(0.975, df)
    with pytest.raises(ValueError):
        t_quantile(1.0, 3)


def test_statistics_are_scipys_and_repeatable() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    times = noisy(1.0, 0.05, 12, seed=21)
    expected = scipy_stats.t.interval(
        0.9, len(times) - 1, loc=np.mean(times), scale=scipy_stats.sem(times)
    )
    assert mean_interval(times, 0.9) == pytest.approx(expected)
    a, b = np.array(times), np.array(noisy(1.2, 0.05, 12, seed=22))
    test = scipy_stats.mannwhitneyu(b, a, alternative="two-sided")
    assert shift_p_value(a, b) == pytest.approx(test.pvalue)
    assert shift_p_value(a, a[::-1].copy()) == 1.0
    interval = median_ratio_interval(a, b, 0.95, seed=3)
    assert interval == median_ratio_interval(a, b, 0.95, seed=3)  # seeded: the same answer
    low, high = interval
    assert low is not None and high is not None
    assert low < float(np.median(a) / np.median(b)) < high
    assert median_ratio_interval(np.array([2.0]), np.array([1.0, 1.0]), 0.95, seed=0) == (2.0, 2.0)


def test_tables() -> None:
    table = text_table(["name", "rate", "note"], [["a", "1", "x"], ["bbb", "22", ""]])
    assert table.splitlines() == [
        "name  rate  note",
        "----  ----  ----",
        "a        1  x",
        "bbb     22",
    ]
    right_only = text_table(["n", "v"], [["a", "10"]], left=[1])
    assert right_only.splitlines()[2] == "a  10"
    assert format_change(None, "-") == "-" and format_change(0.1) == "+10.0%"
