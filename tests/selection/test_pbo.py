"""The Probability of Backtest Overfitting by CSCV: a naive re-implementation, the null
distribution, a skilled trial, invariance to the order of the trials, degenerate inputs."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pedigree.errors import InvalidInput
from pedigree.selection import PBOResult, cscv_combinations, probability_of_overfitting


def _naive_pbo(returns: np.ndarray, partitions: int) -> tuple[float, list[float], float]:
    """CSCV written out loop by loop from Bailey, Borwein, López de Prado & Zhu (2017), for
    inputs without ties: PBO, the logits, and the probability of loss out of sample."""
    n, t = returns.shape
    blocks = np.array_split(np.arange(t), partitions)
    logits, losses = [], []
    for chosen in combinations(range(partitions), partitions // 2):
        rows_in = np.concatenate([blocks[b] for b in chosen])
        rows_out = np.concatenate([blocks[b] for b in range(partitions) if b not in chosen])
        perf_in = [returns[k, rows_in].mean() / returns[k, rows_in].std(ddof=1) for k in range(n)]
        perf_out = [
            returns[k, rows_out].mean() / returns[k, rows_out].std(ddof=1) for k in range(n)
        ]
        star = int(np.argmax(perf_in))
        rank = 1 + sum(p < perf_out[star] for p in perf_out)  # 1 = worst, n = best
        omega = rank / (n + 1)
        logits.append(math.log(omega / (1 - omega)))
        losses.append(perf_out[star] < 0)
    return float(np.mean(np.array(logits) <= 0)), logits, float(np.mean(losses))


@pytest.mark.parametrize(("n", "t", "s"), [(5, 60, 4), (8, 97, 6), (3, 40, 2), (12, 160, 10)])
def test_agrees_with_a_naive_implementation(n: int, t: int, s: int) -> None:
    returns = np.random.default_rng(n * t + s).standard_t(4, size=(n, t)) * 0.01 + 0.0002
    result = probability_of_overfitting(returns, partitions=s)
    pbo, logits, loss = _naive_pbo(returns, s)
    assert result.pbo == pbo
    assert result.logits == pytest.approx(logits, rel=1e-12, abs=1e-12)
    assert result.prob_oos_loss == loss
    assert result.combinations == math.comb(s, s // 2) == len(result.logits)
    assert (result.trials, result.observations, result.partitions) == (n, t, s)


# -- Trials without skill: PBO near 1/2 ---------------------------------------------------------
#
# Under the null (iid trials without skill) the in-sample winner is a fresh draw out of sample:
# its out-of-sample rank is uniform on 1..N, so every combination has P(logit <= 0) =
# floor((N + 1) / 2) / N, which is 1/2 for even N and 1/2 + 1/(2N) for odd N (the median rank
# gives logit 0, which counts as overfit). Hence E[PBO] is that value exactly.
#
# The tolerance is derived, not tuned. One simulation's PBO is a mean of (dependent) Bernoulli
# indicators, so it lies in [0, 1]; over K independent seeded simulations, Hoeffding's inequality
# bounds P(|mean - E| >= eps) <= 2 exp(-2 K eps^2) whatever the dependence between combinations.
# With a false-alarm probability of 1e-6 that gives eps = sqrt(ln(2e6) / (2K)). A second check
# uses the simulations' own standard error, at 5 standard errors (a normal false-alarm
# probability under 1e-6): tighter, and still derived from the data rather than chosen.

SIMULATIONS = 800
FALSE_ALARM = 1e-6


def _null_pbos(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array(
        [
            probability_of_overfitting(rng.normal(0.0, 0.01, size=(n, 64)), partitions=8).pbo
            for _ in range(SIMULATIONS)
        ]
    )


@pytest.mark.parametrize(("n", "expected"), [(8, 0.5), (5, 0.5 + 1 / 10)])
def test_pbo_of_trials_without_skill_is_one_half(n: int, expected: float) -> None:
    pbos = _null_pbos(n, seed=1000 + n)
    mean = float(pbos.mean())
    hoeffding = math.sqrt(math.log(2 / FALSE_ALARM) / (2 * SIMULATIONS))
    assert abs(mean - expected) <= hoeffding
    standard_error = float(pbos.std(ddof=1)) / math.sqrt(SIMULATIONS)
    assert abs(mean - expected) <= 5 * standard_error
    assert 5 * standard_error < 0.05  # and that is tight enough to tell 1/2 from 0.6 (N = 5)


# -- One skilled trial among noise: PBO near 0 -------------------------------------------------
#
# The skilled trial earns a per-period Sharpe ratio of 0.5; on a half of 300 periods a noise
# trial's Sharpe ratio has standard error ~ 1/sqrt(300) = 0.058, and the best of 19 of them is
# about 2 standard errors, 0.12. The skilled trial is ~ 6.5 standard errors above that in every
# half, so it wins in sample and is best out of sample in every split: PBO = 0 and no loss.


def test_pbo_with_one_skilled_trial_is_zero() -> None:
    rng = np.random.default_rng(99)
    returns = rng.normal(0.0, 0.01, size=(20, 600))
    returns[13] += 0.005  # mean 0.005 / sd 0.01: Sharpe 0.5 per period
    result = probability_of_overfitting(returns, partitions=10)
    assert result.pbo == 0.0
    assert result.prob_oos_loss == 0.0
    assert min(result.logits) == pytest.approx(math.log(20 / 21 / (1 - 20 / 21)))


# -- Invariance to the order of the trials -----------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 2**32 - 1))
def test_pbo_does_not_depend_on_the_order_of_the_trials(order: object, seed: int) -> None:
    returns = np.random.default_rng(seed).normal(0.0, 0.01, size=(7, 48))
    permutation = list(range(7))
    order.shuffle(permutation)  # type: ignore[attr-defined]
    a = probability_of_overfitting(returns, partitions=6)
    b = probability_of_overfitting(returns[permutation], partitions=6)
    assert a.pbo == b.pbo
    assert a.prob_oos_loss == b.prob_oos_loss
    assert a.logits == pytest.approx(b.logits, rel=1e-12)


def test_ties_do_not_break_the_invariance() -> None:
    """Duplicated trials tie in and out of sample; the result must not depend on which copy
    comes first."""
    rng = np.random.default_rng(3)
    base = rng.normal(0.0, 0.01, size=(4, 40))
    returns = np.vstack([base, base[[0, 2]]])  # trials 4 and 5 copy trials 0 and 2
    reference = probability_of_overfitting(returns, partitions=4)
    for permutation in ([5, 4, 3, 2, 1, 0], [4, 0, 1, 5, 2, 3], [2, 5, 0, 4, 1, 3]):
        other = probability_of_overfitting(returns[permutation], partitions=4)
        assert other.pbo == reference.pbo
        assert other.logits == reference.logits
        assert other.prob_oos_loss == reference.prob_oos_loss
    # Two identical trials only: they always tie, both in sample and out: mid-rank 1.5 of 2.
    twins = probability_of_overfitting([base[0], base[0]], partitions=4)
    assert twins.logits == (0.0,) * 6
    assert twins.pbo == 1.0


def test_a_trial_flat_on_one_half_is_ranked_not_crashed() -> None:
    rng = np.random.default_rng(8)
    returns = rng.normal(0.0, 0.01, size=(3, 40))
    returns[1, :20] = 0.001  # constant on the first half: riskless gain there
    result = probability_of_overfitting(returns, partitions=2)
    assert result.combinations == 2
    assert all(math.isfinite(x) for x in result.logits)
    assert math.inf in result.is_sharpe  # the flat half wins in sample with an infinite ratio


# -- Properties and helpers --------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 9),
    st.sampled_from([2, 4, 6, 8]),
    st.integers(0, 2**32 - 1),
)
def test_pbo_is_a_probability(n: int, s: int, seed: int) -> None:
    returns = np.random.default_rng(seed).standard_t(3, size=(n, 2 * s + seed % 17))
    result = probability_of_overfitting(returns, partitions=s)
    assert 0.0 <= result.pbo <= 1.0
    assert 0.0 <= result.prob_oos_loss <= 1.0
    assert len(result.logits) == len(result.is_sharpe) == len(result.oos_sharpe)
    bound = math.log(n)  # w lies in [1/(N+1), N/(N+1)]
    assert all(-bound - 1e-12 <= x <= bound + 1e-12 for x in result.logits)


def test_histogram_and_degradation() -> None:
    returns = np.random.default_rng(4).normal(0.0, 0.01, size=(10, 200))
    result = probability_of_overfitting(returns, partitions=8)
    edges, counts = result.logit_histogram(10)
    assert len(edges) == 11
    assert sum(counts) == 70
    assert edges[0] == min(result.logits)
    assert edges[-1] == max(result.logits)
    slope, intercept = result.degradation()
    assert math.isfinite(slope)
    assert math.isfinite(intercept)
    with pytest.raises(InvalidInput):
        result.logit_histogram(0)
    flat = PBOResult(0.0, (0.0,), 0.0, (1.0, 1.0), (0.5, 0.2), 2, 2, 2, 4)
    with pytest.raises(InvalidInput, match="do not vary"):
        flat.degradation()


def test_cscv_combinations() -> None:
    combos = cscv_combinations(16)
    assert len(combos) == 12870 == len(set(combos))
    assert all(len(c) == 8 for c in combos)


@pytest.mark.parametrize(
    ("returns", "partitions", "message"),
    [
        ([[0.01, -0.02] * 20], 4, "at least 2 trials"),
        ([[0.01, -0.02] * 20, [0.01] * 40], 4, "constant"),
        ([[0.01, -0.02] * 20, [0.01, float("nan")] * 20], 4, "NaN"),
        ([[0.01, -0.02] * 20, [0.01, -0.02] * 19], 4, "differ in length"),
        ([[0.01, -0.02] * 4, [0.02, -0.01] * 4], 8, "at least 16"),  # fewer than 2 per block
        ([[0.01, -0.02] * 20, [0.02, -0.01] * 20], 3, "even"),
        ([[0.01, -0.02] * 20, [0.02, -0.01] * 20], 0, ">= 2"),
        ([[0.01, -0.02] * 20, [0.02, -0.01] * 20], 2.5, "whole number"),
        ([[0.01, -0.02] * 20, [0.02, -0.01] * 20], 24, "combinations"),
    ],
)
def test_degenerate_inputs_are_refused(returns: object, partitions: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        probability_of_overfitting(returns, partitions=partitions)  # type: ignore[arg-type]
