"""The statistical tests of the quality suite (``dpa._quality.stats``): what each
computes from its arguments, the answers it gives where scipy has none, what it
refuses, and scipy loaded only when a test runs."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from dpa._quality.stats import (
    INSTALL_HINT,
    chi_square_uniform,
    kolmogorov_smirnov_uniform,
    pearson,
    scipy_stats,
)


def test_ks_measures_the_largest_distance_to_the_uniform_law() -> None:
    # D = max over i of (i/n - u_(i)) and (u_(i) - (i-1)/n), by hand for a sorted sample
    sample = [0.9, 0.05, 0.3, 0.55]
    d, p = kolmogorov_smirnov_uniform(sample)
    assert d == pytest.approx(0.2)  # 0.75 - 0.55
    assert 0 < p < 1
    # the order of the values and the shape of the array do not matter
    assert kolmogorov_smirnov_uniform(np.array(sorted(sample)).reshape(2, 2)) == (d, p)


def test_ks_rejects_a_skewed_sample_and_keeps_a_uniform_one() -> None:
    u = np.random.default_rng(3).random(20_000)
    assert kolmogorov_smirnov_uniform(u)[1] > 0.01
    d, p = kolmogorov_smirnov_uniform(u**1.05)
    assert d > 0.01 and p < 1e-6


def test_ks_of_a_sample_with_nan_fails_and_values_outside_count_as_the_bounds() -> None:
    assert kolmogorov_smirnov_uniform([0.2, math.nan, 0.7]) == (1.0, 0.0)
    assert kolmogorov_smirnov_uniform([-3.0, 0.5, 1.5]) == kolmogorov_smirnov_uniform(
        [0.0, 0.5, 1.0]
    )


def test_chi_square_compares_the_counts_with_their_mean() -> None:
    stat, p = chi_square_uniform([10, 20, 30])  # expected 20 each: (100 + 0 + 100) / 20
    assert stat == pytest.approx(10.0)
    assert p == pytest.approx(math.exp(-5))  # chi-square with 2 degrees of freedom
    assert chi_square_uniform(np.array([[7, 7], [7, 7]])) == (0.0, 1.0)


def test_pearson_measures_linear_dependence() -> None:
    x = np.arange(10.0)
    r, p = pearson(x, 3 * x - 2)
    assert r == pytest.approx(1.0) and p < 1e-12
    r, p = pearson(x, -x)
    assert r == pytest.approx(-1.0)
    rng = np.random.default_rng(7)
    a, b = rng.random(50_000), rng.random(50_000)
    r, p = pearson(a, b)
    assert abs(r) < 0.02 and p > 0.001
    r, p = pearson(a, b + 0.05 * a)  # r ~ 0.05, about 11 standard errors
    assert r > 0.04 and p < 1e-9


@pytest.mark.parametrize(
    ("x", "y"),
    [
        ([1, 1, 1, 1], [1, 2, 3, 4]),
        ([1, 2, 3, 4], [5, 5, 5, 5]),
        ([1, 2, math.nan, 4], [1, 2, 3, 4]),
        ([1, 2, 3, 4], [1, math.inf, 3, 4]),
        ([8e307, 8e307, 7e307, 6e307], [1, 2, 3, 4]),  # the sum overflows
    ],
)
def test_pearson_has_no_r_for_a_constant_or_non_finite_sample(x: Any, y: Any) -> None:
    r, p = pearson(x, y)
    assert math.isnan(r) and p == 1.0


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: kolmogorov_smirnov_uniform([]), ValueError),
        (lambda: kolmogorov_smirnov_uniform(["a"]), ValueError),
        (lambda: kolmogorov_smirnov_uniform([object()]), TypeError),
        (lambda: kolmogorov_smirnov_uniform([10**400]), ValueError),
        (lambda: chi_square_uniform([5]), ValueError),
        (lambda: chi_square_uniform([0, 0, 0]), ValueError),
        (lambda: chi_square_uniform([5, -1, 3]), ValueError),
        (lambda: chi_square_uniform([5, math.nan]), ValueError),
        (lambda: chi_square_uniform([5, math.inf]), ValueError),
        (lambda: pearson([1, 2], [1, 2]), ValueError),
        (lambda: pearson([1, 2, 3], [1, 2]), ValueError),
        (lambda: pearson(object(), [1, 2, 3]), TypeError),
    ],
)
def test_bad_arguments_are_refused(call: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()


def test_without_scipy_a_test_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy.stats", None)  # an import of it now fails
    for call in (
        scipy_stats,
        lambda: kolmogorov_smirnov_uniform([0.5]),
        lambda: chi_square_uniform([1, 2]),
        lambda: pearson([1, 2, 3], [3, 1, 2]),
    ):
        with pytest.raises(ImportError, match=r"pip install 'dpa-augment\[quality\]'") as caught:
            call()
        assert caught.value.name == "scipy"
    assert INSTALL_HINT == "pip install 'dpa-augment[quality]'"


def test_scipy_loads_with_the_first_test_not_with_the_module() -> None:
    code = (
        "import sys\n"
        "import dpa, dpa._quality\n"
        "print('scipy' in sys.modules)\n"
        "dpa._quality.chi_square_uniform([1, 2])\n"
        "print('scipy' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.split() == ["False", "True"]
