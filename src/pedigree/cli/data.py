"""``pedigree data``: version files and folders by content.

Subcommands: add, ls, log, diff, checkout, verify.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from pedigree.cli._common import console, emit_json, json_option, tracker

if TYPE_CHECKING:
    from pedigree.data.datasets import DatasetVersion


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _size(n: int) -> str:
    from pedigree.api.data import DataAPI

    return DataAPI.human_size(n)


def _short(digest: str) -> str:
    algorithm, _, hexpart = digest.partition(":")
    return f"{algorithm}:{hexpart[:12]}"


def _progress() -> bool:
    return sys.stderr.isatty()


@click.group()
def data() -> None:
    """Version data by content: files and folders, deduplicated, restorable byte for byte.

    A version is NAME@vN (N counts up per name); its digest is the BLAKE3 of the file, or of the
    folder's canonical manifest. Symlinks are recorded as links, never followed out of the tree.

    \b
    Examples:
      pedigree data add data/prices
      pedigree data log data/prices
      pedigree data checkout data/prices@v1 --to /tmp/prices-v1
    """


@data.command()
@click.argument("path", type=click.Path(path_type=str))
@click.option("-n", "--name", help="The dataset name (default: PATH relative to the project).")
@json_option
def add(path: str, name: str | None, as_json: bool) -> None:
    """Store PATH (a file or folder) and record it as the next version of NAME.

    Unchanged files are not hashed again (a stat cache) and content already stored is not stored
    again. Adding content equal to the latest version records nothing new. Inside `pedigree run`,
    the run is recorded as the version's producer.

    \b
    Examples:
      pedigree data add data/prices.csv
      pedigree data add data/raw --name prices
    """
    result = tracker().data.add(path, name=name, progress=_progress())
    if as_json:
        emit_json(result.to_json())
        return
    v = result.version
    detail = f"{v.kind}, {_size(v.size)}" + (f", {v.file_count} files" if v.kind == "dir" else "")
    note = "" if result.created else "  (unchanged)"
    console().print(f"{v.ref}  {v.digest}  ({detail}){note}", markup=False)


@data.command(name="ls")
@json_option
def ls(as_json: bool) -> None:
    """List datasets with their latest version.

    \b
    Example:
      pedigree data ls
    """
    versions = tracker().data.ls()
    if as_json:
        emit_json([v.to_json() for v in versions])
        return
    if not versions:
        console(stderr=True).print("no datasets yet (pedigree data add PATH)")
        return
    _table(versions, name_column=True)


def _table(versions: list[DatasetVersion], *, name_column: bool) -> None:
    runs = [v.run_id for v in versions if v.run_id]
    short = tracker().abbreviations(runs) if runs else {}
    from pedigree.cli._table import Column, print_table

    columns = [
        Column("dataset" if name_column else "version"),
        Column("kind"),
        Column("size", right=True),
        Column("files", right=True),
        Column("digest"),
        Column("created (UTC)"),
        Column("by"),
        Column("run"),
    ]
    rows = [
        [
            v.ref if name_column else f"v{v.version}",
            v.kind,
            _size(v.size),
            str(v.file_count),
            _short(v.digest),
            _when(v.created_at),
            v.user or "",
            short.get(v.run_id or "", ""),
        ]
        for v in versions
    ]
    print_table(columns, rows)  # plain: importing rich cost more than the rest (issue 18)


@data.command()
@click.argument("name")
@json_option
def log(name: str, as_json: bool) -> None:
    """Show every version of NAME: time, size, file count, digest and the producing run.

    \b
    Example:
      pedigree data log data/prices
    """
    versions = tracker().data.log(name)
    if as_json:
        emit_json([v.to_json() for v in versions])
        return
    _table(versions, name_column=False)


@data.command()
@click.argument("old")
@click.argument("new")
@json_option
def diff(old: str, new: str, as_json: bool) -> None:
    """Show the files added, removed and changed between two versions.

    \b
    Example:
      pedigree data diff prices@v1 prices@v2
    """
    from rich.markup import escape

    result = tracker().data.diff(old, new)
    if as_json:
        emit_json(result.to_json())
        return
    out = console()
    out.print(f"[bold]{escape(result.old.ref)} -> {escape(result.new.ref)}[/]")
    for e in result.added:
        out.print(f"  [green]+ {escape(e.path)}[/]  ({_size(e.size)})")
    for e in result.removed:
        out.print(f"  [red]- {escape(e.path)}[/]  ({_size(e.size)})")
    for a, b in result.changed:
        out.print(f"  [yellow]~ {escape(a.path)}[/]  ({_size(a.size)} -> {_size(b.size)})")
    out.print(
        f"{len(result.added)} added, {len(result.removed)} removed, "
        f"{len(result.changed)} changed, {result.unchanged} unchanged"
    )


@data.command()
@click.argument("ref")
@click.option("--to", "to", type=click.Path(path_type=str), help="Restore here instead.")
@click.option("--clean", is_flag=True, help="Also delete files the version does not have.")
@click.option("--force", is_flag=True, help="Overwrite changes that are in no stored version.")
@json_option
def checkout(ref: str, to: str | None, clean: bool, force: bool, as_json: bool) -> None:
    """Restore the exact bytes of REF (NAME@vN, or NAME for the latest).

    By default the version goes back where it was added from. Files already right are left
    alone; every restored file is verified against its digest before it replaces anything.

    \b
    Examples:
      pedigree data checkout prices@v2
      pedigree data checkout prices@v1 --to /tmp/prices-v1
    """
    result = tracker().data.checkout(ref, to=to, clean=clean, force=force, progress=_progress())
    if as_json:
        emit_json(result.to_json())
        return
    out = console()
    out.print(
        f"{result.version.ref} -> {result.path}: {result.written} written, "
        f"{result.unchanged} already right"
        + (f", {len(result.removed)} removed" if result.removed else ""),
        markup=False,
    )
    if result.extra:
        console(stderr=True).print(
            f"note: {len(result.extra)} files not in {result.version.ref} were left in place "
            "(--clean removes them)",
            markup=False,
        )


@data.command()
@json_option
def verify(as_json: bool) -> None:
    """Re-hash every stored object; report corrupt and missing ones (exit 5 if any).

    \b
    Example:
      pedigree data verify
    """
    from pedigree.errors import IntegrityError

    report = tracker().data.verify(progress=_progress())
    if as_json:
        emit_json(report.to_json())
    else:
        out = console()
        for digest in report.corrupt:
            out.print(f"corrupt  {digest}", markup=False)
        for item in report.missing:
            out.print(f"missing  {item['digest']}  ({item['referenced_by']})", markup=False)
        out.print(
            f"{report.checked} objects checked: {len(report.corrupt)} corrupt, "
            f"{len(report.missing)} missing",
            markup=False,
        )
    if not report.ok:
        sys.stdout.flush()
        raise IntegrityError(
            f"the object store has {len(report.corrupt)} corrupt and "
            f"{len(report.missing)} missing objects"
        )
