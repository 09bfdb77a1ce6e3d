"""A long-or-flat moving-average strategy and its metrics, as pure functions.

The rule: at each close, hold the instrument for the next day if the close is above its simple
moving average over the last ``window`` closes (today included); otherwise hold cash. Trading at
the close the signal is computed on means no look-ahead: the position held over day ``t`` was
decided with prices up to day ``t - 1``. Every change of position costs ``fee_bps`` basis points
of the traded notional, taken from that day's return.

Only numpy and the standard library: each trial of a sweep is a fresh process, and pandas alone
would cost more to import than the whole backtest.

Bit-for-bit determinism, on any machine: the computation uses only IEEE operations that are
correctly rounded (+, -, *, /, sqrt, comparisons), sequential accumulations (``cumsum``,
``cumprod``, ``maximum.accumulate``), and ``math.fsum`` for every reduction. numpy's own
``sum``/``mean``/``std`` are avoided on purpose: their pairwise, vectorised summation may group
terms differently with the memory alignment of the array, so one run could differ from the next in
the last bit.

Example::

    dates, closes = load_prices("data/prices/AAPL.csv")
    bt = backtest(dates, closes, window=50, fee_bps=2.0)
    train, test = split_by_date(bt, "2015-12-31")
    print(summarise(train)["sharpe"], summarise(test)["sharpe"])
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

__all__ = [
    "TRADING_DAYS",
    "Backtest",
    "annualised_turnover",
    "backtest",
    "daily_returns",
    "equity_curve",
    "load_prices",
    "max_drawdown",
    "moving_average",
    "positions",
    "sharpe_ratio",
    "split_by_date",
    "summarise",
]

TRADING_DAYS = 252
# A standard deviation at or below this (in daily return units) counts as zero variance.
ZERO_VARIANCE = 1e-12


@dataclass(frozen=True)
class Backtest:
    """Daily series of a backtest, aligned: entry ``i`` is the return period ending on ``dates[i]``.

    ``position`` is what was held over the period (0 or 1), ``trade`` the size of the position
    change made at the start of it (0 or 1), ``gross`` the instrument's simple return and ``net``
    the strategy's return after costs.
    """

    dates: np.ndarray
    gross: np.ndarray
    position: np.ndarray
    trade: np.ndarray
    net: np.ndarray

    def __len__(self) -> int:
        return len(self.dates)

    def slice(self, start: int, stop: int) -> Backtest:
        return Backtest(
            self.dates[start:stop],
            self.gross[start:stop],
            self.position[start:stop],
            self.trade[start:stop],
            self.net[start:stop],
        )


def load_prices(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read a prepared ``date,close`` CSV: ISO dates (as strings) and closes (float64).

    Raises ValueError when the file is not sorted by date, has a duplicate date, or holds a close
    that is not a positive finite number.
    """
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().splitlines()
    if not lines or lines[0] != "date,close":
        raise ValueError(f"{os.fspath(path)}: expected a 'date,close' header")
    dates: list[str] = []
    closes: list[float] = []
    for number, line in enumerate(lines[1:], start=2):
        date, _, close = line.partition(",")
        if dates and date <= dates[-1]:
            raise ValueError(f"{os.fspath(path)}:{number}: dates must increase ({date})")
        value = float(close)
        if not (math.isfinite(value) and value > 0.0):
            raise ValueError(f"{os.fspath(path)}:{number}: bad close {close!r}")
        dates.append(date)
        closes.append(value)
    return np.array(dates), np.array(closes, dtype=np.float64)


def daily_returns(closes: np.ndarray) -> np.ndarray:
    """Simple returns ``closes[i] / closes[i - 1] - 1``; one shorter than ``closes``."""
    return closes[1:] / closes[:-1] - 1.0


def moving_average(closes: np.ndarray, window: int) -> np.ndarray:
    """Trailing simple moving average; NaN until ``window`` closes are available."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    out = np.full(len(closes), np.nan)
    if len(closes) >= window:
        csum = np.cumsum(np.concatenate(([0.0], closes)))
        out[window - 1 :] = (csum[window:] - csum[:-window]) / window
    return out


def positions(closes: np.ndarray, window: int) -> np.ndarray:
    """The signal at each close: 1.0 (long) if the close is above its moving average, else 0.0.

    Flat while the average is not yet defined. A window of 1 would compare a price with itself,
    so it must be at least 2.
    """
    if window < 2:
        raise ValueError(f"window must be at least 2, got {window}")
    sma = moving_average(closes, window)
    signal = np.zeros(len(closes))
    ready = ~np.isnan(sma)
    signal[ready] = (closes[ready] > sma[ready]).astype(np.float64)
    return signal


def backtest(dates: np.ndarray, closes: np.ndarray, *, window: int, fee_bps: float) -> Backtest:
    """Run the strategy over the whole series. The book starts flat, before the first close."""
    if len(closes) != len(dates) or len(closes) < 2:
        raise ValueError("need at least two closes, one per date")
    if fee_bps < 0:
        raise ValueError(f"fee_bps must not be negative, got {fee_bps}")
    gross = daily_returns(closes)
    held = positions(closes, window)[:-1]
    trade = np.abs(np.diff(np.concatenate(([0.0], held))))
    # Flat days earn exactly 0.0 (not -0.0 from 0 * a negative return).
    net = np.where(held > 0.0, held * gross, 0.0) - trade * (fee_bps / 10_000.0)
    return Backtest(dates[1:], gross, held, trade, net)


def split_by_date(bt: Backtest, train_end: str) -> tuple[Backtest, Backtest]:
    """Train: periods ending on or before ``train_end`` (ISO date); test: the ones after it.

    The strategy runs continuously across the boundary: the test period opens with whatever
    position the train period closed with, and its signal may look back into train prices, which
    were known by then. Either side may be empty.
    """
    _check_iso_date(train_end)
    cut = int(np.searchsorted(bt.dates, train_end, side="right"))
    return bt.slice(0, cut), bt.slice(cut, len(bt))


def sharpe_ratio(returns: np.ndarray) -> float:
    """Annualised Sharpe ratio of daily returns, risk-free rate 0, sample standard deviation.

    0.0 for fewer than two returns or for a series with no variance (a constant series has no
    measurable risk-adjusted return; returning 0.0 keeps sweeps sortable and free of inf/NaN).
    """
    n = len(returns)
    if n < 2:
        return 0.0
    values = returns.tolist()
    mean = math.fsum(values) / n
    var = math.fsum((v - mean) * (v - mean) for v in values) / (n - 1)
    std = math.sqrt(var)
    if std <= ZERO_VARIANCE:
        return 0.0
    return mean / std * math.sqrt(TRADING_DAYS)


def equity_curve(returns: np.ndarray) -> np.ndarray:
    """Growth of 1.0 invested at the start, compounding the daily returns."""
    return np.cumprod(1.0 + returns)


def max_drawdown(returns: np.ndarray) -> float:
    """Largest fall from a running peak of the equity curve, as a fraction (0.25 = -25 %).

    The starting capital of 1.0 counts as a peak, so a first-day loss is a drawdown. 0.0 when
    the curve never falls.
    """
    if len(returns) == 0:
        return 0.0
    equity = np.concatenate(([1.0], equity_curve(returns)))
    peaks = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peaks))


def annualised_turnover(trades: np.ndarray) -> float:
    """Average traded fraction of capital per year (1.0 = one full entry or exit a year)."""
    n = len(trades)
    if n == 0:
        return 0.0
    return math.fsum(trades.tolist()) / n * TRADING_DAYS


def summarise(bt: Backtest) -> dict[str, float | int | str]:
    """The metrics of one period of a backtest, with plain Python values (JSON-ready)."""
    n = len(bt)
    return {
        "start": str(bt.dates[0]) if n else "",
        "end": str(bt.dates[-1]) if n else "",
        "days": n,
        "sharpe": sharpe_ratio(bt.net),
        "max_drawdown": max_drawdown(bt.net),
        "turnover": annualised_turnover(bt.trade),
        "total_return": float(equity_curve(bt.net)[-1]) - 1.0 if n else 0.0,
        "trades": int(math.fsum(bt.trade.tolist())),
        "exposure": math.fsum(bt.position.tolist()) / n if n else 0.0,
        "buy_hold_sharpe": sharpe_ratio(bt.gross),
    }


def _check_iso_date(value: str) -> None:
    # String comparison of dates is only sound on the YYYY-MM-DD form.
    parts = value.split("-")
    if not (
        len(value) == 10
        and len(parts) == 3
        and all(p.isdigit() for p in parts)
        and [len(p) for p in parts] == [4, 2, 2]
    ):
        raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}")
