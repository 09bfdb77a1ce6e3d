"""``pedigree report``."""

from __future__ import annotations

import click

from pedigree.cli._common import console, tracker


@click.command()
@click.argument("run", metavar="RUN|model:NAME@ALIAS")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="The HTML file to write (default: pedigree-report-<run>.html here).",
)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Verify the whole audit log first; a record that fails gets no report.",
)
def report(run: str, output: str | None, verify: bool) -> None:
    """Write a self-contained HTML compliance report on RUN.

    Code (commit and patch), data (every input and output with its digest), environment,
    parameters, metrics, a lineage diagram, reproductions and their verdicts, reviews, and the
    audit-chain head at the time of the report. It needs no network to view: one file to file
    with the review. RUN is a full id, a unique prefix, or `last`.

    A registered model version, model:NAME@ALIAS or model:NAME/N, gets the report of the run
    that produced it, headed by the version: its content digest, the aliases that point at it
    now, its reviews and whether it has its four-eyes approval.

    \b
    Examples:
      pedigree report last -o report.html
      pedigree report 0193a5c2 -o reviews/ma-crossover-w50.html
      pedigree report model:ma-crossover@production -o production.html
    """
    from pedigree.cli.audit import _progress

    t = tracker()
    if run.strip().lower().startswith("model:"):
        import re

        default = "pedigree-report-" + re.sub(r"[^A-Za-z0-9._-]+", "-", run.strip()[6:]) + ".html"
    else:
        default = f"pedigree-report-{t.resolve(run)}.html"
    target = output or default
    with _progress(verify) as progress:
        path = t.reports.write(run, target, verify=verify, progress=progress)
    console(stderr=True).print(f"wrote {path}", highlight=False)
