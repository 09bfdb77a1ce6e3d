"""Trials' return series as one checked N x T float array (numpy imported on use)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pedigree.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Matrix = npt.NDArray[np.float64]

#: What the functions of :mod:`pedigree.selection` accept as "the trials' returns": one return
#: series per trial (N series of T periods, the same periods for every trial), as a list of lists,
#: a list of numpy arrays or pandas Series, or an N x T numpy array. A pandas DataFrame with one
#: column per trial is T x N: pass ``frame.T`` (or ``frame.to_numpy().T``).
TrialReturns = Sequence[Sequence[float]] | Any


def as_matrix(trial_returns: TrialReturns, *, min_trials: int = 1) -> Matrix:
    """The trials' returns as a C-contiguous N x T float64 array, or ``InvalidInput``."""
    import numpy as np

    if isinstance(trial_returns, str | bytes) or trial_returns is None:
        raise InvalidInput("the trials' returns must be a sequence of return series")
    try:
        rows = list(trial_returns)
    except TypeError as exc:
        raise InvalidInput("the trials' returns must be a sequence of return series") from exc
    if len(rows) < min_trials:
        raise InvalidInput(
            f"needs the returns of at least {min_trials} trial{'s' if min_trials > 1 else ''}, "
            f"got {len(rows)}"
        )
    lengths = set()
    arrays = []
    for i, row in enumerate(rows):
        if isinstance(row, str | bytes):
            raise InvalidInput(f"trial {i}: a return series, not a string")
        try:
            array = np.asarray(row, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"trial {i}: the returns are not all numbers") from exc
        if array.ndim != 1:
            raise InvalidInput(f"trial {i}: a return series must be one-dimensional")
        lengths.add(array.shape[0])
        arrays.append(array)
    if len(lengths) > 1:
        raise InvalidInput(
            f"the trials' return series differ in length ({min(lengths)} to {max(lengths)}); "
            "they must cover the same periods",
            hint="align the series on common dates first",
        )
    matrix = np.ascontiguousarray(np.vstack(arrays)) if arrays else np.empty((0, 0))
    bad = ~np.isfinite(matrix)
    if bad.any():
        trial, period = (int(k) for k in np.argwhere(bad)[0])
        raise InvalidInput(
            f"trial {trial}: observation {period} is {matrix[trial, period]} (NaN or infinite); "
            f"{int(bad.sum())} such value(s) in all",
            hint="drop or fill missing returns before assessing",
        )
    return matrix


def check_not_constant(matrix: Matrix) -> None:
    """``InvalidInput`` naming the first trial whose returns are all equal."""
    import numpy as np

    if matrix.shape[1] < 2:
        raise InvalidInput(
            f"a Sharpe ratio needs at least 2 observations per trial, not {matrix.shape[1]}"
        )
    constant = np.all(matrix == matrix[:, :1], axis=1)
    if constant.any():
        trial = int(np.flatnonzero(constant)[0])
        raise InvalidInput(
            f"trial {trial}: the returns are constant, so its Sharpe ratio is undefined "
            f"({int(constant.sum())} constant trial(s) in all)",
            hint="leave such trials out of the returns and count them with trials=",
        )


def sharpe_ratios(matrix: Matrix) -> Matrix:
    """Each row's per-period Sharpe ratio, mean / sample sd (divisor T - 1)."""
    import numpy as np

    mean = matrix.mean(axis=1)
    std = np.sqrt(((matrix - mean[:, None]) ** 2).sum(axis=1) / (matrix.shape[1] - 1))
    result: Matrix = mean / std
    return result


def check_count(name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{name} must be a whole number, not {value!r}")
    if not (math.isfinite(value) and int(value) == value and value >= minimum):
        raise InvalidInput(f"{name} must be a whole number >= {minimum}, not {value!r}")
    return int(value)
