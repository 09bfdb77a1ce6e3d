"""Pedigree: lineage-first experiment tracking.

    import pedigree

    p = pedigree.params(window=50, instrument="AAPL")
    with pedigree.start_run(experiment="ma-crossover", name="w50") as run:
        run.log_metric("pnl", 0.4, step=0)
        run.log_metrics({"sharpe": 1.31, "max_drawdown": -0.21})

    pedigree.runs(experiment="ma-crossover", where="metrics.sharpe > 1", order_by="-metrics.sharpe")

Importing this package loads nothing heavy: the database layer is imported only when a run is
recorded in-process or queried.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pedigree._version import __version__

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence
    from pathlib import Path

    import pandas

    from pedigree.api import Tracker
    from pedigree.client.params import Params
    from pedigree.client.run import ActiveRun
    from pedigree.errors import PedigreeError
    from pedigree.sdk import (
        active_run,
        end_run,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        params,
        produce,
        seed_everything,
        start_run,
        use,
    )

__all__ = [
    "ActiveRun",
    "Params",
    "PedigreeError",
    "Tracker",
    "__version__",
    "active_run",
    "end_run",
    "get",
    "get_run",
    "load_model",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "metric_history",
    "params",
    "produce",
    "runs",
    "runs_frame",
    "seed_everything",
    "start_run",
    "use",
]

_SDK = {
    "active_run",
    "end_run",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "params",
    "produce",
    "seed_everything",
    "start_run",
    "use",
}
_ELSEWHERE = {
    "ActiveRun": "pedigree.client.run",
    "Params": "pedigree.client.params",
    "PedigreeError": "pedigree.errors",
    "Tracker": "pedigree.api",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _SDK:
        value = getattr(importlib.import_module("pedigree.sdk"), name)
    elif name in _ELSEWHERE:
        value = getattr(importlib.import_module(_ELSEWHERE[name]), name)
    else:
        raise AttributeError(f"module 'pedigree' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def runs(
    *,
    experiment: str | None = None,
    where: str | None = None,
    order_by: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Runs of this project, as ``pedigree runs --json`` prints them.

    >>> import pedigree
    >>> from pedigree.api import Tracker
    >>> tracker, _ = Tracker.init()
    >>> run_id = tracker.create_run(experiment="ma-crossover", params={"window": 50})
    >>> tracker.log_metrics(run_id, [["sharpe", 0, 1.31, 0.0]])
    >>> [r["params"] for r in pedigree.runs(experiment="ma-crossover",
    ...                                     where="metrics.sharpe > 1",
    ...                                     order_by="-metrics.sharpe", limit=20)]
    [{'window': 50}]
    """
    from pedigree.api import Tracker

    return Tracker.from_env().runs(
        experiment=experiment, where=where, order_by=order_by, limit=limit
    )


def get_run(run: str) -> dict[str, Any]:
    """One run (a full id, a unique prefix or ``last``), as ``pedigree show --json`` prints it."""
    from pedigree.api import Tracker

    return Tracker.from_env().get_run(run)


def runs_frame(
    *,
    experiment: str | None = None,
    where: str | None = None,
    order_by: str | None = None,
    limit: int | None = None,
    kind: str | Sequence[str] = "run",
) -> pandas.DataFrame:
    """Runs as a pandas DataFrame: one row per run, ``params.*`` and ``metrics.*`` columns.

    Ordinary runs only, unless ``kind`` names others ("sweep", "reproduction") or is "all";
    integer parameters stay integers (pandas' nullable ``Int64`` where some runs lack one)."""
    from pedigree.api import Tracker

    return Tracker.from_env().runs_frame(
        experiment=experiment, where=where, order_by=order_by, limit=limit, kind=kind
    )


def get(target: str, dest: str | os.PathLike[str] | None = None, *, force: bool = False) -> Path:
    """Stored content back by its record: a digest, ``RUN:PATH``, ``DATASET@vN[:PATH]`` or a
    model ``NAME@ALIAS`` / ``NAME/N``, written at ``dest`` (verified, never overwriting other
    content without ``force``); without ``dest``, a read-only path inside the project cache."""
    from pedigree.api import Tracker

    return Tracker.from_env().models.get(target, dest=dest, force=force).path


def load_model(ref: str) -> Path:
    """The read-only local path of a registered model version (``NAME@production``,
    ``NAME/3``), for serving code; Pedigree loads nothing itself (no pickle)."""
    from pedigree.api import Tracker

    return Tracker.from_env().models.get(f"model:{ref.removeprefix('model:')}").path


def metric_history(run: str, key: str | None = None) -> list[dict[str, Any]]:
    """Every logged point of metric ``key`` of ``run`` (``last``, an id or a prefix), as
    ``[{"step", "value", "time"}]``; without ``key``, of its only metric."""
    from pedigree.api import Tracker
    from pedigree.errors import InvalidInput

    found = Tracker.from_env().metric_history(run, [key] if key else [])
    if key is None and len(found) != 1:
        raise InvalidInput(f"run {run} logged {len(found)} metrics; name one: {sorted(found)}")
    return next(iter(found.values()))
