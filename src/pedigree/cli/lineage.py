"""``pedigree lineage`` and ``pedigree impact``."""

from __future__ import annotations

import math
from typing import Any

import click

from pedigree.cli._common import console, emit_json, json_option, tracker


@click.command()
@click.argument("target")
@click.option("--up", "direction", flag_value="up", help="What TARGET came from (the default).")
@click.option("--down", "direction", flag_value="down", help="What was made from TARGET.")
@click.option(
    "-d",
    "--depth",
    type=click.IntRange(min=1),
    default=None,
    help="At most this many steps (a run and its inputs are one step apart; default: all).",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "dot", "mermaid"]),
    default="text",
    show_default=True,
    help="A text tree, Graphviz dot or a Mermaid flowchart.",
)
@json_option
def lineage(target: str, direction: str | None, depth: int | None, fmt: str, as_json: bool) -> None:
    """Trace TARGET upstream (its code, data, environment and the runs before it) or downstream.

    \b
    TARGET is a run (full id, unique prefix or `last`), a path in the project, a dataset
    version NAME@vN, a digest blake3:<hex>, or a registered model version model:NAME@ALIAS,
    model:NAME/N (model:NAME: its latest).

    \b
    Examples:
      pedigree lineage models/model.pkl --up
      pedigree lineage model:tsmom@production --up
      pedigree lineage prices@v2 --down --depth 4
      pedigree lineage last --up --format dot | dot -Tsvg > lineage.svg
      pedigree lineage 0193a5c2 --up --format mermaid
    """
    from pedigree.lineage.render import RENDERERS

    report = tracker().lineage.graph(
        target, direction="down" if direction == "down" else "up", depth=depth
    )
    if as_json:
        emit_json(report)
        return
    click.echo(RENDERERS[fmt](report))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.6g}"
    return "-" if value is None else str(value)


@click.command()
@click.argument("target")
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="List at most this many runs and artifact versions (0: all); --json has them all.",
)
@json_option
def impact(target: str, limit: int, as_json: bool) -> None:
    """Everything downstream of TARGET: runs, artifact versions, reported metrics and the
    registered model versions (with the aliases that serve them) resting on it.

    For a path, it also lists the runs that read the path at bytes other than what is there
    now (stale results), and marks every result made from such a read. The text lists stale
    runs first, then the others, up to --limit of each kind.

    \b
    TARGET is a run (full id, unique prefix or `last`), a path in the project, a dataset
    version NAME@vN, a digest blake3:<hex>, or a registered model version model:NAME@ALIAS,
    model:NAME/N (model:NAME: its latest).

    \b
    Examples:
      pedigree impact data/raw/prices.csv
      pedigree impact prices@v1 --limit 0
      pedigree impact prices@v1 --json
      pedigree impact model:tsmom@production
    """
    from rich.markup import escape

    from pedigree.lineage.render import artifact_label

    t = tracker()
    report = t.lineage.impact(target)
    if as_json:
        emit_json(report)
        return
    out = console()
    s = report["summary"]
    # Stale results first: they are what needs redoing.
    runs = sorted(report["runs"], key=lambda r: not r.get("stale"))
    # Ids are time-ordered: their first characters are a timestamp, not a name.
    short = t.abbreviations(
        [st["run"] for st in report["stale"]] + [r["id"] for r in _first(runs, limit)]
    )
    out.print(
        f"[bold]impact of {escape(report['target']['label'])}[/]: {s['runs']} run(s), "
        f"{s['artifacts']} artifact version(s), {s['metrics']} reported metric(s)"
    )
    if report["target"]["kind"] == "path":
        for src in report["sources"]:
            mark = "current" if src.get("current") else "not current"
            out.print(f"  version {escape(artifact_label(src))}  ({mark})")
    if report["stale"]:
        out.print(f"[bold yellow]stale[/]: {s['stale_reads']} read(s) of bytes no longer there")
        for st in report["stale"]:
            now = "deleted" if not st["exists"] else (st["current"] or "changed")[:19]
            out.print(
                f"  run {short[st['run']]} read {escape(st['path'])} "
                f"at {st['read'][:19]}…, now {now}"
            )
    if report["runs"]:
        out.print("[bold]runs[/]")
        for r in _first(runs, limit):
            name = f"{r.get('name') or ''} ({r.get('experiment')})".strip()
            metrics = ", ".join(f"{k}={_fmt(v)}" for k, v in r["metrics"].items())
            stale = "  [yellow]stale[/]" if r.get("stale") else ""
            out.print(
                f"  {short.get(r['id'], r['id'])}  {escape(name)}  {r.get('status')}{stale}"
                + (f"  {escape(metrics)}" if metrics else "")
            )
        _more(out, len(runs), limit, "run")
    if report["artifacts"]:
        out.print("[bold]artifact versions[/]")
        for a in _first(report["artifacts"], limit):
            out.print(f"  {escape(artifact_label(a))}")
        _more(out, len(report["artifacts"]), limit, "artifact version")
    if report.get("models"):
        # What trades on it: the registered versions (and the aliases serving them) downstream.
        out.print("[bold]models[/]")
        for m in report["models"]:
            out.print(f"  {escape(m['sentence'])}", highlight=False)
    if not report["runs"] and not report["artifacts"] and not report.get("models"):
        out.print("nothing downstream")
    capture = report.get("capture") or {}
    if capture.get("partial_elsewhere") or capture.get("partial_in_answer"):
        out.print(
            f"[yellow]note[/]: {capture['partial_elsewhere']} other run(s) had partial file "
            "capture and may be missing from this answer; "
            f"{len(capture['partial_in_answer'])} run(s) listed had partial capture "
            "(what they read or wrote may be missing). See `pedigree show RUN`."
        )


def _first(items: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    return items if limit == 0 else items[:limit]


def _more(out: Any, total: int, limit: int, what: str) -> None:
    if limit and total > limit:
        out.print(f"  … and {total - limit} more {what}(s) (--limit 0 lists all, --json has all)")
