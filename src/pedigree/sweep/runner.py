"""Running a sweep: one parent run of kind ``sweep``, its spec, and one child run per trial.

::

    ctx = Context(find_project())
    spec = SweepSpec(params={"window": [20, 50, 100]}, command=["python", "backtest.py"],
                     experiment="ma-crossover", metric="sharpe")
    outcome = run_sweep(ctx, spec, executor=LocalExecutor(jobs=2))
    outcome.report.best.params     # {'window': 100}

Policies (documented in docs/sweeps.md):

- a failed trial never stops the sweep; the sweep run ends ``failed`` ("2 of 24 trials failed")
  when any trial did not finish, else ``finished``; ``killed`` when interrupted;
- a grid key that the script does not declare with ``pedigree.params`` (when it declares any) is
  a typo: the sweep starts no further trial, lets the running ones end, keeps every trial that
  ran, and ends ``failed`` with an :class:`UnknownParameter` error;
- a metric that no finished trial reported is reported the same way once the trials are done.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pedigree.errors import PedigreeError, UnknownParameter
from pedigree.store.events import SweepCreated
from pedigree.sweep.executors import Executor, TrialDone
from pedigree.sweep.grid import SweepSpec, Trial, expand, placeholders
from pedigree.sweep.results import SweepReport, check_metric, load_report, run_record
from pedigree.tracking import recording

if TYPE_CHECKING:
    from pedigree.context import Context

__all__ = ["SweepOutcome", "UnknownParameter", "run_sweep"]


@dataclass
class SweepOutcome:
    sweep_id: str
    status: str  # finished | failed | killed
    report: SweepReport
    exit_code: int  # what `pedigree sweep` exits with: 0, 1 (trials failed), 130, or the error's
    error: PedigreeError | None = None  # why the sweep stopped or failed as a whole
    interrupted: bool = False


def _unknown(spec: SweepSpec, declared: frozenset[str]) -> list[str]:
    if not declared:
        return []  # a script that declares nothing takes its values some other way
    known = declared | placeholders(spec.command)
    return [k for k in spec.params if k not in known]


class _Signals:
    """While a sweep runs in the main thread: the first Ctrl-C (or TERM/HUP) stops it cleanly,
    terminating the running trials so that they are recorded as killed; a second one aborts."""

    def __init__(self, no_more: threading.Event, kill: threading.Event) -> None:
        self.no_more, self.kill = no_more, kill
        self.received: list[int] = []
        self.restore: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                self.restore[sig] = signal.signal(sig, self.handle)
        return self

    def handle(self, signum: int, _frame: Any) -> None:
        self.received.append(signum)
        self.no_more.set()
        self.kill.set()
        if len(self.received) > 1:
            raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.restore.items():
            signal.signal(sig, handler)


def _heartbeat(ctx: Context, run_id: str, stop: threading.Event) -> threading.Thread:
    def beat() -> None:
        while not stop.wait(recording.HEARTBEAT_SECONDS):
            # A missed beat is retried; the sweep itself must go on.
            with contextlib.suppress(PedigreeError):
                recording.heartbeat(ctx, run_id)

    thread = threading.Thread(target=beat, name=f"pedigree-sweep-{run_id[:8]}", daemon=True)
    thread.start()
    return thread


def run_sweep(
    ctx: Context,
    spec: SweepSpec,
    *,
    executor: Executor,
    command: list[str] | None = None,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    on_start: Callable[[str, SweepSpec, list[Trial]], None] | None = None,
    on_trial: Callable[[Trial, TrialDone, int], None] | None = None,
) -> SweepOutcome:
    """Run every trial of ``spec`` and record the sweep; see the module docstring for policies.

    ``command`` is what the sweep run records as its own command line (the CLI passes
    ``pedigree sweep ...``); ``on_trial(trial, done, n_done)`` is called as each trial ends.
    """
    import os

    from pedigree.tracking.launcher import LaunchSpec, _resolve_command

    trials = expand(spec)
    workdir = os.path.abspath(cwd or os.getcwd())
    _resolve_command(trials[0].argv, workdir)  # a typo in the command fails every trial
    executor.open()
    try:
        spec = dataclasses.replace(spec, executor=executor.name, jobs=executor.jobs)
        sweep_id = recording.create_run(
            ctx,
            experiment=spec.experiment or "default",
            kind="sweep",
            command=command or ["pedigree", "sweep", "--", *spec.command],
            cwd=workdir,
            seed=spec.seed,
        )
        ctx.append([SweepCreated(run_id=sweep_id, spec=spec.to_json())])
        if on_start is not None:
            on_start(sweep_id, spec, trials)
        launch_specs = (
            (
                t.index,
                LaunchSpec(
                    argv=t.argv,
                    experiment=spec.experiment,
                    name=t.name,
                    params=t.params,
                    seed=spec.seed,
                    parent_id=sweep_id,
                    cwd=workdir,
                    env=dict(env or {}),
                ),
            )
            for t in trials
        )
        no_more, kill, beat_stop = threading.Event(), threading.Event(), threading.Event()
        error: PedigreeError | None = None
        beat = _heartbeat(ctx, sweep_id, beat_stop)
        n_done = 0
        unknown: list[str] = []
        declared: frozenset[str] = frozenset()
        try:
            with _Signals(no_more, kill) as signals:
                try:
                    for done in executor.run(ctx, launch_specs, no_more=no_more, kill=kill):
                        n_done += 1
                        result = done.result
                        if result is not None and not unknown:
                            unknown = _unknown(spec, result.declared_params)
                            if unknown:  # start no more trials; let the running ones end
                                no_more.set()
                                declared = result.declared_params
                        if on_trial is not None:
                            on_trial(trials[done.index], done, n_done)
                except PedigreeError as exc:  # the cluster went away mid-sweep
                    error = exc
            interrupted = bool(signals.received)
        except BaseException:  # a second Ctrl-C, or a bug: the sweep must not stay "running"
            recording.end_run(ctx, sweep_id, "killed", exit_code=130, error="aborted")
            raise
        finally:
            beat_stop.set()
            beat.join()

        report = load_report(ctx, sweep_id)
        if unknown and error is None:
            error = UnknownParameter(
                f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a parameter "
                f"of `{' '.join(spec.command)}`, which declares {', '.join(sorted(declared))}; "
                f"the sweep stopped after {n_done} of {len(trials)} trials (kept)",
                hint="check the spelling, or declare it in the script: "
                "pedigree.params(name=default)",
            )
        if error is None and not interrupted:
            try:
                check_metric(report)
            except PedigreeError as exc:
                error = exc
        failed = len(report.failed)
        if interrupted:
            status, code, message = "killed", 130, "interrupted"
        elif error is not None:
            status, code, message = "failed", error.exit_code, str(error)
        elif failed:
            status, code, message = "failed", 1, f"{failed} of {len(trials)} trials failed"
        else:
            status, code, message = "finished", 0, None
        recording.end_run(ctx, sweep_id, status, exit_code=code, error=message)
        report = dataclasses.replace(report, sweep=run_record(ctx, sweep_id))
        return SweepOutcome(sweep_id, status, report, code, error, interrupted)
    finally:
        executor.close()
