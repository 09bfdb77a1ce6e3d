"""``pedigree init``."""

from __future__ import annotations

import click

from pedigree.cli._common import console


@click.command()
@click.argument("path", required=False, type=click.Path(file_okay=False))
def init(path: str | None) -> None:
    """Create a Pedigree store for this project.

    The store (.pedigree/: a SQLite database and an object folder) goes at the git root above
    PATH (default: the working directory), or in PATH itself outside git. Running it again is
    harmless. PEDIGREE_URI=postgresql://... puts the metadata in PostgreSQL instead.

    \b
    Example:
      pedigree init
    """
    from pedigree.api import Tracker

    t, created = Tracker.init(path)
    project = t.project
    verb = "Created" if created else "Already initialised:"
    where = "SQLite" if t.store.dialect == "sqlite" else "PostgreSQL"
    console().print(
        f"{verb} Pedigree store in {project.dir} ({where}; objects in {project.objects_location})"
    )
