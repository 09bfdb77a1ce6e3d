"""``pedigree audit verify``, ``pedigree audit log`` and ``pedigree audit anchor``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from pedigree.cli._common import console, emit_json, json_option, tracker

if TYPE_CHECKING:
    from pedigree.audit.verify import Report


@click.group()
def audit() -> None:
    """Check and read the tamper-evident audit log that every write goes through.

    \b
    Examples:
      pedigree audit verify
      pedigree audit anchor > anchor.txt && git tag -a audit-2026-11 -F anchor.txt
      pedigree audit verify --anchor blake3:5c0f…
      pedigree audit log --run last
    """


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("verifying"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} events"),
        TimeRemainingColumn(),
        console=console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("verify", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _short(digest: str) -> str:
    return digest[:19] + "…"


@audit.command()
@click.option(
    "--anchor",
    metavar="DIGEST",
    help="Also prove that the log still extends this digest (from `pedigree audit anchor`).",
)
@click.option(
    "--chain-only",
    is_flag=True,
    help="Check the chain only (digests, links, head, anchor), not that the tables agree.",
)
@click.option(
    "--max-problems",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Report at most this many problems.",
)
@json_option
def verify(anchor: str | None, chain_only: bool, max_problems: int, as_json: bool) -> None:
    """Check the hash chain and that every table agrees with the log.

    Recomputes every event's digest, checks the numbering and links and the head, and compares
    every table with what the log says it must hold. An UPDATE, DELETE or INSERT made behind
    Pedigree's back (in the sqlite3 shell, in psql) is reported with the first bad event or row.
    Exits 0 when everything agrees and 1 when something does not. --chain-only skips the tables:
    much faster, and still proof that the log itself was not changed.

    \b
    Examples:
      pedigree audit verify
      pedigree audit verify --anchor blake3:5c0f1a2b… --json
      pedigree audit verify --chain-only
    """
    from pedigree.audit.verify import parse_anchor
    from pedigree.errors import AnchorNotInChain, AuditError

    if anchor is not None:
        anchor = parse_anchor(anchor)  # a malformed anchor is a usage error, before any work
    t = tracker()
    with _progress(not as_json) as progress:
        report = t.audit.verify(
            anchor=anchor,
            progress=progress,
            max_problems=max_problems,
            tables=not chain_only,
        )
    if as_json:
        emit_json(report.to_json())
    else:
        _print_report(report)
    if report.ok:
        return
    first = report.problems[0] if report.problems else None
    more = f" ({report.problem_count:,} problems)" if report.problem_count > 1 else ""
    if first is not None and first.table == "anchor" and report.problem_count == 1:
        raise AnchorNotInChain(f"the log does not extend the anchor: {first.message}")
    raise AuditError(f"the record fails verification{more}; the first: {first}")


def _print_report(report: Report) -> None:
    out = console()
    err = console(stderr=True)
    if report.ok:
        if report.events:
            out.print(
                f"ok: {report.events:,} events, chain intact from seq 1 to {report.head_seq:,} "
                f"(head {_short(report.head_digest)})"
            )
        else:
            out.print(f"ok: the log is empty (head {_short(report.head_digest)})")
        if report.rows:
            out.print(
                f"ok: {len(report.rows)} tables agree with the log "
                f"({sum(report.rows.values()):,} rows) in {report.seconds:.1f} s"
            )
        else:
            out.print(f"(tables not checked: --chain-only) in {report.seconds:.1f} s")
        if report.anchor is not None:
            where = (
                f"event seq {report.anchor['seq']:,}"
                if report.anchor["seq"]
                else "the head of the empty log (seq 0)"
            )
            out.print(
                f"ok: anchor {_short(report.anchor['digest'])} is {where}: the log extends it"
            )
        return
    err.print(
        f"[red]FAILED[/]: {report.problem_count:,} problem(s); in log order:", highlight=False
    )
    from rich.markup import escape

    for p in report.problems:
        err.print(f"  {escape(str(p))}", highlight=False)
    if report.problem_count > len(report.problems):
        err.print(f"  … and {report.problem_count - len(report.problems):,} more")


@audit.command()
@click.option(
    "--run", "run_ref", metavar="RUN", help="Only the events of this run (id, prefix, last)."
)
@click.option("--actor", metavar="WHO", help="Only the events this identity recorded.")
@click.option("--since", metavar="DATE", help="Only events from this date/time on (UTC).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the last N matching events.")
@json_option
def log(
    run_ref: str | None, actor: str | None, since: str | None, limit: int | None, as_json: bool
) -> None:
    """List the events of the audit log, oldest first.

    With --json each event also carries its payload and the digest it links to (prev).

    \b
    Examples:
      pedigree audit log --run last
      pedigree audit log --actor maria --since 2026-11-01 --json
    """
    from pedigree.audit.log import parse_since

    when = parse_since(since) if since is not None else None
    t = tracker()
    found = t.audit.log(run=run_ref, actor=actor, since=when, limit=limit, payload=as_json)
    if as_json:
        emit_json(found)
        return
    if not found:
        console(stderr=True).print("no events match")
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for name, justify in (
        ("seq", "right"),
        ("at (UTC)", "left"),
        ("actor", "left"),
        ("kind", "left"),
        ("run", "left"),
        ("digest", "left"),
        ("identity", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    runs = [e["run_id"] for e in found if e["run_id"]]
    short = t.abbreviations(runs) if runs else {}
    for e in found:
        table.add_row(
            f"{e['seq']:,}",
            (e["at"] or "")[:23].replace("T", " "),
            e["actor"],
            e["kind"],
            short.get(e["run_id"] or "", ""),
            e["digest"][:19],
            e.get("identity") or "",
        )
    console().print(table)


@audit.command()
@json_option
def anchor(as_json: bool) -> None:
    """Print the digest of the log's head, to keep somewhere else (a git tag, a ticket).

    Later, `pedigree audit verify --anchor DIGEST` proves that the log still extends it: nothing
    recorded up to that point was rewritten, removed or reordered.

    \b
    Examples:
      pedigree audit anchor
      pedigree audit anchor --json > audit-anchor.json
    """
    h: dict[str, Any] = tracker().audit.anchor()
    if as_json:
        emit_json(h)
        return
    click.echo(h["digest"])
    when = (h["at"] or "")[:19].replace("T", " ")
    console(stderr=True).print(
        f"seq {h['seq']:,}" + (f", {when} UTC" if when else "") + ": keep this digest outside "
        "the store, then check it with `pedigree audit verify --anchor DIGEST`",
        highlight=False,
    )
