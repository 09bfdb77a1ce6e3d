"""``pedigree plot``: a sweep's metric against one of its parameters, as a PNG."""

from __future__ import annotations

import os
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
    from pedigree.errors import InvalidInput
    from pedigree.sweep.plot import attach_output, plot_sweep
    from pedigree.sweep.results import load_report

    t = tracker()
    report = load_report(t, sweep)
    spec = report.spec
    if x is None:
        candidates = [k for k in spec.varied if k != by]
        if len(candidates) != 1:
            raise InvalidInput(
                "say which parameter goes on the x axis: --x NAME",
                hint=f"the sweep varies {', '.join(spec.varied) or 'nothing'}",
            )
        x = candidates[0]
    if y is None:
        if spec.metric is None:
            raise InvalidInput("say which metric goes on the y axis: --y NAME")
        y = spec.metric
    out = output or Path(f"{y}_vs_{x}.png")
    if out.suffix.lower() != ".png":
        raise InvalidInput(f"-o {out}: the plot is a PNG; name it *.png")
    staging = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        result = plot_sweep(report, x=x, y=y, by=by, out=staging)
        recorded = attach_output(t, report.id, staging, at=out)
        os.replace(staging, out)
    finally:
        staging.unlink(missing_ok=True)
    if as_json:
        emit_json(
            {
                "path": str(out),
                "recorded_as": recorded,
                "sweep": report.id,
                "x": x,
                "y": y,
                "by": by,
                "points": result.points,
                "series": [s.label for s in result.series],
                "width": result.width,
                "height": result.height,
            }
        )
        return
    lines = len(result.series)
    click.echo(
        f"wrote {out} ({result.width}x{result.height} PNG: {y} against {x}, "
        f"{result.points} trials in {lines} line{'s' if lines != 1 else ''})"
    )
    if recorded is not None:
        click.echo(f"recorded as an output of sweep {report.id}: {recorded}")
    else:
        click.echo("not recorded as an output of the sweep: the file is outside the project")
