"""``pedigree approve`` and ``pedigree reject``."""

from __future__ import annotations

import click

from pedigree.cli._common import console, emit_json, json_option, tracker


def _review(
    target: str, decision: str, note: str | None, as_json: bool, override: str | None = None
) -> None:
    from rich.markup import escape

    approval = tracker().audit.review(target, decision, note=note, override=override)
    if override is not None and approval.get("override") is None:
        click.echo("pedigree: --override not needed: no approval policy refused this", err=True)
    if as_json:
        emit_json(approval)
        return
    what = {"run": "run", "dataset": "dataset version", "artifact": "artifact", "model": "model"}
    console().print(
        f"{decision} {what[approval['target_type']]} {escape(approval['target'])} "
        f"as {escape(approval['actor'])} at {approval['at'][:19].replace('T', ' ')} UTC"
        + (f": {escape(approval['note'])}" if approval["note"] else ""),
        highlight=False,
    )
    if approval["target_type"] == "model" and approval.get("identity") == "self-declared":
        console().print(
            f"  (on this store {escape(approval['actor'])} is a self-declared identity)",
            highlight=False,
        )
    if approval.get("selection"):
        from pedigree.selection.context import sentence

        # What the reviewer approved is one of many trials: the record keeps it, and says it.
        label = "selected" if approval["selection"]["selected"] else "trial"
        console().print(f"  {label}: {escape(sentence(approval['selection']))}", highlight=False)


@click.command()
@click.argument("target")
@click.option("-n", "--note", help="Why: what was checked, what it is approved for.")
@click.option(
    "--override",
    metavar="REASON",
    help="Approve a sweep's best trial whose DSR is below [approvals] min_dsr, and record why.",
)
@json_option
def approve(target: str, note: str | None, override: str | None, as_json: bool) -> None:
    """Record that you approve TARGET, with your identity and the time, in the audit log.

    TARGET is a run (a full id, a unique prefix or `last`), a dataset version NAME@vN, an
    artifact version blake3:<digest> or a model version model:NAME/N. The review shows in `show`,
    `lineage`, `report` and `model show`; a protected model alias (production) needs one.

    With `[approvals] min_dsr = 0.95` in .pedigree/config.toml, approving a sweep's best trial
    whose Deflated Sharpe Ratio (`pedigree sweep assess`) is lower, or cannot be computed, is
    refused with exit code 4 unless --override gives the reason; the audit log records it with
    the approval, and its note shows it.

    \b
    Examples:
      pedigree approve last --note "out-of-sample Sharpe holds; cleared for paper trading"
      pedigree approve prices@v3 --note "vendor correction checked against Bloomberg"
      pedigree approve 0199a3f2 --override "capacity test, not for live capital"
      pedigree approve model:tsmom/3 --note "independent review of the backtest"
    """
    _review(target, "approved", note, as_json, override)


@click.command()
@click.argument("target")
@click.option("-n", "--note", help="Why it is rejected.")
@json_option
def reject(target: str, note: str | None, as_json: bool) -> None:
    """Record that you reject TARGET, with your identity and the time, in the audit log.

    TARGET is a run (a full id, a unique prefix or `last`), a dataset version NAME@vN, an
    artifact version blake3:<digest> or a model version model:NAME/N. The review shows in
    `show`, `lineage`, `report` and `model show`.

    \b
    Examples:
      pedigree reject 0193a5c2 --note "look-ahead bias: features use the close of the same day"
    """
    _review(target, "rejected", note, as_json)
