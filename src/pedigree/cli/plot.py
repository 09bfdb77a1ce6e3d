"""``pedigree plot``: a sweep's metric against one of its parameters, as a PNG."""

from __future__ import annotations

from pathlib import Path

import click

from pedigree.cli._common import emit_json, json_option, tracker


@click.command()
@click.argument("sweep", default="last")
@click.option(
    "-x",
    "--x",
    "x",
    metavar="PARAM",
    help="Parameter on the x axis (default: the sweep's only varied parameter).",
)
@click.option(
    "-y", "--y", "y", metavar="METRIC", help="Metric on the y axis (default: the sweep's --metric)."
)
@click.option("-b", "--by", metavar="PARAM", help="One line per value of this parameter.")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The PNG to write (default: <y>_vs_<x>.png here).",
)
@json_option
def plot(
    sweep: str, x: str | None, y: str | None, by: str | None, output: Path | None, as_json: bool
) -> None:
    """Draw a sweep's metric against a parameter as a PNG, and record it as a sweep output.

    SWEEP is a sweep's run id, a unique prefix, or `last` (the default). Only finished trials
    that reported the metric are drawn; the best trial is marked with a star.

    \b
    Examples:
      pedigree plot last --x window --y sharpe --by instrument -o sharpe_vs_window.png
      pedigree plot 0199a3f2 -x fee_bps -y test_sharpe
    """
    plotted = tracker().sweeps.plot(sweep, x=x, y=y, by=by, output=output)
    if as_json:
        emit_json(plotted.to_json())
        return
    result = plotted.result
    lines = len(result.series)
    click.echo(
        f"wrote {plotted.path} ({result.width}x{result.height} PNG: {plotted.y} against "
        f"{plotted.x}, {result.points} trials in {lines} line{'s' if lines != 1 else ''})"
    )
    if plotted.recorded_as is not None:
        click.echo(f"recorded as an output of sweep {plotted.sweep}: {plotted.recorded_as}")
    else:
        click.echo("not recorded as an output of the sweep: the file is outside the project")
