"""``pedigree sync``: deliver what waits for the team server."""

from __future__ import annotations

import click

from pedigree.cli._common import emit_json, json_option, tracker


@click.command()
@json_option
def sync(as_json: bool) -> None:
    """Deliver to the team server the records made while it could not be reached.

    When the server cannot be reached during `pedigree run` or a sweep, the program still runs and
    its records and files wait in a local outbox (~/.local/state/pedigree/outbox). This sends
    them, in the order they were made, each once (the server records a batch once, however often
    it is sent). The next command that talks to the server tries too. Exits 6 while the server
    still cannot be reached.

    \b
    Examples:
      pedigree sync
      pedigree sync --json
    """
    result = tracker().sync()
    if as_json:
        emit_json(result)
        return
    if not result["remote"]:
        click.echo("nothing to sync: the store is not a team server")
        return
    click.echo(
        f"delivered {result['batches']} batches and {result['objects']} objects to "
        f"{result['server']}"
        + (
            f"; {result['rejected']} refused (see the outbox's rejected/)"
            if result["rejected"]
            else ""
        )
    )
