"""``pedigree import``: bring another tool's records into the project.

Subcommands: mlflow.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from pedigree.cli._common import console, emit_json, json_option, tracker

if TYPE_CHECKING:
    from pedigree.interop.mlflow.importer import ImportReport


@click.group(name="import")
def import_() -> None:
    """Import another tool's history: runs, metrics, artifacts and models.

    Imported records are ordinary Pedigree runs and model versions (show, runs, lineage, audit,
    approvals) that remember where they came from; importing the same source again adds nothing.

    \b
    Examples:
      pedigree import mlflow --from sqlite:///mlflow.db
      pedigree import mlflow --from ./mlruns --experiment churn --json
    """


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr (a terminal only), fed ``(done, total)``."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "importing runs",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console(stderr=True),
        transient=True,
    )
    task = bar.add_task("runs", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 'es' if word.endswith('s') else 's'}"


def _print(report: ImportReport) -> None:
    out = console()
    if report.added == 0 and not (report.runs_already or report.model_versions_already):
        out.print(f"nothing new: {report.source} holds nothing to import", markup=False)
    elif report.added == 0:
        out.print(
            f"nothing new: {report.source} was imported already "
            f"({_plural(report.runs_already, 'run')}, "
            f"{_plural(report.model_versions_already, 'model version')})",
            markup=False,
        )
    if report.added == 0:
        if report.skipped:
            out.print(f"skipped {len(report.skipped)} (each named on stderr)", markup=False)
        return
    out.print(
        f"imported from {report.source}: {_plural(report.runs_imported, 'run')} "
        f"({_plural(report.metric_points, 'metric point')}, "
        f"{_plural(report.artifacts, 'artifact')}), "
        f"{_plural(report.model_versions_imported, 'model version')}, "
        f"{_plural(report.aliases_moved, 'alias')} moved, in {report.seconds:.1f} s",
        markup=False,
    )
    if report.runs_already or report.model_versions_already:
        out.print(
            f"already imported: {_plural(report.runs_already, 'run')}, "
            f"{_plural(report.model_versions_already, 'model version')}",
            markup=False,
        )
    if report.skipped:
        out.print(f"skipped {len(report.skipped)} (each named on stderr)", markup=False)


@import_.command()
@click.option(
    "--from",
    "uri",
    required=True,
    metavar="TRACKING_URI",
    help="The MLflow store, as MLflow takes it: sqlite:///mlflow.db, postgresql://..., "
    "http://host:5000, or a ./mlruns folder.",
)
@click.option(
    "--experiment",
    "experiments",
    multiple=True,
    metavar="NAME",
    help="Import only this experiment (repeatable; default: every active experiment).",
)
@json_option
def mlflow(uri: str, experiments: tuple[str, ...], as_json: bool) -> None:
    """Import an MLflow store: experiments, finished runs, registered models and aliases.

    Each run keeps its params, tags, status, start and end times, user, the source commit
    (mlflow.source.git.commit) as its code commit, every metric's full history (step, value,
    time) and its artifacts (stored as its outputs), and records imported_from:
    "mlflow:<run_id>" (shown by show). Registered model versions become versions of the same
    model here, and aliases follow, except protected ones (they need an approval here).
    A run that cannot be read whole is skipped, named on stderr, and the rest imported; the
    exit code is then 1 (runs still running in MLflow are left for a later import, and
    protected aliases for a reviewer, without failing). Running the same import again adds
    nothing and says so. Needs MLflow:
    pip install 'pedigree[mlflow]'.

    \b
    --json prints the counts: {source, experiments, runs: {found, imported, already_imported,
    skipped}, metric_points, artifacts, model_versions: {...}, aliases: {moved, already,
    skipped}, nothing_new, skipped: [{what, ref, name, reason, error}], imported_runs,
    seconds}.

    \b
    Examples:
      pedigree import mlflow --from sqlite:///mlflow.db
      pedigree import mlflow --from ./mlruns --experiment churn --experiment fraud
      pedigree import mlflow --from http://mlflow.internal:5000 --json
    """
    with _progress(not as_json and sys.stderr.isatty()) as progress:
        report = tracker().imports.mlflow(uri, experiments=experiments, progress=progress)
    if as_json:
        emit_json(report.to_json())
    else:
        _print(report)
    for s in report.skipped:
        click.echo(f"skipped: {s.line()}", err=True)
    if report.failed:
        sys.exit(1)
