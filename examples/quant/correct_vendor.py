"""Simulate a data vendor's correction: change ONE close in one raw file under ``data/raw/``.

By default the AAPL close of 2007-10-09 in ``data/raw/skfolio/sp500_dataset.csv.gz`` is raised by
3 %, rounded to the file's own number of decimals: 5.095 -> 5.248 with the data shipped in skfolio
1.12.2. That day (the S&P 500's 2007 peak) is in the train period, and every AAPL strategy with a
window from 5 to 250 days is invested on it and on the next day, so the train metrics of every
AAPL trial move. Pick another with
``--instrument`` (any of the 20 stocks, ``SP500`` or ``NASDAQ``), ``--date`` and ``--change-pct``
or an exact ``--price``. For the arch index files both ``Close`` and ``Adj Close`` are changed.

Only that one field changes: every other line keeps its bytes, and the file is re-compressed
with a zero time stamp, so the same correction of the same file always gives the same bytes.
The change accumulates: running it twice with ``--change-pct`` changes the price twice, while
``--price`` is idempotent. ``prepare.py --refresh-raw`` restores the packaged files.

Then re-run ``prepare.py``: ``data/prices/<INSTRUMENT>.csv`` changes and nothing else does.

Example::

    python examples/quant/correct_vendor.py
    python examples/quant/correct_vendor.py --instrument MSFT --date 2010-05-06 --price 28.1
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
from pathlib import Path

from prepare import RAW_FILES, RawFile, display, iso_date

DEFAULT_INSTRUMENT = "AAPL"
DEFAULT_DATE = "2007-10-09"
DEFAULT_CHANGE_PCT = 3.0


def locate(raw_dir: Path, instrument: str) -> tuple[RawFile, Path, list[str]]:
    """The raw file holding ``instrument`` and the names of the columns to correct in it."""
    for raw in RAW_FILES:
        path = raw_dir / raw.copy
        if raw.layout == "ohlc" and raw.instrument == instrument:
            return raw, path, ["Close", "Adj Close"]
        if raw.layout == "wide" and path.exists():
            with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
                header = f.readline().rstrip("\r\n").split(",")
            if instrument in header[1:]:
                return raw, path, [instrument]
    raise SystemExit(f"correct_vendor: no raw file under {display(raw_dir)} has {instrument!r}")


def corrected(old: str, *, change_pct: float | None, price: float | None) -> str:
    """The new close as text, with as many decimals as the old one."""
    decimals = len(old.partition(".")[2])
    value = price if price is not None else float(old) * (1.0 + (change_pct or 0.0) / 100.0)
    new = f"{value:.{decimals}f}"
    if not float(new) > 0.0:
        raise SystemExit(f"correct_vendor: the corrected close {new} is not positive")
    if new == old:
        raise SystemExit(f"correct_vendor: {old} would not change at {decimals} decimals")
    return new


def apply(
    path: Path, columns: list[str], date: str, *, change_pct: float | None, price: float | None
) -> tuple[str, str]:
    """Edit the row of ``date`` in ``path`` in place; returns the old and new close."""
    with open(path, "rb") as f:
        text = gzip.decompress(f.read()).decode("utf-8")
    lines = text.split("\n")
    header = lines[0].rstrip("\r").split(",")
    indexes = [header.index(name) for name in columns]
    for number, line in enumerate(lines[1:], start=1):
        if not line or iso_date(line.split(",", 1)[0]) != date:
            continue
        ending = "\r" if line.endswith("\r") else ""
        fields = line.removesuffix("\r").split(",")
        old = fields[indexes[0]]
        new = corrected(old, change_pct=change_pct, price=price)
        for i in indexes:
            fields[i] = new
        lines[number] = ",".join(fields) + ending
        break
    else:
        raise SystemExit(f"correct_vendor: {date} is not a trading day in {display(path)}")
    data = gzip.compress("\n".join(lines).encode("utf-8"), compresslevel=9, mtime=0)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return old, new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Change one close in one raw price file, as a vendor correction would.",
        epilog="Example: python examples/quant/correct_vendor.py --instrument AAPL "
        "--date 2007-10-09 --change-pct 3",
    )
    parser.add_argument("--raw-dir", default="data/raw", help="raw copies (default: data/raw)")
    parser.add_argument("--instrument", default=DEFAULT_INSTRUMENT, help="default: AAPL")
    parser.add_argument("--date", default=DEFAULT_DATE, help="YYYY-MM-DD (default: 2007-10-09)")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--change-pct", type=float, help="relative change in %% (default: 3)")
    how.add_argument("--price", type=float, help="the corrected close itself")
    args = parser.parse_args(argv)
    change_pct = args.change_pct
    if args.price is None and change_pct is None:
        change_pct = DEFAULT_CHANGE_PCT
    try:
        date = iso_date(args.date)
    except ValueError:
        parser.error(f"--date must be YYYY-MM-DD, got {args.date!r}")
    raw_dir = Path(args.raw_dir)
    _, path, columns = locate(raw_dir, args.instrument)
    if not path.exists():
        raise SystemExit(f"correct_vendor: {display(path)} is missing; run prepare.py first")
    old, new = apply(path, columns, date, change_pct=change_pct, price=args.price)
    change = (float(new) / float(old) - 1.0) * 100.0
    print(f"vendor correction: {args.instrument} close on {date}: {old} -> {new} ({change:+.2f} %)")
    print(f"  edited {display(path)} in place (one field; all other rows unchanged)")
    print("  re-run prepare.py to re-version the dataset")
    return 0


if __name__ == "__main__":
    sys.exit(main())
