"""``pedigree reproduce RUN``."""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any

import click

from pedigree.cli._common import console, emit_json, json_option, tracker

if TYPE_CHECKING:
    from rich.console import Console

    from pedigree.api import Tracker


class Tolerance(click.ParamType):  # type: ignore[type-arg]
    """A finite number >= 0 (``1e-6``, ``0.001``)."""

    name = "number"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number (e.g. 1e-6)", param, ctx)
        if not math.isfinite(number) or number < 0:
            self.fail(f"{value!r} must be a finite number >= 0", param, ctx)
        return number


_STYLE = {"identical": "green", "equivalent": "green", "diverged": "yellow", "failed": "red"}


@click.command()
@click.argument("run")
@click.option(
    "--env",
    "env_mode",
    type=click.Choice(["current", "rebuild"]),
    default="current",
    show_default=True,
    help="current: run here and report every difference from the recorded environment; "
    "rebuild: a fresh virtualenv with the recorded packages at their recorded versions.",
)
@click.option(
    "--rtol",
    type=Tolerance(),
    default=1e-9,
    show_default=True,
    help="Relative tolerance for metrics.",
)
@click.option(
    "--atol",
    type=Tolerance(),
    default=0.0,
    show_default=True,
    help="Absolute tolerance for metrics.",
)
@click.option("--ignore-stdout", is_flag=True, help="Do not judge the standard output.")
@click.option("--keep", is_flag=True, help="Keep the temporary checkout and print where it is.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True, max=1e9),
    default=None,
    metavar="SECONDS",
    help="Stop the re-run after this many seconds (SIGTERM, then SIGKILL): verdict failed.",
)
@json_option
def reproduce(
    run: str,
    env_mode: str,
    rtol: float,
    atol: float,
    ignore_stdout: bool,
    keep: bool,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Re-run RUN with its exact code, inputs, params, seed and environment variables, and judge.

    The code is checked out in a temporary git worktree (your working tree is never touched),
    the inputs are restored from the object store, and every output digest, metric and the
    standard output are compared with the original. The verdict is recorded and linked to RUN:
    identical and equivalent exit 0, diverged 1, failed 2. A run that cannot be run again (an
    interactive session, a Jupyter kernel, `python -` from standard input) is refused before
    anything starts, with the reason (exit code 2).

    RUN may also be an evidence bundle (`pedigree bundle`): it is verified and imported into
    the store here (one is made in this folder when there is none), and its target run is
    reproduced from the code, inputs and environment it carries; no git remote is needed.

    \b
    Examples:
      pedigree reproduce last
      pedigree reproduce 0193a5c2 --rtol 1e-6 --ignore-stdout
      pedigree reproduce 0193a5c2 --env rebuild --json
      pedigree reproduce result.pedigree
      pedigree reproduce last --timeout 600
    """
    err = console(stderr=True)
    t, run = _tracker_for(run, err)
    result = t.reproduce.run(
        run,
        env=env_mode,  # type: ignore[arg-type]
        rtol=rtol,
        atol=atol,
        ignore_stdout=ignore_stdout,
        keep=keep,
        timeout=timeout,
        stream=not as_json,
        on_start=lambda rid: err.print(f"reproducing as run {rid}"),
    )
    if as_json:
        emit_json(result.to_json())
    else:
        _render(result.to_json())
    sys.exit(result.exit_code)


def _render(r: dict[str, Any]) -> None:
    from rich.markup import escape

    out = console(stderr=True)
    verdict = r["verdict"]
    out.print(
        f"[bold {_STYLE[verdict]}]{verdict}[/]: run {r['id']} reproduces {r['original']}"
        if verdict != "failed"
        else f"[bold red]failed[/]: run {r['id']} could not reproduce {r['original']}"
    )
    if r.get("reason"):
        out.print(f"  reason: {escape(r['reason'])}")
    for d in r.get("differences") or []:
        out.print(f"  differs: {escape(d)}")
    env = r.get("environment")
    if env:
        if env["same"]:
            out.print("  environment: the same as recorded")
        for d in env["differences"]:
            out.print(f"  environment: {escape(d)}")
    for note in r.get("notes") or []:
        out.print(f"  note: {escape(note)}")
    if r.get("workspace"):
        out.print(f"  checkout kept in {r['workspace']}")


def _is_bundle(ref: str) -> bool:
    """Whether ``ref`` names an evidence bundle file rather than a run."""
    import os
    import zipfile

    if ref.endswith(".pedigree"):
        return True
    return os.path.isfile(ref) and zipfile.is_zipfile(ref)


def _tracker_for(ref: str, err: Console) -> tuple[Tracker, str]:
    """The tracker and run to reproduce: the project here and ``ref``, or, for a bundle, the
    project here (made when there is none) with the bundle imported, and its target run."""
    if not _is_bundle(ref):
        return tracker(), ref
    import os

    from pedigree.api import Tracker
    from pedigree.errors import InvalidInput, StoreNotFound

    try:
        t = Tracker.from_env()
    except StoreNotFound:
        t, _ = Tracker.init(os.getcwd())
        err.print(f"no Pedigree store here: made one in {t.project.root} to record the verdict")
    summary = t.bundle.import_bundle(ref)
    if summary["target_run"] is None:
        raise InvalidInput(
            f"{ref} is the bundle of {summary['target']}, not of a run: there is nothing to re-run"
        )
    if summary["runs_imported"]:
        err.print(f"imported {len(summary['runs_imported'])} run(s) from {summary['file']}")
    return t, summary["target_run"]
