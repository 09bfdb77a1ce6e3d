"""The run handle a script logs to, and the sinks it hands records to.

>>> class Collect:                       # any object with the Sink methods
...     def __init__(self): self.points = []
...     def log_params(self, params): pass
...     def log_metrics(self, points): self.points += points
...     def set_seed(self, seed): pass
...     def declare_io(self, role, path): pass
...     def update(self, fields): pass
...     def finish(self, status, error): pass
>>> sink = Collect()
>>> with ActiveRun("r1", "demo", None, sink) as run:
...     run.log_metric("pnl", 1.5)
...     run.log_metric("pnl", 2.5)
>>> [(k, step, v) for k, step, v, _ in sink.points]
[('pnl', 0, 1.5), ('pnl', 1, 2.5)]
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, NoReturn, Protocol

from pedigree.errors import InvalidValue, RunImmutable
from pedigree.values import (
    MAX_STEP,
    MIN_STEP,
    check_key,
    check_param_value,
    check_tags,
    metric_step,
    metric_value,
)

__all__ = ["ActiveRun", "Sink"]

_FLUSH_POINTS = 5000
_FLUSH_SECONDS = 5.0


class Sink(Protocol):
    """Where a run's records go: the store (standalone) or the spool (under ``pedigree run``)."""

    def log_params(self, params: dict[str, Any]) -> None: ...
    def log_metrics(self, points: list[list[Any]]) -> None: ...
    def set_seed(self, seed: int) -> None: ...
    def declare_io(self, role: str, path: str) -> None: ...
    def update(self, fields: dict[str, Any]) -> None: ...
    def finish(self, status: str, error: str | None) -> None: ...


class ActiveRun:
    """A run being recorded. Use it as a context manager; it ends when the block ends.

    An exception inside the block ends the run as ``failed`` (``killed`` for Ctrl-C) and is
    re-raised. ``on_end`` is called with the run when its block ends (the SDK forgets it then).
    """

    def __init__(
        self,
        run_id: str,
        experiment: str,
        name: str | None,
        sink: Sink,
        *,
        on_end: Callable[[ActiveRun], None] | None = None,
    ) -> None:
        self.id = run_id
        self.experiment = experiment
        self.name = name
        self._sink = sink
        self._on_end = on_end
        self._lock = threading.Lock()
        self._points: list[list[Any]] = []
        self._next_step: dict[str, int] = {}
        self._last_flush = time.time()
        self._ended = False
        self._status = "running"

    def __repr__(self) -> str:
        return f"<ActiveRun {self.id} experiment={self.experiment!r} name={self.name!r}>"

    # -- params --------------------------------------------------------------------------------

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record parameters. A parameter, once set, cannot change to another value."""
        if self._ended:
            self._refuse("params")
        checked = {
            check_key(k, "parameter name"): check_param_value(k, v) for k, v in params.items()
        }
        if checked:
            self._sink.log_params(checked)

    # -- metrics -------------------------------------------------------------------------------

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        """Record one value of a metric. Without ``step``, steps count up from 0 per key."""
        # The common case (a float, an int step) takes the shortest path: a sweep logs millions.
        v = value if type(value) is float else metric_value(key, value)
        now = time.time()
        with self._lock:
            if self._ended:
                self._refuse("metrics")
            known = self._next_step.get(key)
            if known is None:
                check_key(key, "metric name")
            if step is None:
                s = known or 0
                if s > MAX_STEP:
                    metric_step(key, s)  # raises InvalidValue, with the reason
            elif type(step) is int and MIN_STEP <= step <= MAX_STEP:
                s = step
            else:
                s = metric_step(key, step)  # a number-like step, or InvalidValue
            self._next_step[key] = s + 1
            self._points.append([key, s, v if v == v else None, now])  # NaN != NaN
            due = len(self._points) >= _FLUSH_POINTS or now - self._last_flush > _FLUSH_SECONDS
        if due:
            self.flush()

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        for key, value in metrics.items():
            self.log_metric(key, value, step)

    def log_returns(self, series: Any, periods_per_year: float = 252) -> None:
        """Record a per-period return series as the metric history ``returns`` (step = position
        0..T-1) and ``periods_per_year`` as the metric ``returns_periods_per_year``, for
        ``pedigree sweep assess``. ``series``: a list or tuple, a numpy array or a pandas Series
        (anything with ``tolist()``). Every value must be a finite number.

        Example (in a backtest script)::

            with pedigree.start_run(experiment="ma-crossover") as run:
                run.log_returns(daily_returns, periods_per_year=252)  # a pandas Series
        """
        values = series.tolist() if callable(getattr(series, "tolist", None)) else series
        if isinstance(values, str | bytes) or not isinstance(values, list | tuple):
            raise InvalidValue(
                "returns must be a list, a tuple, a numpy array or a pandas Series, "
                f"not {type(series).__name__}"
            )
        checked: list[float] = []
        for position, value in enumerate(values):
            v = metric_value("returns", value)
            if not math.isfinite(v):
                raise InvalidValue(
                    f"returns[{position}] is {v}: every return must be a finite number"
                )
            checked.append(v)
        ppy = metric_value("returns_periods_per_year", periods_per_year)
        if not (math.isfinite(ppy) and ppy > 0):
            raise InvalidValue(
                f"periods_per_year must be a positive number, not {periods_per_year!r}"
            )
        for step, v in enumerate(checked):
            self.log_metric("returns", v, step)
        self.log_metric("returns_periods_per_year", ppy, 0)

    def flush(self) -> None:
        with self._lock:
            points, self._points = self._points, []
            self._last_flush = time.time()
        if points:
            self._sink.log_metrics(points)

    # -- files ---------------------------------------------------------------------------------

    def use(self, path: str | os.PathLike[str]) -> None:
        """Declare a file or folder this run reads (hashed and linked when the run ends)."""
        if self._ended:
            self._refuse("inputs")
        self._sink.declare_io("input", os.path.abspath(os.fspath(path)))

    def produce(self, path: str | os.PathLike[str]) -> None:
        """Declare a file or folder this run writes (hashed, stored and linked at the end)."""
        if self._ended:
            self._refuse("outputs")
        self._sink.declare_io("output", os.path.abspath(os.fspath(path)))

    # -- lifecycle -----------------------------------------------------------------------------

    def set_seed(self, seed: int) -> None:
        if self._ended:
            self._refuse("seed")
        self._sink.set_seed(int(seed))

    def end(self, status: str = "finished", error: str | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        self._status = status
        self.flush()
        self._sink.finish(status, error)

    @property
    def ended(self) -> bool:
        return self._ended

    def _refuse(self, what: str) -> NoReturn:
        # The same words as the store's refusal, raised before anything is buffered: a metric
        # logged after the end would otherwise sit in the buffer and be lost without a word.
        raise RunImmutable(
            f"run {self.id} has ended ({self._status}); its {what} can no longer change"
        )

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None or (isinstance(exc, SystemExit) and exc.code in (0, None)):
                self.end("finished")
            elif isinstance(exc, KeyboardInterrupt):
                self.end("killed", "interrupted (KeyboardInterrupt)")
            else:
                self.end("failed", f"{type(exc).__name__}: {exc}"[:2000])
        finally:
            if self._on_end is not None:
                self._on_end(self)

    # -- artifacts and models ------------------------------------------------------------------

    def log_artifact(self, path: str | os.PathLike[str]) -> None:
        """Record a file or folder this run made as an output: stored by content when the run
        ends, and given back by ``pedigree get RUN:PATH`` (the same as :meth:`produce`)."""
        self.produce(path)

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Set tags on this run (text; numbers and booleans become their text). Unlike
        parameters they may change later, with ``pedigree tag``; every change is audited."""
        values = check_tags(tags)
        set_tags = getattr(self._sink, "set_tags", None)
        if values and set_tags is not None:
            set_tags(values)

    def set_tag(self, key: str, value: Any) -> None:
        """Set one tag (see :meth:`set_tags`)."""
        self.set_tags({key: value})

    def log_model(self, path: str | os.PathLike[str], name: str) -> None:
        """Record ``path`` as an output and, when the run ends, register it as the next version
        of model ``name`` (``pedigree model show NAME``)."""
        if not isinstance(name, str) or not name.strip() or any(c in name for c in "@/:"):
            raise InvalidValue(
                f"a model name is a non-empty string without '@', '/' or ':': {name!r}"
            )
        self.produce(path)
        register = getattr(self._sink, "register_model", None)
        if register is not None:
            register(name.strip(), os.path.abspath(os.fspath(path)))
