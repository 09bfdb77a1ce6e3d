"""A sweep's results: its trials, best first by the target metric.

Read back from the store at any time (``pedigree sweep show``), so the table printed at the end of
a sweep and the one printed a month later are the same. Order: the trials that reported the
metric, best first; then finished trials without it (or with NaN); then the trials that failed,
were killed or crashed. Ties keep the order the trials were started in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pedigree.errors import InvalidInput, NotASweep, RunNotFound
from pedigree.sweep.grid import MAXIMIZE, SweepSpec

if TYPE_CHECKING:
    from pedigree.context import Context

__all__ = ["SweepReport", "TrialRow", "load_report", "resolve_sweep", "run_record"]


@dataclass(frozen=True)
class TrialRow:
    rank: int | None  # 1 = best; None without the metric or when the trial did not finish
    id: str
    name: str | None
    status: str
    params: dict[str, Any]
    metrics: dict[str, float]
    duration: float | None
    exit_code: int | None
    error: str | None

    def value(self, metric: str | None) -> float | None:
        if metric is None:
            return None
        v = self.metrics.get(metric)
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "params": self.params,
            "metrics": self.metrics,
            "duration": self.duration,
            "exit_code": self.exit_code,
            "error": self.error,
        }


@dataclass(frozen=True)
class SweepReport:
    sweep: dict[str, Any]  # the sweep's own run record
    spec: SweepSpec
    trials: list[TrialRow]
    # The best trial's selection context (pedigree.selection.context), None without a best trial.
    selection: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return str(self.sweep["id"])

    @property
    def best(self) -> TrialRow | None:
        return self.trials[0] if self.trials and self.trials[0].rank == 1 else None

    @property
    def failed(self) -> list[TrialRow]:
        return [t for t in self.trials if t.status not in ("finished", "running")]

    @property
    def not_run(self) -> int:
        return max(0, self.spec.count() - len(self.trials))

    def metric_names(self) -> list[str]:
        return sorted({k for t in self.trials for k in t.metrics})

    def to_json(self) -> dict[str, Any]:
        s = self.sweep
        best = self.best
        return {
            "sweep": {
                k: s.get(k)
                for k in ("id", "experiment", "status", "started_at", "ended_at", "error", "user")
            },
            "spec": self.spec.to_json(),
            "metric": self.spec.metric,
            "goal": self.spec.goal,
            "best": best.id if best else None,
            "counts": {
                "planned": self.spec.count(),
                "recorded": len(self.trials),
                "finished": sum(t.status == "finished" for t in self.trials),
                "failed": len(self.failed),
                "not_run": self.not_run,
            },
            "trials": [t.to_json() for t in self.trials],
            "selection": self.selection,
        }

    def selection_line(self, sweep_label: str | None = None) -> str | None:
        """``selected: best of 24 trials by sharpe (maximize), rank 1, sweep ...; 60 other runs of
        ma-crossover on the same data``, or None without a best trial."""
        if self.selection is None:
            return None
        from pedigree.selection.context import sentence

        return "selected: " + sentence(self.selection, sweep_label=sweep_label)


def run_record(ctx: Context, ref: str) -> dict[str, Any]:
    """One run's record, as ``pedigree show RUN --json`` prints it."""
    from pedigree.tracking.records import load_records

    with ctx.read() as reader:
        return load_records(reader, [reader.resolve_run(ref)], detail=True)[0]


def _run_records(
    ctx: Context,
    *,
    kinds: Sequence[str] | None = None,
    parent: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    from pedigree.tracking.records import load_records

    with ctx.read() as reader:
        ids = reader.select_runs(kinds=kinds, parent=parent, limit=limit)
        return load_records(reader, ids, detail=False)


def resolve_sweep(ctx: Context, ref: str) -> dict[str, Any]:
    """A sweep's run record from its id, a unique prefix, or ``last`` (the latest sweep)."""
    if ref.strip() == "last":
        latest = _run_records(ctx, kinds=["sweep"], limit=1)
        if not latest:
            raise RunNotFound("there are no sweeps yet", hint="pedigree sweep --help")
        ref = str(latest[0]["id"])
    record = run_record(ctx, ref)
    if record["kind"] != "sweep":
        parent = record.get("parent")
        hint = f"it is a trial of sweep {parent}" if parent else "list sweeps: pedigree runs"
        raise NotASweep(f"run {record['id']} is not a sweep", hint=hint)
    return record


def _spec(ctx: Context, sweep_id: str) -> SweepSpec:
    with ctx.read() as reader:
        spec = reader.sweep_spec(sweep_id)
    if spec is None:
        raise RunNotFound(f"sweep {sweep_id} has no recorded spec")
    return SweepSpec.from_json(spec)


def rank_trials(records: list[dict[str, Any]], spec: SweepSpec) -> list[TrialRow]:
    """Rows from trial run records, sorted and ranked by the spec's metric."""
    rows = [
        TrialRow(
            rank=None,
            id=r["id"],
            name=r.get("name"),
            status=r["status"],
            params=r.get("params") or {},
            metrics=r.get("metrics") or {},
            duration=r.get("duration"),
            exit_code=r.get("exit_code"),
            error=r.get("error"),
        )
        for r in sorted(records, key=lambda r: str(r["id"]))
    ]
    metric = spec.metric
    sign = -1.0 if spec.goal == MAXIMIZE else 1.0

    def key(item: tuple[int, TrialRow]) -> tuple[int, float, int]:
        order, row = item
        if row.status != "finished":
            return (2, 0.0, order)
        value = row.value(metric)
        if value is None:
            return (1, 0.0, order)
        return (0, sign * value, order)

    ordered = [row for _, row in sorted(enumerate(rows), key=key)]
    out = []
    rank = 0
    for row in ordered:
        if row.status == "finished" and row.value(metric) is not None:
            rank += 1
            row = TrialRow(**{**row.__dict__, "rank": rank})
        out.append(row)
    return out


def load_report(ctx: Context, ref: str) -> SweepReport:
    """The report of the sweep ``ref`` (id, prefix or ``last``), read from the store."""
    sweep = resolve_sweep(ctx, ref)
    sweep_id = str(sweep["id"])
    spec = _spec(ctx, sweep_id)
    trials = rank_trials(_run_records(ctx, parent=sweep_id), spec)
    selection = None
    if trials and trials[0].rank == 1:
        from pedigree.selection.context import selection_context

        with ctx.read() as reader:
            selection = selection_context(reader, trials[0].id)
    return SweepReport(sweep=sweep, spec=spec, trials=trials, selection=selection)


def check_metric(report: SweepReport) -> None:
    """Raise when no trial reported the sweep's metric (a typo, or the script never logs it)."""
    metric = report.spec.metric
    if metric is None or any(t.value(metric) is not None for t in report.trials):
        return
    finished = [t for t in report.trials if t.status == "finished"]
    if not finished:
        return  # nothing finished: the failures are the story, not the metric
    known = report.metric_names()
    raise InvalidInput(
        f"no trial reported the metric {metric!r}",
        hint=f"the trials reported: {', '.join(known)}" if known else "the trials logged no metric",
    )
