"""Turn the price files packaged in the skfolio and arch wheels into a prepared dataset.

Two stages, so that every byte the backtests depend on is a file of the project:

1. copy the packaged ``.csv.gz`` files, byte for byte, into ``data/raw/`` (skipped for a file
   already there, so that a vendor correction made in ``data/raw/`` survives a re-run; pass
   ``--refresh-raw`` to start again from the packaged files);
2. build ``data/prices/`` from ``data/raw/``: one ``<INSTRUMENT>.csv`` per instrument with a
   ``date,close`` header, ISO dates, sorted, missing or non-positive closes dropped, and each
   close kept exactly as the vendor printed it (no float re-formatting).

Standard library only. The packaged files are located with ``importlib.util.find_spec``, which
does not import skfolio or arch (installed with ``--no-deps``, their imports would fail).

Example::

    python examples/quant/prepare.py                    # data/raw/ -> data/prices/
    python examples/quant/prepare.py --out /tmp/prices  # elsewhere
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import math
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RawFile:
    """A price file shipped inside a wheel, and where its copy lives under the raw folder."""

    package: str
    member: str  # path inside the installed package
    copy: str  # path under the raw folder
    layout: str  # "wide": Date + one close column per instrument; "ohlc": Date, ..., Close
    instrument: str = ""  # for "ohlc" files: the instrument's name

    def packaged_path(self) -> Path:
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(
                f"prepare: the {self.package} package is not installed; "
                f"pip install --no-deps {PINS[self.package]}"
            )
        return Path(spec.submodule_search_locations[0], self.member)


PINS = {"skfolio": "skfolio==1.12.2", "arch": "arch==8.0.0"}

RAW_FILES = (
    # 20 S&P 500 constituents, daily adjusted closes, 1990-01-02 .. 2022-12-28.
    RawFile(
        "skfolio", "datasets/data/sp500_dataset.csv.gz", "skfolio/sp500_dataset.csv.gz", "wide"
    ),
    # S&P 500 and NASDAQ Composite indices, daily OHLC, 1999-01-04 .. 2018-12-31.
    RawFile("arch", "data/sp500/sp500.csv.gz", "arch/sp500.csv.gz", "ohlc", "SP500"),
    RawFile("arch", "data/nasdaq/nasdaq.csv.gz", "arch/nasdaq.csv.gz", "ohlc", "NASDAQ"),
)


def iso_date(text: str) -> str:
    """An ISO date: ``1990-01-02`` stays; arch's ``1/4/1999`` (month/day/year) -> ``1999-01-04``."""
    if "/" in text:
        month, day, year = text.split("/")
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    year, month, day = text.split("-")
    return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"


def read_csv_gz(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a gzipped CSV (plain comma-separated, no quoting)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        lines = f.read().splitlines()
    header = lines[0].split(",")
    return header, [line.split(",") for line in lines[1:] if line]


def series_of(raw: RawFile, path: Path) -> dict[str, list[tuple[str, str]]]:
    """Every instrument in one raw file, as ``(iso_date, close_text)`` rows in file order."""
    header, rows = read_csv_gz(path)
    if header[0] != "Date":
        raise SystemExit(f"prepare: {path}: expected a Date column first, found {header[0]!r}")
    if raw.layout == "wide":
        columns = {name: i for i, name in enumerate(header) if i > 0}
    else:
        columns = {raw.instrument: header.index("Close")}
    dates = [iso_date(row[0]) for row in rows]
    return {
        name: [(d, row[col] if col < len(row) else "") for d, row in zip(dates, rows, strict=True)]
        for name, col in columns.items()
    }


def clean(rows: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], int]:
    """Sorted by date, one row per date (a later row restates an earlier one), and only
    positive finite closes. Returns the rows and how many were dropped."""
    by_date: dict[str, str] = {}
    dropped = 0
    for date, close in rows:
        text = close.strip()
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0.0):
            dropped += 1
            continue
        if date in by_date:
            dropped += 1
        by_date[date] = text
    return sorted(by_date.items()), dropped


def copy_raw(raw_dir: Path, *, refresh: bool) -> list[str]:
    """Copy the packaged files into ``raw_dir``; one line of report per file."""
    report = []
    for raw in RAW_FILES:
        target = raw_dir / raw.copy
        shown = display(target)
        if target.exists() and not refresh:
            report.append(f"kept   {shown} (already there; --refresh-raw to overwrite)")
            continue
        source = raw.packaged_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        import importlib.metadata  # only here: its import costs more than the rest of prepare

        version = importlib.metadata.version(raw.package)
        size = target.stat().st_size / 1024
        report.append(
            f"copied {shown} ({size:.0f} KiB) from the {raw.package} {version} wheel: {raw.member}"
        )
    return report


def build(raw_dir: Path, out: Path) -> list[str]:
    """Write one ``<INSTRUMENT>.csv`` per instrument into ``out``; one line of report per group."""
    out.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    report = []
    for raw in RAW_FILES:
        path = raw_dir / raw.copy
        if not path.exists():
            raise SystemExit(f"prepare: {display(path)} is missing")
        spans: dict[tuple[str, str, int], list[str]] = {}
        dropped_total = 0
        for name, rows in series_of(raw, path).items():
            kept, dropped = clean(rows)
            if not kept:
                raise SystemExit(f"prepare: {name} in {display(path)} has no valid close")
            dropped_total += dropped
            body = "".join(f"{date},{close}\n" for date, close in kept)
            with open(out / f"{name}.csv", "w", encoding="utf-8", newline="") as f:
                f.write("date,close\n" + body)
            written.add(name)
            spans.setdefault((kept[0][0], kept[-1][0], len(kept)), []).append(name)
        for (first, last, days), names in spans.items():
            what = names[0] if len(names) == 1 else f"{len(names)} series"
            report.append(
                f"  {what}: {first} .. {last}, {days} days, from {display(path)}"
                f" ({dropped_total} rows dropped)"
            )
            if len(names) > 1:
                report.append(f"    {' '.join(names)}")
    stale = sorted(p for p in out.glob("*.csv") if p.stem not in written)
    for path in stale:
        path.unlink()
    header = f"wrote {len(written)} instruments to {display(out)}/ as <INSTRUMENT>.csv (date,close)"
    if stale:
        header += f"; removed {len(stale)} stale file(s)"
    return [header, *report]


def display(path: Path) -> str:
    """A path relative to the working directory when it is below it (stable across machines)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Copy the packaged raw price files and build the prepared dataset.",
        epilog="Example: python examples/quant/prepare.py --raw-dir data/raw --out data/prices",
    )
    parser.add_argument("--raw-dir", default="data/raw", help="raw copies (default: data/raw)")
    parser.add_argument("--out", default="data/prices", help="prepared dataset (data/prices)")
    parser.add_argument(
        "--refresh-raw",
        action="store_true",
        help="overwrite the raw copies with the packaged files (undoes any correction)",
    )
    args = parser.parse_args(argv)
    raw_dir, out = Path(args.raw_dir), Path(args.out)
    for line in copy_raw(raw_dir, refresh=args.refresh_raw):
        print(line)
    for line in build(raw_dir, out):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
