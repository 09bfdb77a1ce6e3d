"""``pedigree tag`` and ``pedigree untag``: labels on a run that may change after it ended."""

from __future__ import annotations

from typing import Any

import click

from pedigree.cli._common import console, emit_json, json_option, tracker


def _print(result: dict[str, Any], verb: str) -> None:
    from rich.markup import escape

    out = console()
    changed = result["changed"]
    if not changed:
        out.print(f"run {result['run']}: nothing changed", highlight=False)
    for c in changed:
        what = f"{c['key']}={c['value']}" if "value" in c else c["key"]
        out.print(f"{verb} run {result['run']}: {escape(what)}", highlight=False)
    tags = "  ".join(f"{k}={v}" for k, v in result["tags"].items()) or "(none)"
    out.print(f"  tags now: {escape(tags)}", highlight=False)


@click.command()
@click.argument("run")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@json_option
def tag(run: str, assignments: tuple[str, ...], as_json: bool) -> None:
    """Set tags on RUN: text labels such as stage=candidate, changeable at any time.

    Unlike parameters and metrics, which are what the run was, tags are what people say about
    it, so they may change after it ended. Every change is an event in the audit log with who
    made it and when (`show RUN` lists them). A key already at that value records nothing.
    Find tagged runs with `runs --where "tags.stage = 'candidate'"`.

    --json prints {run, changed: [{key, value, number, actor, at}], tags: {key: value}}.

    \b
    Examples:
      pedigree tag last stage=candidate
      pedigree tag 0193a5c2 stage=production desk=rates
      pedigree runs --where "tags.stage = 'candidate'"
    """
    from pedigree.tracking.tags import parse_assignments

    result = tracker().tag(run, parse_assignments(assignments))
    if as_json:
        emit_json(result)
    else:
        _print(result, "tagged")


@click.command()
@click.argument("run")
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
@json_option
def untag(run: str, keys: tuple[str, ...], as_json: bool) -> None:
    """Remove the tags KEY... from RUN (the removal is audited; the history stays).

    A key RUN does not have is refused with exit code 3 and nothing is recorded.
    --json prints {run, changed: [{key, number, actor, at}], tags: {key: value}}.

    \b
    Examples:
      pedigree untag last stage
      pedigree untag 0193a5c2 stage desk
    """
    result = tracker().untag(run, list(keys))
    if as_json:
        emit_json(result)
    else:
        _print(result, "untagged")
