"""Draw a backtest's equity curve against buy and hold, as a self-contained SVG file.

Standard library only (no matplotlib): reads ``equity.csv`` and ``summary.json`` from a results
folder written by ``backtest.py`` and draws both curves on a log scale, with the train/test
boundary marked. The SVG is a function of those two files only, so it is reproducible byte for
byte.

Example::

    python examples/quant/plot.py results/AAPL-w50-fee2bps             # -> .../equity.svg
    python examples/quant/plot.py results/AAPL-w50-fee2bps --out best.svg
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 900, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 50, 40


def read_equity(path: Path) -> tuple[list[str], list[float], list[float]]:
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().splitlines()
    if lines[:1] != ["date,position,equity,buy_hold"]:
        raise SystemExit(f"plot: {path}: not an equity.csv written by backtest.py")
    dates, strat, hold = [], [], []
    for line in lines[1:]:
        date, _, equity, buy_hold = line.split(",")
        dates.append(date)
        strat.append(float(equity))
        hold.append(float(buy_hold))
    return dates, strat, hold


def render(dates: list[str], strat: list[float], hold: list[float], summary: dict) -> str:
    """The SVG document. Coordinates are rounded to 0.1 px, which keeps the file small."""
    n = len(dates)
    lows = [v for v in (*strat, *hold) if v > 0]
    lo, hi = math.log10(min(lows)), math.log10(max(lows))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    pad = (hi - lo) * 0.04
    lo, hi = lo - pad, hi + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + plot_w * i / max(n - 1, 1)

    def y(v: float) -> float:
        return TOP + plot_h * (hi - math.log10(max(v, 1e-300))) / (hi - lo)

    def path(values: list[float]) -> str:
        # One point per week is plenty at this width.
        keep = sorted({*range(0, n, 5), n - 1})
        return " ".join(f"{x(i):.1f},{y(values[i]):.1f}" for i in keep)

    params, train, test = summary["params"], summary["train"], summary["test"]
    title = (
        f"{params['instrument']}: close above its {params['window']}-day average, "
        f"{params['fee_bps']:g} bps per trade"
    )
    subtitle = (
        f"train Sharpe {train['sharpe']:.3f} (buy & hold {train['buy_hold_sharpe']:.3f}), "
        f"test Sharpe {test['sharpe']:.3f} (buy & hold {test['buy_hold_sharpe']:.3f})"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="20" font-size="15">{escape(title)}</text>',
        f'<text x="{LEFT}" y="38" fill="#555">{escape(subtitle)}</text>',
    ]
    for power in range(math.ceil(lo), math.floor(hi) + 1):
        gy = y(10.0**power)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end">{10.0**power:g}</text>'
        )
    years = sorted({i for i in range(n) if i == 0 or dates[i][:4] != dates[i - 1][:4]})
    step = max(1, math.ceil(len(years) / 12))
    for i in years[::step]:
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{dates[i][:4]}</text>"
        )
    cut = sum(1 for d in dates if d <= params["train_end"])
    if 0 < cut < n:
        bx = x(cut)
        parts.append(
            f'<line x1="{bx:.1f}" x2="{bx:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
            f'stroke="#999" stroke-dasharray="4 3"/>'
            f'<text x="{bx + 6:.1f}" y="{HEIGHT - BOTTOM - 8}" fill="#555">test period</text>'
        )
    parts += [
        f'<polyline fill="none" stroke="#aaa" stroke-width="1" points="{path(hold)}"/>',
        f'<polyline fill="none" stroke="#1f5fbf" stroke-width="1.5" points="{path(strat)}"/>',
        f'<text x="{LEFT + 10}" y="{TOP + 18}" fill="#1f5fbf">strategy</text>',
        f'<text x="{LEFT + 10}" y="{TOP + 34}" fill="#888">buy &amp; hold</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        f'stroke="#333"/>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Plot a backtest's equity curve (SVG).",
        epilog="Example: python examples/quant/plot.py results/AAPL-w50-fee2bps --out best.svg",
    )
    parser.add_argument("results", help="a results folder written by backtest.py")
    parser.add_argument("--out", help="the SVG file (default: <results>/equity.svg)")
    args = parser.parse_args(argv)
    folder = Path(args.results)
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SystemExit(f"plot: {exc.filename} not found; run backtest.py first") from exc
    dates, strat, hold = read_equity(folder / "equity.csv")
    out = Path(args.out) if args.out else folder / "equity.svg"
    with open(out, "w", encoding="utf-8", newline="") as f:
        f.write(render(dates, strat, hold, summary))
    print(f"plot: wrote {out.as_posix()} ({len(dates)} days, strategy vs buy & hold, log scale)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
