"""The selection context of a run: was it picked as the best of many trials, and of how many?

A sweep's best trial is not a 1-in-1 result. Wherever such a run appears (``pedigree show``,
``pedigree sweep show``, the compliance report), it says so: best of N trials by METRIC, its rank,
the sweep, and how many OTHER recorded runs of the same experiment read the same input data
versions (the trials a reviewer of the sweep does not see). ``docs/selection.md`` explains it.

>>> print(sentence({"sweep": "0190e0a0", "metric": "sharpe", "direction": "maximize",
...     "trials": 24, "rank": 1, "selected": True, "other_runs": 60, "experiment": "ma"}))
best of 24 trials by sharpe (maximize), rank 1, sweep 0190e0a0; 60 other runs of ma on the same data
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pedigree.store.reader import Reader

__all__ = ["enrich_records", "selection_context", "sentence"]


def selection_context(reader: Reader, run_id: str) -> dict[str, Any] | None:
    """The selection context of ``run_id`` when it is a trial of a sweep, else None.

    ``{"sweep", "experiment", "metric", "direction" ("maximize" | "minimize"), "trials" (every
    recorded trial, failed ones counted), "rank" (1 = best by the sweep's metric; None when the
    trial did not finish or did not report it), "selected" (rank 1), "other_runs"}``, where
    ``other_runs`` counts the recorded runs of the same experiment on the same set of input
    digests that are not trials of this sweep (other sweeps' trials and single runs alike;
    reproductions and sweeps themselves are not trials, so they are not counted).
    """
    from pedigree.sweep.grid import MAXIMIZE, SweepSpec
    from pedigree.sweep.results import rank_trials
    from pedigree.tracking.liveness import shown_status

    row = reader.run_rows([run_id]).get(run_id)
    if row is None or row.parent_id is None:
        return None
    sweep_id = row.parent_id
    spec_json = reader.sweep_spec(sweep_id)
    if spec_json is None:
        return None  # a child of something that is not a sweep
    spec = SweepSpec.from_json(spec_json)
    trial_ids = reader.select_runs(parent=sweep_id)
    rows = reader.run_rows(trial_ids)
    metrics = reader.latest_metrics(trial_ids)
    records = []
    for tid in trial_ids:
        trial = rows[tid]
        status, error = shown_status(trial)
        records.append(
            {
                "id": tid,
                "name": trial.name,
                "status": status,
                "params": {},
                "metrics": metrics.get(tid, {}),
                "duration": None,
                "exit_code": trial.exit_code,
                "error": error,
            }
        )
    ranked = rank_trials(records, spec)
    rank = next((t.rank for t in ranked if t.id == run_id), None)
    others = reader.runs_on_same_inputs(run_id)
    return {
        "sweep": sweep_id,
        "experiment": row.experiment,
        "metric": spec.metric,
        "direction": "maximize" if spec.goal == MAXIMIZE else "minimize",
        "trials": len(trial_ids),
        "rank": rank,
        "selected": rank == 1,
        "other_runs": sum(1 for parent in others.values() if parent != sweep_id),
    }


def sentence(selection: dict[str, Any], *, sweep_label: str | None = None) -> str:
    """The context in one line, as ``show``, ``sweep show``, the report and the demo print it."""
    n = selection["trials"]
    trials = f"{n} trial{'s' if n != 1 else ''}"
    sweep = sweep_label or selection["sweep"]
    metric = selection.get("metric")
    by = f" by {metric} ({selection['direction']})" if metric else ""
    rank = selection.get("rank")
    if selection.get("selected"):
        text = f"best of {trials}{by}, rank 1, sweep {sweep}"
    elif rank is not None:
        text = f"rank {rank} of {trials}{by}, sweep {sweep}"
    elif metric:
        text = f"one of {trials} of sweep {sweep}, not ranked (no {metric} reported)"
    else:
        text = f"one of {trials} of sweep {sweep} (the sweep has no target metric)"
    other = selection.get("other_runs") or 0
    experiment = selection.get("experiment")
    of = f" of {experiment}" if experiment else ""
    return text + f"; {other} other run{'s' if other != 1 else ''}{of} on the same data"


def enrich_records(reader: Reader, records: list[dict[str, Any]], detail: bool) -> None:
    """``selection`` on each ``show`` record (``detail``): a sweep trial's context, else None."""
    if not detail:
        return
    for record in records:
        record["selection"] = (
            selection_context(reader, record["id"]) if record.get("parent") else None
        )
