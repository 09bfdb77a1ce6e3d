"""``pedigree doctor``."""

from __future__ import annotations

import sys

import click

from pedigree.cli._common import console, emit_json, json_option, tracker


@click.command()
@click.option(
    "--fix",
    is_flag=True,
    help="Record the runs whose recorder stopped as crashed, and remove leftover spool folders.",
)
@json_option
def doctor(fix: bool, as_json: bool) -> None:
    """Find what needs attention: runs whose recorder stopped, leftover spool folders.

    A run whose recorder died (killed, crashed, a lost machine) stays recorded as running; reads
    show it as crashed but never write. --fix records it as crashed, in your name, and removes
    the spool folders of runs that have ended. Exits 1 when something needs attention and
    --fix was not given.

    \b
    Examples:
      pedigree doctor
      pedigree doctor --fix
    """
    from rich.markup import escape

    found = tracker().doctor(fix=fix)
    if as_json:
        emit_json(found.to_json())
    else:
        out = console()
        if found.healthy:
            out.print("nothing to fix")
        for run in found.stopped_runs:
            verb = "recorded as crashed" if found.fixed else "recorder stopped"
            name = f" {escape(run.name)}" if run.name else ""
            out.print(
                f"run {run.id} ({escape(run.experiment)}{name}): {verb} "
                f"(recorder {run.host or '?'}:{run.pid or '?'})"
            )
        for path in found.stale_spools:
            verb = "removed" if found.fixed else "left over"
            out.print(f"spool {escape(path)}: {verb}")
        if not found.healthy and not found.fixed:
            out.print("run `pedigree doctor --fix` to record and clean these up")
    if not found.healthy and not found.fixed:
        sys.exit(1)
