"""``pedigree bundle TARGET -o FILE``, ``pedigree bundle verify FILE``, ``bundle show FILE``."""

from __future__ import annotations

from typing import Any

import click

from pedigree.cli._common import console, emit_json, json_option, tracker


class _BundleGroup(click.Group):
    """A group whose first word is a subcommand, or else the TARGET of ``bundle create``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_BundleGroup)
def bundle() -> None:
    """Hand over one file that proves how a result was made (docs/bundle.md).

    `pedigree bundle TARGET -o FILE` writes the evidence bundle of TARGET (a run, a dataset
    version NAME@vN, a path or a digest): its whole upstream lineage, the audit-chain events
    behind it up to the anchor, the code (a git bundle of the commit, the patch, untracked
    files), the environment, every input and output object, and the compliance report.
    `verify` checks a bundle offline, with no store; `show` prints what it holds; `import`
    merges it into this store; `pedigree reproduce FILE` re-runs its target from it.

    \b
    Examples:
      pedigree bundle last -o result.pedigree
      pedigree bundle verify result.pedigree --anchor blake3:5c0f…
      pedigree bundle show result.pedigree
      pedigree bundle import result.pedigree
    """


@bundle.command("create", hidden=True)
@click.argument("target")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="The bundle file to write.",
)
@click.option("--no-data", is_flag=True, help="List objects by digest and size only.")
@json_option
def create(target: str, output: str, no_data: bool, as_json: bool) -> None:
    """Write the evidence bundle of TARGET to FILE (also: `pedigree bundle TARGET -o FILE`).

    \b
    Examples:
      pedigree bundle last -o result.pedigree
      pedigree bundle prices@v2 -o prices.pedigree --no-data
    """
    summary = tracker().bundle.write(target, output, data=not no_data)
    if as_json:
        emit_json(summary)
        return
    out = console()
    out.print(f"wrote {summary['path']} ({summary['size']:,} bytes)")
    out.print(
        f"  {summary['runs']} run(s), {summary['events']} event(s) up to anchor "
        f"{summary['anchor']['digest']}, {summary['objects_included']}/"
        f"{summary['objects_listed']} object(s) included"
    )
    for note in summary["notes"]:
        out.print(f"  note: {note}")


@bundle.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--anchor", help="An `audit anchor` digest the bundle's events must chain to (kept apart)."
)
@json_option
def verify(file: str, anchor: str | None, as_json: bool) -> None:
    """Check a bundle offline: every member's digest, the event chain (to --anchor when given),
    every record against the events, every object, and the code. Exits 5 when anything fails.

    \b
    Examples:
      pedigree bundle verify result.pedigree
      pedigree bundle verify result.pedigree --anchor blake3:5c0f… --json
    """
    from pedigree.api.bundle import BundleAPI
    from pedigree.errors import IntegrityError

    result = BundleAPI.verify(file, anchor=anchor)
    if as_json:
        emit_json(result)
    else:
        _print_verify(result)
    if not result["ok"]:
        first = result["problems"][0]
        raise IntegrityError(
            f"{file} failed verification ({len(result['problems'])} problem(s)); "
            f"first: {first['part']}: {first['problem']}"
        )


def _print_verify(result: dict[str, Any]) -> None:
    out = console()
    checked = ", ".join(f"{n} {what}" for what, n in result["checked"].items())
    verdict = "ok" if result["ok"] else "FAILED"
    out.print(f"{verdict}: {result['target']} ({result['format']})")
    out.print(f"  checked: {checked}")
    out.print(f"  anchor: {(result['anchor'] or {}).get('digest')}")
    if result["anchored_to"]:
        out.print(f"  chains to the given anchor {result['anchored_to']}")
    for p in result["problems"]:
        out.print(f"  FAIL {p['part']}: {p['problem']}")
    for item in result["cannot_reproduce"]:
        out.print(f"  cannot reproduce: {item}")


@bundle.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--anchor", help="An `audit anchor` digest the bundle's events must chain to (kept apart)."
)
@json_option
def import_(file: str, anchor: str | None, as_json: bool) -> None:
    """Merge a bundle's records into this store, after verifying it (exit 5 and nothing
    imported when it fails). Runs already here are left alone, so importing twice adds
    nothing; each imported run says where it came from (`show RUN --json`: imported_from).

    \b
    Examples:
      pedigree bundle import result.pedigree
      pedigree bundle import result.pedigree --anchor blake3:5c0f… --json
    """
    summary = tracker().bundle.import_bundle(file, anchor=anchor)
    if as_json:
        emit_json(summary)
        return
    out = console()
    new, here = summary["runs_imported"], summary["runs_present"]
    out.print(
        f"imported {len(new)} run(s) from {summary['file']} ({summary['target']}); "
        f"{len(here)} already here"
    )
    out.print(f"  {summary['events']} event(s) appended, {summary['objects']} object(s) stored")
    out.print(f"  recorded up to anchor {(summary['anchor'] or {}).get('digest')}")
    for run_id in new:
        out.print(f"  run {run_id}")
    for note in summary["notes"]:
        out.print(f"  note: {note}")


@bundle.command()
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
def show(file: str, as_json: bool) -> None:
    """Print what a bundle holds: target, anchor, runs and the report's summary (checks
    nothing; see `pedigree bundle verify`).

    \b
    Examples:
      pedigree bundle show result.pedigree
      pedigree bundle show result.pedigree --json
    """
    from pedigree.api.bundle import BundleAPI

    info = BundleAPI.show(file)
    if as_json:
        emit_json(info)
        return
    out = console()
    out.print(f"{info['target']['label']} ({info['format']}, created {info['created']})")
    out.print(f"  anchor: {info['anchor']['digest']} (seq {info['anchor']['seq']})")
    objs = info["objects"]
    out.print(f"  objects: {objs['included']}/{objs['listed']} included, {objs['bytes']:,} bytes")
    if info["report"]:
        out.print(f"  report: {info['report']}")
    for run in info["runs"]:
        metrics = ", ".join(f"{k}={v}" for k, v in (run["metrics"] or {}).items())
        params = ", ".join(f"{k}={v}" for k, v in (run["params"] or {}).items())
        out.print(
            f"  run {run['id']} ({run['status']}) {run['experiment']} by {run['user']} "
            f"({run['identity']}); commit {str(run['commit'])[:12]}"
        )
        if params:
            out.print(f"    params: {params}")
        if metrics:
            out.print(f"    metrics: {metrics}")
    for note in info["notes"]:
        out.print(f"  note: {note}")
