"""The run handle: buffering, steps, validation, and how the block ends the run."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from pedigree.client.run import ActiveRun
from pedigree.errors import InvalidParam, InvalidValue, RunImmutable


class Collect:
    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.points: list[list[Any]] = []
        self.flushes = 0
        self.io: list[tuple[str, str]] = []
        self.finished: tuple[str, str | None] | None = None

    def log_params(self, params: dict[str, Any]) -> None:
        self.params.update(params)

    def log_metrics(self, points: list[list[Any]]) -> None:
        self.flushes += 1
        self.points += points

    def set_seed(self, seed: int) -> None:
        self.params["__seed"] = seed

    def declare_io(self, role: str, path: str) -> None:
        self.io.append((role, path))

    def update(self, fields: dict[str, Any]) -> None:
        pass

    def finish(self, status: str, error: str | None) -> None:
        self.finished = (status, error)


def test_metrics_are_buffered_and_flushed_once_at_the_end() -> None:
    sink = Collect()
    with ActiveRun("r", "e", None, sink) as run:
        for step in range(100):
            run.log_metric("pnl", step * 0.5, step=step)
        run.log_metrics({"sharpe": 1.31, "max_drawdown": -0.21})
        assert sink.flushes == 0
    assert sink.flushes == 1
    assert len(sink.points) == 102
    assert sink.finished == ("finished", None)


def test_steps_count_up_per_key_when_not_given() -> None:
    sink = Collect()
    with ActiveRun("r", "e", None, sink) as run:
        run.log_metric("a", 1)
        run.log_metric("a", 2)
        run.log_metric("b", 3)
        run.log_metric("a", 4, step=10)
        run.log_metric("a", 5)
    steps = [(k, s) for k, s, _, _ in sink.points]
    assert steps == [("a", 0), ("a", 1), ("b", 0), ("a", 10), ("a", 11)]


def test_numpy_values_and_non_finite_values() -> None:
    sink = Collect()
    with ActiveRun("r", "e", None, sink) as run:
        run.log_metric("np", np.float32(1.5), step=np.int64(3))
        run.log_metric("nan", math.nan)
        run.log_metric("inf", math.inf)
        run.log_params({"arr": np.int64(7), "nested": {"a": [1, np.float64(2.0)]}})
    values = {k: v for k, _, v, _ in sink.points}
    assert values == {"np": 1.5, "nan": None, "inf": math.inf}
    assert sink.params == {"arr": 7, "nested": {"a": [1, 2.0]}}
    assert type(sink.params["arr"]) is int


@pytest.mark.parametrize("bad", ["1.0", None, b"x", [1], object()])
def test_non_numeric_metric_values_are_refused(bad: object) -> None:
    run = ActiveRun("r", "e", None, Collect())
    with pytest.raises(InvalidValue, match="must be a number"):
        run.log_metric("m", bad)


def test_bad_keys_steps_and_oversized_params_are_refused() -> None:
    run = ActiveRun("r", "e", None, Collect())
    with pytest.raises(InvalidValue):
        run.log_metric("", 1.0)
    with pytest.raises(InvalidValue):
        run.log_metric("x" * 251, 1.0)
    with pytest.raises(InvalidValue, match="step"):
        run.log_metric("m", 1.0, step=1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="limit"):
        run.log_params({"blob": "x" * 70_000})
    with pytest.raises(InvalidParam, match="not supported"):
        run.log_params({"obj": object()})


def test_an_exception_ends_the_run_as_failed_and_is_reraised() -> None:
    sink = Collect()
    with pytest.raises(ZeroDivisionError), ActiveRun("r", "e", None, sink) as run:
        run.log_metric("m", 1)
        _ = 1 / 0
    assert sink.finished is not None
    assert sink.finished[0] == "failed"
    assert "ZeroDivisionError" in (sink.finished[1] or "")
    assert len(sink.points) == 1  # what was logged before the failure is kept


def test_keyboard_interrupt_ends_the_run_as_killed() -> None:
    sink = Collect()
    with pytest.raises(KeyboardInterrupt), ActiveRun("r", "e", None, sink):
        raise KeyboardInterrupt
    assert sink.finished == ("killed", "interrupted (KeyboardInterrupt)")


def test_sys_exit_zero_is_a_normal_end() -> None:
    sink = Collect()
    with pytest.raises(SystemExit), ActiveRun("r", "e", None, sink):
        raise SystemExit(0)
    assert sink.finished == ("finished", None)


def test_an_ended_run_refuses_every_change_instead_of_dropping_it() -> None:
    # A metric logged after the block used to sit in the buffer and vanish without a word.
    sink = Collect()
    with ActiveRun("r", "e", None, sink) as run:
        run.log_metric("a", 1.0)
    with pytest.raises(RunImmutable, match=r"run r has ended \(finished\); its metrics"):
        run.log_metric("a", 2.0)
    with pytest.raises(RunImmutable, match="its metrics"):
        run.log_metrics({"b": 1.0})
    with pytest.raises(RunImmutable, match="its params"):
        run.log_param("p", 1)
    with pytest.raises(RunImmutable, match="its seed"):
        run.set_seed(3)
    with pytest.raises(RunImmutable, match="its outputs"):
        run.produce("out.csv")
    run.flush()
    assert [p[0] for p in sink.points] == ["a"]
    assert sink.params == {}


def test_use_and_produce_declare_absolute_paths(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    sink = Collect()
    with ActiveRun("r", "e", None, sink) as run:
        run.use("data/in.csv")
        run.produce(tmp_path / "out.bin")
    assert sink.io == [
        ("input", str(tmp_path / "data/in.csv")),
        ("output", str(tmp_path / "out.bin")),
    ]


def test_on_end_is_told_when_the_block_ends_even_after_an_exception() -> None:
    ended: list[ActiveRun] = []
    with (
        pytest.raises(ZeroDivisionError),
        ActiveRun("r", "e", None, Collect(), on_end=ended.append) as run,
    ):
        _ = 1 / 0
    assert ended == [run]


def test_the_client_needs_only_the_standard_library_and_never_the_sdk() -> None:
    """It runs inside the tracked process, on any interpreter: only stdlib, and the few
    dependency-free modules beside it."""
    import ast
    import sys
    from pathlib import Path

    import pedigree.client

    allowed = {"pedigree.client", "pedigree.errors", "pedigree.values"}
    # seed_everything seeds them when the script has them (imported only if installed).
    allowed |= {"numpy", "torch"}
    found = set()
    for path in Path(pedigree.client.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
    outside = {
        m
        for m in found
        if m.split(".")[0] not in sys.stdlib_module_names
        and not any(m == a or m.startswith(a + ".") for a in allowed)
    }
    assert outside == set()
