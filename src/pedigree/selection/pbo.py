"""The Probability of Backtest Overfitting by combinatorially symmetric cross-validation (CSCV).

D. H. Bailey, J. M. Borwein, M. López de Prado and Q. J. Zhu, "The Probability of Backtest
Overfitting", Journal of Computational Finance 20(4), 2017, pp. 39-69 [BBLZ17]:

1. Stack the trials' returns as a T x N matrix M (here: N series of T periods) and cut its rows,
   in time order, into S (even) contiguous blocks.
2. For every one of the C(S, S/2) ways to pick S/2 blocks as the in-sample set J (the other S/2,
   J-bar, are out of sample): compute every trial's Sharpe ratio on J and on J-bar; take the
   trial n* that is best in sample; find its relative rank out of sample,
   w = rank(n*) / (N + 1) with rank 1 the worst and N the best; record the logit
   lambda = ln(w / (1 - w)).
3. PBO = the share of combinations with lambda <= 0: how often the in-sample winner is at or
   below the median out of sample.

Also returned, at no extra cost: the logits (for a histogram), the probability of loss out of
sample (the share of combinations where n*'s out-of-sample Sharpe ratio is below 0), and each
combination's in-sample and out-of-sample Sharpe ratio of n* (the "performance degradation"
scatter of [BBLZ17]).

Conventions (documented choices):

- Blocks: ``numpy.array_split`` of the T periods, so block sizes differ by at most one when S
  does not divide T; every block must hold at least 2 periods (T >= 2 S).
- Sharpe ratio on a set of blocks: mean / sample sd (divisor n - 1), per period. A trial that is
  constant on a half but not over the whole series has sd 0 there: its Sharpe ratio on that
  half is +inf, -inf or 0 by the sign of its mean (riskless gain, riskless loss, nothing).
- Ties: out of sample, tied trials share their mid-rank; in sample, when several trials tie for
  best, the combination counts the average of their w (and of their loss indicator) and the
  logit of that average w -- so the result does not depend on the order of the trials.
- Under the null (trials without skill, exchangeable) the winner's out-of-sample rank is
  uniform on 1..N, so E[PBO] = 1/2 for even N and 1/2 + 1/(2N) for odd N (the median rank
  gives lambda = 0, which counts as overfit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

from pedigree.errors import InvalidInput
from pedigree.selection._matrix import TrialReturns, as_matrix, check_count, check_not_constant

if TYPE_CHECKING:
    from pedigree.selection._matrix import Matrix

__all__ = ["MAX_COMBINATIONS", "PBOResult", "cscv_combinations", "probability_of_overfitting"]

#: The most combinations one call will evaluate (S = 20 gives 184,756).
MAX_COMBINATIONS = 200_000
_CHUNK = 4096


@dataclass(frozen=True)
class PBOResult:
    pbo: float  # share of combinations whose logit is <= 0
    logits: tuple[float, ...]  # one per combination, in the order of cscv_combinations(S)
    prob_oos_loss: float  # share of combinations where the IS winner's OOS Sharpe ratio < 0
    is_sharpe: tuple[float, ...]  # the IS winner's in-sample Sharpe ratio, per combination
    oos_sharpe: tuple[float, ...]  # its out-of-sample Sharpe ratio (tie-averaged)
    partitions: int  # S
    combinations: int  # C(S, S/2)
    trials: int  # N
    observations: int  # T

    def logit_histogram(self, bins: int = 20) -> tuple[tuple[float, ...], tuple[int, ...]]:
        """(edges, counts) of the logits: ``bins`` equal-width bins over their range.

        >>> r = PBOResult(0.5, (-1.0, 0.0, 1.0, 1.0), 0.0, (), (), 2, 4, 2, 4)
        >>> r.logit_histogram(2)
        ((-1.0, 0.0, 1.0), (1, 3))
        """
        if bins < 1:
            raise InvalidInput(f"bins must be at least 1, not {bins}")
        lo, hi = min(self.logits), max(self.logits)
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        width = (hi - lo) / bins
        edges = (*(lo + k * width for k in range(bins)), hi)
        counts = [0] * bins
        for x in self.logits:
            counts[min(bins - 1, int((x - lo) / width))] += 1
        return edges, tuple(counts)

    def degradation(self) -> tuple[float, float]:
        """(slope, intercept) of the least-squares line OOS Sharpe = a IS Sharpe + b [BBLZ17].

        A negative slope is the usual sign of overfitting: the better in sample, the worse out.
        ``InvalidInput`` when the in-sample Sharpe ratios do not vary or are not finite.
        """
        xs, ys = self.is_sharpe, self.oos_sharpe
        if not all(math.isfinite(v) for v in (*xs, *ys)):
            raise InvalidInput("a Sharpe ratio of a half is infinite: no degradation line")
        n = len(xs)
        mx, my = math.fsum(xs) / n, math.fsum(ys) / n
        sxx = math.fsum((x - mx) ** 2 for x in xs)
        if sxx == 0.0:
            raise InvalidInput("the in-sample Sharpe ratios do not vary: no degradation line")
        slope = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
        return slope, my - slope * mx


def cscv_combinations(partitions: int) -> list[tuple[int, ...]]:
    """The in-sample block sets of CSCV: every S/2-subset of range(S), in lexicographic order.

    >>> cscv_combinations(4)
    [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    """
    s = _check_partitions(partitions)
    return list(combinations(range(s), s // 2))


def _check_partitions(partitions: int) -> int:
    s = check_count("partitions", partitions, minimum=2)
    if s % 2:
        raise InvalidInput(f"partitions must be even (S/2 blocks in sample), not {s}")
    if math.comb(s, s // 2) > MAX_COMBINATIONS:
        raise InvalidInput(
            f"partitions={s} gives {math.comb(s, s // 2):,} combinations; at most "
            f"{MAX_COMBINATIONS:,} (partitions <= 20)"
        )
    return s


def _half_sharpe(total: Matrix, squares: Matrix, count: int, mean: Matrix) -> Matrix:
    """Sharpe ratios from sums of centred returns; sd 0 gives +-inf or 0 by the mean's sign."""
    import numpy as np

    centred_mean = total / count
    variance = np.maximum(squares - total * centred_mean, 0.0) / (count - 1)
    level = mean[None, :] + centred_mean
    std = np.sqrt(variance)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = level / std
    flat = std == 0.0
    if flat.any():
        sharpe[flat] = np.sign(level[flat]) * np.inf
        sharpe[flat & (level == 0.0)] = 0.0
    result: Matrix = sharpe
    return result


def probability_of_overfitting(trial_returns: TrialReturns, *, partitions: int = 16) -> PBOResult:
    """The PBO of picking the best of these trials by Sharpe ratio, by CSCV [BBLZ17].

    ``trial_returns``: one return series per trial (N x T, at least 2 trials, none constant,
    no NaN, T >= 2 * partitions); ``partitions``: S, even, 2..20.

    >>> import numpy as np
    >>> noise = np.random.default_rng(7).normal(0.0, 0.01, size=(10, 240))
    >>> result = probability_of_overfitting(noise, partitions=8)
    >>> result.combinations, len(result.logits), round(result.pbo, 3)
    (70, 70, 0.686)
    """
    import numpy as np

    s = _check_partitions(partitions)
    matrix = as_matrix(trial_returns, min_trials=2)
    check_not_constant(matrix)
    n, t = matrix.shape
    if t < 2 * s:
        raise InvalidInput(
            f"{t} observations cannot be cut into {s} blocks of at least 2: needs at least {2 * s}",
            hint="use fewer partitions",
        )
    mean = matrix.mean(axis=1)
    centred = (matrix - mean[:, None]).T  # T x N
    blocks = np.array_split(np.arange(t), s)
    block_sum = np.stack([centred[b].sum(axis=0) for b in blocks])  # S x N
    block_sq = np.stack([(centred[b] ** 2).sum(axis=0) for b in blocks])
    block_len = np.array([len(b) for b in blocks])

    combos = np.array(cscv_combinations(s), dtype=np.intp)
    total = len(combos)
    logits = np.empty(total)
    losses = np.empty(total)
    is_best = np.empty(total)
    oos_best = np.empty(total)
    for start in range(0, total, _CHUNK):
        chunk = combos[start : start + _CHUNK]
        inside = np.zeros((len(chunk), s), dtype=bool)
        inside[np.arange(len(chunk))[:, None], chunk] = True
        # Block by block, so every trial's sums are added in the same order (exact ties stay tied).
        sums = {True: np.zeros((len(chunk), n)), False: np.zeros((len(chunk), n))}
        squares = {True: np.zeros((len(chunk), n)), False: np.zeros((len(chunk), n))}
        for b in range(s):
            for side in (True, False):
                rows = inside[:, b] == side
                sums[side][rows] += block_sum[b]
                squares[side][rows] += block_sq[b]
        count_in = int(block_len[chunk[0]].sum())
        # Every chunk row has S/2 blocks in sample, but sizes may differ by one: count per row.
        counts_in = block_len[chunk].sum(axis=1)
        if np.all(counts_in == count_in):
            sr_in = _half_sharpe(sums[True], squares[True], count_in, mean)
            sr_out = _half_sharpe(sums[False], squares[False], t - count_in, mean)
        else:
            sr_in = np.empty((len(chunk), n))
            sr_out = np.empty((len(chunk), n))
            for size in np.unique(counts_in):
                rows = counts_in == size
                sr_in[rows] = _half_sharpe(sums[True][rows], squares[True][rows], int(size), mean)
                sr_out[rows] = _half_sharpe(
                    sums[False][rows], squares[False][rows], t - int(size), mean
                )
        best = sr_in.max(axis=1)
        winners = sr_in == best[:, None]
        single = winners.sum(axis=1) == 1
        first = winners.argmax(axis=1)
        w_oos = sr_out[np.arange(len(chunk)), first]
        below = (sr_out < w_oos[:, None]).sum(axis=1)
        equal = (sr_out == w_oos[:, None]).sum(axis=1)
        omega = (below + (equal + 1) / 2.0) / (n + 1)
        loss = (w_oos < 0).astype(float)
        oos = w_oos.copy()
        for row in np.flatnonzero(~single):  # ties for best in sample: rare, averaged
            tied = np.flatnonzero(winners[row])
            values = sr_out[row, tied]
            below_t = (sr_out[row][None, :] < values[:, None]).sum(axis=1)
            equal_t = (sr_out[row][None, :] == values[:, None]).sum(axis=1)
            omega[row] = float(np.mean((below_t + (equal_t + 1) / 2.0) / (n + 1)))
            loss[row] = float(np.mean(values < 0))
            with np.errstate(invalid="ignore"):
                oos[row] = float(np.mean(values))
        end = start + len(chunk)
        logits[start:end] = np.log(omega / (1.0 - omega))
        losses[start:end] = loss
        is_best[start:end] = best
        oos_best[start:end] = oos
    return PBOResult(
        pbo=float(np.mean(logits <= 0.0)),
        logits=tuple(float(x) for x in logits),
        prob_oos_loss=float(np.mean(losses)),
        is_sharpe=tuple(float(x) for x in is_best),
        oos_sharpe=tuple(float(x) for x in oos_best),
        partitions=s,
        combinations=total,
        trials=n,
        observations=t,
    )
