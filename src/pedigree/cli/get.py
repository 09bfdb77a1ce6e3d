"""``pedigree get``: any stored artifact back by its record, verified."""

from __future__ import annotations

import click

from pedigree.cli._common import console, emit_json, json_option, tracker


@click.command()
@click.argument("target")
@click.option(
    "-o",
    "--output",
    "dest",
    type=click.Path(path_type=str),
    help="Where to write it (default: its own name in the working directory).",
)
@click.option("--force", is_flag=True, help="Overwrite files that hold other content.")
@json_option
def get(target: str, dest: str | None, force: bool, as_json: bool) -> None:
    """Write the stored file or folder TARGET names, byte for byte.

    TARGET is a digest (blake3:..., or a unique prefix of 6+ hex characters as text output
    prints it), RUN:PATH (an output or input of a run), DATASET@vN or DATASET@vN:PATH, or a
    registered model NAME@ALIAS or NAME/N. Folders come back whole. Every file is verified
    against its digest as it is written (a temporary file, renamed once right); a missing or
    corrupt object fails with nothing written, and a file with other content is never
    overwritten without --force.

    \b
    Examples:
      pedigree get last:models/tsmom.pkl -o /tmp/tsmom.pkl
      pedigree get prices@v1 -o /tmp/prices
      pedigree get blake3:3f2a9c1b
    """
    import os

    here = os.getcwd() if dest is None else None
    result = tracker().models.get(target, dest=dest, into=here, force=force)
    if as_json:
        emit_json(result.to_json())
        return
    from pedigree.api.data import DataAPI

    art = result.artifact
    what = f"{result.files} files, " if art.kind == "dir" else ""
    done = (
        f"{result.written} written, {result.unchanged} unchanged"
        if art.kind == "dir"
        else ("unchanged" if result.unchanged else "written")
    )
    console().print(
        f"{result.path}  {art.digest}  ({what}{DataAPI.human_size(result.size)}; {done})"
        f"\n  from {art.source}",
        markup=False,
    )
    if result.extra:
        console().print(
            f"  {len(result.extra)} other files in {result.path} left as they were", markup=False
        )
