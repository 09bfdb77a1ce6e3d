"""Parameter sweeps: ``tracker.sweeps``.

Run a sweep, read its table of trials back, plot a metric against a parameter.

>>> import tempfile
>>> from pedigree.api import Tracker
>>> from pedigree.config import init_project
>>> tracker = Tracker(init_project(tempfile.mkdtemp())[0])
>>> tracker.sweeps.show("last")
Traceback (most recent call last):
...
pedigree.errors.RunNotFound: there are no sweeps yet
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pedigree.context import Context

if TYPE_CHECKING:
    from pedigree.sweep.executors import Executor, TrialDone
    from pedigree.sweep.grid import SweepSpec, Trial
    from pedigree.sweep.plot import SweepPlot
    from pedigree.sweep.results import SweepReport
    from pedigree.sweep.runner import SweepOutcome

__all__ = ["SweepsAPI"]


class SweepsAPI:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def run(
        self,
        spec: SweepSpec,
        *,
        executor: str | Executor = "local",
        jobs: int | None = None,
        ray_address: str | None = None,
        command: list[str] | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        on_start: Callable[[str, SweepSpec, list[Trial]], None] | None = None,
        on_trial: Callable[[Trial, TrialDone, int], None] | None = None,
    ) -> SweepOutcome:
        """Run every trial of ``spec`` (``executor`` ``local`` or ``ray``, ``jobs`` at once) and
        record the sweep; see :mod:`pedigree.sweep.runner` for what fails and how."""
        from pedigree.sweep.executors import make_executor
        from pedigree.sweep.runner import run_sweep

        ex = (
            make_executor(executor, jobs, ray_address=ray_address)
            if isinstance(executor, str)
            else executor
        )
        return run_sweep(
            self._ctx,
            spec,
            executor=ex,
            command=command,
            cwd=cwd,
            env=env,
            on_start=on_start,
            on_trial=on_trial,
        )

    def show(self, ref: str = "last") -> SweepReport:
        """The sweep ``ref`` (id, unique prefix or ``last``) and its trials, best first."""
        from pedigree.sweep.results import load_report

        return load_report(self._ctx, ref)

    def plot(
        self,
        ref: str = "last",
        *,
        x: str | None = None,
        y: str | None = None,
        by: str | None = None,
        output: Path | None = None,
    ) -> SweepPlot:
        """Draw ``y`` against ``x`` as a PNG and record it as an output of the sweep run."""
        from pedigree.sweep.plot import draw

        return draw(self._ctx, ref, x=x, y=y, by=by, output=output)

    def assess(
        self,
        ref: str = "last",
        *,
        metric: str | None = None,
        returns_metric: str = "returns",
        periods_per_year: float | None = None,
        partitions: int = 16,
        across: str | None = None,
    ) -> dict[str, Any]:
        """DSR, PBO and the rest for the best trial of the sweep ``ref``; see
        :func:`pedigree.sweep.assess.assess_sweep`."""
        from pedigree.sweep.assess import assess_sweep

        return assess_sweep(
            self._ctx,
            ref,
            metric=metric,
            returns_metric=returns_metric,
            periods_per_year=periods_per_year,
            partitions=partitions,
            across=across,
        )
