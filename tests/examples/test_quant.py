"""The quantitative demo's research code (examples/quant/), on real packaged data.

The price files come from the skfolio and arch wheels (installed with ``--no-deps``); the tests
that need them are skipped when those packages are missing.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

QUANT = Path(__file__).resolve().parents[2] / "examples" / "quant"
STOCKS = [
    "AAPL",
    "AMD",
    "BAC",
    "BBY",
    "CVX",
    "GE",
    "HD",
    "JNJ",
    "JPM",
    "KO",
    "LLY",
    "MRK",
    "MSFT",
    "PEP",
    "PFE",
    "PG",
    "RRC",
    "UNH",
    "WMT",
    "XOM",
]


def load(name: str) -> ModuleType:
    """Import examples/quant/<name>.py under a private name (they are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"_quant_{name}", QUANT / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


strategy = load("strategy")
prepare = load("prepare")

needs_wheels = pytest.mark.skipif(
    importlib.util.find_spec("skfolio") is None or importlib.util.find_spec("arch") is None,
    reason="pip install --no-deps skfolio==1.12.2 arch==8.0.0",
)


def run_script(script: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, str(QUANT / script), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# -- prepare, on the real packaged files -------------------------------------------------------


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory holding data/raw/ and data/prices/, built once for the module."""
    if importlib.util.find_spec("skfolio") is None or importlib.util.find_spec("arch") is None:
        pytest.skip("pip install --no-deps skfolio==1.12.2 arch==8.0.0")
    root = tmp_path_factory.mktemp("quant")
    run_script("prepare.py", cwd=root)
    return root


@needs_wheels
def test_prepare_writes_every_instrument_with_sane_dates(prepared: Path) -> None:
    files = sorted(p.name for p in (prepared / "data" / "prices").iterdir())
    assert files == sorted(f"{name}.csv" for name in [*STOCKS, "SP500", "NASDAQ"])
    for name in [*STOCKS, "SP500", "NASDAQ"]:
        dates, closes = strategy.load_prices(prepared / "data" / "prices" / f"{name}.csv")
        assert bool(np.all(dates[1:] > dates[:-1])), name  # sorted, no duplicates
        assert bool(np.all(closes > 0)), name
        if name in STOCKS:
            assert (dates[0], dates[-1], len(dates)) == ("1990-01-02", "2022-12-28", 8313)
        else:
            assert (dates[0], dates[-1], len(dates)) == ("1999-01-04", "2018-12-31", 5031)
    # A close is kept exactly as the vendor printed it.
    aapl = (prepared / "data" / "prices" / "AAPL.csv").read_text().splitlines()
    assert aapl[:2] == ["date,close", "1990-01-02,0.264"]
    sp500 = (prepared / "data" / "prices" / "SP500.csv").read_text().splitlines()
    assert sp500[1] == "1999-01-04,1228.099976"


@needs_wheels
def test_prepare_copies_the_packaged_files_byte_for_byte(prepared: Path) -> None:
    for raw in prepare.RAW_FILES:
        assert (
            prepared / "data" / "raw" / raw.copy
        ).read_bytes() == raw.packaged_path().read_bytes()


def test_prepare_cleans_rows() -> None:
    rows = [("1990-01-03", "2.0"), ("1990-01-02", "1.5"), ("1990-01-04", ""), ("1990-01-05", "nan")]
    rows += [("1990-01-08", "-1"), ("1990-01-03", "2.5")]
    kept, dropped = prepare.clean(rows)
    assert kept == [("1990-01-02", "1.5"), ("1990-01-03", "2.5")]
    assert dropped == 4
    assert prepare.iso_date("1/4/1999") == "1999-01-04"
    assert prepare.iso_date("12/31/2018") == "2018-12-31"


# -- strategy, on series with known answers ----------------------------------------------------


def dates_for(n: int) -> np.ndarray:
    start = np.datetime64("2000-01-03")
    return np.array([str(start + i) for i in range(n)])


def test_sharpe_by_hand() -> None:
    r = np.array([0.01, -0.02, 0.03, 0.0])
    # mean 0.005; squared deviations sum to 0.0013; sample variance 0.0013 / 3.
    expected = 0.005 / math.sqrt(0.0013 / 3) * math.sqrt(252)
    assert strategy.sharpe_ratio(r) == pytest.approx(expected, rel=1e-12)
    assert strategy.sharpe_ratio(-r) == pytest.approx(-expected, rel=1e-12)


@pytest.mark.parametrize(
    "returns", [[], [0.01], [0.0, 0.0, 0.0], [0.001] * 50, [0.1] * 3], ids=repr
)
def test_sharpe_is_zero_without_variance(returns: list[float]) -> None:
    value = strategy.sharpe_ratio(np.array(returns, dtype=np.float64))
    assert value == 0.0
    assert math.isfinite(value)


def test_max_drawdown_by_hand() -> None:
    assert strategy.max_drawdown(np.array([0.1, -0.5, 0.2])) == pytest.approx(0.5)
    # The starting capital is a peak: a loss on day one is a drawdown.
    assert strategy.max_drawdown(np.array([-0.2, 0.1])) == pytest.approx(0.2)
    assert strategy.max_drawdown(np.array([0.01, 0.02, 0.0])) == 0.0
    assert strategy.max_drawdown(np.array([])) == 0.0


def test_positions_and_costs_by_hand() -> None:
    closes = np.array([1.0, 2.0, 3.0, 2.0, 1.0, 2.0])
    # window 2: averages -, 1.5, 2.5, 2.5, 1.5, 1.5 -> signal 0, 1, 1, 0, 0, 1
    assert strategy.positions(closes, 2).tolist() == [0, 1, 1, 0, 0, 1]
    bt = strategy.backtest(dates_for(6), closes, window=2, fee_bps=100.0)
    assert bt.position.tolist() == [0, 1, 1, 0, 0]  # decided at the previous close
    assert bt.trade.tolist() == [0, 1, 0, 1, 0]
    assert bt.gross.tolist() == pytest.approx([1.0, 0.5, -1 / 3, -0.5, 1.0])
    assert bt.net.tolist() == pytest.approx([0.0, 0.5 - 0.01, -1 / 3, -0.01, 0.0])
    assert strategy.annualised_turnover(bt.trade) == pytest.approx(2 / 5 * 252)


def test_constant_upward_drift() -> None:
    n, window = 301, 20
    closes = 100.0 * 1.001 ** np.arange(n)
    bt = strategy.backtest(dates_for(n), closes, window=window, fee_bps=0.0)
    m = strategy.summarise(bt)
    # Above its average from the first close that has one: one entry, never an exit.
    assert m["trades"] == 1
    assert m["turnover"] == pytest.approx(252 / (n - 1))
    assert m["exposure"] == pytest.approx((n - window) / (n - 1))
    assert m["max_drawdown"] == 0.0
    assert m["total_return"] == pytest.approx(1.001 ** (n - window) - 1)
    assert m["sharpe"] > 0
    # Once long, every day earns the same: no variance, Sharpe 0 by convention.
    assert strategy.sharpe_ratio(bt.net[window:]) == 0.0


def test_no_look_ahead() -> None:
    rng = np.random.default_rng(7)
    closes = 100 * np.cumprod(1 + rng.normal(0, 0.01, 400))
    bumped = closes.copy()
    bumped[250] *= 1.2
    a = strategy.backtest(dates_for(400), closes, window=30, fee_bps=1.0)
    b = strategy.backtest(dates_for(400), bumped, window=30, fee_bps=1.0)
    # A change on day 250 can only move positions held after day 250.
    assert a.position[:250].tolist() == b.position[:250].tolist()
    assert a.net[:249].tolist() == b.net[:249].tolist()
    assert a.gross[249] != b.gross[249]  # the return ending on day 250 did change


def test_window_must_be_at_least_two() -> None:
    with pytest.raises(ValueError, match="window"):
        strategy.positions(np.ones(10), 1)


@needs_wheels
def test_fees_reduce_sharpe(prepared: Path) -> None:
    dates, closes = strategy.load_prices(prepared / "data" / "prices" / "AAPL.csv")
    sharpes = []
    for fee in (0.0, 2.0, 10.0, 50.0):
        bt = strategy.backtest(dates, closes, window=20, fee_bps=fee)
        train, _ = strategy.split_by_date(bt, "2015-12-31")
        sharpes.append(strategy.sharpe_ratio(train.net))
    assert sharpes == sorted(sharpes, reverse=True)
    assert len(set(sharpes)) == len(sharpes)


@needs_wheels
def test_split_respects_the_date(prepared: Path) -> None:
    dates, closes = strategy.load_prices(prepared / "data" / "prices" / "MSFT.csv")
    bt = strategy.backtest(dates, closes, window=50, fee_bps=2.0)
    # 2015-12-31 is a trading day; 2016-01-02 is a Saturday.
    for end, last_train, first_test in (
        ("2015-12-31", "2015-12-31", "2016-01-04"),
        ("2016-01-02", "2015-12-31", "2016-01-04"),
    ):
        train, test = strategy.split_by_date(bt, end)
        assert (train.dates[-1], test.dates[0]) == (last_train, first_test)
        assert len(train) + len(test) == len(bt)
    train, test = strategy.split_by_date(bt, "1980-01-01")
    assert len(train) == 0
    assert strategy.summarise(train)["sharpe"] == 0.0
    assert len(test) == len(bt)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        strategy.split_by_date(bt, "2015-12")


# -- the scripts, end to end, tracked by the real SDK ------------------------------------------


def tracked_workdir(prepared: Path, target: Path, *names: str) -> Path:
    """A Pedigree project (its own store) holding data/prices/<name>.csv for each name."""
    from pedigree.config import init_project

    (target / "data" / "prices").mkdir(parents=True)
    for name in names:
        shutil.copy(prepared / "data" / "prices" / f"{name}.csv", target / "data" / "prices")
    init_project(target)
    return target


def backtest(cwd: Path, **params: object) -> str:
    # A clean Pedigree environment: this test may itself run under `pedigree run`.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEDIGREE_")}
    if params:
        env["PEDIGREE_PARAMS"] = json.dumps(params)
    proc = subprocess.run(
        [sys.executable, str(QUANT / "backtest.py")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def recorded(cwd: Path) -> dict[str, Any]:
    from pedigree.api import Tracker

    (run,) = Tracker.from_env(cwd).runs(experiment="ma-crossover")
    return run


@pytest.fixture(scope="module")
def trial(prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One tracked backtest with the default parameters: its project folder and its stdout."""
    cwd = tracked_workdir(prepared, tmp_path_factory.mktemp("trial"), "AAPL")
    return cwd, backtest(cwd)


@needs_wheels
def test_backtest_is_deterministic(prepared: Path, trial: tuple[Path, str], tmp_path: Path) -> None:
    first, stdout = trial
    again = tracked_workdir(prepared, tmp_path, "AAPL")
    assert backtest(again) == stdout
    files = tree_bytes(first / "results")
    assert tree_bytes(again / "results") == files
    assert sorted(files) == ["AAPL-w50-fee2bps/equity.csv", "AAPL-w50-fee2bps/summary.json"]
    assert stdout.startswith("backtest AAPL: long above its 50-day moving average")


@needs_wheels
def test_backtest_records_its_metrics(trial: tuple[Path, str]) -> None:
    cwd, _ = trial
    run = recorded(cwd)
    summary = json.loads((cwd / "results/AAPL-w50-fee2bps/summary.json").read_text())
    assert run["status"] == "finished"
    assert run["params"] == summary["params"]
    assert run["metrics"]["sharpe"] == summary["train"]["sharpe"]
    assert run["metrics"]["test_sharpe"] == summary["test"]["sharpe"]
    assert run["metrics"]["max_drawdown"] == summary["train"]["max_drawdown"]
    assert summary["train"]["end"] <= "2015-12-31" < summary["test"]["start"]
    # The last monthly equity point is the final value of the daily curve.
    last = (cwd / "results/AAPL-w50-fee2bps/equity.csv").read_text().splitlines()[-1]
    assert run["metrics"]["equity"] == pytest.approx(float(last.split(",")[2]), rel=1e-9)


@needs_wheels
def test_backtest_takes_injected_params(prepared: Path, tmp_path: Path) -> None:
    cwd = tracked_workdir(prepared, tmp_path, "SP500")
    injected = {"instrument": "SP500", "window": 200, "fee_bps": 5.0, "train_end": "2010-12-31"}
    stdout = backtest(cwd, **injected)
    assert "SP500: long above its 200-day" in stdout
    summary = json.loads((cwd / "results/SP500-w200-fee5bps/summary.json").read_text())
    assert summary["params"] == injected
    assert summary["train"]["end"] == "2010-12-31"
    assert recorded(cwd)["params"] == injected


@needs_wheels
def test_prepare_and_vendor_correction_are_deterministic(prepared: Path, tmp_path: Path) -> None:
    trees = []
    for i in range(2):
        cwd = tmp_path / f"w{i}"
        shutil.copytree(prepared / "data" / "raw", cwd / "data" / "raw")
        assert "AAPL close on 2007-10-09: 5.095 -> 5.248" in run_script(
            "correct_vendor.py", cwd=cwd
        )
        stdout = run_script("prepare.py", cwd=cwd)
        assert "kept   data/raw/skfolio/sp500_dataset.csv.gz" in stdout  # the correction stays
        trees.append(tree_bytes(cwd / "data"))
    assert trees[0] == trees[1]
    before = tree_bytes(prepared / "data" / "prices")
    after = {k.removeprefix("prices/"): v for k, v in trees[0].items() if k.startswith("prices/")}
    assert sorted(k for k in before if before[k] != after[k]) == ["AAPL.csv"]
    changed = set(after["AAPL.csv"].decode().splitlines()) ^ set(
        before["AAPL.csv"].decode().splitlines()
    )
    assert changed == {"2007-10-09,5.095", "2007-10-09,5.248"}
    # Only that row differs in the raw file as well.
    raw = "raw/skfolio/sp500_dataset.csv.gz"
    new = gzip.decompress(trees[0][raw]).decode().splitlines()
    old = gzip.decompress((prepared / "data" / raw).read_bytes()).decode().splitlines()
    differing = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert len(differing) == 1
    assert differing[0][0].startswith("2007-10-09,")
    assert differing[0][1].split(",")[1] == "5.248"
    # And the correction moves the train Sharpe ratio of an AAPL trial.
    sharpes = set()
    for path in (prepared / "data/prices/AAPL.csv", tmp_path / "w0/data/prices/AAPL.csv"):
        dates, closes = strategy.load_prices(path)
        train, _ = strategy.split_by_date(
            strategy.backtest(dates, closes, window=50, fee_bps=2.0), "2015-12-31"
        )
        sharpes.add(strategy.sharpe_ratio(train.net))
    assert len(sharpes) == 2


@needs_wheels
def test_plot_writes_an_svg(trial: tuple[Path, str], tmp_path: Path) -> None:
    cwd, _ = trial
    out = tmp_path / "best.svg"
    stdout = run_script("plot.py", "results/AAPL-w50-fee2bps", "--out", str(out), cwd=cwd)
    assert str(out) in stdout
    svg = out.read_text()
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    assert svg.count("<polyline") == 2
