"""``pedigree export``."""

from __future__ import annotations

import json
import sys

import click

from pedigree.cli._common import console, tracker


@click.command()
@click.argument("run", required=False)
@click.option("-e", "--experiment", help="Every run of this experiment instead of one RUN.")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["openlineage", "prov"]),
    default="openlineage",
    show_default=True,
    help="OpenLineage run events (JSON Lines) or one W3C PROV-JSON document.",
)
@click.option(
    "--emit",
    metavar="URL",
    help="POST the OpenLineage events to URL/api/v1/lineage (Marquez or any collector).",
)
@click.option("--namespace", help="The OpenLineage job namespace (default: pedigree://PROJECT).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file.")
def export(
    run: str | None,
    experiment: str | None,
    fmt: str,
    emit: str | None,
    namespace: str | None,
    output: str | None,
) -> None:
    """Export RUN (or every run of an experiment) as OpenLineage events or W3C PROV-JSON.

    \b
    Examples:
      pedigree export last --format openlineage > events.jsonl
      pedigree export --experiment ma-crossover --format prov -o provenance.json
      pedigree export --experiment ma-crossover --emit http://localhost:5000
    """
    from pedigree.errors import InvalidInput

    if emit and fmt != "openlineage":
        raise InvalidInput("--emit sends OpenLineage events; it cannot be used with --format prov")
    reports = tracker().reports
    result = reports.export(run=run, experiment=experiment, fmt=fmt, namespace=namespace)
    if emit:
        sent = reports.emit(emit, result)
        console(stderr=True).print(f"sent {sent} OpenLineage event(s) to {emit}")
        if not output:
            return
    if fmt == "openlineage":
        text = "".join(json.dumps(e, allow_nan=False) + "\n" for e in result)
    else:
        text = json.dumps(result, indent=2, allow_nan=False) + "\n"
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
