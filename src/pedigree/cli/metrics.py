"""``pedigree metrics``: a run's metric histories, step by step."""

from __future__ import annotations

import click

from pedigree.cli._common import console, emit_json, json_option, tracker


@click.command()
@click.argument("run")
@click.argument("keys", nargs=-1)
@json_option
def metrics(run: str, keys: tuple[str, ...], as_json: bool) -> None:
    """Every logged point of RUN's metrics (or of KEYS): step, value and time.

    `show` prints the latest value of each metric; this prints all of them, in step order.
    NaN prints as nan (null in JSON). --json prints {key: [{step, value, time}, ...]}.

    \b
    Examples:
      pedigree metrics last pnl
      pedigree metrics 0193a5c2 --json
    """
    found = tracker().metric_history(run, keys)
    if as_json:
        emit_json(found)
        return
    out = console()
    if not found:
        out.print("no metrics logged")
        return
    for key, points in found.items():
        out.print(f"{key}  ({len(points)} points)", markup=False)
        for p in points:
            value = "nan" if p["value"] is None else repr(p["value"])
            out.print(f"  {p['step']:>8}  {value:<24}  {p['time']}", markup=False)
