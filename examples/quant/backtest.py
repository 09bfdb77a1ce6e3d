"""One trial: backtest the moving-average strategy on one instrument, tracked by Pedigree.

Reads ``data/prices/<instrument>.csv`` (made by ``prepare.py``), runs the strategy over the whole
series, scores the train period (dates up to ``train_end``) and the held-out test period (after
it), logs the metrics and the train period's daily returns (``run.log_returns``, for ``pedigree
sweep assess``), and writes ``results/<instrument>-w<window>-fee<fee_bps>bps/`` with
``equity.csv`` (daily) and ``summary.json``. The sweep picks its winner on ``sharpe``, the train
period's Sharpe ratio; ``test_sharpe`` is reported alongside and never used to choose.

Everything it prints and writes is a function of the input bytes and the parameters only, so a
reproduction can compare stdout and outputs byte for byte.

Example::

    pedigree run -- python examples/quant/backtest.py   # the defaults below, tracked
    python examples/quant/backtest.py                   # tracked in-process by the SDK

A sweep (``pedigree sweep``) injects other values for the parameters declared below.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import strategy

import pedigree

p = pedigree.params(instrument="AAPL", window=50, fee_bps=2.0, train_end="2015-12-31")

PRICES = Path("data/prices")
RESULTS = Path("results")
# The train returns logged for `pedigree sweep assess` (DSR, PBO): the last 1,000 trading days up
# to train_end (about four years, 2012..2015 with the defaults). The PBO compares the trials'
# returns day by day, and `sweep assess` aligns them by step (the position in the series), but
# the instruments start on different dates (the stocks in 1990, the indices in 1999): logging
# each one's whole train period would pair different dates at the same step. Counted back from
# the common train_end, step k is the same trading day for every instrument (they trade on the
# same US calendar), and 1,000 days fit inside the shortest train period.
ASSESSED_DAYS = 1000
INSTRUMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.^-]*")


def checked(params: dict[str, object]) -> tuple[str, int, float, str]:
    """The parameters in their types, or a one-line error (a sweep may inject strings)."""
    instrument = str(params["instrument"])
    if not INSTRUMENT_NAME.fullmatch(instrument):
        raise SystemExit(f"backtest: bad instrument name {instrument!r}")
    try:
        window_value = float(str(params["window"]))
        fee_bps = float(str(params["fee_bps"]))
    except ValueError as exc:
        raise SystemExit(f"backtest: {exc}") from exc
    if not window_value.is_integer() or window_value < 2:
        raise SystemExit(
            f"backtest: window must be a whole number of days >= 2, got {window_value}"
        )
    if not fee_bps >= 0:
        raise SystemExit(f"backtest: fee_bps must be >= 0, got {fee_bps}")
    return instrument, int(window_value), fee_bps, str(params["train_end"])


def month_ends(dates: list[str]) -> list[int]:
    """Indexes of the last trading day of each month (and of the series)."""
    return [i for i in range(len(dates)) if i + 1 == len(dates) or dates[i][:7] != dates[i + 1][:7]]


def line(label: str, m: dict[str, float | int | str]) -> str:
    if not m["days"]:
        return f"  {label:<5} no data"
    return (
        f"  {label:<5} {m['start']}..{m['end']}  sharpe {m['sharpe']:6.3f}"
        f" (buy & hold {m['buy_hold_sharpe']:6.3f})  max drawdown {m['max_drawdown']:5.1%}"
        f"  turnover {m['turnover']:4.1f}/yr"
    )


def main() -> int:
    instrument, window, fee_bps, train_end = checked(p)
    with pedigree.start_run(experiment="ma-crossover") as run:
        source = PRICES / f"{instrument}.csv"
        if not source.exists():
            raise SystemExit(f"backtest: {source} not found; run prepare.py first")
        run.use(source)  # declared as well as captured, so lineage holds outside `pedigree run`
        dates, closes = strategy.load_prices(source)
        try:
            bt = strategy.backtest(dates, closes, window=window, fee_bps=fee_bps)
            train, test = strategy.split_by_date(bt, train_end)
        except ValueError as exc:
            raise SystemExit(f"backtest: {exc}") from exc
        m_train, m_test = strategy.summarise(train), strategy.summarise(test)

        metrics: dict[str, float] = {}
        for prefix, m in (("", m_train), ("test_", m_test)):
            for key in ("sharpe", "max_drawdown", "turnover", "total_return", "exposure"):
                metrics[prefix + key] = float(m[key])
            metrics[prefix + "trades"] = float(m["trades"])
            metrics[prefix + "buy_hold_sharpe"] = float(m["buy_hold_sharpe"])
        run.log_metrics(metrics)
        run.log_returns(train.net[-ASSESSED_DAYS:], periods_per_year=252)

        equity = strategy.equity_curve(bt.net).tolist()
        hold = strategy.equity_curve(bt.gross).tolist()
        day = bt.dates.tolist()
        for step, i in enumerate(month_ends(day)):
            run.log_metric("equity", equity[i], step=step)

        out = RESULTS / f"{instrument}-w{window}-fee{fee_bps:g}bps"
        out.mkdir(parents=True, exist_ok=True)
        rows = [
            f"{d},{int(h)},{e:.10g},{b:.10g}\n"
            for d, h, e, b in zip(day, bt.position.tolist(), equity, hold, strict=True)
        ]
        write(out / "equity.csv", "date,position,equity,buy_hold\n" + "".join(rows))
        summary = {
            "strategy": "long when the close is above its moving average, else flat",
            "params": {
                "instrument": instrument,
                "window": window,
                "fee_bps": fee_bps,
                "train_end": train_end,
            },
            "train": m_train,
            "test": m_test,
        }
        write(
            out / "summary.json",
            json.dumps(summary, indent=2, sort_keys=True, allow_nan=False) + "\n",
        )
        run.produce(out / "equity.csv")
        run.produce(out / "summary.json")

        print(
            f"backtest {instrument}: long above its {window}-day moving average, else flat;"
            f" {fee_bps:g} bps per trade"
        )
        print(line("train", m_train))
        print(line("test", m_test))
        print(f"  wrote {out.as_posix()}/equity.csv and summary.json")
    return 0


def write(path: Path, text: str) -> None:
    # newline="" so that the bytes are the same on every platform.
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
