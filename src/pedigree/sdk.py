"""The module-level SDK: ``pedigree.start_run``, ``pedigree.params`` and the shortcuts.

Two modes, chosen by the environment:

- under ``pedigree run`` (``PEDIGREE_RUN_ID`` and ``PEDIGREE_SPOOL`` are set), ``start_run()``
  attaches to the run the recorder made and everything goes to the spool; no database is opened;
- otherwise ``start_run()`` creates a run in the project's store (found from the working
  directory) and records it in-process.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
from types import TracebackType
from typing import Any

from pedigree.client.params import Params, coerce_like
from pedigree.client.run import ActiveRun
from pedigree.client.seed import resolve_seed
from pedigree.client.seed import seed_everything as _seed_generators
from pedigree.client.spool import SpoolSink, SpoolWriter
from pedigree.errors import InvalidInput, InvalidParam
from pedigree.values import check_key, check_param_value, check_tags

__all__ = [
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
]

DEFAULT_EXPERIMENT = "default"

_lock = threading.RLock()
_active: ActiveRun | None = None
_declared: dict[str, Any] = {}
_spool: SpoolWriter | None = None
_hook_installed = False


def _attachment() -> tuple[str, str] | None:
    run_id = os.environ.get("PEDIGREE_RUN_ID")
    folder = os.environ.get("PEDIGREE_SPOOL")
    if run_id and folder and os.path.isdir(folder):
        return run_id, folder
    return None


def _spool_writer(folder: str) -> SpoolWriter:
    global _spool
    if _spool is None or _spool.folder != folder:
        _spool = SpoolWriter(folder)
    return _spool


def _injected() -> dict[str, Any]:
    raw = os.environ.get("PEDIGREE_PARAMS")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidParam("PEDIGREE_PARAMS is not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidParam("PEDIGREE_PARAMS must be a JSON object")
    return value


def params(**defaults: Any) -> Params:
    """Declare parameters with their defaults; get the values this run uses.

    A sweep or ``pedigree run --param k=v`` overrides defaults (converted to the default's type
    when nothing is lost). The values are recorded on the run::

        p = pedigree.params(window=50, instrument="AAPL")
        p.window   # 50, or what the sweep injected
    """
    injected = _injected()
    values: dict[str, Any] = {}
    for key, default in defaults.items():
        check_key(key, "parameter name")
        value = coerce_like(default, injected[key]) if key in injected else default
        values[key] = check_param_value(key, value)
    for key, value in injected.items():
        if key not in values:
            values[key] = value
    with _lock:
        _declared.update(values)
        run = _active
    attached = _attachment()
    if run is not None and not run.ended:
        run.log_params(values)
    elif attached is not None:
        _spool_writer(attached[1]).write(
            {"t": "params", "values": values, "declared": sorted(defaults)}
        )
    return Params(values)


def start_run(
    experiment: str | None = None,
    name: str | None = None,
    *,
    seed: int | None = None,
    tags: dict[str, Any] | None = None,
) -> ActiveRun:
    """Start (or, under ``pedigree run``, attach to) a run; use it as a context manager::

    with pedigree.start_run(experiment="ma-crossover", name="w50") as run:
        run.log_metric("sharpe", 1.31)

    ``tags`` are text labels (``{"stage": "candidate"}``) that, unlike parameters, may change
    later (``pedigree tag``, ``run.set_tags``); ``runs --where "tags.stage = 'candidate'"``.
    """
    checked_tags = check_tags(tags) if tags is not None else {}
    global _active
    with _lock:
        if _active is not None and not _active.ended:
            raise InvalidInput(
                f"run {_active.id} is already active in this process; end it first "
                "(leave its `with` block or call pedigree.end_run())"
            )
        attached = _attachment()
        if attached is not None:
            run_id, folder = attached
            sink = SpoolSink(_spool_writer(folder))
            fields = {k: v for k, v in (("experiment", experiment), ("name", name)) if v}
            if fields:
                sink.update(fields)
            run = ActiveRun(
                run_id,
                experiment or os.environ.get("PEDIGREE_EXPERIMENT") or DEFAULT_EXPERIMENT,
                name,
                sink,
                on_end=_forget,
            )
            if _declared:
                sink.log_params(dict(_declared))
            if seed is not None:
                run.set_seed(seed)
            if checked_tags:
                run.set_tags(checked_tags)
            # Metrics logged without a `with` block (pedigree.log_metric at module level) are
            # handed over at exit; the spool writer, registered earlier, writes them after this.
            atexit.register(run.flush)
        else:
            from pedigree.api import Tracker

            run = Tracker.from_env().start_run(
                experiment=experiment or DEFAULT_EXPERIMENT,
                name=name,
                params=dict(_declared),
                seed=resolve_seed(seed),
                on_end=_forget,
                tags=checked_tags,
            )
            _install_exit_hooks()
        _active = run
        return run


def _forget(run: ActiveRun) -> None:
    global _active
    with _lock:
        if _active is run:
            _active = None


def active_run() -> ActiveRun | None:
    """The run this process is recording, if any."""
    return _active if _active is not None and not _active.ended else None


def _require_run() -> ActiveRun:
    run = active_run()
    if run is not None:
        return run
    if _attachment() is not None:
        return start_run()  # under `pedigree run` the run already exists: attach to it
    raise InvalidInput("no active run: call pedigree.start_run() first")


def end_run(status: str = "finished") -> None:
    """End the active run (for code that does not use ``with``)."""
    run = active_run()
    if run is not None:
        run.end(status)
        _forget(run)


def log_param(key: str, value: Any) -> None:
    _require_run().log_param(key, value)


def log_params(params: dict[str, Any]) -> None:
    _require_run().log_params(params)


def log_metric(key: str, value: Any, step: int | None = None) -> None:
    _require_run().log_metric(key, value, step)


def log_metrics(metrics: dict[str, Any], step: int | None = None) -> None:
    _require_run().log_metrics(metrics, step)


def use(path: str | os.PathLike[str]) -> None:
    _require_run().use(path)


def produce(path: str | os.PathLike[str]) -> None:
    _require_run().produce(path)


def seed_everything(seed: int | None = None) -> int:
    """Seed random, NumPy and PyTorch (when installed) and record the seed on the run.

    Without an argument the seed comes from ``pedigree run --seed`` (``PEDIGREE_SEED``); with
    neither, a seed is drawn, used and recorded, so the run can still be reproduced.
    """
    chosen = resolve_seed(seed)
    if chosen is None:
        chosen = int.from_bytes(os.urandom(4), "big")
    _seed_generators(chosen)
    run = active_run()
    attached = _attachment()
    if run is not None:
        run.set_seed(chosen)
    elif attached is not None:
        _spool_writer(attached[1]).write({"t": "seed", "seed": chosen})
    return chosen


def _install_exit_hooks() -> None:
    """End a run left open when the process exits: failed after an uncaught exception."""
    global _hook_installed
    if _hook_installed:
        return
    _hook_installed = True
    previous = sys.excepthook

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        run = active_run()
        if run is not None:
            status = "killed" if issubclass(exc_type, KeyboardInterrupt) else "failed"
            run.end(status, f"{exc_type.__name__}: {exc}"[:2000])
        previous(exc_type, exc, tb)

    sys.excepthook = excepthook
    atexit.register(end_run)
